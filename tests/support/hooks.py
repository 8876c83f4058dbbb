"""botocore event hooks: count API calls, inject faults, and answer like SageMaker where moto does not.

Hooks are registered on a boto3 session's event emitter; every client created from that session
afterwards inherits them (botocore copies the session's emitter into each new client). Retries,
serialization and parsing stay real: faults are HTTP responses (or transport errors) given to
botocore in place of the network, so standard-mode retries see them exactly as they would see AWS.
"""

from __future__ import annotations

import io
import json
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from botocore.awsrequest import AWSPreparedRequest, AWSResponse
from moto.core.models import botocore_stubber


class SimulatedCrash(BaseException):
    """The function dying mid-record (timeout, out of memory): no handler code can catch it."""


class CallCounter:
    """API calls (one per client method call, whatever the retries), as ``service.Operation``."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def attach(self, events: Any) -> CallCounter:
        events.register("before-call", self._record)
        return self

    def _record(self, event_name: str, **_: Any) -> None:
        self.calls.append(event_name.removeprefix("before-call."))

    def reset(self) -> None:
        self.calls.clear()


class _Body(io.BytesIO):
    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self.getvalue()


def response(url: str, status: int, headers: dict[str, str], body: bytes = b"") -> AWSResponse:
    return AWSResponse(url, status, headers, _Body(body))


def error_response(url: str, status: int, code: str | None = None, message: str = "") -> AWSResponse:
    """An AWS error for JSON protocols (DynamoDB, SageMaker Runtime); with no code, an empty body,
    as S3 answers a HEAD request (botocore then uses the status as the code)."""
    if code is None:
        return response(url, status, {})
    body = json.dumps({"__type": code, "message": message}).encode()
    return response(url, status, {"x-amzn-ErrorType": code, "Content-Type": "application/x-amz-json-1.0"}, body)


Responder = Callable[[AWSPreparedRequest], AWSResponse]


@dataclass
class _Fault:
    operation: str
    outcome: Callable[[AWSPreparedRequest], AWSResponse]
    remaining: int | None  # None: every attempt
    when: Callable[[AWSPreparedRequest], bool] | None


class Interceptor:
    """One ``before-send`` hook in front of moto: a scripted fault, else a stand-in, else moto.

    moto answers from its own ``before-send`` hook; botocore calls every hook, so this one takes
    moto's place on the session and hands it whatever it does not answer itself (a fault must not
    also reach moto's backend).
    """

    def __init__(self) -> None:
        self.attempts: Counter[str] = Counter()  # HTTP attempts per ``service.Operation``
        self._faults: list[_Fault] = []
        self._responders: dict[str, Responder] = {}

    def attach(self, events: Any) -> Interceptor:
        events.unregister("before-send", botocore_stubber)
        events.register("before-send", self._on_send)
        return self

    def respond(self, operation: str, responder: Responder) -> None:
        self._responders[operation] = responder

    def fail(
        self,
        operation: str,
        *,
        status: int = 400,
        code: str | None = None,
        message: str = "",
        raises: BaseException | None = None,
        times: int | None = None,
        when: Callable[[AWSPreparedRequest], bool] | None = None,
    ) -> None:
        """Make ``operation`` (``service.Operation``) fail ``times`` attempts (all when None):
        with an AWS error response, or by raising ``raises`` (a transport error, a crash)."""

        def outcome(request: AWSPreparedRequest) -> AWSResponse:
            if raises is not None:
                raise raises
            return error_response(request.url, status, code, message)

        self._faults.append(_Fault(operation, outcome, times, when))

    def clear_faults(self) -> None:
        """The outage is over: every call goes through again."""
        self._faults.clear()

    def _on_send(self, event_name: str, request: AWSPreparedRequest, **kwargs: Any) -> AWSResponse | None:
        operation = event_name.removeprefix("before-send.")
        self.attempts[operation] += 1
        for fault in self._faults:
            if fault.operation == operation and fault.remaining != 0 and (fault.when is None or fault.when(request)):
                if fault.remaining is not None:
                    fault.remaining -= 1
                return fault.outcome(request)
        if operation in self._responders:
            return self._responders[operation](request)
        return botocore_stubber(event_name=event_name, request=request, **kwargs)


@dataclass(frozen=True)
class AsyncRequest:
    """What SageMaker received in one InvokeEndpointAsync call, decoded from the HTTP request."""

    endpoint_name: str
    input_location: str
    inference_id: str
    content_type: str
    invocation_timeout_seconds: int
    request_ttl_seconds: int

    @classmethod
    def from_http(cls, request: AWSPreparedRequest) -> AsyncRequest:
        def header(name: str) -> str:
            value = request.headers[name]
            return value.decode("utf-8") if isinstance(value, bytes) else value

        # Path: /endpoints/<EndpointName>/async-invocations
        endpoint = unquote(urlsplit(request.url).path.split("/")[2])
        return cls(
            endpoint_name=endpoint,
            input_location=header("X-Amzn-SageMaker-InputLocation"),
            inference_id=header("X-Amzn-SageMaker-Inference-Id"),
            content_type=header("X-Amzn-SageMaker-Content-Type"),
            invocation_timeout_seconds=int(header("X-Amzn-SageMaker-InvocationTimeoutSeconds")),
            request_ttl_seconds=int(header("X-Amzn-SageMaker-RequestTTLSeconds")),
        )


class AsyncEndpointStandIn:
    """Answers InvokeEndpointAsync as SageMaker does, where moto 5.2.5 does not.

    moto returns a canned ``s3://sagemaker-output-<uuid>/response.json`` (the same for every
    request with one InputLocation) and ignores the InferenceId. SageMaker answers 202 with the
    output under the endpoint config's ``S3OutputPath`` named by the inference id, and a failure
    location under ``S3FailurePath``.
    """

    def __init__(self, output_path: str, failure_path: str) -> None:
        self.output_path = output_path.rstrip("/")
        self.failure_path = failure_path.rstrip("/")
        self.accepted: list[AsyncRequest] = []
        # Called once the request is accepted, before the response reaches the caller: lets a
        # test run something "while" the router waits (e.g. the result overtaking the confirm).
        self.on_accept: Callable[[AsyncRequest], None] | None = None

    def output_location(self, inference_id: str) -> str:
        return f"{self.output_path}/{inference_id}.out"

    def failure_location(self, inference_id: str) -> str:
        return f"{self.failure_path}/{inference_id}-error.out"

    def __call__(self, request: AWSPreparedRequest) -> AWSResponse:
        accepted = AsyncRequest.from_http(request)
        self.accepted.append(accepted)
        if self.on_accept is not None:
            self.on_accept(accepted)
        headers = {
            "Content-Type": "application/json",
            "X-Amzn-SageMaker-OutputLocation": self.output_location(accepted.inference_id),
            "X-Amzn-SageMaker-FailureLocation": self.failure_location(accepted.inference_id),
        }
        return response(request.url, 202, headers, json.dumps({"InferenceId": accepted.inference_id}).encode())


class SyncEndpointStandIn:
    """Answers InvokeEndpoint as SageMaker does (moto's answer is canned): 200 with the container's
    body and ``Content-Type``; a container error as ``ModelError`` (HTTP 424) carrying
    ``OriginalStatusCode``, ``OriginalMessage`` and ``LogStreamArn``; or any other error code."""

    def __init__(self, answer: bytes = b"0.97\n", content_type: str = "text/csv") -> None:
        self.answer = answer
        self.content_type = content_type
        self.calls: list[tuple[str, bytes, str]] = []  # (endpoint, body, content type)
        self.model_error: tuple[int, str] | None = None  # (original status, original message)
        self.on_invoke: Callable[[], None] | None = None

    def __call__(self, request: AWSPreparedRequest) -> AWSResponse:
        endpoint = unquote(urlsplit(request.url).path.split("/")[2])  # /endpoints/<name>/invocations
        header = request.headers.get("Content-Type", b"")
        body = request.body if isinstance(request.body, bytes) else (request.body or b"")
        if not isinstance(body, bytes):
            body = body.read() if hasattr(body, "read") else str(body).encode()
        self.calls.append((endpoint, body, header.decode() if isinstance(header, bytes) else header))
        if self.on_invoke is not None:
            self.on_invoke()
        if self.model_error is not None:
            status, message = self.model_error
            payload = {
                "ErrorCode": "CLIENT_ERROR_FROM_MODEL",
                "Message": f'Received client error ({status}) from primary with message "{message}".',
                "OriginalStatusCode": status,
                "OriginalMessage": message,
                "LogStreamArn": f"arn:aws:logs:us-east-1:123456789012:log-group:/aws/sagemaker/Endpoints/{endpoint}",
            }
            headers = {"x-amzn-ErrorType": "ModelError", "Content-Type": "application/json"}
            return response(request.url, 424, headers, json.dumps(payload).encode())
        headers = {"Content-Type": self.content_type, "x-Amzn-Invoked-Production-Variant": "AllTraffic"}
        return response(request.url, 200, headers, self.answer)
