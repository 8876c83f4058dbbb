"""The local AWS's fixes to moto's DynamoDB answer exactly as moto does: every request here is made
once on moto as it is and once patched, on the same data, and the answers compared whole."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.dynamodb.models.table import Table
from moto.dynamodb.parsing.ast_nodes import Node
from moto.dynamodb.parsing.expressions import UpdateExpressionParser

from local.aws import moto_dynamodb_patches, moto_patches
from tests.support.spy import count_calls

REGION = "us-east-1"
ITEMS = 60


@pytest.fixture
def dynamodb() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("dynamodb", region_name=REGION)
        for name in ("a", "b"):  # twin tables: the unpatched request on one, the patched on the other
            _tracker_table(client, name)
            _range_table(client, f"{name}-range")
        yield client
    moto_patches.restore()


def _tracker_table(client: Any, name: str) -> None:
    """The tracker's shape: a hash key, a KEYS_ONLY index and a sparse INCLUDE index."""
    client.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": n, "AttributeType": "S"}
            for n in ("request_id", "object_uri", "created_at", "inflight", "deadline_at")
        ],
        KeySchema=[{"AttributeName": "request_id", "KeyType": "HASH"}],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "ByObject",
                "KeySchema": [
                    {"AttributeName": "object_uri", "KeyType": "HASH"},
                    {"AttributeName": "created_at", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            },
            {
                "IndexName": "InFlight",
                "KeySchema": [
                    {"AttributeName": "inflight", "KeyType": "HASH"},
                    {"AttributeName": "deadline_at", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["status", "key"]},
            },
        ],
    )
    for n in range(ITEMS):
        item = {
            "request_id": {"S": f"r{(n * 37) % ITEMS:03d}"},
            "object_uri": {"S": f"s3://b/k{n % 7}"},
            "created_at": {"S": f"2026-01-01T00:{n % 13:02d}:{n:02d}Z"},
            "status": {"S": ("RECEIVED", "SUBMITTED", "SUCCEEDED")[n % 3]},
            "key": {"S": f"k{n % 7}"},
            "nbytes": {"N": str(n * 10)},
            "tags": {"SS": ["x", f"t{n % 4}"]},
            "history": {"L": [{"S": "RECEIVED"}]},
            "detail": {"M": {"attempts": {"N": "1"}}},
        }
        if n % 3 != 2:  # sparse: finished items leave the index
            item["inflight"] = {"S": f"{item['status']['S']}#{n % 4:02d}"}
            item["deadline_at"] = {"S": f"2026-01-02T00:00:{(n * 7) % 60:02d}Z"}
        client.put_item(TableName=name, Item=item)


