"""The write- and read-unit arithmetic the cost model is fed with (tests/support/index_units.py,
tests/bench/costs.py), against DynamoDB's documented rules (Developer Guide, "DynamoDB item sizes
and formats" and "Read/write capacity mode"; 1 KB = 1,024 B):

- an item's size is the sum of its attribute names' and values' UTF-8 lengths; a number is 1 byte
  per 2 significant digits + 1; a Boolean or null 1 byte; a list or map 3 bytes + 1 per element;
- a write costs ⌈the larger of the item before and after ÷ 1 KB⌉ units, at least 1;
- each index entry put, deleted or moved (a delete and a put) costs ⌈entry ÷ 1 KB⌉ (the entry: table
  key, index key and projected attributes, + 100 B counted as overhead); an index whose projected
  attributes did not change is not written;
- a read costs ⌈size ÷ 4 KB⌉ units per item (per page for a Query), half when eventually consistent.
"""

from __future__ import annotations

import pytest

from tests.bench.costs import read_units
from tests.support.index_units import Index, Write, indexes, item_size, table_units, write_units


def s(text: str) -> dict[str, str]:
    return {"S": text}


@pytest.mark.parametrize(
    ("item", "size"),
    [
        ({"request_id": s("a" * 32)}, 10 + 32),
        ({"ключ": s("é")}, 8 + 2),  # UTF-8 bytes, in the name and in the value
        ({"n": {"N": "12345"}}, 1 + 3 + 1),  # 5 significant digits: 3 bytes + 1
        ({"n": {"N": "1000"}}, 1 + 1 + 1),  # trailing zeroes are not significant
        ({"flag": {"BOOL": True}, "none": {"NULL": True}}, 4 + 1 + 4 + 1),
        ({"m": {"M": {"ab": s("xyz")}}}, 1 + 3 + 1 + 2 + 3),  # map overhead 3 + 1 per element
        ({"l": {"L": [s("x"), s("yz")]}}, 1 + 3 + (1 + 1) + (1 + 2)),
    ],
)
def test_item_size_is_names_plus_values(item, size):
    assert item_size(item) == size


def _item(bytes_: int) -> dict[str, dict[str, str]]:
    """An item of exactly ``bytes_`` bytes: ``request_id`` (10) + a 32-character id + padding."""
    return {"request_id": s("r" * 32), "pad": s("x" * (bytes_ - 42 - 3))}


@pytest.mark.parametrize(
    ("before", "after", "units"),
    [
        (None, 1024, 1),  # exactly 1 KB: one unit
        (None, 1025, 2),  # one byte more: two
        (1025, 500, 2),  # an update is charged for the larger image
        (500, 2049, 3),
        (1024, None, 1),  # a delete: the item it removed
    ],
)
def test_a_table_write_costs_the_larger_image_rounded_up_to_kilobytes(before, after, units):
    old, new = (None if n is None else _item(n) for n in (before, after))
    assert table_units(old, new) == units


PROPERTIES = {
    "KeySchema": [{"AttributeName": "request_id", "KeyType": "HASH"}],
    "GlobalSecondaryIndexes": [
        {
            "IndexName": "Keys",
            "KeySchema": [{"AttributeName": "object_uri", "KeyType": "HASH"}],
            "Projection": {"ProjectionType": "KEYS_ONLY"},
        },
        {
            "IndexName": "Everything",
            "KeySchema": [{"AttributeName": "object_uri", "KeyType": "HASH"}],
            "Projection": {"ProjectionType": "ALL"},
        },
        {
            "IndexName": "Pending",
            "KeySchema": [{"AttributeName": "inflight", "KeyType": "HASH"}],
            "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["status"]},
        },
    ],
}


def test_a_status_change_rewrites_an_all_entry_but_not_a_keys_only_one():
    # Given an item of 1,000 B in three indexes, When only its status changes
    created = {**_item(1000 - (10 + 8) - (6 + 9)), "object_uri": s("s3://b/k"), "status": s("SUBMITTED")}
    assert item_size(created) == 1000
    updated = {**created, "status": s("SUCCEEDED")}  # same size: "SUCCEEDED" is 9 like "SUBMITTED"
    declared = {i.name: i for i in indexes(PROPERTIES)}
    # Then the table pays 1, the ALL copy is rewritten at 1,000 + 100 B (2 units), the keys-only entry
    # is not written, and the sparse index the item is not in costs nothing.
    assert write_units(list(declared.values()), Write(created, updated)) == {
        "table": 1,
        "Keys": 0,
        "Everything": 2,
        "Pending": 0,
    }


def test_a_changed_index_key_is_a_delete_and_a_put_of_the_projected_entry():
    pending = Index.declared(PROPERTIES, "Pending")
    big = _item(3000)  # not projected: the entry stays small whatever the item carries
    before = {**big, "inflight": s("RECEIVED#01"), "status": s("RECEIVED")}
    after = {**big, "inflight": s("SUBMITTED#01"), "status": s("SUBMITTED")}
    assert pending.change(before, after) == "move"
    assert pending.write_units(before, after) == 1 + 1
    assert pending.write_units(after, {**big, "status": s("SUCCEEDED")}) == 1  # leaves the sparse index
    assert pending.write_units(None, before) == 1  # put


@pytest.mark.parametrize(
    ("operation", "response", "consistent", "units"),
    [
        ("GetItem", {"Item": _item(4096)}, True, 1.0),
        ("GetItem", {"Item": _item(4097)}, True, 2.0),
        ("GetItem", {"Item": _item(100)}, False, 0.5),
        ("BatchGetItem", {"Responses": {"t": [_item(100), _item(5000)]}}, False, 0.5 + 1.0),
        ("Query", {"Items": [_item(2000), _item(2000), _item(200)]}, False, 0.5 * 2),  # the page's total
        ("Query", {"Items": []}, False, 0.5),  # an empty page still costs the minimum
    ],
)
def test_reads_cost_four_kilobyte_units_halved_when_eventually_consistent(operation, response, consistent, units):
    assert read_units(operation, response, {operation: consistent}) == units
