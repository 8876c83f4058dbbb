"""The one message shape on both topics (docs/architecture.md §4, §7.2).

SageMaker writes async results; the product publishes its own results (skips, rejections, batch,
real-time) in the same envelope with ``eventSource`` set to :data:`EVENT_SOURCE` and extra fields.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from orchestrator.core.payloads import json_object
from orchestrator.core.status import Status
from orchestrator.errors import BadEventError

EVENT_SOURCE = "sagemaker-inference-orchestrator"
EVENT_NAME = "InferenceResult"

# invocationStatus values → tracker status. SageMaker sends the first three; the product adds two.
INVOCATION_STATUS: dict[str, Status] = {
    "Completed": Status.SUCCEEDED,
    "Failed": Status.FAILED,
    "Expired": Status.EXPIRED,
    "Stopped": Status.STOPPED,
    "Skipped": Status.SKIPPED,
}
_BY_STATUS = {status: name for name, status in INVOCATION_STATUS.items()}


@dataclass(frozen=True)
class ResultMessage:
    """One result, in the shape every mode announces (docs/architecture.md §7.2)."""

    request_id: str
    status: Status
    event_time: str
    received_time: str | None
    output_location: str | None
    failure_location: str | None
    failure_reason: str | None
    event_source: str
    # A transform job's result names its job: a re-run may have taken the request over since.
    job_name: str | None = None
    endpoint_name: str | None = None  # requestParameters.endpointName (SageMaker's messages)
    mode: str | None = None  # the product's messages state the file's mode; SageMaker's do not

    @property
    def from_product(self) -> bool:
        return self.event_source == EVENT_SOURCE

    @property
    def is_success(self) -> bool:
        return self.status is Status.SUCCEEDED


def unwrap_sns(body: str) -> dict[str, Any]:
    """The message itself, whether SNS delivered it raw (the stack's setting) or in its envelope."""
    payload = json_object(body, "message")
    if payload.get("Type") == "Notification" and "Message" in payload:
        return json_object(payload["Message"], "message")
    return payload


def parse_result(payload: dict[str, Any]) -> ResultMessage:
    """A result notification, SageMaker's or the product's; ``BadEventError`` says what is wrong."""
    inference_id = payload.get("inferenceId")
    if not isinstance(inference_id, str) or not inference_id:
        raise BadEventError("result message has no inferenceId", {"fields": sorted(payload)})
    raw_status = payload.get("invocationStatus")
    status = INVOCATION_STATUS.get(raw_status) if isinstance(raw_status, str) else None
    if status is None:
        raise BadEventError(
            f"result message has unknown invocationStatus {raw_status!r}",
            {"inferenceId": inference_id, "expected": sorted(INVOCATION_STATUS)},
        )
    event_time = payload.get("eventTime")
    if not isinstance(event_time, str) or not event_time:
        raise BadEventError("result message has no eventTime", {"inferenceId": inference_id})
    response = payload.get("responseParameters")
    response = response if isinstance(response, dict) else {}
    return ResultMessage(
        request_id=inference_id,
        status=status,
        event_time=event_time,
        received_time=payload.get("receivedTime"),
        output_location=response.get("outputLocation"),
        # Seen under responseParameters; accepted at top level too (docs/architecture.md §7.2).
        failure_location=response.get("failureLocation") or payload.get("failureLocation"),
        failure_reason=payload.get("failureReason"),
        event_source=str(payload.get("eventSource", "")),
        job_name=payload.get("jobName") if isinstance(payload.get("jobName"), str) else None,
        endpoint_name=_request_field(payload, "endpointName"),
        mode=payload.get("mode") if isinstance(payload.get("mode"), str) else None,
    )


def _request_field(payload: dict[str, Any], name: str) -> str | None:
    request = payload.get("requestParameters")
    value = request.get(name) if isinstance(request, dict) else None
    return value if isinstance(value, str) else None


def build_result(
    *,
    request_id: str,
    status: Status,
    region: str,
    event_time: str,
    received_time: str,
    input_location: str,
    content_type: str | None,
    mode: str | None,
    output_location: str | None = None,
    failure_reason: str | None = None,
    endpoint_name: str | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A message in SageMaker's async-notification envelope, for results the product produces."""
    request: dict[str, Any] = {"inputLocation": input_location}
    if content_type:
        request["contentType"] = content_type
    if endpoint_name:
        request["endpointName"] = endpoint_name
    message: dict[str, Any] = {
        "awsRegion": region,
        "eventTime": event_time,
        "receivedTime": received_time,
        "invocationStatus": _BY_STATUS[status],
        "requestParameters": request,
        "responseParameters": {"outputLocation": output_location} if output_location else {},
        "inferenceId": request_id,
        "eventVersion": "1.0",
        "eventSource": EVENT_SOURCE,
        "eventName": EVENT_NAME,
        "mode": mode,
    }
    if failure_reason:
        message["failureReason"] = failure_reason
    if extra:
        message.update(extra)
    return message