def _range_table(client: Any, name: str) -> None:
    """A hash and range key table with a numeric index hash key ("1" and "1.0" are the same number)."""
    client.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "N"},
            {"AttributeName": "group", "AttributeType": "N"},
        ],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "ByGroup",
                "KeySchema": [{"AttributeName": "group", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    )
    for n in range(30):
        group = ("1", "1.0", "2", "10")[n % 4]
        item = {"pk": {"S": f"p{n % 5}"}, "sk": {"N": str(30 - n)}, "v": {"S": f"v{n}"}}
        if n % 6:
            item["group"] = {"N": group}
        client.put_item(TableName=name, Item=item)


def _outcome(call: Callable[[], Any]) -> Any:
    """A request's answer, or its error as the client sees it (code, message, returned item)."""
    try:
        response = call()
    except ClientError as error:
        return ("error", error.response["Error"], error.response.get("Item"))
    if isinstance(response, dict):
        response.pop("ResponseMetadata", None)
        response.get("ConsumedCapacity", {}).pop("TableName", None)  # the twin's name
    return response


def _both(request: Callable[[str], Any], table: str = "") -> tuple[Any, Any]:
    """``request`` on moto as it is (table ``a``), then patched (table ``b``)."""
    unpatched = _outcome(lambda: request(f"a{table}"))
    moto_patches.apply()
    try:
        patched = _outcome(lambda: request(f"b{table}"))
    finally:
        moto_patches.restore()
    return unpatched, patched


def _all_pages(client: Any, **kwargs: Any) -> list[Any]:
    pages = []
    while True:
        page = client.query(**kwargs)
        page.pop("ResponseMetadata")
        pages.append(page)
        if "LastEvaluatedKey" not in page:
            return pages
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


QUERIES: dict[str, dict[str, Any]] = {
    "sparse index, hash key": {
        "IndexName": "InFlight",
        "KeyConditionExpression": "inflight = :p",
        "ExpressionAttributeValues": {":p": {"S": "RECEIVED#00"}},
    },
    "sparse index, range condition, projection (the sweeper's)": {
        "IndexName": "InFlight",
        "KeyConditionExpression": "inflight = :p AND deadline_at <= :until",
        "ExpressionAttributeNames": {"#s": "status", "#k": "key", "#r": "request_id"},
        "ExpressionAttributeValues": {":p": {"S": "SUBMITTED#01"}, ":until": {"S": "2026-01-02T00:00:40Z"}},
        "ProjectionExpression": "#r, #s, #k",
    },
    "sparse index, count (the sweeper's)": {
        "IndexName": "InFlight",
        "KeyConditionExpression": "inflight = :p",
        "ExpressionAttributeValues": {":p": {"S": "RECEIVED#02"}},
        "Select": "COUNT",
    },
    "sparse index, begins_with and a filter": {
        "IndexName": "InFlight",
        "KeyConditionExpression": "inflight = :p AND begins_with(deadline_at, :day)",
        "FilterExpression": "#s = :s",
        "ExpressionAttributeNames": {"#s": "status"},
        "ExpressionAttributeValues": {
            ":p": {"S": "RECEIVED#01"},
            ":day": {"S": "2026-01-02"},
            ":s": {"S": "RECEIVED"},
        },
    },
    "keys-only index, newest first": {
        "IndexName": "ByObject",
        "KeyConditionExpression": "object_uri = :u",
        "ExpressionAttributeValues": {":u": {"S": "s3://b/k3"}},
        "ScanIndexForward": False,
    },
    "keys-only index, range between": {
        "IndexName": "ByObject",
        "KeyConditionExpression": "object_uri = :u AND created_at BETWEEN :a AND :b",
        "ExpressionAttributeValues": {
            ":u": {"S": "s3://b/k2"},
            ":a": {"S": "2026-01-01T00:03"},
            ":b": {"S": "2026-01-01T00:10"},
        },
    },
    "no item has the value": {
        "IndexName": "InFlight",
        "KeyConditionExpression": "inflight = :p",
        "ExpressionAttributeValues": {":p": {"S": "nothing"}},
    },
    "the table, not an index": {
        "KeyConditionExpression": "request_id = :r",
        "ExpressionAttributeValues": {":r": {"S": "r007"}},
    },
}


@pytest.mark.parametrize("limit", [None, 1, 3])
@pytest.mark.parametrize("name", list(QUERIES))
def test_queries_answer_as_moto_does(dynamodb: Any, name: str, limit: int | None) -> None:
    query = dict(QUERIES[name], **({"Limit": limit} if limit else {}))
    unpatched, patched = _both(lambda table: _all_pages(dynamodb, TableName=table, **query))
    assert patched == unpatched
    if name != "no item has the value":
        assert sum(page["Count"] for page in unpatched) > 0  # the comparison is not between empty answers


SWEEP = QUERIES["sparse index, range condition, projection (the sweeper's)"]


@pytest.mark.parametrize("limit", [None, 1, 2, 3, 4, 5])
@pytest.mark.parametrize("forward", [True, False])
def test_range_conditions_page_as_moto_pages_them(dynamodb: Any, limit: int | None, forward: bool) -> None:
    """Every Limit around the number of matches (where moto ends a page on a candidate that fails the
    range condition, its last key pointing past the matches), in both directions."""
    query = dict(SWEEP, ScanIndexForward=forward, **({"Limit": limit} if limit else {}))
    unpatched, patched = _both(lambda table: _all_pages(dynamodb, TableName=table, **query))
    assert patched == unpatched
    assert 0 < sum(page["Count"] for page in unpatched) < ITEMS // 8  # few match; the partition holds more


def test_heavy_matches_are_paged_as_moto_pages_them(dynamodb: Any) -> None:
    """Matches that weigh over 595,000 bytes: a failing candidate could end moto's 1 MB page, so the
    candidates are left as moto finds them."""
    blob = "x" * 250_000

    def heavy(table: str) -> Any:
        for n in range(4):
            item = {"request_id": {"S": f"h{n}"}, "inflight": {"S": "HEAVY#00"}, "blob": {"S": blob}}
            item["deadline_at"] = {"S": f"2026-01-0{1 + n % 2}T00:00:00Z"}  # two match, two do not
            dynamodb.put_item(TableName=table, Item=item)
        query = {"KeyConditionExpression": "inflight = :p AND deadline_at <= :until", "IndexName": "InFlight"}
        values = {":p": {"S": "HEAVY#00"}, ":until": {"S": "2026-01-01T12:00:00Z"}}
        return _all_pages(dynamodb, TableName=table, ExpressionAttributeValues=values, **query)

    unpatched, patched = _both(heavy)
    assert patched == unpatched and sum(page["Count"] for page in unpatched) == 2


def test_a_range_query_weighs_only_its_matches(dynamodb: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """A backlog: 40 files in flight in one partition, 2 of them overdue."""
    from moto.dynamodb.models.dynamo_type import Item

    weighed = count_calls(monkeypatch, Item, "size")
    counts = []

    def sweep(table: str) -> Any:
        for n in range(40):
            deadline = "2026-01-01T00:00:00Z" if n < 2 else "2026-01-03T00:00:00Z"
            item = {"request_id": {"S": f"b{n}"}, "inflight": {"S": "SUBMITTED#09"}, "deadline_at": {"S": deadline}}
            dynamodb.put_item(TableName=table, Item=item)
        weighed.n = 0
        try:
            values = {":p": {"S": "SUBMITTED#09"}, ":until": {"S": "2026-01-02T00:00:00Z"}}
            return _all_pages(dynamodb, TableName=table, **dict(SWEEP, ExpressionAttributeValues=values))
        finally:
            counts.append(weighed.n)

    unpatched, patched = _both(sweep)
    assert patched == unpatched and sum(page["Count"] for page in unpatched) == 2
    assert counts[0] >= 40  # moto weighs every candidate of the partition
    assert counts[1] <= 3 * 2  # the patch: the matches only (moto's page check and total, its own total)


@pytest.mark.parametrize("value", ["1", "1.0", "10", "3"])
@pytest.mark.parametrize("forward", [True, False])
def test_numeric_index_keys_match_as_numbers(dynamodb: Any, value: str, forward: bool) -> None:
    query = {
        "IndexName": "ByGroup",
        "KeyConditionExpression": "#g = :g",
        "ExpressionAttributeNames": {"#g": "group"},
        "ExpressionAttributeValues": {":g": {"N": value}},
        "ScanIndexForward": forward,
        "Limit": 4,
    }
    unpatched, patched = _both(lambda table: _all_pages(dynamodb, TableName=table, **query), "-range")
    assert patched == unpatched
    if value.startswith("1"):
        stored = {i["group"]["N"] for page in unpatched for i in page["Items"]}
        assert stored == ({"1", "1.0"} if value != "10" else {"10"})  # moto compares numbers, not strings


def test_an_index_query_no_longer_sorts_the_table(dynamodb: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    comparisons = count_calls(monkeypatch, DynamoType, "__lt__")
    query = QUERIES["sparse index, hash key"]
    before = dynamodb.query(TableName="a", **query)["Items"]
    unpatched = comparisons.n
    comparisons.n = 0
    moto_patches.apply()
    after = dynamodb.query(TableName="b", **query)["Items"]
    assert after == before and len(before) == 5
    assert unpatched >= ITEMS  # moto: the whole table sorted
    assert comparisons.n < 3 * len(before)  # patched: the few matches sorted


UPDATES: dict[str, dict[str, Any]] = {
    "the router's confirm (SET and REMOVE, a condition)": {
        "UpdateExpression": "SET #f0 = :v0, #f1 = :v1, #f2 = :v2 REMOVE #r0, #r1",
        "ConditionExpression": "#status = :received",
        "ExpressionAttributeNames": {
            "#f0": "status",
            "#f1": "inflight",
            "#f2": "deadline_at",
            "#r0": "history",
            "#r1": "missing",
            "#status": "status",
        },
        "ExpressionAttributeValues": {
            ":v0": {"S": "SUBMITTED"},
            ":v1": {"S": "SUBMITTED#00"},
            ":v2": {"S": "2026-01-03T00:00:00Z"},
            ":received": {"S": "RECEIVED"},
        },
        "ReturnValues": "ALL_NEW",
    },
    "a condition that fails, the old item returned": {
        "UpdateExpression": "SET #s = :s",
        "ConditionExpression": "#s = :other",
        "ExpressionAttributeNames": {"#s": "status"},
        "ExpressionAttributeValues": {":s": {"S": "FAILED"}, ":other": {"S": "nope"}},
        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
    },
    "a new item (no condition)": {
        "Key": {"request_id": {"S": "new"}},
        "UpdateExpression": "SET #s = :s, nbytes = :n",
        "ExpressionAttributeNames": {"#s": "status"},
        "ExpressionAttributeValues": {":s": {"S": "RECEIVED"}, ":n": {"N": "5"}},
        "ReturnValues": "ALL_NEW",
    },
    "functions, arithmetic, nested paths, ADD and DELETE": {
        "UpdateExpression": "SET history = list_append(history, :h), nbytes = nbytes + :one, "
        "created = if_not_exists(created, :now), detail.attempts = detail.attempts + :one "
        "ADD tally :one DELETE tags :t",
        "ExpressionAttributeValues": {
            ":h": {"L": [{"S": "SUBMITTED"}]},
            ":one": {"N": "1"},
            ":now": {"S": "2026"},
            ":t": {"SS": ["x"]},
        },
        "ReturnValues": "UPDATED_NEW",
    },
    "two SET clauses": {
        "UpdateExpression": "SET a = :v SET b = :v",
        "ExpressionAttributeValues": {":v": {"S": "x"}},
    },
    "two REMOVE clauses": {"UpdateExpression": "REMOVE a REMOVE b"},
    # moto reports the innermost repeated section ("SET"), not the first one it checks at the top ("REMOVE")
    "two REMOVE clauses, then two SET clauses": {
        "UpdateExpression": "REMOVE x REMOVE y SET a = :one SET b = :one",
        "ExpressionAttributeValues": {":one": {"N": "1"}},
    },
    "the same path twice": {
        "UpdateExpression": "SET #a = :v, #b = :v",
        "ExpressionAttributeNames": {"#a": "status", "#b": "status"},
        "ExpressionAttributeValues": {":v": {"S": "x"}},
    },
    "overlapping paths": {
        "UpdateExpression": "SET detail = :m, detail.attempts = :v",
        "ExpressionAttributeValues": {":m": {"M": {}}, ":v": {"N": "2"}},
    },
    "the key": {
        "UpdateExpression": "SET request_id = :v",
        "ExpressionAttributeValues": {":v": {"S": "other"}},
    },
    "an index key of the wrong type": {
        "UpdateExpression": "SET inflight = :v",
        "ExpressionAttributeValues": {":v": {"N": "1"}},
    },
    "a path that does not exist": {
        "UpdateExpression": "SET nbytes = nothing + :v",
        "ExpressionAttributeValues": {":v": {"N": "1"}},
    },
    "a value not given": {"UpdateExpression": "SET nbytes = :absent"},
}


@pytest.mark.parametrize("name", list(UPDATES))
def test_updates_answer_as_moto_does(dynamodb: Any, name: str) -> None:
    update = dict(UPDATES[name])
    key = update.pop("Key", {"request_id": {"S": "r003"}})
    unpatched, patched = _both(lambda table: dynamodb.update_item(TableName=table, Key=key, **update))
    assert patched == unpatched
    assert ("error" in unpatched) is (name not in ("the router's confirm (SET and REMOVE, a condition)",
                                                   "a new item (no condition)",
                                                   "functions, arithmetic, nested paths, ADD and DELETE"))  # fmt: skip
    assert _scan(dynamodb, "a") == _scan(dynamodb, "b")  # and left the same items behind


def test_a_repeated_update_answers_as_moto_does(dynamodb: Any) -> None:
    """The parsed expression is kept between requests: the second request must not see what the first
    one's validation did to the tree."""
    update = UPDATES["functions, arithmetic, nested paths, ADD and DELETE"]

    def twice(table: str) -> list[Any]:
        answers = [dynamodb.update_item(TableName=table, Key={"request_id": {"S": "r005"}}, **update) for _ in "12"]
        return [answer["Attributes"] for answer in answers]

    unpatched, patched = _both(twice)
    assert patched == unpatched
    assert unpatched[1]["nbytes"] == {"N": str(int(unpatched[0]["nbytes"]["N"]) + 1)}


def test_an_update_s_paths_are_compared_once(dynamodb: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """moto compares the paths of the actions below every node of the tree: quadratic in the actions."""
    from moto.dynamodb.parsing.validators import OverlappingPathsValidator

    checks = count_calls(monkeypatch, OverlappingPathsValidator, "check_for_overlapping_paths")
    update = UPDATES["the router's confirm (SET and REMOVE, a condition)"]
    counts = []

    def confirm(table: str) -> Any:
        checks.n = 0
        try:
            return dynamodb.update_item(TableName=table, Key={"request_id": {"S": "r003"}}, **update)
        finally:
            counts.append(checks.n)

    unpatched, patched = _both(confirm)
    assert patched == unpatched and "error" not in unpatched
    assert counts[0] > 20 and counts[1] == 1


def _scan(client: Any, table: str) -> list[Any]:
    return sorted(client.scan(TableName=table)["Items"], key=lambda i: i["request_id"]["S"])


def _shape(node: Any, seen: set[int] | None = None) -> Any:
    """A tree's classes, attributes and values, its parent links as the index of the parent seen."""
    if isinstance(node, Node):
        fields = {k: _shape(v) for k, v in vars(node).items() if k != "parent"}
        return (type(node).__name__, fields, type(node.parent).__name__ if node.parent is not None else None)
    if isinstance(node, list):
        return [_shape(v) for v in node]
    if isinstance(node, DynamoType):
        return ("DynamoType", node.type, node.value)
    return node


@pytest.mark.parametrize("expression", [UPDATES[n]["UpdateExpression"] for n in list(UPDATES)[:4]])
def test_expression_trees_copy_as_moto_copies_them(expression: str) -> None:
    tree = UpdateExpressionParser.make(expression)
    expected = copy.deepcopy(tree)
    moto_dynamodb_patches.apply()
    try:
        copied = copy.deepcopy(tree)
    finally:
        moto_dynamodb_patches.restore()
    assert _shape(copied) == _shape(expected) == _shape(tree)
    assert copied is not tree and copied.children[0] is not tree.children[0]
    assert copied.children[0].parent is copied  # parent links within the copy, as moto's copy has them


def test_each_expression_is_parsed_once_and_left_as_parsed(dynamodb: Any) -> None:
    update = UPDATES["the router's confirm (SET and REMOVE, a condition)"]
    fresh = _shape(UpdateExpressionParser.make(update["UpdateExpression"]))
    moto_dynamodb_patches.apply()
    first = UpdateExpressionParser.make(update["UpdateExpression"])
    assert UpdateExpressionParser.make(update["UpdateExpression"]) is first
    dynamodb.update_item(TableName="b", Key={"request_id": {"S": "r006"}}, **update)
    assert _shape(first) == fresh  # validation worked on a copy
    moto_dynamodb_patches.restore()
    assert UpdateExpressionParser.make(update["UpdateExpression"]) is not UpdateExpressionParser.make(
        update["UpdateExpression"]
    )


def test_restore_gives_moto_back() -> None:
    from moto.core.serialize import JSONSerializer
    from moto.dynamodb.comparisons import ConditionExpressionParser
    from moto.dynamodb.parsing.ast_nodes import DepthFirstTraverser
    from moto.dynamodb.parsing.validators import ActionCountValidator

    lexer, own_serializer = ConditionExpressionParser._lex_condition_expression, dict(vars(JSONSerializer))
    moto_dynamodb_patches.apply()
    assert ConditionExpressionParser._lex_condition_expression is not lexer and vars(JSONSerializer) != own_serializer
    moto_dynamodb_patches.restore()
    assert ConditionExpressionParser._lex_condition_expression is lexer and dict(vars(JSONSerializer)) == own_serializer

    originals = (Table.query, Table.all_items, DepthFirstTraverser.traverse, ActionCountValidator.verify_action_counts)
    assert "__deepcopy__" not in vars(Node)  # what restore relies on: moto's nodes have no copy of their own
    moto_dynamodb_patches.apply()
    assert Table.query is not originals[0] and "__deepcopy__" in vars(Node)
    moto_dynamodb_patches.restore()
    restored = (Table.query, Table.all_items, DepthFirstTraverser.traverse, ActionCountValidator.verify_action_counts)
    assert restored == originals
    assert "__deepcopy__" not in vars(Node) and "traverse" not in vars(ActionCountValidator)


# Every kind of attribute value, binary ones at the top and deep in a map and a list.
EVERY_KIND = {
    "request_id": {"S": "every-kind"},
    "n": {"N": "1.50"},
    "b": {"B": b"\x00\x01bin"},
    "ss": {"SS": ["x", "y"]},
    "ns": {"NS": ["1", "2"]},
    "bs": {"BS": [b"a", b"\xff"]},
    "m": {"M": {"x": {"S": "y"}, "deep": {"L": [{"N": "3"}, {"NULL": True}, {"B": b"\x02"}, {"M": {}}]}}},
    "l": {"L": [{"BOOL": False}, {"M": {"s": {"S": ""}}}, {"L": []}]},
    "null": {"NULL": True},
    "bool": {"BOOL": True},
}


@pytest.mark.parametrize("binary", [True, False])
def test_items_are_written_as_moto_writes_them(dynamodb: Any, binary: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    """Byte for byte, every response that carries items, with and without binary values inside."""
    item = EVERY_KIND if binary else {k: v for k, v in EVERY_KIND.items() if k not in ("b", "bs", "m")}
    bodies: list[bytes] = []
    dynamodb.meta.events.register(
        "after-call.dynamodb", lambda http_response, **_: bodies.append(http_response.content)
    )
    key = {"request_id": item["request_id"]}

    def requests(table: str) -> None:
        dynamodb.put_item(TableName=table, Item=item)
        dynamodb.get_item(TableName=table, Key=key)
        dynamodb.update_item(
            TableName=table,
            Key=key,
            UpdateExpression="SET x = :v",
            ExpressionAttributeValues={":v": {"S": "q"}},
            ReturnValues="ALL_NEW",
        )
        dynamodb.query(
            TableName=table,
            KeyConditionExpression="request_id = :r",
            ExpressionAttributeValues={":r": key["request_id"]},
        )
        with pytest.raises(ClientError):  # the item returned with a failed condition
            dynamodb.put_item(
                TableName=table,
                Item=item,
                ConditionExpression="attribute_not_exists(request_id)",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )

    requests("a")
    unpatched, bodies[:] = list(bodies), []
    textual = count_calls(monkeypatch, moto_dynamodb_patches, "_textual")  # type: ignore[arg-type]
    moto_dynamodb_patches.apply()
    try:
        requests("b")
    finally:
        moto_dynamodb_patches.restore()
    twin = [body.replace(b'"TableName": "a"', b'"TableName": "b"') for body in unpatched]  # an update's capacity
    assert len(bodies) == 5 and bodies == twin
    assert textual.n > 0  # the patched serializer wrote them


CONDITIONS = {
    "the router's claim": "attribute_not_exists(request_id) OR (#s = :received AND claim_expires_at < :now) "
    "OR (#s = :failed AND not_routed = :true)",
    "functions, IN, BETWEEN, NOT": "begins_with(#s, :r) AND size(#s) > :one AND NOT (#s IN (:failed, :received)) "
    "AND nbytes BETWEEN :one AND :now",
    "no space around a comparator": "#s<>:failed",
    "a value not given": "#s = :absent",
}


@pytest.mark.parametrize("name", list(CONDITIONS))
def test_conditions_lexed_once_answer_as_moto_does(dynamodb: Any, name: str) -> None:
    """The same condition twice (the second from the lexed tokens), each answer as moto's."""
    condition = {
        "ConditionExpression": CONDITIONS[name],
        "ExpressionAttributeNames": {"#s": "status"},
        "ExpressionAttributeValues": {
            k: v
            for k, v in {
                ":received": {"S": "RECEIVED"},
                ":failed": {"S": "FAILED"},
                ":true": {"BOOL": True},
                ":now": {"N": "1796634812"},
                ":r": {"S": "R"},
                ":one": {"N": "1"},
            }.items()
            if k in CONDITIONS[name]
        },
    }
    item = {"request_id": {"S": "r003"}, "status": {"S": "SUBMITTED"}}

    def twice(table: str) -> list[Any]:
        return [_outcome(lambda: dynamodb.put_item(TableName=table, Item=item, **condition)) for _ in range(2)]

    unpatched = twice("a")
    moto_dynamodb_patches.apply()
    lexer, runs = moto_dynamodb_patches._originals["lex"], []

    def counted(parser: Any) -> Any:
        runs.append(parser.condition_expression)
        return lexer(parser)

    moto_dynamodb_patches._originals["lex"] = counted
    try:
        patched = twice("b")
    finally:
        moto_dynamodb_patches._originals["lex"] = lexer
        moto_dynamodb_patches.restore()
    assert patched == unpatched
    # Two requests, each lexing it two or three times: moto's lexer ran once (a missing value is refused first).
    assert runs == ([] if name == "a value not given" else [CONDITIONS[name]])
