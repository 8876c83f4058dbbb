"""`sio status --status FAILED|EXPIRED|STOPPED|SKIPPED --since T [--mode M]` on moto: the files whose
outcome was written in the window, newest first, from the ByOutcome index's 16 shards (16 Queries,
never a Scan); nothing older, nothing else.

The items are written by the product's own tracker adapter (claim, then the outcome), each at its
moment, into the table template.yaml declares; the CLI runs in-process against a stack given by
``SIO_*`` variables.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws
from orchestrator.aws.tracker_table import TrackerTable
from orchestrator.core.status import Status

from tests.support.aws import tracker_table_properties
from tests.support.sio_moto import TABLE, sio


def write(dynamodb: Any, name: str, status: Status, minutes_ago: float, mode: str = "async") -> str:
    """A file whose outcome ``status`` was written ``minutes_ago`` (through the tracker adapter)."""
    moment = datetime.now(UTC) - timedelta(minutes=minutes_ago)
    tracker = TrackerTable(TABLE, dynamodb, clock=lambda: moment)
    request_id = hashlib.sha256(name.encode()).hexdigest()[:32]
    key = f"incoming/{name}"
    tracker.claim(request_id, {"key": key, "object_uri": f"s3://bucket/{key}", "mode": mode}, 150)
    reason = None if status is Status.SUCCEEDED else f"{name} went wrong"
    assert tracker.confirm(request_id, status, {"failure_reason": reason})
    return request_id


@pytest.fixture
def outcomes(dynamodb: Any) -> dict[str, str]:
    """Files of every kind around a one-hour window."""
    return {
        name: write(dynamodb, name, status, minutes_ago, mode)
        for name, status, minutes_ago, mode in [
            ("recent-async.csv", Status.FAILED, 5, "async"),
            ("recent-realtime.csv", Status.FAILED, 20, "realtime"),
            ("almost-an-hour.csv", Status.FAILED, 58, "async"),
            ("two-hours-ago.csv", Status.FAILED, 120, "async"),
            ("expired.csv", Status.EXPIRED, 10, "async"),
            ("skipped.csv", Status.SKIPPED, 15, "realtime"),
            ("succeeded.csv", Status.SUCCEEDED, 3, "async"),
        ]
    }


def test_failed_since_one_hour_lists_exactly_the_windows_failures_newest_first(outcomes, calls):
    result = sio("-o", "json", "status", "--status", "FAILED", "--since", "1h")

    assert result.exit_code == 0, result.stderr
    listing = json.loads(result.stdout)
    assert [item["key"] for item in listing["items"]] == [
        "incoming/recent-async.csv",
        "incoming/recent-realtime.csv",
        "incoming/almost-an-hour.csv",
    ]
    assert listing["count"] == 3 and listing["query"]["by"].startswith("outcome (ByOutcome")
    first = listing["items"][0]
    assert (first["request_id"], first["status"], first["mode"]) == (outcomes["recent-async.csv"], "FAILED", "async")
    assert first["failure_reason"] == "recent-async.csv went wrong"
    # 16 Queries, one per shard, the window in the key condition: nothing older is read, no Scan
    assert calls == ["dynamodb.Query"] * 16


def test_mode_filters_and_limit_keeps_the_newest(outcomes):
    by_mode = json.loads(
        sio("-o", "json", "status", "--status", "FAILED", "--since", "1h", "--mode", "realtime").stdout
    )
    assert [item["key"] for item in by_mode["items"]] == ["incoming/recent-realtime.csv"]
    newest = json.loads(sio("-o", "json", "status", "--status", "FAILED", "--since", "3h", "--limit", "2").stdout)
    assert [item["key"] for item in newest["items"]] == ["incoming/recent-async.csv", "incoming/recent-realtime.csv"]
    everything = json.loads(sio("-o", "json", "status", "--status", "FAILED").stdout)
    assert everything["count"] == 4  # no --since: every FAILED outcome the table keeps


@pytest.mark.parametrize(("status", "name"), [("EXPIRED", "expired.csv"), ("SKIPPED", "skipped.csv")])
def test_each_unsuccessful_status_lists_its_own_files(outcomes, status, name):
    listing = json.loads(sio("-o", "json", "status", "--status", status, "--since", "1h").stdout)
    assert [item["request_id"] for item in listing["items"]] == [outcomes[name]]
    assert json.loads(sio("-o", "json", "status", "--status", "STOPPED", "--since", "1h").stdout)["count"] == 0


def test_the_table_shows_each_file_with_its_reason(outcomes):
    result = sio("status", "--status", "FAILED", "--since", "30m")
    assert result.exit_code == 0, result.stderr
    assert "2 item(s) by outcome (ByOutcome index" in result.stdout
    # (cells wrap at the output's width: look for words)
    assert "recent-async" in result.stdout and "recent-realtime" in result.stdout and "wrong" in result.stdout
    assert "almost-an-hour" not in result.stdout and "two-hours-ago" not in result.stdout


def test_succeeded_still_has_no_index_and_says_so(outcomes, calls):
    result = sio("status", "--status", "SUCCEEDED", "--since", "1h")
    assert result.exit_code == 2 and "no index lists SUCCEEDED items" in result.stderr
    assert calls == []


def test_a_table_without_the_index_says_to_deploy_this_version():
    # Given a stack deployed before ByOutcome existed (its table has the other two indexes only)
    properties = tracker_table_properties()
    with mock_aws():
        boto3.client("dynamodb", region_name="us-east-1").create_table(
            TableName=TABLE,
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[
                a for a in properties["AttributeDefinitions"] if a["AttributeName"] not in ("outcome", "status_since")
            ],
            KeySchema=properties["KeySchema"],
            GlobalSecondaryIndexes=[i for i in properties["GlobalSecondaryIndexes"] if i["IndexName"] != "ByOutcome"],
        )
        result = sio("-o", "json", "status", "--status", "FAILED", "--since", "1h")
    assert result.exit_code == 2
    error = json.loads(result.stdout)
    assert "cannot answer from its ByOutcome index yet" in error["error"] and "sam deploy" in error["error"]
    assert error["details"] == {"table": TABLE, "index": "ByOutcome"}


def test_the_backfill_lists_outcomes_recorded_before_the_upgrade(dynamodb, outcomes):
    from scripts.backfill_outcomes import backfill

    # Given items recorded before the index existed (the same items without the key)
    for request_id in outcomes.values():
        dynamodb.update_item(TableName=TABLE, Key={"request_id": {"S": request_id}}, UpdateExpression="REMOVE outcome")
    assert json.loads(sio("-o", "json", "status", "--status", "FAILED", "--since", "1h").stdout)["count"] == 0
    # When the one-off backfill runs (a dry run first writes nothing)
    assert backfill(dynamodb, TABLE, dry_run=True)["keyed"] == {"FAILED": 4, "EXPIRED": 1, "SKIPPED": 1}
    assert json.loads(sio("-o", "json", "status", "--status", "FAILED").stdout)["count"] == 0
    summary = backfill(dynamodb, TABLE)
    # Then they are listed as if written by this version, by when their outcome was written
    assert summary["keyed"] == {"FAILED": 4, "EXPIRED": 1, "SKIPPED": 1}
    listing = json.loads(sio("-o", "json", "status", "--status", "FAILED", "--since", "1h").stdout)
    assert [item["key"].removeprefix("incoming/") for item in listing["items"]] == [
        "recent-async.csv",
        "recent-realtime.csv",
        "almost-an-hour.csv",
    ]
    # And the success stays out; a second run has nothing left to do
    succeeded = dynamodb.get_item(TableName=TABLE, Key={"request_id": {"S": outcomes["succeeded.csv"]}})["Item"]
    assert "outcome" not in succeeded
    assert backfill(dynamodb, TABLE)["keyed"] == {}


def test_the_backfill_leaves_a_file_reopened_after_it_read_it(dynamodb, outcomes):
    from scripts.backfill_outcomes import backfill

    reopened = outcomes["recent-async.csv"]
    dynamodb.update_item(TableName=TABLE, Key={"request_id": {"S": reopened}}, UpdateExpression="REMOVE outcome")
    other = boto3.client("dynamodb", region_name="us-east-1")

    def reopen_first(params: dict[str, Any], **_: Any) -> None:  # a retry job takes it between Scan and write
        if params["Key"]["request_id"]["S"] == reopened:
            assert TrackerTable(TABLE, other).submit_to_job(reopened, "sio-retry", {}, from_statuses=[Status.FAILED])

    dynamodb.meta.events.register("provide-client-params.dynamodb.UpdateItem", reopen_first)
    try:
        summary = backfill(dynamodb, TABLE)
    finally:
        dynamodb.meta.events.unregister("provide-client-params.dynamodb.UpdateItem", reopen_first)
    assert summary["changed_since_read"] == 1 and summary["keyed"] == {}
    item = dynamodb.get_item(TableName=TABLE, Key={"request_id": {"S": reopened}})["Item"]
    assert item["status"]["S"] == "SUBMITTED" and "outcome" not in item


# ---------------------------------------------------------------- in-flight statuses (InFlight lanes)


def test_an_in_flight_status_is_listed_from_every_lane_that_may_hold_it(dynamodb, calls):
    """The router claims a file into the lane of the status its mode confirms: an async claim not yet
    confirmed sits in SUBMITTED's lane as RECEIVED. `--status RECEIVED` finds it there, and
    `--status SUBMITTED` lists only the confirmed file of that lane."""
    tracker = TrackerTable(TABLE, dynamodb)
    ids = {}
    for name in ("claimed.csv", "confirmed.csv"):
        ids[name] = hashlib.sha256(name.encode()).hexdigest()[:32]
        key = f"incoming/{name}"
        fields = {"key": key, "object_uri": f"s3://bucket/{key}", "mode": "async"}
        assert tracker.claim(ids[name], fields, 150, deadline_seconds=3600, lane=Status.SUBMITTED)
    assert tracker.confirm(ids["confirmed.csv"], Status.SUBMITTED, {})

    received = json.loads(sio("-o", "json", "status", "--status", "RECEIVED").stdout)
    submitted = json.loads(sio("-o", "json", "status", "--status", "SUBMITTED").stdout)

    assert [f["request_id"] for f in received["items"]] == [ids["claimed.csv"]]
    assert [f["request_id"] for f in submitted["items"]] == [ids["confirmed.csv"]]
    # RECEIVED: its own lane (skipped files), SCHEDULED's and SUBMITTED's, 16 shards each
    assert calls.count("dynamodb.Query") == 3 * 16 + 16
