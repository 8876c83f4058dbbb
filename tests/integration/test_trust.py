"""Trust boundaries: only this stack's files and results are recorded; nothing is dropped silently.

A notification of another bucket or outside the input prefix, and a result of another endpoint,
are acknowledged, logged and counted (``UnknownNotifications``), with no item and no DLQ flood. A
key ending in ``/`` is ignored only when it is a 0-byte folder marker.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator

import pytest
from orchestrator.observability import logger

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


# ---------------------------------------------------------------- only genuine results are recorded


@pytest.fixture
def mismatches() -> Iterator[Callable[[], list[str]]]:
    """The reasons the tracker logged for results that did not match their request, in order."""
    buffer = io.StringIO()
    previous = logger.registered_handler.setStream(buffer)
    yield lambda: [
        line["why"]
        for line in emf.log_lines(buffer.getvalue())
        if line["message"] == "result not matching its request acknowledged and ignored"
    ]
    logger.registered_handler.setStream(previous)


@pytest.fixture
def submitted(route, upload, stack, monkeypatch, item_for_key) -> dict:
    """Given a file the router submitted to the async endpoint (the deployed tracker knows its bucket):
    its item, with the output and failure locations InvokeEndpointAsync returned."""
    monkeypatch.setenv("INPUT_BUCKET", stack.bucket)
    route(sqs_event(upload(KEY)))
    item = item_for_key(KEY)
    assert item["status"] == "SUBMITTED" and item["output_location"].endswith(f"/{item['request_id']}.out")
    return item


@pytest.mark.parametrize(
    "location",
    [
        pytest.param("s3://someone-elses-bucket/forged.out", id="outside-the-output-prefix"),
        pytest.param("s3://{bucket}/results/async/another-request.out", id="another-object-under-the-prefix"),
    ],
)
def test_forged_success_naming_a_pending_file_is_not_recorded_and_sagemakers_result_still_is(
    submitted, stack, track, item, capfd, mismatches, location
):
    """Given a pending async file, When a success naming it arrives with an outputLocation that is not
    the one SageMaker returned for it (the endpoint's name and the request id are right), Then it is
    acknowledged, logged and counted, the item stays SUBMITTED, and SageMaker's real result afterwards
    is recorded (not ignored as stale)."""
    request_id = submitted["request_id"]
    forged = sagemaker_notification("success", request_id)
    forged["responseParameters"]["outputLocation"] = location.format(bucket=stack.bucket)
    capfd.readouterr()

    assert failed_ids(track(sqs_event(tracker_record(forged)))) == []

    assert item(request_id) == submitted
    assert "MismatchedResultsIgnored" in emf.metric_names(capfd.readouterr().out)
    [why] = mismatches()
    assert why.startswith("output_location:") and submitted["output_location"] in why

    assert failed_ids(track(sqs_event(tracker_record(sagemaker_notification("success", request_id))))) == []
    recorded = item(request_id)
    assert (recorded["status"], recorded["output_location"]) == ("SUCCEEDED", submitted["output_location"])


def test_forged_failure_naming_another_failure_location_is_not_recorded(submitted, track, item, capfd):
    """A failure that names a failureLocation must name the one SageMaker returned, too."""
    request_id = submitted["request_id"]
    forged = sagemaker_notification("error", request_id)
    forged["responseParameters"]["failureLocation"] = "s3://someone-elses-bucket/forged-error.out"
    capfd.readouterr()

    assert failed_ids(track(sqs_event(tracker_record(forged)))) == []

    assert item(request_id)["status"] == "SUBMITTED"
    assert "MismatchedResultsIgnored" in emf.metric_names(capfd.readouterr().out)
    track(sqs_event(tracker_record(sagemaker_notification("error", request_id))))
    assert item(request_id)["failure_location"] == submitted["failure_location"]


def test_item_without_a_kept_location_accepts_a_result_under_the_output_prefix_only(
    submitted, stack, dynamodb, track, item, mismatches
):
    """Given an item that kept no output location (an uncertain submission, or one confirmed by an older
    version), When a success names an object outside the output prefix, Then it is ignored and counted;
    SageMaker's, under s3://<input bucket>/<OutputPrefix>, is recorded."""
    request_id = submitted["request_id"]
    dynamodb.update_item(
        TableName=stack.table,
        Key={"request_id": {"S": request_id}},
        UpdateExpression="REMOVE output_location, failure_location SET submission_uncertain = :t",
        ExpressionAttributeValues={":t": {"BOOL": True}},
    )
    forged = sagemaker_notification("success", request_id)
    forged["responseParameters"]["outputLocation"] = f"s3://{stack.bucket}/incoming/forged.out"

    track(sqs_event(tracker_record(forged)))

    assert item(request_id)["status"] == "SUBMITTED"
    assert mismatches() == [
        f"output_location: the message says 's3://{stack.bucket}/incoming/forged.out', the request has none"
    ]
    track(sqs_event(tracker_record(sagemaker_notification("success", request_id))))
    assert item(request_id)["output_location"] == f"s3://{stack.bucket}/results/async/{request_id}.out"


def test_result_stating_another_mode_is_ignored(submitted, stack, track, item, mismatches):
    """Given an async file, When a product-shaped real-time success names it (with exactly the object
    the scorer would have written), Then the mode does not match: ignored and counted."""
    request_id = submitted["request_id"]
    forged = sagemaker_notification("success", request_id)
    forged.update({"eventSource": "sagemaker-inference-orchestrator", "mode": "realtime"})
    forged["responseParameters"]["outputLocation"] = f"s3://{stack.bucket}/results/realtime/{request_id}.out"

    assert failed_ids(track(sqs_event(tracker_record(forged)))) == []

    assert item(request_id) == submitted
    assert mismatches() == ["mode: the message says 'realtime', the request has 'async'"]


def test_success_without_an_output_location_is_ignored(submitted, track, item, mismatches):
    request_id = submitted["request_id"]

    track(sqs_event(tracker_record(sagemaker_notification("success", request_id, responseParameters={}))))

    assert item(request_id)["status"] == "SUBMITTED"
    assert mismatches() == ["an async success names no outputLocation"]


def test_a_real_time_success_must_name_the_scorers_object(
    route, upload, stack, sqs, monkeypatch, track, item_for_key, capfd
):
    """Given a file handed to the scorer, When a real-time success names another object, Then it is
    ignored; the scorer's own message (its object <OutputPrefix>realtime/<id>.out) is recorded, as when
    the scorer died between announcing and recording."""
    monkeypatch.setenv("INPUT_BUCKET", stack.bucket)
    monkeypatch.setenv("SCORER_QUEUE_URL", sqs.create_queue(QueueName="scorer-queue")["QueueUrl"])
    monkeypatch.setenv("REALTIME_ENDPOINT_NAME", "demo-realtime-endpoint")
    route(sqs_event(upload(KEY)))
    handed = item_for_key(KEY)
    assert (handed["mode"], handed["status"]) == ("realtime", "SUBMITTED")
    request_id = handed["request_id"]
    message = sagemaker_notification("success", request_id)
    message.update({"eventSource": "sagemaker-inference-orchestrator", "mode": "realtime"})
    message["responseParameters"]["outputLocation"] = f"s3://{stack.bucket}/results/async/{request_id}.out"
    capfd.readouterr()

    track(sqs_event(tracker_record(message)))

    assert item_for_key(KEY)["status"] == "SUBMITTED"
    assert "MismatchedResultsIgnored" in emf.metric_names(capfd.readouterr().out)
    message["responseParameters"]["outputLocation"] = f"s3://{stack.bucket}/results/realtime/{request_id}.out"
    track(sqs_event(tracker_record(message)))
    assert item_for_key(KEY)["status"] == "SUCCEEDED"
