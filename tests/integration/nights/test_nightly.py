"""The nightly batch: files under the nightly prefix wait as SCHEDULED, the schedule's event starts one
transform job for the night, and its state change is announced per file. moto plays S3, DynamoDB,
SNS and SQS; SageMaker is the stand-in of ``tests/support/sagemaker.py``."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from orchestrator.core.deadlines import SHARDS
from orchestrator.errors import BadEventError, ConfigError, RetryableError
from orchestrator.workflows.nightly import SAFETY_MARGIN_MS

from tests.support.events import load_event, sqs_event, tracker_record
from tests.support.hooks import SimulatedCrash
from tests.support.lambda_runtime import FakeLambdaContext, failed_ids, load_handler
from tests.support.transform import read_manifest, read_text

NIGHT = "sio-nightly-2026-11-28"  # events/schedule-nightly.json: scheduledTime 2026-11-28T02:00:00Z
EVENING = datetime(2026, 11, 27, 20, 0, tzinfo=UTC)
MALFORMED = b"malformed,,\n\x00\n"  # the stand-in's model refuses it (tests/support/sagemaker.py)


@pytest.fixture
def schedule(route, upload, clock, item_for_key) -> Callable[..., list[str]]:
    """Upload files under the nightly prefix at ``when`` and route them; returns their request ids."""

    def put(*names: str, when: datetime = EVENING, body: bytes | None = None) -> list[str]:
        clock.moment = when
        keys = [f"incoming/nightly/{name}" for name in names]
        records = [upload(key) if body is None else upload(key, body) for key in keys]
        assert failed_ids(route(sqs_event(*records))) == []
        return [item_for_key(key)["request_id"] for key in keys]

    return put


def schedule_event(**changes: Any) -> dict[str, Any]:
    event = load_event("schedule-nightly")
    event.update(changes)
    return event


# ---------------------------------------------------------------- the router schedules


def test_files_under_the_nightly_prefix_are_scheduled_and_not_invoked(route, upload, item_for_key, calls, transform):
    calls.reset()
    route(sqs_event(upload("incoming/nightly/a.csv")))

    item = item_for_key("incoming/nightly/a.csv")
    assert (item["status"], item["mode"]) == ("SCHEDULED", "nightly")
    assert "job_name" not in item
    assert calls.calls == ["dynamodb.PutItem", "dynamodb.UpdateItem"]
    assert transform.jobs == {}


# ---------------------------------------------------------------- the nightly run


def test_night_starts_one_job_over_its_files_and_marks_each_submitted(schedule, nightly, transform, item, s3, stack):
    """The roster names each file with its job sequence (1: its first job), and each item the night."""
    ids = schedule("a.csv", "b.csv", "sub dir/c.csv")
    summary = nightly(load_event("schedule-nightly"))

    [job] = transform.jobs.values()
    assert job.name == NIGHT
    manifest = read_manifest(s3, job.manifest_uri)
    assert manifest[0] == {"prefix": f"s3://{stack.bucket}/"}
    assert sorted(manifest[1:]) == [
        "incoming/nightly/a.csv",
        "incoming/nightly/b.csv",
        "incoming/nightly/sub dir/c.csv",
    ]
    roster = job.manifest_uri.removesuffix("manifest.json") + "requests.txt"
    assert sorted(line.split() for line in read_text(s3, roster).splitlines()) == sorted([i, "1"] for i in ids)
    assert job.request["TransformInput"]["ContentType"] == "text/csv"
    for request_id in ids:
        record = item(request_id)
        assert (record["status"], record["job_name"], record["job_seq"], record["night"]) == (
            "SUBMITTED",
            NIGHT,
            1,
            "2026-11-28",
        )
        assert record["output_location"] == f"{job.output_path}/{record['key']}.out"
    assert summary == {"date": "2026-11-28", "jobName": NIGHT, "jobCreated": True, "files": 3, "markedSubmitted": 3}


def test_a_claim_the_router_never_confirmed_is_not_taken_by_the_night(
    schedule, route, upload, interceptor, clock, nightly, transform, s3, item_for_key
):
    """The router claims a nightly file into SCHEDULED's lane (its confirmation then rewrites the entry in
    place). A claim that died before its confirmation sits there still RECEIVED: the night reads the
    lane filtered on the status, so only the confirmed file is in the job."""
    [scheduled] = schedule("a.csv")
    clock.moment = EVENING
    interceptor.fail("dynamodb.UpdateItem", raises=SimulatedCrash(), times=1)
    with pytest.raises(SimulatedCrash):
        route(sqs_event(upload("incoming/nightly/b.csv")))
    unconfirmed = item_for_key("incoming/nightly/b.csv")
    assert unconfirmed["status"] == "RECEIVED"
    assert unconfirmed["inflight"].startswith("SCHEDULED#")

    summary = nightly(load_event("schedule-nightly"))

    [job] = transform.jobs.values()
    assert read_manifest(s3, job.manifest_uri)[1:] == ["incoming/nightly/a.csv"]
    assert summary["files"] == 1
    assert item_for_key("incoming/nightly/b.csv")["status"] == "RECEIVED"
    assert item_for_key("incoming/nightly/a.csv")["request_id"] == scheduled


@pytest.mark.slow  # long scenario: `make test-slow` (CI runs it after `make test`)
def test_aws_calls_per_night_do_not_grow_per_file_except_one_conditional_write(schedule, nightly, calls):
    schedule(*(f"f{n:03d}.csv" for n in range(150)))
    calls.reset()
    nightly(load_event("schedule-nightly"))

    counted = {name: calls.calls.count(name) for name in set(calls.calls)}
    assert counted == {
        "sagemaker.DescribeTransformJob": 1,
        "dynamodb.Query": SHARDS,  # one per shard of the in-flight index (one page each, up to 1,000 files)
        "s3.PutObject": 2,  # roster, manifest
        "sagemaker.CreateTransformJob": 1,
        "dynamodb.BatchGetItem": 2,  # 100 keys per call
        "dynamodb.UpdateItem": 150,
    }


def test_running_twice_for_the_same_night_starts_one_job(schedule, nightly, transform, items, calls):
    schedule("a.csv", "b.csv")
    nightly(load_event("schedule-nightly"))
    calls.reset()
    second = nightly(load_event("schedule-nightly"))

    assert list(transform.jobs) == [NIGHT]
    assert transform.create_attempts == 1
    assert second["jobCreated"] is False and second["markedSubmitted"] == 0
    assert {i["status"] for i in items()} == {"SUBMITTED"}
    assert "sagemaker.CreateTransformJob" not in calls.calls


def test_schedule_retry_next_morning_names_the_night_and_leaves_later_files_for_tomorrow(
    schedule, nightly, transform, item
):
    """Given files scheduled before 02:00 and one after, When the schedule's retry runs at 09:00 with
    the same scheduled time, Then the job is named from the scheduled date and takes the early files."""
    early = schedule("a.csv", "b.csv")
    [late] = schedule("late.csv", when=datetime(2026, 11, 28, 5, 30, tzinfo=UTC))
    summary = nightly(schedule_event(attemptNumber="2"))  # the clock says 05:30, the event says 02:00

    assert summary["jobName"] == NIGHT and summary["files"] == 2
    assert {item(i)["status"] for i in early} == {"SUBMITTED"}
    assert item(late)["status"] == "SCHEDULED"


def test_night_without_files_starts_no_job_and_says_so(nightly, transform, caplog, calls):
    summary = nightly(load_event("schedule-nightly"))

    assert transform.jobs == {}
    assert summary == {"date": "2026-11-28", "jobName": None, "jobCreated": False, "files": 0, "markedSubmitted": 0}
    assert "no files scheduled up to 2026-11-28T02:00:00.000Z: no transform job started" in caplog.messages
    assert "sagemaker.CreateTransformJob" not in calls.calls


def test_concurrent_run_that_won_the_name_is_followed(schedule, nightly, transform, interceptor, item, s3, stack):
    """Given another run started the night's job between our check and our start, When CreateTransformJob
    answers ResourceInUse, Then the files listed in *that* job's roster are marked, and no second job."""
    first, second = schedule("a.csv", "b.csv")
    winner = f"s3://{stack.bucket}/results/batch/{NIGHT}/winner/"
    s3.put_object(Bucket=stack.bucket, Key=f"results/batch/{NIGHT}/winner/requests.txt", Body=f"{first}\n".encode())
    transform.add(
        {
            "TransformJobName": NIGHT,
            "ModelName": "demo-model",
            "TransformInput": {
                "DataSource": {"S3DataSource": {"S3DataType": "ManifestFile", "S3Uri": winner + "manifest.json"}}
            },
            "TransformOutput": {"S3OutputPath": f"s3://{stack.bucket}/results/batch/{NIGHT}/output"},
        }
    )
    interceptor.fail("sagemaker.DescribeTransformJob", code="ValidationException", message="not found", times=1)
    summary = nightly(load_event("schedule-nightly"))

    assert summary["jobCreated"] is False and summary["markedSubmitted"] == 1
    assert item(first)["status"] == "SUBMITTED"
    assert item(second)["status"] == "SCHEDULED"  # not in the job that runs: tomorrow's
    assert len(transform.jobs) == 1


