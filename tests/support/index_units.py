"""What a global secondary index costs in write units, by DynamoDB's rules, from the item before and
after each write the product really made (read back from the table's stream: moto records every
write's old and new image).

DynamoDB's rules for a GSI (Developer Guide, "Provisioned throughput considerations for GSIs"): a
write that gives an item the index key puts one entry; one that changes a key attribute deletes the
old entry and puts the new one (two writes); one that removes the key deletes the entry; one that
changes only projected attributes updates it; an item in the index neither before nor after costs
nothing. Each entry write is ⌈entry size / 1 KB⌉ units, the entry being the table key, the index key
and the projected attributes, plus DynamoDB's 100 bytes of per-entry overhead (counted: the
conservative reading).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

ENTRY_OVERHEAD = 100  # bytes DynamoDB adds to every index entry
WRITE_UNIT = 1024  # bytes of one write unit

Item = Mapping[str, Any]  # DynamoDB JSON: {"name": {"S": "..."}, …}


def value_size(value: Mapping[str, Any]) -> int:
    """The size DynamoDB counts for one attribute value (DynamoDB JSON)."""
    (kind, data), *_ = value.items()
    if kind == "S":
        return len(data.encode("utf-8"))
    if kind == "B":
        return len(data)
    if kind == "N":  # 1 byte per 2 significant digits, + 1
        digits = data.lstrip("-").replace(".", "").strip("0") or "0"
        return math.ceil(len(digits) / 2) + 1
    if kind in ("BOOL", "NULL"):
        return 1
    if kind in ("SS", "NS", "BS"):
        return sum(value_size({kind[0]: element}) for element in data)
    if kind == "L":
        return 3 + sum(1 + value_size(element) for element in data)
    if kind == "M":
        return 3 + sum(1 + len(name.encode("utf-8")) + value_size(element) for name, element in data.items())
    raise ValueError(f"unknown DynamoDB type {kind!r}")


def item_size(item: Item) -> int:
    return sum(len(name.encode("utf-8")) + value_size(value) for name, value in item.items())


@dataclass(frozen=True)
class Index:
    """A GSI as the table declares it (``GlobalSecondaryIndexes`` entry) on a table keyed ``table_key``."""

    name: str
    keys: tuple[str, ...]  # the index's partition (and sort) key
    table_key: tuple[str, ...]
    projection: str  # ALL, KEYS_ONLY, INCLUDE
    included: tuple[str, ...] = ()

    @classmethod
    def declared(cls, properties: Mapping[str, Any], name: str) -> Index:
        """The index ``name`` of a table's CloudFormation ``Properties`` (or CreateTable request)."""
        [index] = [i for i in properties["GlobalSecondaryIndexes"] if i["IndexName"] == name]
        projection = index["Projection"]
        return cls(
            name=name,
            keys=tuple(k["AttributeName"] for k in index["KeySchema"]),
            table_key=tuple(k["AttributeName"] for k in properties["KeySchema"]),
            projection=projection["ProjectionType"],
            included=tuple(projection.get("NonKeyAttributes", ())),
        )

    def entry(self, item: Item | None) -> dict[str, Any] | None:
        """The item's entry in this index, or None when it lacks a key attribute (a sparse index)."""
        if item is None or any(key not in item for key in self.keys):
            return None
        if self.projection == "ALL":
            return dict(item)
        kept = {*self.table_key, *self.keys, *(self.included if self.projection == "INCLUDE" else ())}
        return {name: value for name, value in item.items() if name in kept}

    def entry_units(self, entry: Item) -> int:
        return math.ceil((item_size(entry) + ENTRY_OVERHEAD) / WRITE_UNIT)

    def change(self, old: Item | None, new: Item | None) -> str | None:
        """What one table write does to this index: ``put``, ``delete``, ``move`` (a key changed:
        delete + put), ``update`` (projected attributes changed), or None (nothing)."""
        before, after = self.entry(old), self.entry(new)
        if before is None:
            return None if after is None else "put"
        if after is None:
            return "delete"
        if any(before[key] != after[key] for key in self.keys):
            return "move"
        return None if before == after else "update"

    def write_units(self, old: Item | None, new: Item | None) -> int:
        """The units one table write costs this index, from the item's images before and after."""
        change = self.change(old, new)
        before, after = self.entry(old), self.entry(new)
        deleted = self.entry_units(before) if before is not None and change in ("delete", "move") else 0
        written = self.entry_units(after) if after is not None and change in ("put", "move", "update") else 0
        return deleted + written


@dataclass(frozen=True)
class Write:
    old: dict[str, Any] | None
    new: dict[str, Any] | None

    @property
    def request_id(self) -> str:
        image = self.new or self.old or {}
        return str(image["request_id"]["S"])


class WriteLog:
    """Every write to a table, as (old image, new image), from its stream (enabled here)."""

    def __init__(self, dynamodb: Any, streams: Any, table: str) -> None:
        self._streams = streams
        described = dynamodb.update_table(
            TableName=table, StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
        )
        self._arn = described["TableDescription"]["LatestStreamArn"]
        self._iterators: dict[str, str] = {}

    def take(self) -> list[Write]:
        """The writes since the last call, in order."""
        return list(self._records())

    def _records(self) -> Iterator[Write]:
        shards = self._streams.describe_stream(StreamArn=self._arn)["StreamDescription"]["Shards"]
        for shard in shards:
            shard_id = shard["ShardId"]
            iterator = (
                self._iterators.get(shard_id)
                or self._streams.get_shard_iterator(
                    StreamArn=self._arn, ShardId=shard_id, ShardIteratorType="TRIM_HORIZON"
                )["ShardIterator"]
            )
            while True:
                page = self._streams.get_records(ShardIterator=iterator)
                iterator = page["NextShardIterator"]
                for record in page["Records"]:
                    images = record["dynamodb"]
                    yield Write(images.get("OldImage"), images.get("NewImage"))
                if not page["Records"]:
                    break
            self._iterators[shard_id] = iterator


def units(index: Index, writes: Sequence[Write], request_id: str | None = None) -> int:
    """The write units ``writes`` (of one request, when given) cost ``index``."""
    return sum(index.write_units(w.old, w.new) for w in writes if request_id in (None, w.request_id))


def changes(index: Index, writes: Sequence[Write], request_id: str | None = None) -> list[str]:
    """What ``writes`` (of one request, when given) did to ``index``, in order (writes that left it
    alone left out)."""
    found = (index.change(w.old, w.new) for w in writes if request_id in (None, w.request_id))
    return [change for change in found if change is not None]


def table_units(old: Item | None, new: Item | None) -> int:
    """The units one write costs the table itself: ⌈the larger of the item before and after / 1 KB⌉,
    at least 1 (DynamoDB Developer Guide, "Read/write capacity mode": PutItem, UpdateItem and
    DeleteItem are charged for the larger of the two images)."""
    largest = max(item_size(old or {}), item_size(new or {}))
    return max(1, math.ceil(largest / WRITE_UNIT))


def indexes(properties: Mapping[str, Any]) -> list[Index]:
    """Every GSI a table declares (CloudFormation ``Properties``)."""
    return [Index.declared(properties, i["IndexName"]) for i in properties.get("GlobalSecondaryIndexes", ())]


def write_units(all_indexes: Sequence[Index], write: Write) -> dict[str, int]:
    """One write's units: ``table`` and one entry per index (0 when it left the index alone)."""
    found = {"table": table_units(write.old, write.new)}
    for index in all_indexes:
        found[index.name] = index.write_units(write.old, write.new)
    return found
