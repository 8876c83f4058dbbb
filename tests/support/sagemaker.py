"""SageMaker in process: the local stack's stand-in (local/standin) behind the Interceptor.

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

- Transform jobs (``transform_jobs``; moto accepts a second CreateTransformJob with a name already used,
  marks every job ``Completed`` at once and emits no state-change event): CreateTransformJob,
  DescribeTransformJob, StopTransformJob and ListTransformJobs go to the stand-in's
  ``TransformJobs``. A created job stays ``InProgress`` until the test ends it (``finish``) or runs it
  (``run``: each object of the manifest read and scored as SageMaker does, its output written to
  ``<S3OutputPath>/<key>.out``; an object that cannot be read or that the model refuses, ``bad``, fails
  the job with that object's reason while the others still get their output; ``abort_on_failure``
  plays a job that stops at its first failure instead). Both return the state-change event the job
  emits, for the batch-result function.

The stand-in's own AWS calls (when it processes a request) go through a session of its own:
SageMaker's reads, writes and notifications are not the product's calls, and the functions' call
counters never see them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache, partial
from typing import Any
from urllib.parse import unquote, urlsplit

import boto3
from botocore.awsrequest import AWSPreparedRequest, AWSResponse

from local.standin.async_endpoints import AsyncRequest
from local.standin.model import ModelResponse
from local.standin.service import StandIn
from local.standin.wire import Answer, answer
from tests.support.hooks import Interceptor, response

__all__ = [
    "AsyncRequest",
    "SageMakerStandIn",
    "TransformJob",
    "async_endpoint",
    "input_location",
    "malformed",
    "sync_endpoints",
    "transform_jobs",
]

REGION = "us-east-1"
ACCOUNT = "123456789012"
ASYNC = "sagemaker-runtime.InvokeEndpointAsync"
SYNC = "sagemaker-runtime.InvokeEndpoint"
CONTROL = ("CreateTransformJob", "DescribeTransformJob", "StopTransformJob", "ListTransformJobs")


def malformed(body: bytes) -> bool:
    """What the transform model refuses (a client error, 400): a payload saying it is malformed."""
    return b"malformed" in body


@dataclass(frozen=True)
class TransformJob:
    """A transform job as a test inspects it."""

    request: dict[str, Any]  # the CreateTransformJob parameters, as SageMaker received them
    described: Callable[[], dict[str, Any]]

    @property
    def name(self) -> str:
        return str(self.request["TransformJobName"])

    @property
    def manifest_uri(self) -> str:
        return str(self.request["TransformInput"]["DataSource"]["S3DataSource"]["S3Uri"])

    @property
    def output_path(self) -> str:
        return str(self.request["TransformOutput"]["S3OutputPath"])

    def description(self) -> dict[str, Any]:
        """DescribeTransformJob's answer, its times as a boto3 client returns them."""
        described = self.described()
        for key in ("CreationTime", "TransformStartTime", "TransformEndTime"):
            if key in described:
                described[key] = datetime.fromtimestamp(described[key], UTC)
        return described