def test_a_job_of_the_same_name_from_another_stack_is_refused(nightly, transform, schedule):
    schedule("a.csv")
    transform.add(
        {
            "TransformJobName": NIGHT,
            "ModelName": "theirs",
            "TransformInput": {
                "DataSource": {"S3DataSource": {"S3DataType": "ManifestFile", "S3Uri": "s3://other/m/manifest.json"}}
            },
            "TransformOutput": {"S3OutputPath": "s3://other/out"},
        }
    )
    with pytest.raises(ConfigError, match="TransformJobPrefix"):
        nightly(load_event("schedule-nightly"))


def test_start_failures_leave_the_files_scheduled_for_lambdas_retry(schedule, nightly, transform, interceptor, item):
    [request_id] = schedule("a.csv")
    interceptor.fail("sagemaker.CreateTransformJob", code="ThrottlingException", message="slow down")
    with pytest.raises(RetryableError):
        nightly(load_event("schedule-nightly"))
    assert item(request_id)["status"] == "SCHEDULED"

    interceptor.clear_faults()
    assert nightly(load_event("schedule-nightly"))["markedSubmitted"] == 1


@pytest.mark.slow  # long scenario: `make test-slow` (CI runs it after `make test`)
def test_marking_stops_before_the_timeout_and_the_retry_finishes_it(
    schedule, stack, transform, calls, clock, items, monkeypatch
):
    """Given a night larger than one invocation can mark, When time runs short, Then the run stops with
    an error (Lambda retries the event) and the retry marks the rest of the same job."""
    schedule(*(f"f{n:03d}.csv" for n in range(250)))
    handler = load_handler("nightly")
    budget = iter([SAFETY_MARGIN_MS + 1, SAFETY_MARGIN_MS + 1, 0])  # two chunks, then out of time

    class ShortContext(FakeLambdaContext):
        def get_remaining_time_in_millis(self) -> int:
            return next(budget, 10 * SAFETY_MARGIN_MS)

    with pytest.raises(RetryableError, match="marked 200 files"):
        handler(load_event("schedule-nightly"), ShortContext(function_name="nightly"))
    summary = handler(load_event("schedule-nightly"), FakeLambdaContext(function_name="nightly"))

    assert summary["markedSubmitted"] == 50
    assert len(transform.jobs) == 1
    assert {i["status"] for i in items()} == {"SUBMITTED"}


