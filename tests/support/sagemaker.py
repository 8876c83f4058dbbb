"""SageMaker's runtime in process: the local stack's stand-in (local/standin) behind the Interceptor.

moto 5.2.5 answers InvokeEndpointAsync with a canned ``s3://sagemaker-output-<uuid>/response.json``
and InvokeEndpoint with a canned body. Here the request botocore was about to send goes through the
same code as the local stack's HTTP server (``local.standin.wire.answer``): SageMaker's validation,
its output and failure locations, its ``ModelError``; only the model is a function of the test's.

- Asynchronous: an accepted request stays queued (no workers): most tests play SageMaker's result
  themselves; ``process_queued`` has the stand-in run it as SageMaker would (read the input, call
  the model, write the output or failure object, publish the notification). Its output is named by
  its inference id, so a test knows the location ahead.
- Synchronous: the model answers ``answer`` (``content_type``); ``model_error`` makes it answer
  ``(status, message)`` instead, which SageMaker turns into ``ModelError`` (HTTP 424).

The stand-in's own AWS calls (when it processes a request) go through a session of its own:
SageMaker's reads, writes and notifications are not the product's calls, and the functions' call
counters never see them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from functools import cache
from urllib.parse import unquote, urlsplit

import boto3
from botocore.awsrequest import AWSPreparedRequest, AWSResponse

from local.standin.async_endpoints import AsyncRequest
from local.standin.model import ModelResponse
from local.standin.service import StandIn
from local.standin.wire import Answer, answer
from tests.support.hooks import Interceptor, response

__all__ = ["AsyncRequest", "SageMakerStandIn", "async_endpoint", "input_location", "sync_endpoints"]

REGION = "us-east-1"
ACCOUNT = "123456789012"
ASYNC = "sagemaker-runtime.InvokeEndpointAsync"
SYNC = "sagemaker-runtime.InvokeEndpoint"


class SageMakerStandIn:
    def __init__(
        self,
        *,
        async_endpoints: Mapping[str, Mapping[str, str]] | None = None,
        sync_endpoints: Mapping[str, str] | None = None,
        answer: bytes = b"0.97\n",
        content_type: str = "text/csv",
    ) -> None:
        """``async_endpoints``: name → the local stack's endpoint config (``output_path``,
        ``failure_path``, ``success_topic``, ``error_topic``); ``sync_endpoints``: name → kind
        (``realtime`` or ``serverless``)."""
        self.answer = answer
        self.content_type = content_type
        self.model_error: tuple[int, str] | None = None  # (the container's status, its message)
        self.accepted: list[AsyncRequest] = []  # InvokeEndpointAsync requests SageMaker took, in order
        self.calls: list[tuple[str, bytes, str]] = []  # InvokeEndpoint: (endpoint, body, content type)
        # Run once a request is taken, before the answer reaches the caller: lets a test act "while"
        # the caller waits (a result overtaking the answer, an answer lost, a crash).
        self.on_accept: Callable[[AsyncRequest], None] | None = None
        self.on_invoke: Callable[[], None] | None = None
        self._outputs = dict(async_endpoints or {})
        self._sync = dict(sync_endpoints or {})
        config = {
            "region": REGION,
            "account_id": ACCOUNT,
            "endpoints": {name: dict(spec) for name, spec in self._outputs.items()},
            "sync_endpoints": {name: {"kind": kind} for name, kind in self._sync.items()},
        }
        session = boto3.Session(region_name=REGION)
        self.standin = StandIn(
            config,
            workers=False,
            clients=cache(session.client),
            model=self._model,
            output_name=lambda inference_id: inference_id,
        )

    def attach(self, interceptor: Interceptor) -> SageMakerStandIn:
        if self._outputs:
            interceptor.respond(ASYNC, self._invoke_async)
        if self._sync:
            interceptor.respond(SYNC, self._invoke)
        return self

    def process_queued(self) -> int:
        """SageMaker runs the requests it took; the number run."""
        return self.standin.process_queued()

    def output_location(self, inference_id: str) -> str:
        return self._accepted(inference_id).output_location

    def failure_location(self, inference_id: str) -> str:
        return self._accepted(inference_id).failure_location or ""

    def _accepted(self, inference_id: str) -> AsyncRequest:
        return next(r for r in reversed(self.accepted) if r.inference_id == inference_id)

    # ------------------------------------------------------------ the interceptor's responders

    def _invoke_async(self, request: AWSPreparedRequest) -> AWSResponse:
        answered = self._answer(request, _body(request))
        if answered.status == 202:
            inference_id = json.loads(answered.body)["InferenceId"]
            endpoint = self.standin.endpoints[_endpoint_name(request)]
            with self.standin.lock:
                taken = next(r for r in reversed(endpoint.queue) if r.inference_id == inference_id)
            self.accepted.append(taken)
            if self.on_accept is not None:
                self.on_accept(taken)
        return response(request.url, answered.status, answered.headers, answered.body)

    def _invoke(self, request: AWSPreparedRequest) -> AWSResponse:
        body = _body(request)
        self.calls.append((_endpoint_name(request), body, _headers(request).get("content-type", "")))
        answered = self._answer(request, body)
        if self.on_invoke is not None:
            self.on_invoke()
        return response(request.url, answered.status, answered.headers, answered.body)

    def _answer(self, request: AWSPreparedRequest, body: bytes) -> Answer:
        return answer(self.standin, urlsplit(request.url).path, _headers(request), body)

    def _model(
        self, url: str, body: bytes, content_type: str | None, accept: str | None, timeout: float
    ) -> ModelResponse:
        if self.model_error is not None:
            status, message = self.model_error
            return ModelResponse(status, message.encode(), "text/plain")
        return ModelResponse(200, self.answer, self.content_type)


def _endpoint_name(request: AWSPreparedRequest) -> str:
    return unquote(urlsplit(request.url).path.split("/")[2])  # /endpoints/<name>/...


def _headers(request: AWSPreparedRequest) -> dict[str, str]:
    return {
        name.lower(): value.decode("utf-8") if isinstance(value, bytes) else value
        for name, value in request.headers.items()
    }


def _body(request: AWSPreparedRequest) -> bytes:
    body = request.body
    if body is not None and not isinstance(body, str | bytes | bytearray):
        body = body.read()  # a stream: read once, the stand-in answers in place of the network
    if isinstance(body, str):
        return body.encode()
    return bytes(body or b"")


def async_endpoint(bucket: str, name: str = "demo-async-endpoint", **topics: str) -> SageMakerStandIn:
    """The stack's async endpoint, its outputs under ``results/async/``, failures ``results/async-failures/``;
    ``topics``: ``success_topic`` and ``error_topic``, where ``process_queued`` announces."""
    spec = {"output_path": f"s3://{bucket}/results/async/", "failure_path": f"s3://{bucket}/results/async-failures/"}
    return SageMakerStandIn(async_endpoints={name: {**spec, **topics}})


def sync_endpoints() -> SageMakerStandIn:
    """The stack's real-time and serverless endpoints."""
    return SageMakerStandIn(
        sync_endpoints={"demo-realtime-endpoint": "realtime", "demo-serverless-endpoint": "serverless"}
    )


def input_location(request: AWSPreparedRequest) -> str:
    """The InputLocation of an InvokeEndpointAsync request botocore is about to send (a fault's predicate)."""
    return _headers(request)["x-amzn-sagemaker-inputlocation"]
