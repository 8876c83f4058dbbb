"""Big nights finish (issue 15): a failed night too big for one invocation to verify, scaled down.

The scale model: ``NIGHT_SEGMENT_FILES`` set to a few files through the environment (as the template
or an override would set it), and a Lambda context whose remaining time is spent by the output
lookups themselves (every HeadObject takes :data:`MS_PER_LOOKUP`), passed to the real handler as
Lambda passes its context. moto plays S3, DynamoDB and SNS; SageMaker is the transform stand-in;
EventBridge's bus is ``tests/support/eventbridge.py`` (the hand-offs are delivered by the test, as
the batch-result rule would deliver them).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from orchestrator.aws.handoff import DETAIL_TYPE, SOURCE
from orchestrator.aws.manifest import roster_uri
from orchestrator.core.deadlines import DeadlineSettings
from orchestrator.errors import BadEventError, RetryableError
from orchestrator.workflows.failed_nights import VERIFY_MARGIN_MS

from tests.support.eventbridge import EventBusStandIn
from tests.support.events import load_event, sqs_event
from tests.support.hooks import SimulatedCrash
from tests.support.lambda_runtime import FakeLambdaContext, failed_ids, invoker, load_handler
from tests.support.transform import read_text

NIGHT = "sio-nightly-2026-11-28"  # events/schedule-nightly.json: scheduledTime 2026-11-28T02:00:00Z
EVENING = datetime(2026, 11, 27, 20, 0, tzinfo=UTC)
GOOD = b"age,income\n42,1000\n"
MALFORMED = b"malformed,,\n\x00\n"  # the stand-in's model refuses it with a client error (400)
TERMINAL = {"SUCCEEDED", "FAILED", "STOPPED", "EXPIRED", "SKIPPED"}
MS_PER_LOOKUP = 10_000  # the scale model's cost of one output lookup


class Lookups:
    """The output lookups the functions make: HeadObject calls per key, through botocore."""

    def __init__(self, events: Any) -> None:
        self.keys: Counter[str] = Counter()
        events.register("before-parameter-build.s3.HeadObject", self._record)

    def _record(self, params: dict[str, Any], **_: Any) -> None:
        self.keys[params["Key"]] += 1

    def total(self) -> int:
        return sum(self.keys.values())


@dataclass
class LookupBudget(FakeLambdaContext):
    """Lambda's remaining time, spent by the lookups: ``allowed`` of them fit before the function's
    verification margin is reached, whatever else it does."""

    lookups: Lookups | None = None
    allowed: int = 0
    _start: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        assert self.lookups is not None
        self._start = self.lookups.total()

    def get_remaining_time_in_millis(self) -> int:
        assert self.lookups is not None
        used = self.lookups.total() - self._start
        return VERIFY_MARGIN_MS - 1 + (self.allowed - used) * MS_PER_LOOKUP


@pytest.fixture
def schedule(route, upload, clock, item_for_key) -> Callable[[int], dict[str, str]]:
    """``count`` good files uploaded under the nightly prefix and routed; returns name → request id."""

    def put(count: int) -> dict[str, str]:
        clock.moment = EVENING
        keys = {f"f{n:03d}.csv": f"incoming/nightly/f{n:03d}.csv" for n in range(count)}
        records = [upload(key, GOOD) for key in keys.values()]
        for start in range(0, len(records), 10):  # the router queue's batch size
            assert failed_ids(route(sqs_event(*records[start : start + 10]))) == []
        return {name: item_for_key(key)["request_id"] for name, key in keys.items()}

    return put


@pytest.fixture
def spoil(s3, stack, transform, items) -> Callable[..., set[str]]:
    """Make the files at these positions of the night's roster malformed (after the night was
    collected, so that a test knows which segment holds each bad file); returns their request ids."""

    def at(*positions: int) -> set[str]:
        roster = read_text(s3, roster_uri(transform.jobs[NIGHT].manifest_uri)).splitlines()
        bad = {roster[n].split()[0] for n in positions}
        for item in items():
            if item["request_id"] in bad:
                s3.put_object(Bucket=stack.bucket, Key=item["key"], Body=MALFORMED)
        return bad

    return at


@pytest.fixture
def bus(interceptor) -> EventBusStandIn:
    return EventBusStandIn().attach(interceptor)


@pytest.fixture
def lookups(function_session) -> Lookups:
    return Lookups(function_session.events)


@pytest.fixture
def lost(items) -> Callable[[], list[dict[str, Any]]]:
    return lambda: [i for i in items() if i["status"] not in TERMINAL]


def handoff(job: str, status: str, requested_by: str = "someone") -> dict[str, Any]:
    """A hand-off event as the batch-result rule delivers it (events/transform-handoff.json, the shape
    orchestrator/aws/handoff.py puts), naming ``job``."""
    event = load_event("transform-handoff")
    assert (event["source"], event["detail-type"]) == (SOURCE, DETAIL_TYPE)
    event["detail"] = {"TransformJobName": job, "TransformJobStatus": status, "requestedBy": requested_by}
    return event


# ---------------------------------------------------------------- the batch-result function


def test_a_failed_night_too_big_for_one_invocation_starts_retry_jobs_at_once_and_finishes_in_a_chain(
    schedule, nightly, transform, spoil, bus, lookups, item, published, lost, monkeypatch
):
    """Given a failed night of 20 files (bad ones at roster positions 1, 9 and 17), verified 4 files a
    segment, and invocations with time for 8 output lookups each, When its Failed event is handled,
    Then the first invocation starts the first retry job, records its progress and requests the next
    invocation; each next one resumes where the last stopped (no output looked up twice), and once
    the retry jobs ran every file is terminal: the bad ones FAILED alone, nothing FAILED in between."""
    monkeypatch.setenv("NIGHT_SEGMENT_FILES", "4")
    ids = schedule(20)
    nightly(load_event("schedule-nightly"))
    bad = spoil(1, 9, 17)
    handler = load_handler("batch_result")
    failed = transform.run(NIGHT)

    first = handler(failed, LookupBudget(function_name="batch-result", lookups=lookups, allowed=8))

    assert (first["files"], first["withOutput"], first["retryJobs"], first["continued"]) == (8, 7, 1, 1)
    [retry] = transform.in_progress()  # started within the first invocation
    assert published("error") == []
    summaries = [first]
    while delivered := bus.deliver():
        [event] = delivered
        assert (event["source"], event["detail"]["TransformJobName"]) == (SOURCE, NIGHT)
        summaries.append(handler(event, LookupBudget(function_name="batch-result", lookups=lookups, allowed=8)))
    assert [(s["resumedAt"], s["files"], s["retryJobs"]) for s in summaries] == [(0, 8, 1), (8, 8, 1), (16, 4, 1)]
    assert "continued" not in summaries[-1]
    assert len(lookups.keys) == 20 and set(lookups.keys.values()) == {1}  # each output looked up once
    assert published("error") == []  # nothing announced FAILED while the night was being verified

    finish = invoker("batch_result")
    ran = transform.run_all(finish)
    assert retry in ran and len(ran) == 3
    assert {item(i)["status"] for i in ids.values() if i not in bad} == {"SUCCEEDED"}
    assert {item(i)["status"] for i in bad} == {"FAILED"}
    assert sorted(m["inferenceId"] for m in published("error")) == sorted(bad)
    assert lost() == []


def test_a_crash_while_starting_a_segments_retry_jobs_carries_out_the_same_plan(
    schedule, nightly, transform, spoil, interceptor, lookups, item, published, lost
):
    """Given a night that stops at its first file (no output at all: two retry jobs of three), When
    the function dies after starting the first retry job, Then its retry carries out the recorded
    plan: the first job meets ResourceInUse, the second starts, no output is looked up again, and no
    file is in two retry jobs (before, the retry split the unmarked files anew: a third job)."""
    transform.abort_on_failure = True
    ids = schedule(6)
    nightly(load_event("schedule-nightly"))
    bad = spoil(0)
    failed = transform.run(NIGHT)
    transform.on_create = lambda job: interceptor.fail("sagemaker.CreateTransformJob", raises=SimulatedCrash(), times=1)
    finish = invoker("batch_result")
    with pytest.raises(SimulatedCrash):
        finish(failed)
    transform.on_create = None
    assert len(transform.jobs) == 2 and lookups.total() == 6
    started = transform.create_attempts

    again = finish(failed)  # Lambda's retry of the event

    assert (again["resumedAt"], again["files"], again["retryJobs"]) == (0, 0, 2)
    assert lookups.total() == 6  # the plan, not a second look
    assert transform.create_attempts == started + 2  # ResourceInUse, then the second job
    retries = sorted(set(transform.jobs) - {NIGHT})
    assert len(retries) == 2
    assert sorted(item(i)["job_name"] for i in ids.values()) == sorted(retries * 3)
    transform.run_all(finish)
    assert {item(i)["status"] for i in bad} == {"FAILED"}
    assert {item(i)["status"] for i in ids.values() if i not in bad} == {"SUCCEEDED"}
    assert lost() == []


def test_an_invocation_that_can_record_nothing_raises_for_lambdas_retry_and_requests_no_next_one(
    schedule, nightly, transform, bus, lookups
):
    """A chain of invocations continues only after progress: no time for one lookup is an error
    (Lambda's retries, then BatchResultDLQ), never a hand-off that would loop."""
    schedule(3)
    nightly(load_event("schedule-nightly"))
    handler = load_handler("batch_result")
    with pytest.raises(RetryableError, match="verified 0 files"):
        handler(
            transform.finish(NIGHT, "Failed", "ClientError: x"),
            LookupBudget(function_name="batch-result", lookups=lookups, allowed=0),
        )
    assert bus.entries == [] and lookups.total() == 0


def test_a_hand_off_is_recorded_from_sagemakers_description_never_from_the_event(
    schedule, nightly, transform, item, published
):
    """A hand-off names a job only: a forged "Completed" for a failed night records nothing SUCCEEDED
    (DescribeTransformJob says Failed: its files go to retry jobs), and a hand-off naming a per-file
    job or a night that never ran is refused."""
    ids = schedule(2)
    nightly(load_event("schedule-nightly"))
    transform.finish(NIGHT, "Failed", "ClientError: See job logs for more information")
    finish = invoker("batch_result")

    summary = finish(handoff(NIGHT, "Completed"))

    assert (summary["status"], summary["retryJobs"], summary["published"]) == ("Failed", 2, 0)
    assert {item(i)["status"] for i in ids.values()} == {"SUBMITTED"}
    assert published("success") == []
    # Nor does an event of the product's source dressed as SageMaker's own state change, with an output
    # path of its choosing: only SageMaker's description counts.
    forged = {**handoff(NIGHT, "Completed"), "detail-type": "SageMaker Transform Job State Change"}
    forged["detail"] = {**forged["detail"], "TransformOutput": {"S3OutputPath": "s3://elsewhere/out"}}
    assert finish(forged)["status"] == "Failed"
    assert {item(i)["status"] for i in ids.values()} == {"SUBMITTED"} and published("success") == []
    with pytest.raises(BadEventError, match="names a nightly job"):
        finish(handoff("sio-1c54b662b65b18b120a299c6bbf58f8e", "Completed"))
    with pytest.raises(BadEventError, match="does not exist"):
        finish(handoff("sio-nightly-2026-11-29", "Completed"))


# ---------------------------------------------------------------- the sweeper hands a night over


@pytest.fixture
def sweep(stack, transform, calls, clock) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return invoker("sweeper")


def test_the_sweeper_hands_a_finished_night_to_the_batch_result_function_without_recording_it(
    schedule, nightly, transform, bus, sweep, calls, clock, item, published
):
    """Given a night of 30 files whose Completed event was lost, When its files pass their deadline,
    Then the sweeper asks SageMaker once, hands the job over (one event) and moves the files' deadlines:
    no output lookup, no publish, no per-file read; the next run within the hour does not hand it over
    again; the batch-result function records every file from the hand-off."""
    ids = schedule(30)
    nightly(load_event("schedule-nightly"))
    transform.run(NIGHT)  # Completed; its event never arrives
    # The nightly function marks its files on the real clock (their deadline is from then).
    clock.moment = datetime.now(UTC) + timedelta(seconds=DeadlineSettings().submitted_batch + 60)
    calls.reset()

    summary = sweep({})

    assert (summary["overdue"], summary["handedOff"], summary["errors"], summary["deadlinesMoved"]) == (30, 1, 0, 30)
    per_job = Counter(c for c in calls.calls if c not in ("dynamodb.Query", "dynamodb.UpdateItem"))
    assert per_job == Counter(
        {"sagemaker.DescribeTransformJob": 1, "s3.GetObject": 2, "eventbridge.PutEvents": 1, "s3.PutObject": 1}
    )
    assert calls.calls.count("dynamodb.UpdateItem") == 30  # the deadlines moved, nothing recorded
    assert {item(i)["status"] for i in ids.values()} == {"SUBMITTED"}
    clock.advance(301)
    assert sweep({})["handedOff"] == 0  # handed over 5 minutes ago: not again

    [event] = bus.deliver()
    recorded = invoker("batch_result")(event)

    assert (recorded["status"], recorded["recorded"]) == ("Completed", 30)
    assert {item(i)["status"] for i in ids.values()} == {"SUCCEEDED"}
    assert len(published("success")) == 30
    assert sweep({})["overdue"] == 0
