"""The sweeper: every file reaches a terminal status by its deadline, whatever AWS loses.

Each fault below asserts the promise: files lost = 0 (every file terminal, announced on exactly one
topic) and invocations per file <= 1. moto plays S3, DynamoDB, SNS and SQS; SageMaker is the
stand-in of ``tests/support/sagemaker.py`` (async endpoint and jobs).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from orchestrator.aws.tracker_table import TrackerTable
from orchestrator.core import deadlines, identity
from orchestrator.core.deadlines import DeadlineSettings
from orchestrator.core.status import Status

from tests.support import emf
from tests.support.events import load_event, sagemaker_notification, sqs_event, tracker_record
from tests.support.hooks import SimulatedCrash
from tests.support.lambda_runtime import FakeLambdaContext, failed_ids, invoker, load_handler
from tests.support.sagemaker import SageMakerStandIn, transform_jobs
from tests.support.transform import batch_env
from tests.support.wiring import reset_wiring

KEY = "incoming/customers/a.csv"
ASYNC_DEADLINE = DeadlineSettings().confirmed("async")  # from the claim (the grace covers the router's claim timeout)
RECEIVED_DEADLINE = DeadlineSettings().received


@pytest.fixture(autouse=True)
def _sweeper_env(stack, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INPUT_BUCKET", stack.bucket)
    monkeypatch.setenv("OUTPUT_PREFIX", "results/")


@pytest.fixture
def sweep(stack, calls, clock, sagemaker) -> Callable[[], dict[str, Any]]:
    """One run of the sweeper function, as its schedule invokes it."""
    return invoker("sweeper")


@pytest.fixture
def s3(aws) -> Any:
    return aws.client("s3")


@pytest.fixture
def routed(route, upload, item_for_key) -> dict[str, Any]:
    """Given a file the router sent to the async endpoint (SUBMITTED, with its locations)."""
    assert failed_ids(route(sqs_event(upload(KEY)))) == []
    item = item_for_key(KEY)
    assert item["status"] == "SUBMITTED"
    return item


def _put(s3: Any, uri: str, body: bytes) -> None:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    s3.put_object(Bucket=bucket, Key=key, Body=body)


def _all_messages(published) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    return published("success"), published("error")


# ---------------------------------------------------------------- async: lost notifications


def test_nothing_is_resolved_before_the_deadline(routed, sweep, clock, item, published, calls):
    clock.advance(ASYNC_DEADLINE - 60)
    calls.reset()
    summary = sweep({})
    assert summary["overdue"] == 0
    assert item(routed["request_id"])["status"] == "SUBMITTED"
    assert published("success") == [] and published("error") == []
    assert "s3.HeadObject" not in calls.calls


def test_lost_success_notification_is_resolved_from_the_output_object(
    routed, sweep, clock, item, published, s3, calls, sagemaker
):
    """Given SageMaker wrote the output but its notification was lost, When the deadline passes,
    Then the sweeper finds the output, records SUCCEEDED and announces it once, saying it resolved it."""
    _put(s3, routed["output_location"], b"0.93\n")
    clock.advance(ASYNC_DEADLINE + 1)
    calls.reset()

    summary = sweep({})

    final = item(routed["request_id"])
    assert (final["status"], final["resolved_by"], final["output_location"]) == (
        "SUCCEEDED",
        "sweeper",
        routed["output_location"],
    )
    assert "inflight" not in final and "deadline_at" not in final
    successes, errors = _all_messages(published)
    assert errors == []
    [message] = successes
    assert (message["inferenceId"], message["invocationStatus"], message["resolvedBy"]) == (
        routed["request_id"],
        "Completed",
        "sweeper",
    )
    assert message["responseParameters"]["outputLocation"] == routed["output_location"]
    assert summary["overdue"] == 1 and summary["resolved"] == {"SUCCEEDED": 1}
    assert len(sagemaker.accepted) == 1  # invoked once, never again
    per_item = [c for c in calls.calls if c != "dynamodb.Query"]
    assert per_item == ["s3.HeadObject", "dynamodb.UpdateItem", "sns.Publish", "dynamodb.UpdateItem"]


def test_lost_failure_notification_is_failed_with_the_models_own_reason(routed, sweep, clock, item, published, s3):
    _put(s3, routed["failure_location"], b"row 4, field 2: 'oops' is not a number")
    clock.advance(ASYNC_DEADLINE + 1)

    sweep({})

    final = item(routed["request_id"])
    assert final["status"] == "FAILED"
    assert "row 4, field 2: 'oops' is not a number" in final["failure_reason"]
    successes, [message] = _all_messages(published)
    assert successes == []
    assert message["invocationStatus"] == "Failed" and "'oops' is not a number" in message["failureReason"]


def test_huge_failure_body_is_read_only_up_to_the_excerpt(routed, sweep, clock, item, s3):
    _put(s3, routed["failure_location"], b"x" * 100_000)
    clock.advance(ASYNC_DEADLINE + 1)
    sweep({})
    assert len(item(routed["request_id"])["failure_reason"]) < 2_300


def test_no_result_and_no_notification_expires_it_with_the_deadline_in_the_reason(
    routed, sweep, clock, item, published
):
    clock.advance(ASYNC_DEADLINE + 1)
    sweep({})
    final = item(routed["request_id"])
    assert final["status"] == "EXPIRED"
    assert final["failure_reason"] == f"no result and no notification within the deadline {routed['deadline_at']}"
    assert [m["invocationStatus"] for m in published("error")] == ["Expired"]


def test_late_notification_after_the_verdict_is_acknowledged_and_ignored(routed, sweep, clock, track, item):
    clock.advance(ASYNC_DEADLINE + 1)
    sweep({})
    response = track(sqs_event(tracker_record(sagemaker_notification("success", routed["request_id"]))))
    assert failed_ids(response) == []
    assert item(routed["request_id"])["status"] == "EXPIRED"


def test_tie_result_first_then_sweeper_ends_with_one_status_and_one_announcement(
    routed, sweep, clock, track, item, published, monkeypatch
):
    """Given the sweeper read the item as overdue, When the real result is recorded in between,
    Then the sweeper's conditional write loses: one terminal status, no second announcement."""
    clock.advance(ASYNC_DEADLINE + 1)
    original = TrackerTable.close_overdue

    def result_lands_first(self, *args, **kwargs):
        track(sqs_event(tracker_record(sagemaker_notification("success", routed["request_id"]))))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(TrackerTable, "close_overdue", result_lands_first)
    summary = sweep({})

    assert item(routed["request_id"])["status"] == "SUCCEEDED"
    assert summary["overtakenByResults"] == 1
    assert published("success") == [] and published("error") == []  # SageMaker's own message is the one


