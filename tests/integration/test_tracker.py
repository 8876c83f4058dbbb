"""The tracker function on result messages: forward only, one bad record fails alone, no phantoms."""

from __future__ import annotations

import json

import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from orchestrator.core import identity

from tests.support import emf
from tests.support.events import body_of, load_event, sagemaker_notification, sqs_event, tracker_record
from tests.support.lambda_runtime import failed_ids

KEY = "incoming/customers/2026-11-28.csv"


@pytest.fixture
def request_id(route, upload, item_for_key) -> str:
    """Given a file the router submitted: its request id."""
    route(sqs_event(upload(KEY)))
    return item_for_key(KEY)["request_id"]


def _result(kind: str, request_id: str, message_id: str = "m-1", **changes) -> dict:
    return tracker_record(sagemaker_notification(kind, request_id, **changes), message_id)


def test_sample_success_event_applies_to_the_request_it_names(route, track, item):
    """events/sns-async-success.json names the request of events/s3-put.json."""
    route(load_event("s3-put"))
    event = load_event("sns-async-success")

    assert failed_ids(track(event)) == []
    assert item(body_of(event["Records"][0])["inferenceId"])["status"] == "SUCCEEDED"


def test_duplicate_result_is_acknowledged_and_changes_nothing(request_id, track, item):
    track(sqs_event(_result("success", request_id)))
    after_first = item(request_id)

    assert failed_ids(track(sqs_event(_result("success", request_id)))) == []
    assert item(request_id) == after_first


def test_expired_after_succeeded_is_ignored(request_id, track, item):
    """Status never moves backwards or sideways once terminal."""
    track(sqs_event(_result("success", request_id)))
    succeeded = item(request_id)

    assert failed_ids(track(sqs_event(_result("expired", request_id)))) == []
    assert item(request_id) == succeeded
    assert "failure_reason" not in item(request_id)


def test_failure_after_success_is_ignored(request_id, track, item):
    track(sqs_event(_result("success", request_id)))
    track(sqs_event(_result("error", request_id)))
    assert item(request_id)["status"] == "SUCCEEDED"


def test_unknown_inference_id_is_acknowledged_counted_and_creates_no_item(request_id, track, item, items, capfd):
    """A result for a request this stack never routed (a forged message, another application's
    request): acknowledged and counted, never a DLQ flood, never a phantom item."""
    unknown = identity.request_id("some-bucket", "incoming/never-routed.csv", "v1", None)
    capfd.readouterr()
    response = track(sqs_event(_result("success", unknown, "unknown"), _result("success", request_id, "known")))

    assert failed_ids(response) == []
    assert "UnknownNotifications" in emf.metric_names(capfd.readouterr().out)
    assert item(unknown) is None
    assert item(request_id)["status"] == "SUCCEEDED"
    assert len(items()) == 1


@pytest.mark.parametrize(
    "body",
    [
        pytest.param("not json at all", id="not-json"),
        pytest.param('{"invocationStatus": "Completed"}', id="no-inference-id"),
        pytest.param("[]", id="array"),
    ],
)
def test_malformed_message_fails_only_that_record(body, request_id, track, item, items):
    response = track(sqs_event(tracker_record(body, "bad"), _result("success", request_id, "good")))

    assert failed_ids(response) == ["bad"]
    assert item(request_id)["status"] == "SUCCEEDED"
    assert len(items()) == 1


def test_unknown_invocation_status_fails_the_record(request_id, track, item):
    with pytest.raises(BatchProcessingError):
        track(sqs_event(_result("success", request_id, invocationStatus="Pending")))
    assert item(request_id)["status"] == "SUBMITTED"


def test_enveloped_sns_delivery_is_accepted(request_id, track, item):
    """A subscription without raw delivery wraps the message: the tracker still reads it."""
    envelope = {
        "Type": "Notification",
        "MessageId": "x",
        "Message": json.dumps(sagemaker_notification("success", request_id)),
    }
    assert failed_ids(track(sqs_event(tracker_record(envelope)))) == []
    assert item(request_id)["status"] == "SUCCEEDED"


def test_tracker_outage_fails_the_record_for_a_retry(request_id, track, interceptor, item):
    interceptor.fail("dynamodb.UpdateItem", code="InternalServerError")
    with pytest.raises(BatchProcessingError):
        track(sqs_event(_result("success", request_id)))
    assert item(request_id)["status"] == "SUBMITTED"


def test_the_tracker_queue_gets_every_failure_and_no_success_of_the_products_own(aws, stack, sqs):
    """The template's subscription filter on the success topic: a success the product announced is
    recorded by whoever announced it (and a retry derives it again), so only SageMaker's successes (and
    any other result message) reach the tracker from that topic; every failure does, the product's
    included (a retry may not reach the same failure: the tracker's copy records what was announced).
    A user's subscription still gets everything."""
    from orchestrator.core.messages import build_result
    from orchestrator.core.status import Status

    from tests.support.aws import bodies, drain

    sns = aws.client("sns")
    ours = build_result(
        request_id="a" * 32,
        status=Status.SUCCEEDED,
        region="us-east-1",
        event_time="2026-12-07T00:00:01.000Z",
        received_time="2026-12-07T00:00:00.000Z",
        input_location=f"s3://{stack.bucket}/{KEY}",
        content_type="text/csv",
        mode="realtime",
        output_location=f"s3://{stack.bucket}/results/realtime/{'a' * 32}.out",
    )
    theirs = sagemaker_notification("success", "b" * 32)
    foreign = {**theirs, "inferenceId": "c" * 32, "eventSource": "someone-else"}
    for message in (ours, theirs, foreign):
        sns.publish(TopicArn=stack.success_topic_arn, Message=json.dumps(message))
    sns.publish(TopicArn=stack.error_topic_arn, Message=json.dumps({**ours, "invocationStatus": "Failed"}))
    sns.publish(TopicArn=stack.error_topic_arn, Message=json.dumps(sagemaker_notification("error", "d" * 32)))

    tracked = [(m["inferenceId"], m["invocationStatus"]) for m in bodies(drain(sqs, stack.tracker_queue_url))]
    assert sorted(tracked) == [
        ("a" * 32, "Failed"),
        ("b" * 32, "Completed"),
        ("c" * 32, "Completed"),
        ("d" * 32, "Failed"),
    ]
    watched = [m["inferenceId"] for m in bodies(drain(sqs, stack.success_watch_url))]
    assert sorted(watched) == ["a" * 32, "b" * 32, "c" * 32]
