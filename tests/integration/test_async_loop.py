"""The full asynchronous loop: router → SageMaker → notification on a topic → tracker queue → tracker.

SageMaker's part is played by the test: it publishes the notification SageMaker would publish
(the events/sns-async-*.json format, with the real inference id) on the topic SageMaker would use.
"""

from __future__ import annotations

import json

import pytest

from tests.support import aws as stack_support
from tests.support.events import load_event, sagemaker_notification, sqs_event, tracker_event_from
from tests.support.lambda_runtime import failed_ids

KEY = "incoming/customers/2026-11-28.csv"


@pytest.fixture
def submitted(route, upload, item_for_key) -> dict:
    """Given a file the router submitted: its tracker item."""
    route(sqs_event(upload(KEY)))
    item = item_for_key(KEY)
    assert item["status"] == "SUBMITTED"
    return item


@pytest.fixture
def sagemaker_publishes(aws, stack):
    """SageMaker's side: publish a notification on the success or error topic."""
    sns = aws.client("sns")

    def publish(message: dict, *, success: bool) -> None:
        topic = stack.success_topic_arn if success else stack.error_topic_arn
        sns.publish(TopicArn=topic, Message=json.dumps(message))

    return publish


@pytest.fixture
def deliver_to_tracker(sqs, stack, track):
    """The tracker's event source: receive what waits in the tracker queue, invoke the tracker."""

    def deliver() -> dict:
        messages = stack_support.drain(sqs, stack.tracker_queue_url)
        assert messages, "nothing reached the tracker queue"
        return track(tracker_event_from(messages))

    return deliver


@pytest.fixture
def outcome(submitted, sagemaker_publishes, deliver_to_tracker, item):
    """SageMaker announces ``kind`` for the submitted request and the tracker takes it (nothing sent
    back): the notification and the item after."""

    def run(kind: str, *, success: bool = False, **changes) -> tuple[dict, dict]:
        notification = sagemaker_notification(kind, submitted["request_id"], **changes)
        sagemaker_publishes(notification, success=success)
        assert failed_ids(deliver_to_tracker()) == []
        return notification, item(submitted["request_id"])

    return run


def test_success_ends_succeeded_with_the_output_location(submitted, outcome):
    notification, final = outcome(
        "success",
        success=True,
        responseParameters={"contentType": "text/csv", "outputLocation": submitted["output_location"]},
    )

    assert final["status"] == "SUCCEEDED"
    assert final["output_location"] == submitted["output_location"]
    assert final["sagemaker_received_at"] == notification["receivedTime"]
    assert final["completed_at"] == notification["eventTime"]
    assert final["status_rank"] > submitted["status_rank"]


def test_failure_ends_failed_with_reason_and_failure_location(outcome):
    notification, final = outcome("error")

    assert final["status"] == "FAILED"
    assert final["failure_reason"] == notification["failureReason"]
    assert final["failure_location"] == notification["responseParameters"]["failureLocation"]


def test_expiry_ends_expired(outcome):
    notification, final = outcome("expired")

    assert final["status"] == "EXPIRED"
    assert final["failure_reason"] == notification["failureReason"]


def test_both_topics_reach_the_tracker_queue_raw(submitted, sagemaker_publishes, sqs, stack):
    """The tracker queue is subscribed to both topics with raw delivery: bodies are the messages."""
    success = sagemaker_notification("success", submitted["request_id"])
    error = sagemaker_notification("error", submitted["request_id"])
    sagemaker_publishes(success, success=True)
    sagemaker_publishes(error, success=False)

    received = stack_support.bodies(stack_support.drain(sqs, stack.tracker_queue_url))
    assert sorted(m["invocationStatus"] for m in received) == ["Completed", "Failed"]
    assert all("Type" not in m for m in received)