def test_crash_between_verdict_and_announcement_is_announced_by_the_next_run(
    routed, sweep, clock, item, published, interceptor
):
    """The verdict waits in the outbox partition of the in-flight index until it is announced."""
    clock.advance(ASYNC_DEADLINE + 1)
    interceptor.fail("sns.Publish", raises=SimulatedCrash(), times=1)
    with pytest.raises(SimulatedCrash):
        sweep({})
    assert item(routed["request_id"])["inflight"].startswith("ANNOUNCE#")
    assert published("error") == []

    summary = sweep({})

    assert summary["announcedFromOutbox"] == 1
    assert [m["invocationStatus"] for m in published("error")] == ["Expired"]
    assert "inflight" not in item(routed["request_id"])
    assert sweep({})["announcedFromOutbox"] == 0  # announced exactly once


# ---------------------------------------------------------------- router records that never routed


@pytest.fixture
def dead_lettered(route, upload, interceptor, item_for_key, sagemaker) -> dict[str, Any]:
    """Given a file whose every delivery failed at the endpoint (its record went to the router DLQ)."""
    interceptor.fail("sagemaker-runtime.InvokeEndpointAsync", status=400, code="AccessDeniedException")
    record = upload(KEY)
    with pytest.raises(Exception):  # noqa: B017 - the only record failed: the batch goes back
        route(sqs_event(record))
    assert item_for_key(KEY)["status"] == "RECEIVED"
    assert sagemaker.accepted == []
    return record


