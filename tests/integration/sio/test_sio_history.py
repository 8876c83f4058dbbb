"""`sio status KEY` on moto, with ``ByObject`` projecting only its keys (a status change rewrites no
entry of it): every version of the object, newest first, as whole items (the keys from one Query
page, the items from one BatchGetItem), ``--status``/``--mode`` applied to the items since the index
holds neither, ``--limit`` the newest.

The items are written by the product's own tracker adapter into the table template.yaml declares.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from orchestrator.aws.tracker_table import TrackerTable
from orchestrator.core.status import Status

from tests.support.aws import tracker_table_properties
from tests.support.sio_moto import TABLE, sio

KEY = "incoming/daily/customers.csv"


@pytest.fixture
def versions(dynamodb: Any) -> list[str]:
    """Three versions of one key, oldest first: async SUCCEEDED, realtime FAILED, async SUBMITTED."""
    ids = []
    for n, (mode, status) in enumerate(
        [("async", Status.SUCCEEDED), ("realtime", Status.FAILED), ("async", Status.SUBMITTED)]
    ):
        moment = datetime.now(UTC) - timedelta(minutes=30 - n)
        tracker = TrackerTable(TABLE, dynamodb, clock=lambda moment=moment: moment)
        request_id = f"{n:032x}"
        fields = {"key": KEY, "object_uri": f"s3://bucket/{KEY}", "mode": mode, "version_id": f"v{n}"}
        tracker.claim(request_id, fields, 150)
        assert tracker.confirm(request_id, status, {"route_reason": f"version {n}", "failure_reason": None})
        ids.append(request_id)
    return ids


def test_the_index_holds_only_keys(dynamodb, versions):
    [index] = [i for i in tracker_table_properties()["GlobalSecondaryIndexes"] if i["IndexName"] == "ByObject"]
    assert index["Projection"] == {"ProjectionType": "KEYS_ONLY"}
    entries = dynamodb.query(
        TableName=TABLE,
        IndexName="ByObject",
        KeyConditionExpression="object_uri = :u",
        ExpressionAttributeValues={":u": {"S": f"s3://bucket/{KEY}"}},
    )["Items"]
    assert {frozenset(e) for e in entries} == {frozenset({"request_id", "object_uri", "created_at"})}


def test_every_version_newest_first_as_whole_items_in_one_query_and_one_batch_get(versions, calls):
    result = sio("-o", "json", "status", "daily/customers.csv")
    assert result.exit_code == 0, result.stderr
    items = json.loads(result.stdout)["items"]
    assert [i["request_id"] for i in items] == versions[::-1]
    assert [i["status"] for i in items] == ["SUBMITTED", "FAILED", "SUCCEEDED"]
    assert [i["route_reason"] for i in items] == ["version 2", "version 1", "version 0"]  # not in the index
    assert calls == ["dynamodb.Query", "dynamodb.BatchGetItem"]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--status", "FAILED"], [1]),
        (["--mode", "async"], [2, 0]),
        (["--mode", "async", "--status", "SUCCEEDED"], [0]),
        (["--limit", "2"], [2, 1]),
    ],
)
def test_status_mode_and_limit_apply_to_the_items(versions, args, expected):
    result = sio("-o", "json", "status", "daily/customers.csv", *args)
    assert result.exit_code == 0, result.stderr
    assert [i["request_id"] for i in json.loads(result.stdout)["items"]] == [versions[n] for n in expected]


def test_a_limit_of_one_reads_one_key_and_one_item(versions, calls):
    result = sio("-o", "json", "status", "daily/customers.csv", "--limit", "1")
    assert result.exit_code == 0, result.stderr
    assert [i["request_id"] for i in json.loads(result.stdout)["items"]] == [versions[2]]
    assert calls == ["dynamodb.Query", "dynamodb.BatchGetItem"]