def test_result_overtaking_the_confirmation_still_ends_succeeded(
    route, upload, item, sagemaker, sagemaker_publishes, deliver_to_tracker
):
    """Given the success is tracked while the router is still waiting for InvokeEndpointAsync
    (item RECEIVED from the claim), When the router then confirms, Then the item stays SUCCEEDED."""
    seen_during_invoke: list[str] = []

    def result_arrives_first(request) -> None:
        seen_during_invoke.append(item(request.inference_id)["status"])
        sagemaker_publishes(sagemaker_notification("success", request.inference_id), success=True)
        deliver_to_tracker()

    sagemaker.on_accept = result_arrives_first
    record = upload(KEY)

    assert failed_ids(route(sqs_event(record))) == []
    [request] = sagemaker.accepted
    final = item(request.inference_id)
    assert seen_during_invoke == ["RECEIVED"]
    assert final["status"] == "SUCCEEDED"
    assert "submitted_at" not in final  # the confirmation found the item already moved on


def test_skip_announcement_reaching_the_tracker_is_acknowledged(route, deliver_to_tracker, item_for_key):
    """The router's own error message (a SKIPPED file) comes back through the tracker queue (failures
    are not filtered out of it): it is acknowledged and leaves the item as the router recorded it."""
    route(load_event("s3-put-zero-byte"))
    before = item_for_key("incoming/empty.csv")

    assert failed_ids(deliver_to_tracker()) == []
    assert item_for_key("incoming/empty.csv") == before


def test_a_failure_reason_carries_the_models_own_words_from_the_failure_body(
    submitted, sagemaker_publishes, deliver_to_tracker, item, aws, stack, monkeypatch
):
    """SageMaker's notification says only "Received client error (400) from model"; the model's own
    words are in the failure object it wrote: the tracker reads an excerpt into the reason."""
    monkeypatch.setenv("INPUT_BUCKET", stack.bucket)  # as the template sets it for the tracker
    bucket, key = submitted["failure_location"].removeprefix("s3://").split("/", 1)
    aws.client("s3").put_object(Bucket=bucket, Key=key, Body=b"feature 'age' must be a number, got 'forty'")
    notification = sagemaker_notification(
        "error",
        submitted["request_id"],
        failureReason="ClientError: Received client error (400) from model. See the failure object.",
        responseParameters={"failureLocation": submitted["failure_location"]},
    )
    sagemaker_publishes(notification, success=False)

    assert failed_ids(deliver_to_tracker()) == []
    final = item(submitted["request_id"])
    assert final["status"] == "FAILED"
    assert final["failure_reason"].startswith("ClientError: Received client error (400) from model.")
    assert final["failure_reason"].endswith("Model said: feature 'age' must be a number, got 'forty'")


@pytest.mark.parametrize("refused", [False, True], ids=["answered", "refused"])
def test_sagemakers_own_run_of_the_request_closes_the_file(
    refused, submitted, sagemaker, calls, deliver_to_tracker, item, aws, stack, monkeypatch
):
    """SageMaker runs the request it took (the local stack's stand-in, in process): the model's answer
    lands at the output location the router kept, or its refusal at the failure location, and the
    notification SageMaker publishes closes the file. SageMaker's reads and writes are not the
    product's calls: none is counted."""
    monkeypatch.setenv("INPUT_BUCKET", stack.bucket)  # as the template sets it for the tracker
    if refused:
        sagemaker.model_error = (400, "feature 'age' must be a number")
    calls.reset()
    assert sagemaker.process_queued() == 1
    assert calls.calls == []

    assert failed_ids(deliver_to_tracker()) == []
    final = item(submitted["request_id"])
    location = submitted["failure_location" if refused else "output_location"]
    bucket, key = location.removeprefix("s3://").split("/", 1)
    written = aws.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    if refused:
        assert (final["status"], final["failure_location"]) == ("FAILED", location)
        assert written == b"feature 'age' must be a number"
        assert final["failure_reason"].endswith("Model said: feature 'age' must be a number")
    else:
        assert (final["status"], final["output_location"], written) == ("SUCCEEDED", location, b"0.97\n")