def test_dead_lettered_router_record_is_failed_not_routed_with_its_last_reason(
    dead_lettered, sweep, clock, item_for_key, published
):
    clock.advance(RECEIVED_DEADLINE + 1)
    sweep({})
    final = item_for_key(KEY)
    assert (final["status"], final["not_routed"]) == ("FAILED", True)
    # The reason says where the message is (deleted by SQS at the queues' retention) and what to do.
    assert final["failure_reason"].startswith("not routed: the router did not confirm it within the router queue")
    assert "RouterQueue / RouterDLQ; upload the file again" in final["failure_reason"]
    assert final["failure_reason"].endswith("Last error: SageMaker call failed: AccessDeniedException")
    [message] = published("error")
    assert message["invocationStatus"] == "Failed" and message["resolvedBy"] == "sweeper"


def test_a_claim_found_at_its_modes_earlier_deadline_is_moved_on_to_its_own_not_judged(
    dead_lettered, sweep, clock, item_for_key, published, capfd
):
    """The claim wrote the async deadline (hours), the earliest the file could have; a claim still
    RECEIVED is due at claim + the queues' retention (days): the sweeper moves it on, counts nothing
    overdue and announces nothing, and closes it "not routed" only at its own deadline."""
    claimed = item_for_key(KEY)
    assert claimed["inflight"].startswith("SUBMITTED#")  # the lane of the status async confirms
    clock.advance(ASYNC_DEADLINE + 1)
    capfd.readouterr()

    summary = sweep({})

    moved = item_for_key(KEY)
    assert (summary["overdue"], summary["notYetDue"], moved["status"]) == (0, 1, "RECEIVED")
    assert moved["deadline_at"] > claimed["deadline_at"]
    assert published("error") == [] and published("success") == []
    # The gauges count by status, not by lane: the claim sits in SUBMITTED's lane as RECEIVED.
    gauges = {
        doc["Status"]: doc["InFlightItems"] for doc in emf.documents(capfd.readouterr().out) if "InFlightItems" in doc
    }
    assert (gauges["RECEIVED"], gauges["SUBMITTED"]) == ([1.0], [0.0])

    clock.advance(RECEIVED_DEADLINE - ASYNC_DEADLINE)
    assert sweep({})["overdue"] == 1
    assert item_for_key(KEY)["status"] == "FAILED" and item_for_key(KEY)["not_routed"] is True
    assert [m["invocationStatus"] for m in published("error")] == ["Failed"]


def test_the_in_flight_counts_are_all_or_nothing_when_the_run_runs_out_of_time(dead_lettered, dynamodb, stack):
    """The gauges read every lane's 16 shards; a run short of time skips them rather than report part."""
    table = TrackerTable(stack.table, dynamodb)
    assert table.count_in_flight()[Status.RECEIVED] == 1
    partitions_read = 0

    def until_the_tenth() -> bool:
        nonlocal partitions_read
        partitions_read += 1
        return partitions_read <= 10

    assert table.count_in_flight(until_the_tenth) is None


