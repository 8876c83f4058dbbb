"""Trust boundaries: only this stack's files and results are recorded; nothing is dropped silently.

A notification of another bucket or outside the input prefix, and a result of another endpoint,
are acknowledged, logged and counted (``UnknownNotifications``), with no item and no DLQ flood. A
key ending in ``/`` is ignored only when it is a 0-byte folder marker.
"""

from __future__ import annotations

import pytest

from tests.support import emf
from tests.support.events import s3_put_record, sagemaker_notification, sqs_event, tracker_record
from tests.support.lambda_runtime import failed_ids

KEY = "incoming/trust.csv"


@pytest.mark.parametrize(
    ("bucket", "key"),
    [
        pytest.param("someone-elses-bucket", KEY, id="another-bucket"),
        pytest.param(None, "elsewhere/trust.csv", id="outside-the-input-prefix"),
    ],
)
def test_record_of_another_bucket_or_outside_the_input_prefix_is_ignored(
    bucket, key, route, stack, monkeypatch, items, sagemaker, published, capfd
):
    monkeypatch.setenv("INPUT_BUCKET", stack.bucket)
    record = s3_put_record(key, bucket=bucket or stack.bucket)
    capfd.readouterr()

    response = route(sqs_event(record))

    assert failed_ids(response) == []
    assert items() == [] and sagemaker.accepted == []
    assert published("error") == []
    assert "UnknownNotifications" in emf.metric_names(capfd.readouterr().out)


def test_record_of_the_input_bucket_is_routed(route, stack, monkeypatch, upload, item_for_key):
    monkeypatch.setenv("INPUT_BUCKET", stack.bucket)
    route(sqs_event(upload(KEY)))
    assert item_for_key(KEY)["status"] == "SUBMITTED"


def test_notification_of_another_endpoint_is_ignored_and_counted(route, upload, track, item_for_key, capfd):
    """An endpoint shared with another application notifies our topics about its own requests too:
    even one whose InferenceId matches one of ours is not ours to record."""
    route(sqs_event(upload(KEY)))
    ours = item_for_key(KEY)
    foreign = sagemaker_notification("success", ours["request_id"])
    foreign["requestParameters"]["endpointName"] = "someone-elses-endpoint"
    capfd.readouterr()

    response = track(sqs_event(tracker_record(foreign)))

    assert failed_ids(response) == []
    assert item_for_key(KEY)["status"] == "SUBMITTED"
    assert "UnknownNotifications" in emf.metric_names(capfd.readouterr().out)


def test_batch_message_of_another_job_prefix_is_ignored(route, upload, track, item_for_key):
    route(sqs_event(upload(KEY)))
    ours = item_for_key(KEY)
    message = sagemaker_notification("success", ours["request_id"])
    message.update({"eventSource": "sagemaker-inference-orchestrator", "jobName": "other-stack-nightly-2026-11-28"})

    assert failed_ids(track(sqs_event(tracker_record(message)))) == []
    assert item_for_key(KEY)["status"] == "SUBMITTED"


def test_key_ending_in_a_slash_with_content_is_skipped_and_announced(route, upload, item_for_key, published):
    """A 522-byte object under a key ending in '/' is a file someone uploaded: never dropped silently."""
    route(sqs_event(upload("incoming/odd-name/", body=b"x" * 522)))

    item = item_for_key("incoming/odd-name/")
    assert item["status"] == "SKIPPED" and "unsupported file extension" in item["failure_reason"]
    assert [m["invocationStatus"] for m in published("error")] == ["Skipped"]


def test_empty_folder_marker_is_still_ignored(route, upload, items):
    route(sqs_event(upload("incoming/new-folder/", body=b"")))
    assert items() == []
