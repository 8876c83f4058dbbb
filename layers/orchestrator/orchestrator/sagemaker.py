"""SageMaker adapter: the invoke calls, with ClientError codes translated at this boundary."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from orchestrator.errors import InvocationRejectedError, RetryableError

MAX_INPUT_LOCATION = 1024  # InvokeEndpointAsync InputLocation limit (DESIGN §6.4)

# Codes where SageMaker says the request itself is wrong: retrying the same request cannot help.
_REJECTED = frozenset({"ValidationError", "ValidationException"})


@dataclass(frozen=True)
class AsyncSubmission:
    output_location: str | None
    failure_location: str | None


class AsyncInvoker:
    def __init__(self, client: Any) -> None:
        self._client = client

    def invoke(
        self,
        *,
        endpoint_name: str,
        input_location: str,
        inference_id: str,
        content_type: str,
        invocation_timeout_seconds: int,
        request_ttl_seconds: int,
    ) -> AsyncSubmission:
        if len(input_location) > MAX_INPUT_LOCATION:
            raise InvocationRejectedError(
                f"input location is {len(input_location)} characters; InvokeEndpointAsync accepts "
                f"at most {MAX_INPUT_LOCATION}",
                {"input_location": input_location[:100] + "…"},
            )
        try:
            response = self._client.invoke_endpoint_async(
                EndpointName=endpoint_name,
                InputLocation=input_location,
                InferenceId=inference_id,
                ContentType=content_type,
                InvocationTimeoutSeconds=invocation_timeout_seconds,
                RequestTTLSeconds=request_ttl_seconds,
            )
        except ClientError as exc:
            raise translate(exc, endpoint_name) from exc
        except BotoCoreError as exc:  # connection and read timeouts after the client's retries
            raise RetryableError(f"InvokeEndpointAsync did not complete: {exc}") from exc
        return AsyncSubmission(response.get("OutputLocation"), response.get("FailureLocation"))


def endpoint_missing(message: str) -> bool:
    """SageMaker answers a call to an endpoint that does not exist (yet, or any more) with the same
    ``ValidationError`` code as a bad request; only its message ("Endpoint <name> of account <id>
    not found.") tells them apart. The one place the product reads an error message: failing every
    file because of a deployment mistake would be far worse."""
    lowered = message.lower()
    return lowered.startswith("endpoint ") and "not found" in lowered


def translate(exc: ClientError, endpoint_name: str) -> Exception:
    """Classified once (README "Which errors fail a file"): the request's own fault → FAILED now;
    everything operational (a missing endpoint, access denied, throttling, 5xx) → retried, alarmed
    through the router DLQ, and closed "not routed" by the sweeper only after the redelivery window."""
    error = exc.response.get("Error", {})
    code = error.get("Code", "")
    message = str(error.get("Message", code))
    details = {"code": code, "endpoint": endpoint_name}
    if code in _REJECTED and endpoint_missing(message):
        return RetryableError(
            f"endpoint {endpoint_name!r} does not exist (check AsyncEndpointName): {message}", details
        )
    if code in _REJECTED:
        return InvocationRejectedError(f"SageMaker rejected the request: {message}", details)
    # Throttling, 5xx and anything unexpected (e.g. AccessDenied after a bad deploy): the record
    # goes back to the queue and, if it keeps failing, to the DLQ for a redrive once fixed.
    return RetryableError(f"SageMaker call failed: {code}", details)