def test_a_big_lane_is_counted_from_its_first_shards_and_a_small_one_read_whole(dynamodb, stack):
    """A night's backlog would cost every sweep all its entries' read units: past ``exact_up_to``
    entries a lane's count is scaled from the shards read (the default, 2,000, scaled down here)."""
    table = TrackerTable(stack.table, dynamodb)
    ids = [identity.request_id(stack.bucket, f"incoming/nightly/{n}.csv", f"v{n}", None) for n in range(400)]
    for request_id in ids:
        dynamodb.put_item(
            TableName=stack.table,
            Item={
                "request_id": {"S": request_id},
                "status": {"S": "SCHEDULED"},
                "inflight": {"S": deadlines.partition("SCHEDULED", request_id)},
                "deadline_at": {"S": "2030-01-01T00:00:00Z"},
            },
        )
    lanes_read: list[str] = []
    dynamodb.meta.events.register(
        "provide-client-params.dynamodb.Query",
        lambda params, **_: lanes_read.append(params["ExpressionAttributeValues"][":p"]["S"].split("#")[0]),
    )

    assert table.count_in_flight()[Status.SCHEDULED] == 400  # under the default: all 16 shards, exact
    assert lanes_read.count("SCHEDULED") == 16
    lanes_read.clear()

    estimated = table.count_in_flight(exact_up_to=50)[Status.SCHEDULED]
    assert 1 < lanes_read.count("SCHEDULED") < 16  # stopped once 50 entries were read
    assert lanes_read.count("SUBMITTED") == 16  # an empty lane is read whole
    assert estimated == pytest.approx(400, rel=0.35)  # 400 ids over 16 shards, two or three of them read


def test_redriving_a_not_routed_record_scores_it_and_announces_again(
    dead_lettered, sweep, clock, route, item_for_key, interceptor, sagemaker, track, published
):
    """Given the sweeper closed it "not routed", When the cause is fixed and the DLQ message is
    redriven, Then a new attempt takes it over, invokes once and its result is recorded; any other
    duplicate afterwards stops at the claim."""
    clock.advance(RECEIVED_DEADLINE + 1)
    sweep({})
    published("error")
    interceptor.clear_faults()

    assert failed_ids(route(sqs_event(dead_lettered))) == []
    resubmitted = item_for_key(KEY)
    assert resubmitted["status"] == "SUBMITTED" and "not_routed" not in resubmitted
    track(sqs_event(tracker_record(sagemaker_notification("success", resubmitted["request_id"]))))
    assert item_for_key(KEY)["status"] == "SUCCEEDED"

    route(sqs_event(dead_lettered))  # a duplicate of the redriven message
    assert len(sagemaker.accepted) == 1
    assert item_for_key(KEY)["status"] == "SUCCEEDED"


def test_redriving_a_not_routed_record_whose_last_attempt_may_have_invoked_does_not_invoke_again(
    route, upload, sweep, clock, item_for_key, sagemaker, published
):
    """The last attempt died after SageMaker accepted the request (never released), and its message
    was not delivered again before the sweeper's verdict: a redrive takes the item over as possibly
    sent, without a second invocation."""

    def die(_request) -> None:
        raise SimulatedCrash

    sagemaker.on_accept = die
    record = upload(KEY)
    with pytest.raises(SimulatedCrash):
        route(sqs_event(record))
    sagemaker.on_accept = None
    clock.advance(RECEIVED_DEADLINE + 1)
    sweep({})
    assert item_for_key(KEY)["not_routed"] is True

    assert failed_ids(route(sqs_event(record))) == []
    assert len(sagemaker.accepted) == 1
    item = item_for_key(KEY)
    assert (item["status"], item["submission_uncertain"]) == ("SUBMITTED", True)


def test_crash_between_claim_and_invoke_is_expired_by_its_deadline_never_invoked_twice(
    route, upload, interceptor, clock, sweep, item_for_key, sagemaker, published
):
    interceptor.fail("sagemaker-runtime.InvokeEndpointAsync", raises=SimulatedCrash(), times=1)
    record = upload(KEY)
    with pytest.raises(SimulatedCrash):
        route(sqs_event(record))
    clock.advance(151)
    route(sqs_event(record))  # the redelivery cannot tell: confirmed as possibly sent
    clock.advance(ASYNC_DEADLINE + 1)
    sweep({})

    final = item_for_key(KEY)
    assert final["status"] == "EXPIRED" and "could not tell" in final["failure_reason"]
    assert len(sagemaker.accepted) == 0
    assert [m["invocationStatus"] for m in published("error")] == ["Expired"]


# ---------------------------------------------------------------- router time budget


