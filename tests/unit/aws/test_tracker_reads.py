"""The one tracker reader (orchestrator/aws/tracker_reads.py): paging and batched gets, against a client
that answers like DynamoDB (pages with LastEvaluatedKey, keys left unprocessed under throttling)."""

from __future__ import annotations

from typing import Any

import pytest
from orchestrator.aws import tracker_reads
from orchestrator.aws.tracker_table import TrackerTable
from orchestrator.errors import RetryableError
from sio.errors import SioError
from sio.tracker import TrackerReader


class Throttled:
    """BatchGetItem that returns ``per_call`` items a call and leaves the rest unprocessed."""

    def __init__(self, per_call: int) -> None:
        self.per_call = per_call
        self.calls: list[int] = []

    def batch_get_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:
        [(table, request)] = RequestItems.items()
        keys = request["Keys"]
        self.calls.append(len(keys))
        served, left = keys[: self.per_call], keys[self.per_call :]
        answer: dict[str, Any] = {"Responses": {table: [{"request_id": k["request_id"]} for k in served]}}
        if left:
            answer["UnprocessedKeys"] = {table: {**request, "Keys": left}}
        return answer


class Paged:
    """Query and Scan over ``items`` in pages of ``Limit`` (or 2), with DynamoDB's LastEvaluatedKey."""

    def __init__(self, count: int) -> None:
        self.items = [{"request_id": {"S": f"{n:032x}"}, "size": {"N": str(n)}} for n in range(count)]
        self.requests: list[dict[str, Any]] = []

    def _page(self, **params: Any) -> dict[str, Any]:
        self.requests.append(params)
        start = int(params.get("ExclusiveStartKey", {}).get("n", 0))
        end = start + int(params.get("Limit", 2))
        page: dict[str, Any] = {"Items": self.items[start:end], "Count": len(self.items[start:end])}
        if end < len(self.items):
            page["LastEvaluatedKey"] = {"n": end}
        return page

    query = _page
    scan = _page


def test_query_pages_asks_for_the_first_page_size_then_the_next_and_follows_every_key() -> None:
    client = Paged(7)
    pages = list(tracker_reads.query_pages(client, {"TableName": "t"}, first_page_size=1, page_size=3))
    assert [len(page["Items"]) for page in pages] == [1, 3, 3]
    assert [r.get("Limit") for r in client.requests] == [1, 3, 3]
    assert [r.get("ExclusiveStartKey") for r in client.requests] == [None, {"n": 1}, {"n": 4}]


def test_scan_items_decodes_every_item_of_every_page() -> None:
    items = list(tracker_reads.scan_items(Paged(5), "t"))
    assert [item["size"] for item in items] == [0, 1, 2, 3, 4]  # numbers as DynamoDB's Decimals
    assert items[0]["request_id"] == "0" * 32


def test_batch_get_asks_again_for_unprocessed_keys_with_backoff() -> None:
    client, slept = Throttled(per_call=40), []
    ids = [f"{n:032x}" for n in range(100)]
    found, complete = tracker_reads.batch_get(client, "t", ids, sleep=slept.append)
    assert complete and sorted(item["request_id"] for item in found) == ids
    assert client.calls == [100, 60, 20]
    assert slept == [0.05, 0.1]


def test_batch_get_gives_up_after_its_attempts_and_says_so() -> None:
    client, slept = Throttled(per_call=1), []
    found, complete = tracker_reads.batch_get(client, "t", [f"{n:032x}" for n in range(20)], sleep=slept.append)
    assert not complete and len(found) == tracker_reads.UNPROCESSED_ATTEMPTS
    assert len(client.calls) == tracker_reads.UNPROCESSED_ATTEMPTS


def test_batch_get_refuses_more_keys_than_one_call_takes() -> None:
    with pytest.raises(ValueError, match="at most 100 keys per call, got 101"):
        tracker_reads.batch_get(Throttled(100), "t", [str(n) for n in range(101)])


def test_keys_left_unprocessed_are_a_retry_for_the_functions_and_a_message_for_sio(monkeypatch) -> None:
    monkeypatch.setattr(tracker_reads.time, "sleep", lambda _: None)
    ids = [f"{n:032x}" for n in range(20)]
    with pytest.raises(RetryableError, match="unprocessed 8 times"):
        TrackerTable("t", Throttled(per_call=1)).get_many(ids, ["status"])
    with pytest.raises(SioError, match="DynamoDB left keys of t unprocessed 8 times in a row"):
        TrackerReader(Throttled(per_call=1), "t").get_many(ids)


def test_index_query_joins_the_key_clauses_given_and_leaves_out_an_absent_bound() -> None:
    bounded = tracker_reads.index_query(
        "t", "ByObject", {"object_uri = :u": "s3://b/k", "created_at >= :since": "2026-01-01"}, Limit=5
    )
    assert bounded == {
        "TableName": "t",
        "IndexName": "ByObject",
        "KeyConditionExpression": "object_uri = :u AND created_at >= :since",
        "ExpressionAttributeValues": {":u": {"S": "s3://b/k"}, ":since": {"S": "2026-01-01"}},
        "Limit": 5,
    }
    unbounded = tracker_reads.index_query(
        "t", "ByObject", {"object_uri = :u": "s3://b/k", "created_at >= :since": None}
    )
    assert unbounded["KeyConditionExpression"] == "object_uri = :u"
    assert unbounded["ExpressionAttributeValues"] == {":u": {"S": "s3://b/k"}}