def test_event_without_a_scheduled_time_is_refused(nightly):
    with pytest.raises(BadEventError, match="scheduledTime"):
        nightly(schedule_event(scheduledTime="<aws.scheduler.scheduled-time>"))


# ---------------------------------------------------------------- the night's result


def test_failed_night_announces_nothing_yet_and_retries_its_files_without_output_in_halves(
    schedule, nightly, finish, transform, item, published
):
    """Given a night whose job failed before writing any output (before: every file FAILED with the
    job's reason; now a job failure is not a file's failure), When its state change is handled, Then
    nothing is announced, the files go to two retry jobs of the night (SUBMITTED, new job names and
    deadlines), and once those run every good file SUCCEEDS."""
    ids = schedule("a.csv", "b.csv", "c.csv")
    nightly(load_event("schedule-nightly"))
    summary = finish(transform.finish(NIGHT, "Failed", "ClientError: See job logs for more information"))

    assert published("error") == [] and published("success") == []
    retries = sorted(set(transform.jobs) - {NIGHT})
    assert len(retries) == 2 and all(name.startswith(f"{NIGHT}-x") and len(name) == len(NIGHT) + 8 for name in retries)
    for request_id in ids:
        record = item(request_id)
        assert (record["status"], record["job_seq"]) == ("SUBMITTED", 2)
        assert record["job_name"] in retries and "failure_reason" not in record
        assert record["inflight"].startswith("SUBMITTED#") and record["deadline_at"] > record["submitted_at"]
        assert record["output_location"].startswith(transform.jobs[record["job_name"]].output_path)
    assert (summary["retried"], summary["retryJobs"], summary["published"]) == (3, 2, 0)

    transform.run_all(finish)
    assert {item(i)["status"] for i in ids} == {"SUCCEEDED"}
    assert sorted(m["inferenceId"] for m in published("success")) == sorted(ids)