def test_router_starts_no_record_it_cannot_finish_and_hands_the_rest_back(route, upload, sagemaker, item_for_key):
    """Given 3 records and time for none (a SageMaker slowdown used it up), Then none is started
    (no claim, no invocation) and all go back to the queue: none is killed halfway."""
    handler = load_handler("router")
    records = [upload(f"incoming/slow-{n}.csv", message_id=f"m{n}") for n in range(3)]
    context = FakeLambdaContext(function_name="router", remaining_ms=60_000)

    response = handler(sqs_event(*records), context)

    assert failed_ids(response) == ["m0", "m1", "m2"]
    assert sagemaker.accepted == []


# ---------------------------------------------------------------- transform jobs


@pytest.fixture
def transform(interceptor, batch_configured) -> SageMakerStandIn:
    return transform_jobs().attach(interceptor)


def test_dead_lettered_completion_event_is_resolved_through_the_batch_result_path(
    transform, route, sweep, clock, item, published, calls
):
    """Given a per-file job whose completion event was lost (in the batch-result DLQ), When its
    files pass their deadline, Then DescribeTransformJob → the batch-result code path → SUCCEEDED."""
    route(load_event("s3-put-over-1gb"))
    request_id = "1c54b662b65b18b120a299c6bbf58f8e"
    transform.finish(f"sio-{request_id}", "Completed")
    clock.advance(DeadlineSettings().confirmed("batch") + 1)
    calls.reset()

    sweep({})

    assert item(request_id)["status"] == "SUCCEEDED"
    [message] = published("success")
    assert message["jobName"] == f"sio-{request_id}" and message["mode"] == "batch"
    assert calls.calls.count("sagemaker.DescribeTransformJob") == 1


def test_job_still_running_moves_the_deadline_on(transform, route, sweep, clock, item, published):
    route(load_event("s3-put-over-1gb"))
    request_id = "1c54b662b65b18b120a299c6bbf58f8e"
    before = item(request_id)["deadline_at"]
    clock.advance(DeadlineSettings().confirmed("batch") + 1)

    summary = sweep({})

    after = item(request_id)
    assert after["status"] == "SUBMITTED" and after["deadline_at"] > before
    assert summary["deadlinesMoved"] == 1
    assert published("success") == [] and published("error") == []


def test_scheduled_file_past_its_night_with_nights_disabled_is_failed(
    route, upload, sweep, clock, item_for_key, monkeypatch
):
    monkeypatch.setenv("READ_OBJECT_METADATA", "false")
    # Nights need a transform model to be routed; the model is removed afterwards (a redeploy).
    for name, value in batch_env("unused").items():
        if name != "INPUT_BUCKET":
            monkeypatch.setenv(name, value)
    route(sqs_event(upload("incoming/nightly/n.csv")))
    assert item_for_key("incoming/nightly/n.csv")["status"] == "SCHEDULED"
    monkeypatch.delenv("TRANSFORM_MODEL_NAME")
    reset_wiring()
    clock.advance(DeadlineSettings().confirmed("nightly") + 1)

    sweep({})

    final = item_for_key("incoming/nightly/n.csv")
    assert final["status"] == "FAILED" and "TransformModelName" in final["failure_reason"]


# ---------------------------------------------------------------- bounded work


def test_a_run_resolves_a_bounded_number_and_the_next_run_continues(route, upload, sweep, clock, items, monkeypatch):
    for n in range(5):
        route(sqs_event(upload(f"incoming/bulk-{n}.csv")))
    clock.advance(ASYNC_DEADLINE + 1)
    monkeypatch.setattr("orchestrator.workflows.sweeper.MAX_ITEMS_PER_RUN", 2)
    reset_wiring()

    first = sweep({})
    second = sweep({})
    third = sweep({})

    assert (first["overdue"], second["overdue"], third["overdue"]) == (2, 2, 1)
    assert first["stoppedEarly"] and not third["stoppedEarly"]
    assert {i["status"] for i in items()} == {"EXPIRED"}


