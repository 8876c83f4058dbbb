"""SageMaker adapter: the invoke calls, with ClientError codes translated at this boundary.

**At most one invocation per file.** SageMaker does not deduplicate ``InferenceId``, so a call that
starts work on a model is sent again only when SageMaker provably did not take it: it was
throttled (or the model was not ready), or no connection was made. Its client makes one attempt
per call (``clients.client(..., retried=False)``) and :func:`send_once` repeats only those, with
botocore's backoff, within the call's budget (``budgets.py``). A read timeout, a dropped connection
or a 5xx after the request was sent is *ambiguous* (:class:`AmbiguousInvocationError`): the caller
records the file as possibly sent and never invokes it again.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError, ConnectTimeoutError, EndpointConnectionError

from orchestrator.core import budgets
from orchestrator.errors import AmbiguousInvocationError, InvocationRejectedError, RetryableError

MAX_INPUT_LOCATION = 1024  # InvokeEndpointAsync InputLocation limit (docs/architecture.md §7.4)

# Codes where SageMaker says the request itself is wrong: retrying the same request cannot help.
_REJECTED = frozenset({"ValidationError", "ValidationException"})


# Refusals: SageMaker answered without taking the request, and says "later".
_THROTTLED = frozenset(
    {"ThrottlingException", "Throttling", "TooManyRequestsException", "ModelNotReadyException", "RequestLimitExceeded"}
)

# No connection was made, so no request was sent (a refused connection, a connect timeout).
_NEVER_CONNECTED = (EndpointConnectionError, ConnectTimeoutError)


def _status(exc: ClientError) -> int:
    return int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)


def refused_for_now(exc: Exception) -> bool:
    """SageMaker provably did not take the call and a repeat may succeed: throttled, model not
    ready, or the connection was never made (``EndpointConnectionError``, connect timeouts)."""
    if isinstance(exc, ClientError):
        return exc.response.get("Error", {}).get("Code", "") in _THROTTLED
    return isinstance(exc, _NEVER_CONNECTED)


def ambiguous(exc: Exception) -> bool:
    """The request may have reached the model: a read timeout or a dropped connection after it was
    sent, or a 5xx from SageMaker itself (not the model's own answer, ``ModelError``)."""
    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code", "")
        return code != "ModelError" and code not in _THROTTLED and _status(exc) >= 500
    return isinstance(exc, BotoCoreError) and not isinstance(exc, _NEVER_CONNECTED)


def pause(seconds: float) -> None:
    time.sleep(seconds)


def send_once[T](
    call: Callable[[], T], *, operation: str, endpoint_name: str, attempts: int, sleep: Callable[[float], None]
) -> T:
    """``call`` at most ``attempts`` times, repeated only after :func:`refused_for_now` (jittered
    backoff, as botocore's standard mode); an ambiguous failure raises at once."""
    for attempt in range(1, attempts + 1):
        try:
            return call()
        except (ClientError, BotoCoreError) as exc:
            if ambiguous(exc):
                detail = exc.response.get("Error", {}).get("Code") if isinstance(exc, ClientError) else str(exc)
                raise AmbiguousInvocationError(
                    f"{operation} may have reached the endpoint ({detail}): not sent again, so that the file "
                    "is not scored twice",
                    {"endpoint": endpoint_name, "error": type(exc).__name__},
                ) from exc
            if not refused_for_now(exc) or attempt == attempts:
                raise
            sleep(random.uniform(0, budgets.backoff_seconds(attempt)))  # jitter, not a secret
    raise AssertionError("unreachable: the last attempt returns or raises")


@dataclass(frozen=True)
class AsyncSubmission:
    """Where SageMaker will write an accepted asynchronous request's result or failure."""

    output_location: str | None
    failure_location: str | None


class _Invoker:
    """A SageMaker runtime client making one attempt per call (clients.client(..., retried=False)),
    repeated here only while SageMaker refuses it (:func:`send_once`)."""

    ATTEMPTS: int

    def __init__(
        self, client: Any, *, attempts: int | None = None, sleep: Callable[[float], None] | None = None
    ) -> None:
        self._client = client
        self._attempts = self.ATTEMPTS if attempts is None else attempts
        self._sleep = sleep or pause

    def _send[T](self, call: Callable[[], T], operation: str, endpoint_name: str) -> T:
        return send_once(
            call, operation=operation, endpoint_name=endpoint_name, attempts=self._attempts, sleep=self._sleep
        )


class AsyncInvoker(_Invoker):
    ATTEMPTS = budgets.CONTROL_CALL.attempts

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
            response = self._send(
                lambda: self._client.invoke_endpoint_async(
                    EndpointName=endpoint_name,
                    InputLocation=input_location,
                    InferenceId=inference_id,
                    ContentType=content_type,
                    InvocationTimeoutSeconds=invocation_timeout_seconds,
                    RequestTTLSeconds=request_ttl_seconds,
                ),
                "InvokeEndpointAsync",
                endpoint_name,
            )
        except ClientError as exc:
            raise async_invoke_error(exc, endpoint_name) from exc
        except BotoCoreError as exc:  # no connection could be made: SageMaker never had it
            raise RetryableError(f"InvokeEndpointAsync did not reach SageMaker: {exc}") from exc
        return AsyncSubmission(response.get("OutputLocation"), response.get("FailureLocation"))


def endpoint_missing(message: str) -> bool:
    """SageMaker answers a call to an endpoint that does not exist (yet, or any more) with the same
    ``ValidationError`` code as a bad request; only its message ("Endpoint <name> of account <id>
    not found.") tells them apart. The one place the product reads an error message: failing every
    file because of a deployment mistake would be far worse."""
    lowered = message.lower()
    return lowered.startswith("endpoint ") and "not found" in lowered


def async_invoke_error(exc: ClientError, endpoint_name: str) -> Exception:
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


# ---------------------------------------------------------------- InvokeEndpoint (real-time, serverless)

# Codes SageMaker answers when it could not take the call now: the record goes back to the queue
# (botocore's standard mode already retried throttling and 5xx with backoff and jitter).
_NOT_NOW = frozenset(
    {
        "ModelNotReadyException",
        "ThrottlingException",
        "ServiceUnavailable",
        "InternalFailure",
        "InternalDependencyException",
    }
)
# Characters of the container's OriginalMessage kept in a failure reason.
ORIGINAL_MESSAGE_EXCERPT = 500


@dataclass(frozen=True)
class SyncResult:
    """A synchronous endpoint's answer: the body, its type and the variant that gave it."""

    body: bytes
    content_type: str
    invoked_variant: str | None = None


class SyncInvoker(_Invoker):
    """``InvokeEndpoint`` on a real-time or serverless endpoint (docs/architecture.md §7.4: ≤ 6 MB / 4 MB, 60 s)."""

    ATTEMPTS = budgets.SCORER_INVOKE.attempts

    def invoke(self, *, endpoint_name: str, body: bytes, content_type: str, inference_id: str) -> SyncResult:
        try:
            response = self._send(
                lambda: self._client.invoke_endpoint(
                    EndpointName=endpoint_name, Body=body, ContentType=content_type, InferenceId=inference_id
                ),
                "InvokeEndpoint",
                endpoint_name,
            )
        except ClientError as exc:
            raise sync_invoke_error(exc, endpoint_name) from exc
        except BotoCoreError as exc:  # no connection could be made: the model never had it
            raise RetryableError(f"InvokeEndpoint did not reach SageMaker: {exc}", {"endpoint": endpoint_name}) from exc
        return SyncResult(
            body=response["Body"].read(),
            content_type=response.get("ContentType") or "application/octet-stream",
            invoked_variant=response.get("InvokedProductionVariant"),
        )


def model_error_reason(error_response: Mapping[str, Any]) -> str:
    """``ModelError``'s documented fields, kept in the failure reason: the container's status code,
    an excerpt of its message, and the log stream to read."""
    error = error_response.get("Error", {})
    status = error_response.get("OriginalStatusCode", error.get("OriginalStatusCode"))
    original = str(error_response.get("OriginalMessage", error.get("OriginalMessage", error.get("Message", ""))))
    if len(original) > ORIGINAL_MESSAGE_EXCERPT:
        original = original[:ORIGINAL_MESSAGE_EXCERPT] + " …"
    log_stream = error_response.get("LogStreamArn", error.get("LogStreamArn"))
    reason = f"ModelError: the model answered {status}: {original}"
    if log_stream:
        reason += f" (log stream {log_stream})"
    return reason


def original_status(error_response: Mapping[str, Any]) -> int | None:
    raw = error_response.get("OriginalStatusCode", error_response.get("Error", {}).get("OriginalStatusCode"))
    try:
        return int(raw)
    except (TypeError, ValueError):
        return None


def sync_invoke_error(exc: ClientError, endpoint_name: str) -> Exception:
    """``ModelError`` with a 4xx from the container → the file FAILED (the model refused this input);
    the container's 5xx (the model answered: no result exists to duplicate), or still throttled / not
    ready after :func:`send_once` → retried through the queue, never FAILED on the first try."""
    error = exc.response.get("Error", {})
    code = error.get("Code", "")
    message = str(error.get("Message", code))
    details = {"code": code, "endpoint": endpoint_name}
    if code == "ModelError":
        status = original_status(exc.response)
        reason = model_error_reason(exc.response)
        if status is not None and 400 <= status < 500:
            return InvocationRejectedError(reason, {**details, "original_status": status})
        return RetryableError(reason, {**details, "original_status": status})
    if code in _REJECTED and endpoint_missing(message):
        return RetryableError(f"endpoint {endpoint_name!r} does not exist: {message}", details)
    if code in _REJECTED:
        return InvocationRejectedError(f"SageMaker rejected the request: {message}", details)
    # _NOT_NOW, and anything unexpected (e.g. AccessDenied after a bad deploy): back to the queue,
    # then the scorer DLQ (alarmed), and the sweeper's verdict by the deadline.
    return RetryableError(f"SageMaker call failed: {code}", {**details, "transient": code in _NOT_NOW})