class SageMakerStandIn:
    def __init__(
        self,
        *,
        async_endpoints: Mapping[str, Mapping[str, str]] | None = None,
        sync_endpoints: Mapping[str, str] | None = None,
        transform_jobs: bool = False,
        answer: bytes = b"0.97\n",
        content_type: str = "text/csv",
        bad: Callable[[bytes], bool] | None = None,
        clients: Callable[[str], Any] | None = None,
    ) -> None:
        """``async_endpoints``: name → the local stack's endpoint config (``output_path``,
        ``failure_path``, ``success_topic``, ``error_topic``); ``sync_endpoints``: name → kind
        (``realtime`` or ``serverless``); ``transform_jobs``: answer the transform-job calls; ``clients``:
        the stand-in's own (``service → client``; default: a session of its own, in moto)."""
        self.answer = answer
        self.content_type = content_type
        self.model_error: tuple[int, str] | None = None  # (the container's status, its message)
        self.bad = bad  # payloads the model refuses with a 400 ("malformed input")
        self.create_attempts = 0  # CreateTransformJob calls that reached SageMaker, accepted or not
        # Run once a transform job is created, before CreateTransformJob answers: lets a test finish the
        # job "before" the caller marks its files (a job failing within seconds).
        self.on_create: Callable[[TransformJob], None] | None = None
        self._transform_jobs = transform_jobs
        self._requests: dict[str, dict[str, Any]] = {}  # job name → its CreateTransformJob parameters
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
        self.standin = StandIn(
            config,
            workers=False,
            clients=clients or cache(boto3.Session(region_name=REGION).client),
            model=self._model,
            output_name=lambda inference_id: inference_id,
        )

    def attach(self, interceptor: Interceptor) -> SageMakerStandIn:
        if self._outputs:
            interceptor.respond(ASYNC, self._invoke_async)
        if self._sync:
            interceptor.respond(SYNC, self._invoke)
        if self._transform_jobs:
            for operation in CONTROL:
                interceptor.respond(f"sagemaker.{operation}", self._control)
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

    # ------------------------------------------------------------ transform jobs

    @property
    def jobs(self) -> dict[str, TransformJob]:
        """Every transform job SageMaker holds, oldest first."""
        return {name: self._job(name) for name in self.standin.jobs}

    @property
    def abort_on_failure(self) -> bool:
        return self.standin.stop_at_first_failure

    @abort_on_failure.setter
    def abort_on_failure(self, value: bool) -> None:
        self.standin.stop_at_first_failure = value

    def add(self, request: dict[str, Any], status: str = "InProgress") -> TransformJob:
        """A job that exists already (started by an earlier run, or by someone else)."""
        self.standin.add_transform_job(request, status)
        self._requests[request["TransformJobName"]] = request
        return self._job(request["TransformJobName"])

    def finish(self, name: str, status: str, reason: str | None = None) -> dict[str, Any]:
        """End job ``name`` and return the state-change event SageMaker sends for it."""
        self.standin.end_transform_job(name, status, reason)
        return self.event(name)

    def run(self, name: str) -> dict[str, Any]:
        """Run job ``name`` as SageMaker would (see the module docstring); returns its state-change event."""
        self.standin.run_transform_job(name)
        return self.event(name)

    def in_progress(self) -> list[str]:
        """Jobs not finished yet, oldest first."""
        return [name for name, job in self.standin.jobs.items() if job["TransformJobStatus"] == "InProgress"]

    def run_all(self, handle: Callable[[dict[str, Any]], Any], limit: int = 200) -> list[str]:
        """Run every job, oldest first, handing each state-change event to ``handle`` (the batch-result
        function), until none is left (retry jobs the events start included). Returns the jobs run."""
        ran: list[str] = []
        while waiting := self.in_progress():
            assert len(ran) < limit, f"more than {limit} jobs: {ran}"
            ran.append(waiting[0])
            handle(self.run(waiting[0]))
        return ran

    def event(self, name: str) -> dict[str, Any]:
        """The "SageMaker Transform Job State Change" event for the job as it stands now."""
        return self.standin.state_change_event(name)

    def _job(self, name: str) -> TransformJob:
        described = partial(self.standin.describe_transform_job, {"TransformJobName": name})
        return TransformJob(self._requests[name], described)

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

    def _control(self, request: AWSPreparedRequest) -> AWSResponse:
        body = _body(request)
        create = _headers(request).get("x-amz-target") == "SageMaker.CreateTransformJob"
        if create:
            self.create_attempts += 1
        answered = self._answer(request, body)
        if create and answered.status == 200:
            params = json.loads(body)
            self._requests[params["TransformJobName"]] = params
            if self.on_create is not None:
                self.on_create(self._job(params["TransformJobName"]))
        return response(request.url, answered.status, answered.headers, answered.body)

    def _answer(self, request: AWSPreparedRequest, body: bytes) -> Answer:
        return answer(self.standin, urlsplit(request.url).path, _headers(request), body)

    def _model(
        self, url: str, body: bytes, content_type: str | None, accept: str | None, timeout: float
    ) -> ModelResponse:
        if self.model_error is not None:
            status, message = self.model_error
            return ModelResponse(status, message.encode(), "text/plain")
        if self.bad is not None and self.bad(body):
            return ModelResponse(400, b"malformed input", "text/plain")
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


def transform_jobs(clients: Callable[[str], Any] | None = None) -> SageMakerStandIn:
    """The transform jobs, their model scoring every record ``0.5`` and refusing a ``malformed`` payload."""
    return SageMakerStandIn(transform_jobs=True, answer=b"0.5\n", bad=malformed, clients=clients)


def input_location(request: AWSPreparedRequest) -> str:
    """The InputLocation of an InvokeEndpointAsync request botocore is about to send (a fault's predicate)."""
    return _headers(request)["x-amzn-sagemaker-inputlocation"]
