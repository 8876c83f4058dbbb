"""Transform job state-change events (docs/architecture.md §7.3) and job names (pure)."""

from __future__ import annotations

import pytest
from orchestrator.errors import BadEventError
from orchestrator.workflows.state_change import belongs, is_nightly, parse_state_change, request_of

from tests.support.events import load_event

BUCKET = "sagemaker-inference-orchestrator-input-123456789012-us-east-1"


def test_completed_sample_gives_the_fields_the_product_uses():
    change = parse_state_change(load_event("transform-state-completed"))
    assert change.job_name == "sio-nightly-2026-11-28"
    assert change.status == "Completed"
    assert change.failure_reason is None
    assert change.output_path == f"s3://{BUCKET}/results/batch/sio-nightly-2026-11-28/output"
    assert change.manifest_uri == f"s3://{BUCKET}/results/batch/sio-nightly-2026-11-28/0f8a2c41d9b7/manifest.json"
    assert (change.created, change.started, change.ended) == (
        "2026-11-28T02:00:06.512Z",
        "2026-11-28T02:04:51.007Z",
        "2026-11-28T02:41:35.884Z",
    )
    assert change.event_time == "2026-11-28T02:41:37.000Z"


def test_epoch_milliseconds_and_iso_give_the_same_times():
    iso = parse_state_change(load_event("transform-state-completed"))
    millis = parse_state_change(load_event("transform-state-completed-duplicate"))
    assert (millis.created, millis.started, millis.ended) == (iso.created, iso.started, iso.ended)


def test_epoch_milliseconds_as_floats_and_strings_parse_too():
    event = load_event("transform-state-inprogress")
    event["detail"]["CreationTime"] = 1795900843118.0
    assert parse_state_change(event).created == "2026-11-28T21:20:43.118Z"
    event["detail"]["CreationTime"] = "1795900843118"
    assert parse_state_change(event).created == "2026-11-28T21:20:43.118Z"


def test_failed_sample_carries_sagemakers_reason():
    change = parse_state_change(load_event("transform-state-failed"))
    assert (change.status, change.failure_reason) == ("Failed", "ClientError: See job logs for more information")


def test_in_progress_sample_has_no_end():
    change = parse_state_change(load_event("transform-state-inprogress"))
    assert (change.status, change.started, change.ended) == ("InProgress", None, None)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda e: e.pop("detail"), "no 'detail' object"),
        (lambda e: e["detail"].pop("TransformJobName"), "without TransformJobName"),
        (lambda e: e["detail"].update(TransformJobStatus=""), "without TransformJobName and TransformJobStatus"),
        (lambda e: e["detail"].update(TransformEndTime="yesterday"), "TransformEndTime 'yesterday'"),
    ],
)
def test_malformed_events_are_refused_saying_why(mutate, message):
    event = load_event("transform-state-completed")
    mutate(event)
    with pytest.raises(BadEventError, match=message):
        parse_state_change(event)


def test_job_names_tell_per_file_jobs_nightly_jobs_and_others_apart():
    per_file = "sio-1c54b662b65b18b120a299c6bbf58f8e"
    assert request_of(per_file, "sio") == "1c54b662b65b18b120a299c6bbf58f8e"
    assert request_of("sio-nightly-2026-11-28", "sio") is None
    assert request_of("sio-1C54B662B65B18B120A299C6BBF58F8E", "sio") is None
    assert request_of("other-1c54b662b65b18b120a299c6bbf58f8e", "sio") is None
    assert is_nightly("sio-nightly-2026-11-28-r2", "sio")
    assert not is_nightly("sionightly-2026-11-28", "sio")
    assert not is_nightly(per_file, "sio")


def test_a_file_belongs_to_its_job_or_to_none_yet():
    assert belongs({"job_name": "j"}, "j")
    assert belongs({}, "j")  # not marked yet (nightly) or not confirmed yet (per file)
    assert not belongs({"job_name": "j-r1"}, "j")  # a re-run took it over