def test_one_items_trouble_does_not_stop_the_sweep(routed, sweep, clock, interceptor, item):
    clock.advance(ASYNC_DEADLINE + 1)
    interceptor.fail("s3.HeadObject", status=500, code="InternalError")
    summary = sweep({})
    assert summary["errors"] == 1
    assert item(routed["request_id"])["status"] == "SUBMITTED"  # left for the next run


# ---------------------------------------------------------------- one item never stops a run


@pytest.fixture
def routed_files(route, upload, item_for_key) -> Callable[..., list[str]]:
    """Files the router sent to the async endpoint; returns their request ids."""

    def put(*names: str) -> list[str]:
        keys = [f"incoming/customers/{name}" for name in names]
        for key in keys:
            assert failed_ids(route(sqs_event(upload(key)))) == []
        return [item_for_key(key)["request_id"] for key in keys]

    return put


def _naming(request_id: str) -> Callable[[Any], bool]:
    """A fault's condition: the HTTP request names this request id (in its URL or its body)."""

    def match(request: Any) -> bool:
        body = request.body if isinstance(request.body, bytes) else str(request.body or "").encode()
        return request_id in request.url or request_id.encode() in body

    return match


def test_an_item_that_raises_is_counted_and_every_other_item_is_resolved(
    routed_files, sweep, clock, interceptor, item, published
):
    """Given three overdue files, one of which raises what no code path expects (a library's surprise,
    a bug), When the sweeper runs, Then that one is counted, logged and left for the next run, and the
    other two are resolved and announced: the run never stops at it (before: the whole run failed)."""
    ids = routed_files("a.csv", "b.csv", "c.csv")
    clock.advance(ASYNC_DEADLINE + 1)
    interceptor.fail("s3.HeadObject", raises=RuntimeError("unexpected"), when=_naming(ids[1]))

    summary = sweep({})

    assert (summary["overdue"], summary["errors"], summary["resolved"]) == (3, 1, {"EXPIRED": 2})
    assert [item(i)["status"] for i in ids] == ["EXPIRED", "SUBMITTED", "EXPIRED"]
    assert sorted(m["inferenceId"] for m in published("error")) == sorted([ids[0], ids[2]])
    interceptor.clear_faults()
    assert sweep({})["resolved"] == {"EXPIRED": 1}
    assert item(ids[1])["status"] == "EXPIRED"


def test_a_failing_publish_in_the_outbox_is_counted_and_the_run_goes_on(
    routed_files, sweep, clock, interceptor, item, published
):
    """Given verdicts waiting in the outbox (SNS failed when they were reached), When one of them
    still cannot be published, Then the others are announced and the items after them resolved in the
    same run (before: the first failing publish ended the run); the next run announces the last one."""
    ids = routed_files("a.csv", "b.csv", "c.csv")
    clock.advance(100)
    [later] = routed_files("d.csv")
    clock.advance(ASYNC_DEADLINE - 99)  # the first three are overdue, d.csv not yet
    interceptor.fail("sns.Publish", status=500)  # SNS is down

    first = sweep({})

    assert (first["overdue"], first["errors"]) == (3, 3)
    assert all(item(i)["status"] == "EXPIRED" and item(i)["inflight"].startswith("ANNOUNCE#") for i in ids)
    interceptor.clear_faults()
    interceptor.fail("sns.Publish", status=500, when=_naming(ids[0]))
    clock.advance(200)  # d.csv is overdue now

    second = sweep({})

    assert (second["announcedFromOutbox"], second["errors"], second["resolved"]) == (2, 1, {"EXPIRED": 1})
    assert item(later)["status"] == "EXPIRED" and "inflight" not in item(later)
    assert item(ids[0])["inflight"].startswith("ANNOUNCE#")
    interceptor.clear_faults()
    assert sweep({})["announcedFromOutbox"] == 1
    assert sorted(m["inferenceId"] for m in published("error")) == sorted([*ids, later])  # each once
