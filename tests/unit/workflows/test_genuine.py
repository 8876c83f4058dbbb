"""What a result must match to be recorded (orchestrator.workflows.genuine), per mode, on the message alone and
as conditions on the item; the tracker's conditional write is exercised in tests/integration."""

from __future__ import annotations

from typing import Any

import pytest
from orchestrator.aws.tracker_table import Holds
from orchestrator.core.messages import EVENT_SOURCE, parse_result
from orchestrator.settings import OutcomeSettings, TrackerSettings
from orchestrator.workflows import genuine

BUCKET = "input-bucket"
RID = "680c87d66af96dad51fee7de4d738d8a"
SETTINGS = OutcomeSettings(
    tracker=TrackerSettings("table"), job_prefix="sio", input_bucket=BUCKET, output_prefix="results/"
)


def message(status: str = "Completed", *, product: bool = False, **fields: Any) -> Any:
    payload: dict[str, Any] = {
        "inferenceId": RID,
        "invocationStatus": status,
        "eventTime": "2026-11-28T21:14:09.873Z",
        "eventSource": EVENT_SOURCE if product else "aws:sagemaker",
        "responseParameters": {},
    }
    for name in ("outputLocation", "failureLocation"):
        if name in fields:
            payload["responseParameters"][name] = fields.pop(name)
    payload.update(fields)
    return parse_result(payload)


def test_sagemakers_success_under_the_output_prefix_needs_the_kept_location_or_none():
    location = f"s3://{BUCKET}/results/async/{RID}.out"
    assert genuine.check(message(outputLocation=location), SETTINGS) == genuine.Check(
        must_hold=(Holds("mode", "async"), Holds("output_location", location, or_absent=True))
    )


@pytest.mark.parametrize(
    "location",
    [f"s3://another-bucket/results/async/{RID}.out", f"s3://{BUCKET}/incoming/{RID}.out", "results/async/x.out"],
    ids=["another-bucket", "outside-the-prefix", "not-an-s3-uri"],
)
def test_a_success_outside_the_output_prefix_must_be_exactly_the_kept_location(location):
    check = genuine.check(message(outputLocation=location), SETTINGS)
    assert check.must_hold[-1] == Holds("output_location", location, or_absent=False)


def test_a_failure_with_a_location_needs_the_kept_failure_location_and_one_without_only_the_mode():
    location = f"s3://{BUCKET}/results/async-failures/{RID}-error.out"
    with_location = genuine.check(message("Failed", failureLocation=location), SETTINGS)
    assert with_location.must_hold == (Holds("mode", "async"), Holds("failure_location", location, or_absent=True))
    assert genuine.check(message("Expired"), SETTINGS).must_hold == (Holds("mode", "async"),)


def test_an_async_success_without_an_output_location_is_refused_before_any_write():
    assert genuine.check(message(), SETTINGS).problem == "an async success names no outputLocation"


@pytest.mark.parametrize(
    ("bucket", "key", "problem"),
    [
        (BUCKET, f"results/realtime/{RID}.out", False),
        (BUCKET, f"results/serverless/{RID}.out", True),
        (BUCKET, f"results/realtime/{RID}.out.extra", True),
        ("another-bucket", f"results/realtime/{RID}.out", True),
    ],
)
def test_a_real_time_success_names_exactly_the_scorers_object(bucket, key, problem):
    check = genuine.check(message(product=True, mode="realtime", outputLocation=f"s3://{bucket}/{key}"), SETTINGS)
    assert bool(check.problem) is problem
    assert check.must_hold == (() if problem else (Holds("mode", "realtime"),))


@pytest.mark.parametrize(
    ("job", "status", "or_absent"),
    [
        (f"sio-{RID}", "Completed", True),  # the request's own per-file job: its name is made from the id
        ("sio-nightly-2026-11-28", "Failed", True),  # the night's job, before it marked the file
        ("sio-nightly-2026-11-28-r2", "Failed", True),
        ("sio-nightly-2026-11-28", "Completed", False),  # a success must name the file's job
        ("sio-nightly-2026-11-28-xabc123", "Failed", False),  # a retry job only takes marked files
        ("sio-something-else", "Failed", False),
    ],
)
def test_a_job_message_needs_the_items_job(job, status, or_absent):
    check = genuine.check(message(status, product=True, mode="nightly", jobName=job), SETTINGS)
    assert check.must_hold == (Holds("mode", "nightly"), Holds("job_name", job, or_absent=or_absent))


def test_a_job_modes_message_without_a_job_fits_only_a_file_in_no_job():
    skipped = genuine.check(message("Skipped", product=True, mode="nightly"), SETTINGS)
    assert skipped.must_hold == (Holds("mode", "nightly"), Holds("job_name", None))
    success = genuine.check(message(product=True, mode="batch", outputLocation="s3://b/k.out"), SETTINGS)
    assert success.problem == "a batch success names no transform job"


def test_a_product_message_without_a_mode_fits_only_an_item_without_one():
    assert genuine.check(message("Skipped", product=True), SETTINGS).must_hold == (Holds("mode", None),)
    assert genuine.check(message(product=True, outputLocation="s3://b/k"), SETTINGS).problem


def test_mismatch_names_the_first_attribute_the_item_does_not_hold():
    held = (Holds("mode", "async"), Holds("output_location", "s3://x/y", or_absent=True))
    assert genuine.mismatch(held, {"mode": "async"}) is None
    assert genuine.mismatch(held, {"mode": "async", "output_location": "s3://x/y"}) is None
    assert (
        genuine.mismatch(held, {"mode": "async", "output_location": "s3://x/z"})
        == "output_location: the message says 's3://x/y', the request has 's3://x/z'"
    )
    assert genuine.mismatch(held, {}) == "mode: the message says 'async', the request has none"