def test_stopped_night_stops_every_file(schedule, nightly, finish, transform, item, published):
    ids = schedule("a.csv", "b.csv")
    nightly(load_event("schedule-nightly"))
    finish(transform.finish(NIGHT, "Stopped"))

    assert {item(i)["status"] for i in ids} == {"STOPPED"}
    assert {m["invocationStatus"] for m in published("error")} == {"Stopped"}


def test_completed_night_announces_each_file_with_its_output(schedule, nightly, finish, transform, item, published):
    ids = schedule("a.csv", "b.csv")
    nightly(load_event("schedule-nightly"))
    output = transform.jobs[NIGHT].output_path
    finish(transform.finish(NIGHT, "Completed"))

    messages = {m["inferenceId"]: m for m in published("success")}
    assert set(messages) == set(ids)
    for request_id in ids:
        record = item(request_id)
        assert record["status"] == "SUCCEEDED"
        assert record["output_location"] == f"{output}/{record['key']}.out"
        assert messages[request_id]["responseParameters"]["outputLocation"] == record["output_location"]
        assert messages[request_id]["requestParameters"]["inputLocation"] == record["object_uri"]


def test_duplicate_event_in_epoch_millis_changes_nothing(schedule, nightly, finish, transform, item, published, calls):
    """Given the Completed event was handled, When SageMaker sends it again (times as epoch millis),
    Then nothing is published and no item moves."""
    ids = schedule("a.csv", "b.csv")
    nightly(load_event("schedule-nightly"))
    first = transform.finish(NIGHT, "Completed")
    finish(first)
    published("success")
    before = {i: item(i)["status_since"] for i in ids}
    duplicate = load_event("transform-state-completed-duplicate")
    duplicate["detail"]["TransformInput"] = first["detail"]["TransformInput"]
    calls.reset()
    summary = finish(duplicate)

    assert published("success") == []
    assert {i: item(i)["status_since"] for i in ids} == before
    assert summary["recorded"] == summary["published"] == 0 and summary["alreadyDone"] == 2
    assert calls.calls == ["s3.GetObject", "dynamodb.BatchGetItem"]


# ---------------------------------------------------------------- re-running a failed night


def fail_alone(schedule, nightly, finish, transform, *names: str) -> list[str]:
    """Files the model refuses, scheduled and scored until each one FAILED alone in a retry job."""
    ids = schedule(*names, body=MALFORMED)
    nightly(load_event("schedule-nightly"))
    transform.run_all(finish)
    return ids


def test_rerun_scores_the_failed_files_in_a_new_job_and_ignores_the_old_jobs_late_events(
    schedule, nightly, finish, transform, item, published, s3
):
    """Given a night whose files each FAILED alone (the model refused them) and a model fixed since,
    When the night is re-run, Then its failed files are scored in job -r1, and a late copy of the
    night's own Failed event changes nothing."""
    ids = fail_alone(schedule, nightly, finish, transform, "a.csv", "b.csv")
    assert {item(i)["status"] for i in ids} == {"FAILED"}
    published("error")
    failed = transform.event(NIGHT)
    transform.bad = lambda body: False  # the model was fixed

    summary = nightly(load_event("nightly-rerun"))

    rerun = f"{NIGHT}-r1"
    assert summary == {
        "date": "2026-11-28",
        "jobName": rerun,
        "jobCreated": True,
        "files": 2,
        "markedSubmitted": 2,
        "rerun": 1,
    }
    assert sorted(read_manifest(s3, transform.jobs[rerun].manifest_uri)[1:]) == [
        "incoming/nightly/a.csv",
        "incoming/nightly/b.csv",
    ]
    for request_id in ids:
        record = item(request_id)
        assert (record["status"], record["job_name"]) == ("SUBMITTED", rerun)
        assert "failure_reason" not in record

    finish(failed)  # a late duplicate of the first attempt's failure
    assert {item(i)["status"] for i in ids} == {"SUBMITTED"}
    assert published("error") == []

    finish(transform.run(rerun))
    assert {item(i)["status"] for i in ids} == {"SUCCEEDED"}
    assert len(published("success")) == 2


