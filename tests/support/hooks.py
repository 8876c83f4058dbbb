"""botocore event hooks: count API calls, inject faults, and hand chosen calls to a stand-in
(tests/support/sagemaker.py, eventbridge.py) where moto does not answer like AWS.

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
