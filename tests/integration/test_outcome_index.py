"""The outcome index (``ByOutcome``): every unsuccessful terminal path puts the file in it, a success
never touches it, and a file reopened after an unsuccessful verdict leaves it.

Each test drives one path through the real handlers on moto and reads back, from the table's stream,
what every write did to the index (:mod:`tests.support.index_units`, DynamoDB's rules on the item
before and after the write), then lists the outcome as ``sio status --status S --since T`` does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from orchestrator.core import deadlines, timestamps
from orchestrator.core.deadlines import DeadlineSettings
from orchestrator.core.status import Status
from sio.tracker import TrackerReader

from tests.support.aws import tracker_table_properties
from tests.support.events import body_of, load_event, sagemaker_notification, sqs_event, tracker_record, with_body
from tests.support.hooks import SimulatedCrash
from tests.support.index_units import Index, WriteLog, changes
from tests.support.lambda_runtime import failed_ids, invoker
from tests.support.sagemaker import SageMakerStandIn, sync_endpoints, transform_jobs
from tests.support.wiring import reset_wiring

OUTCOMES = Index.declared(tracker_table_properties(), deadlines.OUTCOME_INDEX)
KEY = "incoming/customers/a.csv"


@pytest.fixture(autouse=True)
def _environment(stack, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("INPUT_BUCKET", stack.bucket)
    monkeypatch.setenv("OUTPUT_PREFIX", "results/")
    reset_wiring()
    yield
    reset_wiring()


@pytest.fixture
def writes(aws, stack) -> WriteLog:
    """Every write to the tracker table from here on, with the item before and after it."""
    return WriteLog(aws.client("dynamodb"), aws.client("dynamodbstreams"), stack.table)


@pytest.fixture
def sweep(stack, calls, clock, sagemaker) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return invoker("sweeper")


@pytest.fixture
def listed(dynamodb, stack) -> Callable[..., list[str]]:
    """The request ids ``sio status --status S --since T`` lists (the ByOutcome index)."""
    reader = TrackerReader(dynamodb, stack.table)
    return lambda status, since: [item["request_id"] for item in reader.outcomes(status, since=since)]


@pytest.fixture
def realtime(stack, sqs, interceptor, calls, clock, monkeypatch) -> tuple[str, SageMakerStandIn]:
    """The real-time mode configured (its scorer queue and endpoint; the stand-in answers)."""
    url = sqs.create_queue(QueueName="scorer-queue")["QueueUrl"]
    monkeypatch.setenv("SCORER_QUEUE_URL", url)
    monkeypatch.setenv("REALTIME_ENDPOINT_NAME", "demo-realtime-endpoint")
    return url, sync_endpoints().attach(interceptor)


def _routed(route, upload, item_for_key, key: str = KEY) -> dict[str, Any]:
    assert failed_ids(route(sqs_event(upload(key)))) == []
    item = item_for_key(key)
    assert item["status"] == "SUBMITTED"
    return item


def assert_indexed(item: dict[str, Any], status: str, written_at: str) -> None:
    """The item is in the index under its status and shard, sorted by when the outcome was written."""
    assert item["status"] == status
    assert item["outcome"] == deadlines.outcome_key(Status(status), item["request_id"])
    assert item["status_since"] == written_at


# ---------------------------------------------------------------- a success pays nothing


def test_an_async_success_never_writes_to_the_index(route, upload, track, item_for_key, writes):
    routed = _routed(route, upload, item_for_key)
    track(sqs_event(tracker_record(sagemaker_notification("success", routed["request_id"]))))

    final = item_for_key(KEY)
    assert final["status"] == "SUCCEEDED" and "outcome" not in final
    every = writes.take()
    assert len(every) == 3  # claim, confirmation, result: none of them touched the index
    assert changes(OUTCOMES, every) == []


# ---------------------------------------------------------------- every unsuccessful path puts it in


@pytest.mark.parametrize(("kind", "status"), [("error", "FAILED"), ("expired", "EXPIRED")])
def test_an_async_failure_or_expiry_notification_puts_the_file_in_the_index(
    kind, status, route, upload, track, item_for_key, clock, writes, listed
):
    routed = _routed(route, upload, item_for_key)
    before = timestamps.iso(clock())
    clock.advance(600)
    track(sqs_event(tracker_record(sagemaker_notification(kind, routed["request_id"]))))

    assert_indexed(item_for_key(KEY), status, timestamps.iso(clock()))
    assert changes(OUTCOMES, writes.take()) == ["put"]
    assert listed(status, before) == [routed["request_id"]]
    assert listed(status, timestamps.iso(clock() + timedelta(milliseconds=1))) == []  # a window after it


def test_a_skipped_file_is_put_in_the_index_by_the_routers_own_close(
    route, upload, item_for_key, clock, writes, listed
):
    assert failed_ids(route(sqs_event(upload("incoming/empty.csv", b"")))) == []

    item = item_for_key("incoming/empty.csv")
    assert_indexed(item, "SKIPPED", timestamps.iso(clock()))
    assert changes(OUTCOMES, writes.take()) == ["put"]
    assert listed("SKIPPED", timestamps.iso(clock())) == [item["request_id"]]
    assert listed("FAILED", timestamps.iso(clock())) == []


def test_a_sweeper_verdict_is_in_the_index_while_still_in_the_outbox_and_its_announcement_costs_nothing(
    route, upload, item_for_key, sweep, clock, interceptor, writes
):
    routed = _routed(route, upload, item_for_key)
    clock.advance(DeadlineSettings().confirmed("async") + 1)
    interceptor.fail("sns.Publish", raises=SimulatedCrash(), times=1)
    with pytest.raises(SimulatedCrash):
        sweep({})

    pending = item_for_key(KEY)
    assert pending["inflight"] == deadlines.partition(deadlines.ANNOUNCE, routed["request_id"])
    assert_indexed(pending, "EXPIRED", timestamps.iso(clock()))
    assert changes(OUTCOMES, writes.take()) == ["put"]

    assert sweep({})["announcedFromOutbox"] == 1
    announced = item_for_key(KEY)
    assert "inflight" not in announced and announced["outcome"] == pending["outcome"]
    taken_out = writes.take()
    assert taken_out and changes(OUTCOMES, taken_out) == []  # the outbox write left the entry as it was


def test_a_model_4xx_from_the_scorer_puts_the_file_in_the_index(
    realtime, route, upload, sqs, item_for_key, clock, writes
):
    queue, endpoint = realtime
    endpoint.model_error = (400, "feature 'age' must be a number")
    records = _route_to_scorer(route, upload, sqs, queue, "incoming/a.csv")
    assert failed_ids(invoker("scorer")(sqs_event(*records))) == []

    assert_indexed(item_for_key("incoming/a.csv"), "FAILED", timestamps.iso(clock()))
    assert changes(OUTCOMES, writes.take()) == ["put"]


@pytest.mark.usefixtures("batch_configured")
def test_a_stopped_transform_job_puts_its_file_in_the_index(route, interceptor, item, clock, writes):
    transform_jobs().attach(interceptor)
    route(load_event("s3-put-over-1gb"))
    request_id = "1c54b662b65b18b120a299c6bbf58f8e"  # the sample's request; its state-change names its job
    invoker("batch_result")(load_event("transform-state-stopped"))

    assert_indexed(item(request_id), "STOPPED", timestamps.iso(clock()))
    assert changes(OUTCOMES, writes.take()) == ["put"]


@pytest.mark.usefixtures("batch_configured")
def test_the_older_of_two_nightly_versions_is_skipped_into_the_index(
    route, upload, interceptor, aws, clock, items, writes, listed
):
    transform_jobs().attach(interceptor)
    clock.moment = datetime(2026, 11, 27, 20, 0, tzinfo=UTC)  # the evening before the sample night
    for body, uploaded in ((b"old\n", "2026-11-27T19:00:00.000Z"), (b"age\n42\n", "2026-11-27T21:30:00.000Z")):
        record = upload("incoming/nightly/a.csv", body)
        message = body_of(record)
        message["Records"][0]["eventTime"] = uploaded
        clock.advance(60)
        assert failed_ids(route(sqs_event(with_body(record, message)))) == []
    since = timestamps.iso(clock())

    assert invoker("nightly")(load_event("schedule-nightly"))["superseded"] == 1

    [older] = [i for i in items() if i["status"] == "SKIPPED"]
    assert_indexed(older, "SKIPPED", timestamps.iso(clock()))
    assert changes(OUTCOMES, writes.take(), older["request_id"]) == ["put"]
    assert listed("SKIPPED", since) == [older["request_id"]]


# ---------------------------------------------------------------- a reopened file leaves it


def test_a_not_routed_file_taken_over_by_its_redriven_message_leaves_the_index(
    route, upload, item_for_key, sweep, clock, interceptor, sagemaker, track, writes, listed
):
    interceptor.fail("sagemaker-runtime.InvokeEndpointAsync", status=400, code="AccessDeniedException")
    record = upload(KEY)
    with pytest.raises(Exception):  # noqa: B017 - the only record failed: the batch goes back
        route(sqs_event(record))
    since = timestamps.iso(clock())
    clock.advance(DeadlineSettings().received + 1)
    sweep({})
    closed = item_for_key(KEY)
    assert closed["not_routed"] is True
    assert_indexed(closed, "FAILED", timestamps.iso(clock()))
    assert listed("FAILED", since) == [closed["request_id"]]

    interceptor.clear_faults()
    assert failed_ids(route(sqs_event(record))) == []  # the redrive: a new claim replaces the item
    track(sqs_event(tracker_record(sagemaker_notification("success", closed["request_id"]))))

    final = item_for_key(KEY)
    assert final["status"] == "SUCCEEDED" and "outcome" not in final
    assert changes(OUTCOMES, writes.take()) == ["put", "delete"]
    assert listed("FAILED", since) == []


def test_a_not_scored_file_reopened_by_its_late_message_leaves_the_index(
    realtime, route, upload, sqs, item_for_key, clock, writes, listed
):
    queue, _ = realtime
    records = _route_to_scorer(route, upload, sqs, queue, "incoming/late.csv")
    since = timestamps.iso(clock())
    clock.advance(DeadlineSettings().confirmed("realtime") + 1)
    invoker("sweeper")({"scheduledTime": "2026-12-03T10:00:00Z"})
    closed = item_for_key("incoming/late.csv")
    assert closed["not_scored"] is True
    assert_indexed(closed, "FAILED", timestamps.iso(clock()))

    assert failed_ids(invoker("scorer")(sqs_event(*records))) == []  # start_scoring reopens it

    final = item_for_key("incoming/late.csv")
    assert final["status"] == "SUCCEEDED" and "outcome" not in final
    assert changes(OUTCOMES, writes.take()) == ["put", "delete"]
    assert listed("FAILED", since) == []


# ---------------------------------------------------------------- helpers


def _route_to_scorer(route, upload, sqs, queue: str, key: str) -> list[dict[str, Any]]:
    route(sqs_event(upload(key)))
    messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
    return [{"messageId": m["MessageId"], "body": m["Body"], "eventSource": "aws:sqs"} for m in messages]
