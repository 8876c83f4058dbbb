"""Reading the tracker table: the one implementation of Query and Scan paging, batched gets and item
decoding. The layer's ``TrackerTable``, sio's reader (``pip install .`` ships this module with sio),
the local stack and the tests all read through it.

Clients are injected. Nothing here translates a failed call: the functions turn it into a
RetryableError (their SQS or Lambda retry repeats the step), sio into a message for its user. Only
the keys DynamoDB leaves unprocessed in a BatchGetItem are asked again here, with the backoff
DynamoDB asks for, since that is part of reading a batch at all.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from boto3.dynamodb.types import TypeDeserializer

BATCH_GET_MAX = 100  # keys per BatchGetItem call
UNPROCESSED_ATTEMPTS = 8  # BatchGetItem calls for one batch while DynamoDB leaves keys unprocessed

_deserializer = TypeDeserializer()


def item_of(raw: Mapping[str, Any]) -> dict[str, Any]:
    """A DynamoDB item (``{"S": …}`` values) as Python values (numbers as Decimal)."""
    return {name: _deserializer.deserialize(value) for name, value in raw.items()}


def index_query(table: str, index: str, key: Mapping[str, str | None], **more: Any) -> dict[str, Any]:
    """The parameters of a Query on one of the table's indexes. ``key``: the key condition's clauses,
    each ending in its placeholder (``"inflight = :p"``), with their string values; a clause whose value
    is None is left out (an optional bound on the sort key). ``more`` adds the rest (names, a filter,
    a projection, the order)."""
    clauses = {clause: value for clause, value in key.items() if value is not None}
    return {
        "TableName": table,
        "IndexName": index,
        "KeyConditionExpression": " AND ".join(clauses),
        "ExpressionAttributeValues": {clause.rsplit(" ", 1)[1]: {"S": value} for clause, value in clauses.items()},
        **more,
    }


def query_pages(
    client: Any, params: Mapping[str, Any], *, first_page_size: int | None = None, page_size: int | None = None
) -> Iterator[dict[str, Any]]:
    """Query pages until the last one: the first of at most ``first_page_size`` items, the others of
    ``page_size`` (each at most DynamoDB's 1 MB). A caller that drops each page before asking for the
    next holds one page in memory."""
    return _pages(client.query, params, first_page_size, page_size)


def scan_pages(client: Any, params: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """Scan pages until the last one (only sio's ``--from-tracker``, the local stack and tests scan)."""
    return _pages(client.scan, params, None, None)


def scan_items(client: Any, table: str, *, consistent: bool = True) -> Iterator[dict[str, Any]]:
    """Every item of the table, decoded."""
    for page in scan_pages(client, {"TableName": table, "ConsistentRead": consistent}):
        yield from (item_of(raw) for raw in page.get("Items", []))


def get_item(client: Any, table: str, request_id: str) -> dict[str, Any] | None:
    """One request's item (a strongly consistent GetItem), decoded; None if there is none."""
    raw = client.get_item(TableName=table, Key={"request_id": {"S": request_id}}, ConsistentRead=True).get("Item")
    return None if raw is None else item_of(raw)


def batch_get(
    client: Any,
    table: str,
    request_ids: Sequence[str],
    *,
    attributes: Sequence[str] = (),
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[list[dict[str, Any]], bool]:
    """The items of up to :data:`BATCH_GET_MAX` requests (one BatchGetItem, again for the keys DynamoDB
    leaves unprocessed), decoded, in no particular order; missing ones left out. Returns the items and
    whether every key was processed within :data:`UNPROCESSED_ATTEMPTS` calls."""
    unique = list(dict.fromkeys(request_ids))
    if len(unique) > BATCH_GET_MAX:
        raise ValueError(f"at most {BATCH_GET_MAX} keys per call, got {len(unique)}")
    keys: dict[str, Any] = {"Keys": [{"request_id": {"S": request_id}} for request_id in unique]}
    if attributes:
        names = {f"#a{i}": name for i, name in enumerate(dict.fromkeys(["request_id", *attributes]))}
        keys |= {"ProjectionExpression": ", ".join(names), "ExpressionAttributeNames": names}
    request: dict[str, Any] = {table: keys}
    found: list[dict[str, Any]] = []
    for attempt in range(UNPROCESSED_ATTEMPTS):
        response = client.batch_get_item(RequestItems=request)
        found.extend(item_of(raw) for raw in response.get("Responses", {}).get(table, []))
        request = response.get("UnprocessedKeys") or {}
        if not request:
            return found, True
        sleep(min(0.05 * 2**attempt, 1.0))  # DynamoDB asks for backoff before the rest
    return found, False


def _pages(
    call: Callable[..., dict[str, Any]], params: Mapping[str, Any], first: int | None, size: int | None
) -> Iterator[dict[str, Any]]:
    request = dict(params)
    if first is not None:
        request["Limit"] = first
    while True:
        page = call(**request)
        last = page.get("LastEvaluatedKey")
        yield page
        del page  # released before the next page is fetched
        if not last:
            return
        request["ExclusiveStartKey"] = last
        if size is not None:
            request["Limit"] = size
