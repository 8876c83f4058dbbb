"""Result messages: SageMaker's async notifications and the product's own, one shape (docs/architecture.md §7.2)."""

from __future__ import annotations

import json

import pytest
from orchestrator.core.messages import EVENT_SOURCE, build_result, parse_result, unwrap_sns
from orchestrator.core.payloads import json_object
from orchestrator.core.status import Status
from orchestrator.errors import BadEventError

from tests.support.events import body_of, load_event


def _sample(kind: str) -> dict:
    return body_of(load_event(f"sns-async-{kind}")["Records"][0])


def test_completed_notification_is_a_success_with_its_output():
    raw = _sample("success")
    message = parse_result(raw)
    assert message.status is Status.SUCCEEDED and message.is_success
    assert message.request_id == raw["inferenceId"]
    assert message.output_location == raw["responseParameters"]["outputLocation"]
    assert (message.failure_location, message.failure_reason) == (None, None)
    assert (message.received_time, message.event_time) == (raw["receivedTime"], raw["eventTime"])
    assert message.event_source == "aws:sagemaker"


def test_failed_notification_carries_reason_and_failure_location():
    raw = _sample("error")
    message = parse_result(raw)
    assert message.status is Status.FAILED and not message.is_success
    assert message.failure_reason == raw["failureReason"]
    assert message.failure_location == raw["responseParameters"]["failureLocation"]
    assert message.output_location is None


def test_failure_location_at_top_level_is_accepted():
    raw = _sample("error")
    location = raw["responseParameters"].pop("failureLocation")
    raw["failureLocation"] = location
    assert parse_result(raw).failure_location == location


def test_expired_notification_is_expired():
    raw = _sample("expired")
    message = parse_result(raw)
    assert message.status is Status.EXPIRED
    assert message.failure_reason == raw["failureReason"]
    assert message.output_location is None


def test_missing_response_parameters_are_tolerated():
    raw = _sample("expired")
    raw["responseParameters"] = None
    assert parse_result(raw).output_location is None


def test_raw_delivery_body_is_the_message_itself():
    body = load_event("sns-async-success")["Records"][0]["body"]
    assert unwrap_sns(body) == json.loads(body)


def test_sns_envelope_is_unwrapped():
    """Given a subscription without raw delivery, the message sits in the envelope's Message."""
    inner = _sample("success")
    envelope = {"Type": "Notification", "MessageId": "m-1", "TopicArn": "arn:aws:sns:::t", "Message": json.dumps(inner)}
    assert unwrap_sns(json.dumps(envelope)) == inner


def test_only_a_json_object_is_taken_and_anything_else_is_a_bad_event_naming_what_it_was():
    """The one parser of SQS bodies and messages (core.s3_events, unwrap_sns): each names itself."""
    assert json_object('{"a": 1}', "SQS body") == {"a": 1}
    malformed = {"{oops": "not JSON", None: "not JSON", '"text"': "not a JSON object", "[1]": "not a JSON object"}
    for text, problem in malformed.items():
        with pytest.raises(BadEventError, match=f"^SQS body is {problem}"):
            json_object(text, "SQS body")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        pytest.param("{oops", "message is not JSON", id="not-json"),
        pytest.param('{"Type": "Notification", "Message": "{oops"}', "message is not JSON", id="bad-envelope"),
        pytest.param('{"Type": "Notification", "Message": "[]"}', "message is not a JSON object", id="envelope-array"),
    ],
)
def test_malformed_body_is_a_bad_event(body, message):
    with pytest.raises(BadEventError, match=message):
        unwrap_sns(body)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        pytest.param(lambda m: m.pop("inferenceId"), "no inferenceId", id="no-id"),
        pytest.param(lambda m: m.update(inferenceId=""), "no inferenceId", id="empty-id"),
        pytest.param(lambda m: m.update(invocationStatus="Done"), "unknown invocationStatus 'Done'", id="status"),
        pytest.param(lambda m: m.pop("invocationStatus"), "unknown invocationStatus None", id="no-status"),
        pytest.param(lambda m: m.pop("eventTime"), "no eventTime", id="no-time"),
    ],
)
def test_malformed_result_is_a_bad_event_saying_what_is_wrong(change, message):
    raw = _sample("success")
    change(raw)
    with pytest.raises(BadEventError, match=message):
        parse_result(raw)


def _built(status: Status, **changes) -> dict:
    values = {
        "request_id": "0f37cb5fec61b5b34c84168f781afb1b",
        "status": status,
        "region": "us-east-1",
        "event_time": "2026-11-28T21:14:09.873Z",
        "received_time": "2026-11-28T21:14:05.201Z",
        "input_location": "s3://bucket/incoming/a.csv",
        "content_type": "text/csv",
        "mode": "async",
        **changes,
    }
    return build_result(**values)


@pytest.mark.parametrize("status", [Status.SUCCEEDED, Status.FAILED, Status.EXPIRED, Status.STOPPED, Status.SKIPPED])
def test_built_result_round_trips_through_parse(status):
    built = _built(status, output_location="s3://b/out.out", failure_reason="why")
    parsed = parse_result(json.loads(json.dumps(built)))
    assert (parsed.request_id, parsed.status) == (built["inferenceId"], status)
    assert (parsed.event_time, parsed.received_time) == (built["eventTime"], built["receivedTime"])
    assert (parsed.output_location, parsed.failure_reason) == ("s3://b/out.out", "why")
    assert parsed.event_source == EVENT_SOURCE


def test_built_result_has_sagemakers_envelope():
    built = _built(Status.SKIPPED, failure_reason="empty")
    sagemaker = _sample("error")
    assert set(sagemaker) - {"failureReason"} <= set(built)
    assert built["requestParameters"] == {"inputLocation": "s3://bucket/incoming/a.csv", "contentType": "text/csv"}
    assert built["mode"] == "async"


def test_built_result_omits_what_it_does_not_know():
    built = _built(Status.SKIPPED, content_type=None, mode=None)
    assert "contentType" not in built["requestParameters"]
    assert built["responseParameters"] == {}
    assert "failureReason" not in built


def test_built_result_names_the_endpoint_and_adds_extra_fields():
    built = _built(Status.SUCCEEDED, endpoint_name="ep", extra={"jobName": "job-1"})
    assert built["requestParameters"]["endpointName"] == "ep"
    assert built["jobName"] == "job-1"