def test_first_attempts_failure_reaching_the_tracker_late_does_not_undo_the_rerun(
    schedule, nightly, finish, transform, track, item, published
):
    """Given a failed night whose error messages still wait in the tracker queue, When the night is
    re-run and then the tracker handles those messages, Then the files stay the re-run's and its
    result is recorded and announced."""
    ids = fail_alone(schedule, nightly, finish, transform, "a.csv", "b.csv")
    late = published("error")
    transform.bad = lambda body: False
    nightly(load_event("nightly-rerun"))
    rerun = f"{NIGHT}-r1"

    response = track(sqs_event(*(tracker_record(m, f"m-{n}") for n, m in enumerate(late))))

    assert failed_ids(response) == []
    for request_id in ids:
        assert (item(request_id)["status"], item(request_id)["job_name"]) == ("SUBMITTED", rerun)
    finish(transform.run(rerun))
    assert {item(i)["status"] for i in ids} == {"SUCCEEDED"}
    assert sorted(m["inferenceId"] for m in published("success")) == sorted(ids)


def test_failure_recorded_by_the_tracker_first_still_names_the_job_so_the_night_can_be_rerun(
    schedule, nightly, finish, transform, track, interceptor, item, published
):
    """Given a night whose files were never marked (the run died) and whose Failed event was announced
    but not recorded (the batch-result run died), When the tracker records the announcement, Then the
    item names the failed job, so the re-run of that night takes the file."""
    [request_id] = schedule("a.csv")
    interceptor.fail("dynamodb.UpdateItem", raises=SimulatedCrash(), times=1)
    with pytest.raises(SimulatedCrash):
        nightly(load_event("schedule-nightly"))
    interceptor.fail("dynamodb.UpdateItem", raises=SimulatedCrash(), times=1)
    with pytest.raises(SimulatedCrash):
        finish(transform.finish(NIGHT, "Failed", "boom"))
    [message] = published("error")

    assert failed_ids(track(sqs_event(tracker_record(message)))) == []

    assert (item(request_id)["status"], item(request_id)["job_name"]) == ("FAILED", NIGHT)
    assert nightly(load_event("nightly-rerun"))["markedSubmitted"] == 1


def test_rerun_twice_starts_one_job(schedule, nightly, finish, transform):
    schedule("a.csv")
    nightly(load_event("schedule-nightly"))
    finish(transform.finish(NIGHT, "Failed", "boom"))
    nightly(load_event("nightly-rerun"))
    again = nightly(load_event("nightly-rerun"))

    assert sorted(transform.jobs) == [NIGHT, f"{NIGHT}-r1"]
    assert again["jobCreated"] is False


def test_a_completed_night_has_nothing_to_rerun(schedule, nightly, finish, transform, caplog):
    """A re-run takes the night's files not SUCCEEDED or SKIPPED (before: only a Failed or Stopped job
    could be re-run, and a Completed one was refused): after a Completed night there are none, so no
    job starts and the answer says so."""
    schedule("a.csv")
    nightly(load_event("schedule-nightly"))
    finish(transform.finish(NIGHT, "Completed"))
    summary = nightly(load_event("nightly-rerun"))

    assert (summary["jobName"], summary["files"], summary["rerun"]) == (None, 0, 1)
    assert sorted(transform.jobs) == [NIGHT]
    assert "no files of the night left to re-run: no transform job started" in caplog.messages


def test_a_night_without_jobs_cannot_be_rerun(nightly, transform):
    with pytest.raises(BadEventError, match="night 2026-11-28 has no transform job"):
        nightly(load_event("nightly-rerun"))
