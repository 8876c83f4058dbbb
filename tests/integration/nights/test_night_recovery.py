"""A poison file never fails a night, and re-runs always converge (issue 8).

moto plays S3, DynamoDB, SNS and SQS; SageMaker is the stand-in of ``tests/support/sagemaker.py``,
which *runs* jobs as SageMaker does: a malformed (or deleted) file fails the whole job with that
file's reason, and the outputs of the other files are written all the same. Every test ends with
"files lost = 0": every file of the night terminal, none left SUBMITTED or SCHEDULED.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from orchestrator.aws.manifest import roster_uri
from orchestrator.workflows.failed_nights import VERIFY_MARGIN_MS
from orchestrator.workflows.sweeper import state_change_event

from tests.support.events import body_of, load_event, sqs_event, with_body
from tests.support.hooks import SimulatedCrash
from tests.support.lambda_runtime import FakeLambdaContext, failed_ids, load_handler
from tests.support.transform import read_manifest, read_text

NIGHT = "sio-nightly-2026-11-28"  # events/schedule-nightly.json: scheduledTime 2026-11-28T02:00:00Z
EVENING = datetime(2026, 11, 27, 20, 0, tzinfo=UTC)
GOOD = b"age,income\n42,1000\n"
MALFORMED = b"malformed,,\n\x00\n"  # the stand-in's model refuses it with a client error (400)
TERMINAL = {"SUCCEEDED", "FAILED", "STOPPED", "EXPIRED", "SKIPPED"}


@pytest.fixture
def schedule(route, upload, clock, item_for_key) -> Callable[..., dict[str, str]]:
    """Upload ``{name: body}`` under the nightly prefix at ``when`` and route them; returns name → request id."""

    def put(files: dict[str, bytes], when: datetime = EVENING) -> dict[str, str]:
        clock.moment = when
        keys = {name: f"incoming/nightly/{name}" for name in files}
        records = [upload(keys[name], body) for name, body in files.items()]
        for start in range(0, len(records), 10):  # the router queue's batch size
            assert failed_ids(route(sqs_event(*records[start : start + 10]))) == []
        return {name: item_for_key(key)["request_id"] for name, key in keys.items()}

    return put


@pytest.fixture
def lost(items) -> Callable[[], list[dict[str, Any]]]:
    """Files lost: tracker items not terminal (the tests' closing check)."""
    return lambda: [i for i in items() if i["status"] not in TERMINAL]


def night(files: int, bad: set[int]) -> dict[str, bytes]:
    return {f"f{n:03d}.csv": MALFORMED if n in bad else GOOD for n in range(files)}


def retry_bound(files: int, bad: int) -> int:
    """Extra jobs at most: two retry jobs per bad file per round, ceil(log2 n) rounds."""
    return 2 * bad * math.ceil(math.log2(files))


# ---------------------------------------------------------------- a poison file never fails a night


@pytest.mark.slow  # long scenario: `make test-slow` (CI runs it after `make test`)
def test_one_bad_file_among_50_fails_alone_and_the_other_49_succeed(
    schedule, nightly, finish, transform, item, published, lost, calls
):
    """Given 50 files of which one is malformed, When the night's job fails (SageMaker writes the other
    49 outputs), Then the 49 SUCCEED at once, the bad file is retried alone and FAILED with its own
    reason, one extra job in all; nothing is announced FAILED in between."""
    ids = schedule(night(50, bad={17}))
    bad = ids.pop("f017.csv")
    nightly(load_event("schedule-nightly"))
    calls.reset()
    first = finish(transform.run(NIGHT))

    assert (first["withOutput"], first["retried"], first["retryJobs"]) == (49, 1, 1)
    assert calls.calls.count("s3.HeadObject") == 50  # one per file still waiting for the failed job
    assert published("error") == []
    ran = transform.run_all(finish)

    assert len(ran) == 1 <= retry_bound(50, 1)
    assert {item(i)["status"] for i in ids.values()} == {"SUCCEEDED"}
    failed = item(bad)
    assert failed["status"] == "FAILED" and failed["job_name"] == ran[0]
    assert failed["failure_reason"].startswith("ClientError: Received client error (400) from model for ")
    assert failed["failure_reason"].split(" for ")[1].startswith(f"{failed['object_uri']}:")
    [message] = published("error")
    assert (message["inferenceId"], message["failureReason"]) == (bad, failed["failure_reason"])
    assert sorted(m["inferenceId"] for m in published("success")) == sorted(ids.values())
    assert lost() == []


@pytest.mark.slow  # long scenario: `make test-slow` (CI runs it after `make test`)
def test_a_job_that_stops_at_its_first_bad_file_is_halved_until_the_file_is_alone(
    schedule, nightly, finish, transform, item, published, lost
):
    """Given 50 files, one malformed, and a SageMaker that stops the job at the failure (the files after
    it get no output), When the night runs, Then its files without output are halved round after round
    until the bad file fails alone: 49 SUCCEEDED, 1 FAILED, at most 2 x ceil(log2 50) = 12 extra jobs."""
    transform.abort_on_failure = True
    ids = schedule(night(50, bad={31}))
    bad = ids.pop("f031.csv")
    nightly(load_event("schedule-nightly"))
    ran = transform.run_all(finish)

    extra = len(ran) - 1
    assert 1 <= extra <= retry_bound(50, 1)
    assert {item(i)["status"] for i in ids.values()} == {"SUCCEEDED"}
    assert item(bad)["status"] == "FAILED" and item(bad)["object_uri"] in item(bad)["failure_reason"]
    assert [m["inferenceId"] for m in published("error")] == [bad]
    assert len(published("success")) == 49
    assert lost() == []


@pytest.mark.slow  # long scenario: `make test-slow` (CI runs it after `make test`)
def test_several_bad_files_are_each_isolated_with_their_own_reason(
    schedule, nightly, finish, transform, item, published, lost
):
    transform.abort_on_failure = True
    ids = schedule(night(40, bad={3, 20, 38}))
    bad = {ids.pop(name) for name in ("f003.csv", "f020.csv", "f038.csv")}
    nightly(load_event("schedule-nightly"))
    ran = transform.run_all(finish)

    assert len(ran) - 1 <= retry_bound(40, 3)
    assert {item(i)["status"] for i in ids.values()} == {"SUCCEEDED"}
    for request_id in bad:
        record = item(request_id)
        assert record["status"] == "FAILED" and record["object_uri"] in record["failure_reason"]
    assert sorted(m["inferenceId"] for m in published("error")) == sorted(bad)
    assert lost() == []


def test_a_duplicate_failure_event_starts_no_second_retry_job(schedule, nightly, finish, transform, item):
    """Retry jobs are named from their parent and their files: a duplicate event meets ResourceInUse."""
    transform.abort_on_failure = True
    ids = schedule(night(6, bad={0}))
    nightly(load_event("schedule-nightly"))
    failed = transform.run(NIGHT)
    finish(failed)
    jobs = sorted(transform.jobs)
    attempts = transform.create_attempts
    before = {i: (item(i)["status"], item(i)["job_name"], item(i)["status_since"]) for i in ids.values()}

    again = finish(failed)

    assert sorted(transform.jobs) == jobs and transform.create_attempts == attempts
    assert again["published"] == 0 and again["retried"] == 0
    assert {i: (item(i)["status"], item(i)["job_name"], item(i)["status_since"]) for i in ids.values()} == before
    assert {status for status, job, _ in before.values() if job != NIGHT} == {"SUBMITTED"}


def test_a_crash_while_starting_retry_jobs_is_finished_by_the_events_redelivery(
    schedule, nightly, finish, transform, interceptor, item, published, lost
):
    """Given the batch-result function dies while marking files for the retry jobs it started, When
    the event is delivered again, Then the jobs already started are found (ResourceInUse, same name
    for the same files) and every file ends FAILED alone, none left behind."""
    ids = schedule(night(4, bad={0, 1, 2, 3}))
    nightly(load_event("schedule-nightly"))
    failed = transform.run(NIGHT)

    def marking_for_a_retry_job(request: Any) -> bool:
        body = request.body if isinstance(request.body, bytes) else str(request.body or "").encode()
        return b"nightly-2026-11-28-x" in body

    interceptor.fail("dynamodb.UpdateItem", raises=SimulatedCrash(), times=1, when=marking_for_a_retry_job)
    with pytest.raises(SimulatedCrash):
        finish(failed)
    finish(failed)  # Lambda's retry of the same event
    transform.run_all(finish)

    assert {item(i)["status"] for i in ids.values()} == {"FAILED"}
    assert sorted(m["inferenceId"] for m in published("error")) == sorted(ids.values())
    assert lost() == []


def test_a_stopped_night_is_not_retried_its_outputs_succeed_and_the_rest_is_stopped(
    schedule, nightly, finish, transform, item, published, lost, s3, stack
):
    """A Stopped job is a person's decision: no retry jobs. Outputs already written are results."""
    ids = schedule(night(3, bad=set()))
    nightly(load_event("schedule-nightly"))
    done = item(ids["f000.csv"])["output_location"]
    bucket, _, key = done.removeprefix("s3://").partition("/")
    s3.put_object(Bucket=bucket, Key=key, Body=b"0.5\n")
    finish(transform.finish(NIGHT, "Stopped"))

    assert item(ids["f000.csv"])["status"] == "SUCCEEDED"
    assert {item(ids[n])["status"] for n in ("f001.csv", "f002.csv")} == {"STOPPED"}
    assert sorted(transform.jobs) == [NIGHT]
    assert len(published("success")) == 1 and len(published("error")) == 2
    assert lost() == []


def test_a_lost_failure_event_is_retried_the_same_way_through_the_sweepers_entry_point(
    schedule, nightly, finish, transform, item, lost, clock
):
    """The sweeper feeds DescribeTransformJob's fields to the batch-result code path: the split happens there too."""
    ids = schedule(night(4, bad={2}))
    nightly(load_event("schedule-nightly"))
    transform.run(NIGHT)  # its event is lost
    description = transform.jobs[NIGHT].description()

    summary = finish(state_change_event(description, clock()))

    assert (summary["withOutput"], summary["retried"]) == (3, 1)
    transform.run_all(finish)
    assert item(ids["f002.csv"])["status"] == "FAILED"
    assert lost() == []


# ---------------------------------------------------------------- re-runs converge


def test_rerun_whose_job_fails_before_its_files_are_marked_strands_nothing(
    schedule, nightly, finish, transform, item, published, lost, s3, stack
):
    """Given a night whose two bad files FAILED, a model fixed for one and the other deleted, When the
    re-run's job fails within seconds (before the nightly function marks its files), Then its result
    still applies (the fixed file SUCCEEDS from the output written, the deleted one is retried alone
    and FAILED "Could not read"), and the marking that comes after writes nothing."""
    ids = schedule({"good.csv": GOOD, "bad.csv": MALFORMED, "gone.csv": MALFORMED})
    nightly(load_event("schedule-nightly"))
    transform.run_all(finish)
    assert (item(ids["bad.csv"])["status"], item(ids["gone.csv"])["status"]) == ("FAILED", "FAILED")
    published("error")
    transform.bad = lambda body: False  # the model was fixed...
    s3.delete_object(Bucket=stack.bucket, Key="incoming/nightly/gone.csv")  # ...and one file deleted
    rerun = f"{NIGHT}-r1"
    transform.on_create = lambda job: finish(transform.run(job.name)) if job.name == rerun else None

    summary = nightly(load_event("nightly-rerun"))

    assert (summary["files"], summary["markedSubmitted"]) == (2, 0)
    transform.run_all(finish)
    assert item(ids["bad.csv"])["status"] == "SUCCEEDED"
    gone = item(ids["gone.csv"])
    assert gone["status"] == "FAILED" and gone["failure_reason"].startswith("ClientError: Could not read s3://")
    assert [m["inferenceId"] for m in published("error")] == [ids["gone.csv"]]
    assert lost() == []


@pytest.mark.slow  # long scenario: `make test-slow` (CI runs it after `make test`)
def test_rerun_fired_while_results_are_still_being_recorded_waits_then_takes_every_failed_file(
    schedule, nightly, transform, item, lost, s3, stack
):
    """Given a failed night of 150 files whose results are being recorded (the batch-result function
    stopped after 100 files, its next invocation is on the way), When a re-run is fired, Then it starts
    nothing and says what it waits for; while retry jobs run it waits again; once all is recorded it
    takes every file of the night that FAILED, and only those."""
    ids = schedule(night(150, bad=set()))
    nightly(load_event("schedule-nightly"))
    # Two files among the roster's last 50 go bad: the 100 files recorded before the timeout start no
    # retry job (a segment starts its own at once, and the re-run would then wait on that job instead).
    roster = read_text(s3, roster_uri(transform.jobs[NIGHT].manifest_uri)).split("\n")
    names = {request_id: name for name, request_id in ids.items()}
    late = [names[roster[n].split()[0]] for n in (105, 120)]
    for name in late:
        s3.put_object(Bucket=stack.bucket, Key=f"incoming/nightly/{name}", Body=MALFORMED)
    handler = load_handler("batch_result")
    budget = iter([VERIFY_MARGIN_MS + 1, 0])  # one chunk of 100, then out of time

    class ShortContext(FakeLambdaContext):
        def get_remaining_time_in_millis(self) -> int:
            return next(budget, 10 * VERIFY_MARGIN_MS)

    failed = transform.run(NIGHT)
    stopped = handler(failed, ShortContext(function_name="batch-result"))
    assert (stopped["files"], stopped["continued"]) == (100, 1)  # its next invocation was requested

    waiting = nightly(load_event("nightly-rerun"))
    assert waiting["jobName"] is None and "still being recorded" in waiting["waiting"]

    assert handler(failed, FakeLambdaContext(function_name="batch-result"))["resumedAt"] == 100  # the next one
    assert "is InProgress" in nightly(load_event("nightly-rerun"))["waiting"]  # the retry jobs run
    transform.run_all(lambda event: handler(event, FakeLambdaContext(function_name="batch-result")))

    summary = nightly(load_event("nightly-rerun"))
    assert (summary["files"], summary["markedSubmitted"]) == (2, 2)
    assert {item(ids[n])["job_name"] for n in late} == {f"{NIGHT}-r1"}
    transform.bad = lambda body: False
    transform.run_all(lambda event: handler(event, FakeLambdaContext(function_name="batch-result")))
    assert {item(i)["status"] for i in ids.values()} == {"SUCCEEDED"}
    assert lost() == []


def test_a_second_rerun_takes_the_files_that_failed_in_the_first_reruns_retry_jobs(
    schedule, nightly, finish, transform, item, lost
):
    """Re-runs take the night's files wherever they were left (before: re-run n took only the files
    still naming re-run n-1's job, so files that failed in a retry job could never be re-run)."""
    ids = schedule({"a.csv": MALFORMED, "b.csv": MALFORMED, "c.csv": GOOD})
    nightly(load_event("schedule-nightly"))
    transform.run_all(finish)
    nightly({"rerun": 1, "date": "2026-11-28"})  # the model is still wrong: both fail again, alone
    transform.run_all(finish)
    assert {item(ids[n])["job_name"].startswith(f"{NIGHT}-x") for n in ("a.csv", "b.csv")} == {True}
    transform.bad = lambda body: False

    summary = nightly({"rerun": 2, "date": "2026-11-28"})

    assert (summary["jobName"], summary["files"], summary["markedSubmitted"]) == (f"{NIGHT}-r2", 2, 2)
    transform.run_all(finish)
    assert {item(i)["status"] for i in ids.values()} == {"SUCCEEDED"}
    assert lost() == []


def test_rerun_takes_files_an_earlier_attempt_never_marked_and_whose_result_was_lost(
    schedule, nightly, finish, transform, interceptor, item, lost
):
    """Given a night whose marking crashed for every file and whose job's event was lost, When the
    night is re-run, Then the re-run takes the files (still SCHEDULED in the night's roster)."""
    ids = schedule({"a.csv": GOOD, "b.csv": GOOD})
    interceptor.fail("dynamodb.UpdateItem", raises=SimulatedCrash())
    with pytest.raises(SimulatedCrash):
        nightly(load_event("schedule-nightly"))
    interceptor.clear_faults()
    transform.run(NIGHT)  # Completed; its event never arrives
    assert {item(i)["status"] for i in ids.values()} == {"SCHEDULED"}

    summary = nightly(load_event("nightly-rerun"))

    assert (summary["files"], summary["markedSubmitted"]) == (2, 2)
    transform.run_all(finish)
    assert {item(i)["status"] for i in ids.values()} == {"SUCCEEDED"}
    assert lost() == []


# ---------------------------------------------------------------- two versions of one key


def versioned(upload: Callable[..., dict[str, Any]], key: str, body: bytes, uploaded: str) -> dict[str, Any]:
    """An upload whose S3 notification says it happened at ``uploaded``."""
    record = upload(key, body)
    message = body_of(record)
    message["Records"][0]["eventTime"] = uploaded
    return with_body(record, message)


@pytest.mark.parametrize("arrival", ["in order", "newer first"])
def test_the_older_of_two_versions_of_a_key_in_one_night_is_skipped_and_announced(
    arrival, route, upload, clock, nightly, finish, transform, items, published, lost, s3
):
    clock.moment = EVENING
    older = versioned(upload, "incoming/nightly/a.csv", b"old\n", "2026-11-27T19:00:00.000Z")
    newer = versioned(upload, "incoming/nightly/a.csv", GOOD, "2026-11-27T21:30:00.000Z")
    records = [older, newer] if arrival == "in order" else [newer, older]
    for record in records:
        clock.advance(60)
        assert failed_ids(route(sqs_event(record))) == []
    by_version = {i["version_id"]: i for i in items()}
    old_item = by_version[json.loads(older["body"])["Records"][0]["s3"]["object"]["versionId"]]
    new_item = by_version[json.loads(newer["body"])["Records"][0]["s3"]["object"]["versionId"]]

    summary = nightly(load_event("schedule-nightly"))

    assert summary["files"] == 1 and summary["superseded"] == 1
    assert read_manifest(s3, transform.jobs[NIGHT].manifest_uri)[1:] == ["incoming/nightly/a.csv"]
    skipped = {i["request_id"]: i for i in items()}[old_item["request_id"]]
    assert skipped["status"] == "SKIPPED"
    assert skipped["failure_reason"].startswith("superseded by a newer version uploaded at 2026-11-27T21:30:00.000Z")
    [message] = published("error")
    assert (message["inferenceId"], message["invocationStatus"]) == (old_item["request_id"], "Skipped")
    assert message["supersededBy"] == new_item["request_id"]
    transform.run_all(finish)
    assert [m["inferenceId"] for m in published("success")] == [new_item["request_id"]]
    assert lost() == []


# ---------------------------------------------------------------- naming nights


def scheduled(moment: datetime) -> dict[str, Any]:
    event = load_event("schedule-nightly")
    event["scheduledTime"] = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    return event


def test_a_local_time_cron_across_the_spring_change_names_each_night_by_its_local_date(
    schedule, nightly, transform, item, monkeypatch
):
    """cron(30 1 * * ? *) in Europe/Paris runs at 00:30Z on Sunday 29 March 2026 (still winter time)
    and at 23:30Z the same UTC day for Monday's 01:30 (summer time): named by the UTC date (before),
    Monday's night collided with Sunday's job and its files waited a day; by local date, each night
    has its own job."""
    monkeypatch.setenv("NIGHTLY_SCHEDULE_TIMEZONE", "Europe/Paris")
    monkeypatch.setenv("NIGHTLY_SCHEDULE_EXPRESSION", "cron(30 1 * * ? *)")
    sunday = schedule({"sunday.csv": GOOD}, when=datetime(2026, 3, 28, 20, 0, tzinfo=UTC))
    first = nightly(scheduled(datetime(2026, 3, 29, 0, 30, tzinfo=UTC)))
    monday = schedule({"monday.csv": GOOD}, when=datetime(2026, 3, 29, 20, 0, tzinfo=UTC))
    second = nightly(scheduled(datetime(2026, 3, 29, 23, 30, tzinfo=UTC)))

    assert (first["jobName"], second["jobName"]) == ("sio-nightly-2026-03-29", "sio-nightly-2026-03-30")
    assert second["jobCreated"] is True and second["files"] == 1
    assert item(sunday["sunday.csv"])["job_name"] == "sio-nightly-2026-03-29"
    assert (item(monday["monday.csv"])["job_name"], item(monday["monday.csv"])["night"]) == (
        "sio-nightly-2026-03-30",
        "2026-03-30",
    )


def test_a_rate_schedule_names_each_run_by_its_local_time_even_when_the_clocks_go_back(
    schedule, nightly, transform, item, monkeypatch
):
    """rate(1 hour) in Europe/Paris on 25 October 2026: 00:30Z and 01:30Z are both 02:30 local (the
    clocks went back at 01:00Z); every run gets its own night and job, and a re-run names one."""
    monkeypatch.setenv("NIGHTLY_SCHEDULE_TIMEZONE", "Europe/Paris")
    monkeypatch.setenv("NIGHTLY_SCHEDULE_EXPRESSION", "rate(1 hour)")
    names = []
    start = datetime(2026, 10, 24, 23, 30, tzinfo=UTC)
    for hour in range(4):
        moment = start + timedelta(hours=hour)
        schedule({f"run{hour}.csv": GOOD}, when=moment - timedelta(minutes=10))
        summary = nightly(scheduled(moment))
        assert summary["files"] == 1
        names.append(summary["jobName"])

    assert names == [
        "sio-nightly-2026-10-25-0130",
        "sio-nightly-2026-10-25-0230",
        "sio-nightly-2026-10-25-0230b",
        "sio-nightly-2026-10-25-0330",
    ]
    assert all(len(name) <= 63 for name in names)
    assert len(transform.jobs) == 4
