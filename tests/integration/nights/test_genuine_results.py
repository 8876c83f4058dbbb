"""Only a job's own results are recorded for its files: the tracker function checks the job a result
names against the item's (README "Trust boundaries"). The product's job messages carry no job
sequence; a job name is never reused, so the name fixes it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from tests.support import emf
from tests.support.events import load_event, sagemaker_notification, sqs_event, tracker_record
from tests.support.lambda_runtime import failed_ids

NIGHT = "sio-nightly-2026-11-28"  # events/schedule-nightly.json: scheduledTime 2026-11-28T02:00:00Z
EVENING = datetime(2026, 11, 27, 20, 0, tzinfo=UTC)
KEY = "incoming/nightly/a.csv"


@pytest.fixture
def scheduled(route, upload, clock, item_for_key) -> str:
    """Given a file waiting for tonight's job (SCHEDULED, in no job yet): its request id."""
    clock.moment = EVENING
    assert failed_ids(route(sqs_event(upload(KEY)))) == []
    return str(item_for_key(KEY)["request_id"])


@pytest.fixture
def in_job(scheduled, nightly, item) -> str:
    """Given the file marked for the night's job: its request id."""
    nightly(load_event("schedule-nightly"))
    assert (item(scheduled)["status"], item(scheduled)["job_name"]) == ("SUBMITTED", NIGHT)
    return scheduled


def _job_message(request_id: str, job: str | None, kind: str = "success", bucket: str = "b") -> dict[str, Any]:
    """A result in the shape the batch-result function publishes for one file of ``job``."""
    message = sagemaker_notification(kind, request_id)
    message.update({"eventSource": "sagemaker-inference-orchestrator", "mode": "nightly"})
    message["responseParameters"] = (
        {"outputLocation": f"s3://{bucket}/results/batch/{job}/output/{KEY}.out"} if kind == "success" else {}
    )
    if job is not None:
        message["jobName"] = job
    return message


@pytest.mark.parametrize(
    "job",
    [
        pytest.param("sio-nightly-2026-11-29", id="another-night"),
        pytest.param(f"{NIGHT}-r1", id="a-rerun-of-the-night"),
        pytest.param(f"{NIGHT}-xabc123", id="a-retry-job-of-the-night"),
        pytest.param("sio-{request_id}", id="the-files-own-per-file-job-name"),
    ],
)
def test_a_success_of_another_job_is_ignored_and_counted_and_its_own_jobs_is_recorded(
    in_job, stack, track, item, capfd, job
):
    """Given a file in the night's job, When a success names another job of this stack, Then it is
    acknowledged and counted, the file stays the night's job's; the night's own success is recorded."""
    before = item(in_job)
    capfd.readouterr()

    forged = _job_message(in_job, job.format(request_id=in_job), bucket=stack.bucket)
    assert failed_ids(track(sqs_event(tracker_record(forged)))) == []

    assert item(in_job) == before
    assert "MismatchedResultsIgnored" in emf.metric_names(capfd.readouterr().out)
    assert failed_ids(track(sqs_event(tracker_record(_job_message(in_job, NIGHT, bucket=stack.bucket))))) == []
    assert (item(in_job)["status"], item(in_job)["job_name"]) == ("SUCCEEDED", NIGHT)


def test_a_nightly_success_naming_no_job_is_ignored(in_job, stack, track, item, capfd):
    """A nightly file's success comes from a job: one that names none is not the file's."""
    capfd.readouterr()

    track(sqs_event(tracker_record(_job_message(in_job, None, bucket=stack.bucket))))

    assert item(in_job)["status"] == "SUBMITTED"
    assert "MismatchedResultsIgnored" in emf.metric_names(capfd.readouterr().out)


def test_a_file_no_job_has_marked_takes_a_failure_of_its_night_but_never_a_success(scheduled, stack, track, item):
    """Given a file no job has marked yet (the nightly run may have died before marking it), When its
    night's job is named by a success, Then nothing is recorded (a success must name the file's job);
    a failure of that job is recorded, naming the job, so the night's re-run takes the file."""
    track(sqs_event(tracker_record(_job_message(scheduled, NIGHT, bucket=stack.bucket))))
    assert item(scheduled)["status"] == "SCHEDULED"

    track(sqs_event(tracker_record(_job_message(scheduled, NIGHT, "error"))))
    assert (item(scheduled)["status"], item(scheduled)["job_name"]) == ("FAILED", NIGHT)
