"""SageMaker stand-in: the calls the product makes, over HTTP, with the real wire formats and contracts.

moto's SageMaker is not enough (DESIGN §5), so this server answers, on one loopback port:

- ``sagemaker-runtime`` (REST-JSON): ``InvokeEndpointAsync`` (``POST /endpoints/{name}/async-invocations``)
  and ``InvokeEndpoint`` (``POST /endpoints/{name}/invocations``);
- ``sagemaker`` (JSON 1.1, ``X-Amz-Target: SageMaker.<Operation>``): ``CreateTransformJob``,
  ``DescribeTransformJob``, ``StopTransformJob``, ``ListTransformJobs``, and for the endpoints the stack
  creates ``DescribeEndpoint`` and ``UpdateEndpointWeightsAndCapacities`` (what Application Auto Scaling
  calls).

An endpoint created from the template has instances (local/endpoint_capacity.py): at zero, requests wait
in its queue (and expire by their TTL); each instance processes MaxConcurrentInvocationsPerInstance at a
time and serves only after a start-up delay. The stand-in publishes the endpoint's AWS/SageMaker metrics
(ApproximateBacklogSize, ApproximateBacklogSizePerInstance, HasBacklogWithoutCapacity,
ApproximateAgeOfOldestRequest) to CloudWatch, where the trigger runner's autoscaler reads them.

Asynchronous requests queue and run in the background: the input is read from (moto's) S3, the
model is called over SageMaker's container contract, the output (or failure) object is written at
the endpoint config's S3OutputPath (S3FailurePath), and the §6.2 notification is published to the
configured topic; a request whose RequestTTLSeconds passes while queued ends ``Expired``.
Transform jobs read ``S3Prefix`` or ``ManifestFile`` input, split it by line, write
``<S3OutputPath>/<relative key>.out``, fail if one object fails, and emit §6.3 state-change events
through EventBridge. Validation errors carry the codes the real services use: ``ValidationError``
(runtime), ``ValidationException`` / ``ResourceInUse`` (control plane).

``python -m local.sagemaker_standin --config standin.json --port 4567``. Paths under ``/_local/``
serve the local stack's tests and demo (pausing an endpoint's capacity, ageing queued requests,
losing notifications, the log of what ran); they are not SageMaker APIs.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import http.client
import json
import re
import sys
import threading
import time
import traceback
import urllib.parse
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from local.aws import HOST, check_port_free, client_factory
from local.endpoint_capacity import Capacity

MB = 1024 * 1024
JOB_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
MODEL_NAME = re.compile(r"^[a-zA-Z0-9]([\-a-zA-Z0-9]*[a-zA-Z0-9])?$")
S3_URI = re.compile(r"^s3://([^/]+)/?(.*)$")
INFERENCE_ID = re.compile(r"^\S[\x20-\x7e]*$")
TERMINAL = ("Completed", "Failed", "Stopped")
DETAIL_TYPE = "SageMaker Transform Job State Change"


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, extra: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.extra = extra or {}


def validation_error(message: str) -> ApiError:  # sagemaker-runtime
    return ApiError(400, "ValidationError", message)


def validation_exception(message: str) -> ApiError:  # sagemaker control plane
    return ApiError(400, "ValidationException", message)


def iso_ms(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def split_s3(uri: str) -> tuple[str, str]:
    match = S3_URI.match(uri)
    if not match:
        raise ValueError(f"{uri!r} is not an s3:// URI")
    return match.group(1), match.group(2)


def join_s3(prefix: str, name: str) -> str:
    return prefix + name if prefix.endswith("/") else f"{prefix}/{name}"


# ---------------------------------------------------------------- the model, over the container contract


@dataclass
class ModelResponse:
    status: int
    body: bytes
    content_type: str


def call_model(url: str, body: bytes, content_type: str | None, accept: str | None, timeout: float) -> ModelResponse:
    """``POST {url}/invocations``; a connection failure or timeout raises ``OSError``."""
    parsed = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parsed.hostname or HOST, parsed.port or 80, timeout=timeout)
    headers = {"Content-Type": content_type or "application/octet-stream"}
    if accept:
        headers["Accept"] = accept
    try:
        connection.request("POST", parsed.path.rstrip("/") + "/invocations", body=body, headers=headers)
        response = connection.getresponse()
        return ModelResponse(response.status, response.read(), response.getheader("Content-Type") or "")
    finally:
        connection.close()


# ---------------------------------------------------------------- asynchronous endpoints


@dataclass
class AsyncRequest:
    inference_id: str
    endpoint: str
    input_location: str
    content_type: str | None
    accept: str | None
    custom_attributes: str | None
    ttl_seconds: int
    timeout_seconds: int
    received: datetime
    output_location: str
    failure_location: str | None
    aged_seconds: float = 0.0  # added by the tests' /_local/…/age control: time spent "elsewhere"


class Clock:
    def now(self) -> datetime:
        return datetime.now(UTC)


_DROP_FIELDS = frozenset({"count", "status", "inferenceId", "inputLocation", "inputKey"})


@dataclass
class DropRule:
    """A fault switch (``/_local/notifications/drop``): the async notifications it matches are not
    published, as if SNS had lost them; the output or failure object is written all the same.

    Every given field must match: ``status`` (Completed / Failed / Expired), ``inference_id``,
    ``input_location`` (``s3://bucket/key``) or ``input_key`` (the key alone). The rule drops the
    next ``count`` notifications it matches, then goes.
    """

    count: int = 1
    status: str | None = None
    inference_id: str | None = None
    input_location: str | None = None
    input_key: str | None = None

    @classmethod
    def parse(cls, request: dict[str, Any]) -> DropRule:
        unknown = set(request) - _DROP_FIELDS
        if unknown:
            raise ApiError(400, "ValidationError", f"unknown fields {sorted(unknown)}; expected {sorted(_DROP_FIELDS)}")
        status = request.get("status")
        if status not in (None, "Completed", "Failed", "Expired"):
            raise ApiError(400, "ValidationError", f"status {status!r} is not Completed, Failed or Expired")
        count = request.get("count", 1)
        if not isinstance(count, int) or count < 1:
            raise ApiError(400, "ValidationError", f"count {count!r} must be a positive integer")
        return cls(count, status, request.get("inferenceId"), request.get("inputLocation"), request.get("inputKey"))

    def matches(self, request: AsyncRequest, status: str) -> bool:
        return (
            (self.status is None or self.status == status)
            and (self.inference_id is None or self.inference_id == request.inference_id)
            and (self.input_location is None or self.input_location == request.input_location)
            and (self.input_key is None or request.input_location.split("/", 3)[-1] == self.input_key)
        )

    def describe(self) -> dict[str, Any]:
        fields = {
            "count": self.count,
            "status": self.status,
            "inferenceId": self.inference_id,
            "inputLocation": self.input_location,
            "inputKey": self.input_key,
        }
        return {k: v for k, v in fields.items() if v is not None}


@dataclass
class Endpoint:
    name: str
    output_path: str
    failure_path: str | None
    success_topic: str | None
    error_topic: str | None
    model_url: str
    concurrency: int = 2
    paused: bool = False
    queue: collections.deque[AsyncRequest] = field(default_factory=collections.deque)
    capacity: Capacity | None = None  # created from the template: instances; None: a fixed `concurrency`
    busy: int = 0

    def may_take(self, now: float) -> bool:
        if not self.queue or self.paused:
            return False
        return self.capacity is None or self.busy < self.capacity.slots(now)


@dataclass
class SyncEndpoint:
    """A real-time or serverless endpoint (InvokeEndpoint only). Serverless: 4 MB payloads, a cold
    start on the first call after ``idle_seconds`` without one, ThrottlingException above
    ``max_concurrency`` calls at once (SageMaker's MaxConcurrency)."""

    name: str
    kind: str  # "realtime" | "serverless"
    model_url: str
    max_concurrency: int = 0  # 0: no limit (a real-time endpoint's instances)
    cold_start_seconds: float = 0.0
    idle_seconds: float = 60.0
    in_flight: int = 0
    last_call: float | None = None

    @property
    def payload_limit(self) -> int:
        return 4 * MB if self.kind == "serverless" else 6 * MB


class StandIn:
    def __init__(self, config: dict[str, Any]) -> None:
        self.region = config["region"]
        self.account_id = config["account_id"]
        self.client = client_factory(config["aws_endpoint"], self.region)
        self.model_url = config["model_url"]
        self.models: dict[str, str] = config.get("models", {})  # transform jobs: ModelName → URL ({} = any)
        self.clock = Clock()
        self.lock = threading.Condition()
        self.endpoints = {
            name: Endpoint(
                name,
                spec["output_path"],
                spec.get("failure_path"),
                spec.get("success_topic"),
                spec.get("error_topic"),
                spec.get("model_url") or self.model_url,
                int(spec.get("concurrency", config.get("async_concurrency", 2))),
                capacity=_capacity(spec.get("instances")),
            )
            for name, spec in config.get("endpoints", {}).items()
        }
        # Seconds between two publications of the created endpoints' metrics (0: none).
        self.metric_interval = float(config.get("metric_interval_seconds", 0.25))
        self.sync_endpoints = {
            name: SyncEndpoint(
                name,
                spec.get("kind", "realtime"),
                spec.get("model_url") or self.model_url,
                int(spec.get("max_concurrency", 0)),
                float(spec.get("cold_start_seconds", 0.0)),
                float(spec.get("idle_seconds", 60.0)),
            )
            for name, spec in config.get("sync_endpoints", {}).items()
        }
        self.jobs: dict[str, dict[str, Any]] = {}
        self.job_stop: dict[str, threading.Event] = {}
        self.job_slots = threading.Semaphore(int(config.get("transform_concurrency", 2)))
        # Cleared by the tests' /_local/transform/pause: jobs then wait before their first object, as real
        # ones do for minutes while their instances start (so a test can let the caller finish first).
        self.transforms_running = threading.Event()
        self.transforms_running.set()
        self.history: list[dict[str, Any]] = []  # what ran, for the tests' assertions
        self.drops: list[DropRule] = []  # notifications to lose (/_local/notifications/drop)
        self.stopping = threading.Event()
        for endpoint in self.endpoints.values():
            if endpoint.capacity:  # one worker per request all instances could run at once
                endpoint.concurrency = min(16, endpoint.capacity.max_capacity * endpoint.capacity.per_instance)
            for index in range(endpoint.concurrency):
                threading.Thread(
                    target=self._worker, args=(endpoint,), name=f"{endpoint.name}-{index}", daemon=True
                ).start()
        threading.Thread(target=self._reaper, name="ttl-reaper", daemon=True).start()
        if self.metric_interval > 0 and any(e.capacity for e in self.endpoints.values()):
            threading.Thread(target=self._metrics, name="metrics", daemon=True).start()

    # ------------------------------------------------------------ runtime API

    def invoke_async(self, name: str, headers: dict[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
        endpoint = self._endpoint(name)
        input_location = headers.get("x-amzn-sagemaker-inputlocation")
        if not input_location:
            raise validation_error("InputLocation is required")
        if len(input_location) > 1024 or not S3_URI.match(input_location):
            raise validation_error(
                f"Value '{input_location}' at 'inputLocation' failed to satisfy constraint: Member must satisfy "
                "regular expression pattern: ^(https|s3)://([^/]+)/?(.*)$ and have length less than or equal to 1024"
            )
        inference_id = headers.get("x-amzn-sagemaker-inference-id") or str(uuid.uuid4())
        if len(inference_id) > 64 or not INFERENCE_ID.match(inference_id):
            raise validation_error(
                f"Value '{inference_id}' at 'inferenceId' failed to satisfy constraint: Member must have length "
                "less than or equal to 64 and consist of printable characters"
            )
        ttl = self._bounded(headers, "x-amzn-sagemaker-requestttlseconds", "requestTTLSeconds", 21600, 60, 21600)
        timeout = self._bounded(
            headers, "x-amzn-sagemaker-invocationtimeoutseconds", "invocationTimeoutSeconds", 900, 1, 3600
        )
        token = str(uuid.uuid4())
        failure_location = join_s3(endpoint.failure_path, f"{token}-error.out") if endpoint.failure_path else None
        request = AsyncRequest(
            inference_id=inference_id,
            endpoint=name,
            input_location=input_location,
            content_type=headers.get("x-amzn-sagemaker-content-type"),
            accept=headers.get("x-amzn-sagemaker-accept"),
            custom_attributes=headers.get("x-amzn-sagemaker-custom-attributes"),
            ttl_seconds=ttl,
            timeout_seconds=timeout,
            received=self.clock.now(),
            output_location=join_s3(endpoint.output_path, f"{token}.out"),
            failure_location=failure_location,
        )
        with self.lock:
            endpoint.queue.append(request)
            self.lock.notify_all()
        response_headers = {"X-Amzn-SageMaker-OutputLocation": request.output_location}
        if failure_location:
            response_headers["X-Amzn-SageMaker-FailureLocation"] = failure_location
        return {"InferenceId": inference_id}, response_headers

    def invoke(self, name: str, body: bytes, headers: dict[str, str]) -> tuple[ModelResponse, dict[str, str]]:
        sync = self.sync_endpoints.get(name)
        endpoint = sync or self._endpoint(name)
        limit = sync.payload_limit if sync else 6 * MB
        if len(body) > limit:
            raise validation_error(f"Request payload size exceeds the {limit} bytes limit of InvokeEndpoint")
        cold = self._enter(sync) if sync else False
        started = time.monotonic()
        try:
            if cold:
                time.sleep(sync.cold_start_seconds)  # type: ignore[union-attr]  # provisioning a container
            response = call_model(endpoint.model_url, body, headers.get("content-type"), headers.get("accept"), 60)
        except OSError as exc:
            raise ApiError(424, "ModelError", f"Model did not respond: {exc}", {"OriginalStatusCode": 0}) from exc
        finally:
            if sync:
                with self.lock:
                    sync.in_flight -= 1
                    sync.last_call = time.monotonic()
        self._log(
            "InvokeEndpoint",
            endpoint=name,
            inferenceId=headers.get("x-amzn-sagemaker-inference-id"),
            status=response.status,
            kind=sync.kind if sync else "async",
            coldStart=cold,
            ms=int((time.monotonic() - started) * 1000),
        )
        if response.status >= 300:
            kind = "client" if response.status < 500 else "server"
            original = response.body.decode("utf-8", "replace")
            raise ApiError(
                424,
                "ModelError",
                f'Received {kind} error ({response.status}) from primary with message "{original}". See '
                f"https://{self.region}.console.aws.amazon.com/cloudwatch/home?region={self.region}#logEventViewer:"
                f"group=/aws/sagemaker/Endpoints/{name} in account {self.account_id} for more information.",
                {
                    "OriginalStatusCode": response.status,
                    "OriginalMessage": original,
                    "LogStreamArn": (
                        f"arn:aws:logs:{self.region}:{self.account_id}:log-group:/aws/sagemaker/Endpoints/{name}"
                    ),
                },
            )
        return response, {"x-Amzn-Invoked-Production-Variant": "AllTraffic"}

    def _enter(self, sync: SyncEndpoint) -> bool:
        """Take a concurrency slot (ThrottlingException when none is left); True when cold."""
        with self.lock:
            if sync.max_concurrency and sync.in_flight >= sync.max_concurrency:
                self._log("InvokeEndpoint", endpoint=sync.name, status="ThrottlingException")
                raise ApiError(400, "ThrottlingException", f"Rate exceeded: MaxConcurrency {sync.max_concurrency}")
            sync.in_flight += 1
            idle = sync.last_call is None or time.monotonic() - sync.last_call > sync.idle_seconds
            return sync.kind == "serverless" and idle and sync.cold_start_seconds > 0

    def _endpoint(self, name: str) -> Endpoint:
        endpoint = self.endpoints.get(name)
        if endpoint is None:
            raise validation_error(f"Endpoint {name} of account {self.account_id} not found.")
        return endpoint

    @staticmethod
    def _bounded(headers: dict[str, str], header: str, field_name: str, default: int, low: int, high: int) -> int:
        raw = headers.get(header)
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError:
            raise validation_error(f"Value '{raw}' at '{field_name}' is not an integer") from None
        if not low <= value <= high:
            raise validation_error(
                f"Value '{value}' at '{field_name}' failed to satisfy constraint: Member must have value "
                f"between {low} and {high}"
            )
        return value

    # ------------------------------------------------------------ async processing

    def _worker(self, endpoint: Endpoint) -> None:
        while not self.stopping.is_set():
            with self.lock:
                # Short waits: a starting instance begins to serve by the clock, not by a notification.
                while not endpoint.may_take(time.monotonic()):
                    self.lock.wait(0.1 if endpoint.capacity else 0.5)
                    if self.stopping.is_set():
                        return
                request = endpoint.queue.popleft()
                endpoint.busy += 1
            try:
                if self._expired(request):
                    self._expire(request)
                else:
                    self._process(endpoint, request)
            except Exception:  # noqa: BLE001 - a stand-in bug must not kill the worker
                traceback.print_exc()
            finally:
                with self.lock:
                    endpoint.busy -= 1
                    self.lock.notify_all()

    def _metrics(self) -> None:
        """Publish what AWS/SageMaker reports for an async endpoint (DESIGN §6.4), per created endpoint."""
        cloudwatch = self.client("cloudwatch")
        while not self.stopping.wait(self.metric_interval):
            data: list[dict[str, Any]] = []
            with self.lock:
                now = self.clock.now()
                for endpoint in self.endpoints.values():
                    if endpoint.capacity is None:
                        continue
                    instances = endpoint.capacity.describe(time.monotonic())["CurrentInstanceCount"]
                    backlog = len(endpoint.queue) + endpoint.busy
                    oldest = min((r.received for r in endpoint.queue), default=now)
                    values = {
                        "ApproximateBacklogSize": backlog,
                        "ApproximateBacklogSizePerInstance": backlog / max(instances, 1),
                        "HasBacklogWithoutCapacity": 1.0 if backlog and not instances else 0.0,
                        "ApproximateAgeOfOldestRequest": (now - oldest).total_seconds(),
                    }
                    dimensions = [{"Name": "EndpointName", "Value": endpoint.name}]
                    data += [
                        {"MetricName": k, "Dimensions": dimensions, "Value": float(v), "Timestamp": now}
                        for k, v in values.items()
                    ]
            if data:
                with contextlib.suppress(BotoCoreError, ClientError):  # moto stopping: nothing to report to
                    cloudwatch.put_metric_data(Namespace="AWS/SageMaker", MetricData=data)

    def _reaper(self) -> None:
        while not self.stopping.wait(0.2):
            expired: list[AsyncRequest] = []
            with self.lock:
                for endpoint in self.endpoints.values():
                    keep = [r for r in endpoint.queue if not self._expired(r)]
                    expired += [r for r in endpoint.queue if self._expired(r)]
                    endpoint.queue = collections.deque(keep)
            for request in expired:
                self._expire(request)

    def _expired(self, request: AsyncRequest) -> bool:
        waited = self.clock.now() - request.received + timedelta(seconds=request.aged_seconds)
        return waited > timedelta(seconds=request.ttl_seconds)

    def _expire(self, request: AsyncRequest) -> None:
        self._notify(
            request,
            "Expired",
            failure_reason="Request expired: RequestTTLSeconds elapsed before the request was processed.",
            response={},
        )

    def _process(self, endpoint: Endpoint, request: AsyncRequest) -> None:
        s3 = self.client("s3")
        bucket, key = split_s3(request.input_location)
        try:
            body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            self._notify(
                request,
                "Failed",
                failure_reason=f"ClientError: Could not read the input at {request.input_location} ({code}).",
                response={},
            )
            return
        try:
            result = call_model(endpoint.model_url, body, request.content_type, request.accept, request.timeout_seconds)
        except OSError as exc:
            reason = (
                f"ModelError: Model did not respond within the invocation timeout ({request.timeout_seconds} s): {exc}"
            )
            self._fail(request, reason, json.dumps({"message": reason}).encode(), "application/json")
            return
        if result.status < 300:
            out_bucket, out_key = split_s3(request.output_location)
            s3.put_object(Bucket=out_bucket, Key=out_key, Body=result.body, ContentType=result.content_type)
            self._notify(
                request,
                "Completed",
                response={"contentType": result.content_type, "outputLocation": request.output_location},
            )
            return
        kind, label = ("ClientError", "client") if result.status < 500 else ("ServerError", "server")
        reason = (
            f"{kind}: Received {label} error ({result.status}) from model. See the SageMaker Endpoint logs "
            "in your account for more information."
        )
        self._fail(request, reason, result.body, result.content_type)

    def _fail(self, request: AsyncRequest, reason: str, body: bytes, content_type: str) -> None:
        response: dict[str, Any] = {}
        if request.failure_location:
            bucket, key = split_s3(request.failure_location)
            self.client("s3").put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type or "text/plain")
            response = {"contentType": content_type or "text/plain", "failureLocation": request.failure_location}
        self._notify(request, "Failed", failure_reason=reason, response=response)

    def _notify(
        self, request: AsyncRequest, status: str, *, response: dict[str, Any], failure_reason: str | None = None
    ) -> None:
        """Publish the §6.2 notification: the same fields, in the same order, as SageMaker's."""
        endpoint = self.endpoints[request.endpoint]
        message: dict[str, Any] = {
            "awsRegion": self.region,
            "eventTime": iso_ms(self.clock.now()),
            "receivedTime": iso_ms(request.received),
            "invocationStatus": status,
        }
        if failure_reason:
            message["failureReason"] = failure_reason
        parameters: dict[str, Any] = {}
        if request.accept:
            parameters["accept"] = request.accept
        if request.content_type:
            parameters["contentType"] = request.content_type
        if request.custom_attributes:
            parameters["customAttributes"] = request.custom_attributes
        parameters["endpointName"] = request.endpoint
        parameters["inputLocation"] = request.input_location
        message["requestParameters"] = parameters
        message["responseParameters"] = response
        message["inferenceId"] = request.inference_id
        message["eventVersion"] = "1.0"
        message["eventSource"] = "aws:sagemaker"
        message["eventName"] = "InferenceResult"
        topic = endpoint.success_topic if status == "Completed" else endpoint.error_topic
        dropped = self._drop(request, status)
        if topic and not dropped:
            self._publish(topic, message)
        self._log(
            "InvokeEndpointAsync",
            endpoint=request.endpoint,
            inferenceId=request.inference_id,
            status=status,
            message=message,
            topic=topic,
            **({"dropped": True} if dropped else {}),
        )

    def _drop(self, request: AsyncRequest, status: str) -> bool:
        """Whether a fault switch loses this notification (and uses up one of its drops)."""
        with self.lock:
            for rule in self.drops:
                if rule.matches(request, status):
                    rule.count -= 1
                    if rule.count == 0:
                        self.drops.remove(rule)
                    return True
        return False

    def _publish(self, topic: str, message: dict[str, Any]) -> None:
        for attempt in range(5):
            try:
                self.client("sns").publish(TopicArn=topic, Message=json.dumps(message))
                return
            except (ClientError, BotoCoreError):
                if attempt == 4:
                    raise
                time.sleep(0.2 * (attempt + 1))

    def _log(self, operation: str, **fields: Any) -> None:
        with self.lock:
            self.history.append({"operation": operation, "time": iso_ms(self.clock.now()), **fields})

    # ------------------------------------------------------------ control plane (JSON 1.1)

    def control(self, operation: str, request: dict[str, Any]) -> dict[str, Any]:
        handler = {
            "CreateTransformJob": self.create_transform_job,
            "DescribeTransformJob": self.describe_transform_job,
            "StopTransformJob": self.stop_transform_job,
            "ListTransformJobs": self.list_transform_jobs,
            "DescribeEndpoint": self.describe_endpoint,
            "UpdateEndpointWeightsAndCapacities": self.update_endpoint_weights_and_capacities,
        }.get(operation)
        if handler is None:
            raise ApiError(
                400, "UnknownOperationException", f"{operation} is not served by the local SageMaker stand-in"
            )
        return handler(request)

    def describe_endpoint(self, request: dict[str, Any]) -> dict[str, Any]:
        name = request.get("EndpointName", "")
        endpoint = self.endpoints.get(name)
        if endpoint is None and name not in self.sync_endpoints:
            raise validation_exception(f'Could not find endpoint "{name}".')
        arn = f"arn:aws:sagemaker:{self.region}:{self.account_id}:endpoint/{name.lower()}"
        described: dict[str, Any] = {"EndpointName": name, "EndpointArn": arn, "EndpointStatus": "InService"}
        if endpoint is not None and endpoint.capacity is not None:
            with self.lock:
                described["ProductionVariants"] = [endpoint.capacity.describe(time.monotonic())]
        return described

    def update_endpoint_weights_and_capacities(self, request: dict[str, Any]) -> dict[str, Any]:
        name = request.get("EndpointName", "")
        endpoint = self.endpoints.get(name)
        if endpoint is None or endpoint.capacity is None:
            raise validation_exception(f'Could not find endpoint "{name}" with instances to scale.')
        for change in request.get("DesiredWeightsAndCapacities", []):
            if change.get("VariantName") != endpoint.capacity.variant:
                raise validation_exception(
                    f"The variant name(s) [{change.get('VariantName')}] is/are not present in endpoint {name}."
                )
            desired = change.get("DesiredInstanceCount")
            if desired is not None:
                if not isinstance(desired, int) or desired < 0:
                    raise validation_exception(f"DesiredInstanceCount must be an integer >= 0, not {desired!r}")
                with self.lock:
                    endpoint.capacity.set_desired(desired, time.monotonic(), cause="UpdateEndpointWeightsAndCapacities")
                    self.lock.notify_all()
                self._log("UpdateEndpointWeightsAndCapacities", endpoint=name, desired=desired)
        arn = f"arn:aws:sagemaker:{self.region}:{self.account_id}:endpoint/{name.lower()}"
        return {"EndpointArn": arn}

    def capacities(self) -> dict[str, Any]:
        """Each created endpoint's instances, timeline and billed instance-seconds (/_local/endpoints)."""
        now = time.monotonic()
        with self.lock:
            return {
                name: {
                    **endpoint.capacity.describe(now),
                    "instanceSeconds": endpoint.capacity.instance_seconds(now),
                    "events": [{**event, "ago": now - event["at"]} for event in endpoint.capacity.events],
                    "backlog": len(endpoint.queue) + endpoint.busy,
                }
                for name, endpoint in self.endpoints.items()
                if endpoint.capacity is not None
            }

    def create_transform_job(self, request: dict[str, Any]) -> dict[str, Any]:
        name = request.get("TransformJobName", "")
        if not JOB_NAME.match(name):
            raise validation_exception(
                f"1 validation error detected: Value '{name}' at 'transformJobName' failed to satisfy constraint: "
                "Member must satisfy regular expression pattern: ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}"
            )
        model = request.get("ModelName", "")
        if not MODEL_NAME.match(model) or len(model) > 63:
            raise validation_exception(f"Value '{model}' at 'modelName' failed to satisfy constraint")
        if self.models and model not in self.models:
            raise validation_exception(
                f'Could not find model "arn:aws:sagemaker:{self.region}:{self.account_id}:model/{model}".'
            )
        source = request.get("TransformInput", {}).get("DataSource", {}).get("S3DataSource", {})
        data_type, uri = source.get("S3DataType"), source.get("S3Uri", "")
        if data_type not in ("S3Prefix", "ManifestFile"):
            raise validation_exception(
                f"S3DataType {data_type!r} is not supported by the local stand-in (S3Prefix or ManifestFile)"
            )
        output = request.get("TransformOutput", {})
        for label, value in (("s3Uri", uri), ("s3OutputPath", output.get("S3OutputPath", ""))):
            if not S3_URI.match(value) or len(value) > 1024:
                raise validation_exception(f"Value '{value}' at '{label}' failed to satisfy constraint")
        self._enum(
            request.get("TransformInput", {}).get("SplitType"), ("None", "Line", "RecordIO", "TFRecord"), "splitType"
        )
        self._enum(request.get("BatchStrategy"), ("MultiRecord", "SingleRecord"), "batchStrategy")
        self._enum(output.get("AssembleWith"), ("None", "Line"), "assembleWith")
        payload = int(request.get("MaxPayloadInMB", 6))
        concurrent = int(request.get("MaxConcurrentTransforms", 1)) or 1
        if not 0 <= payload <= 100 or payload * concurrent > 100:
            raise validation_exception(
                "MaxPayloadInMB must be at most 100 and MaxConcurrentTransforms * MaxPayloadInMB must not exceed 100"
            )
        if int(request.get("TransformResources", {}).get("InstanceCount", 0)) < 1:
            raise validation_exception("TransformResources.InstanceCount must be at least 1")
        inputs = self._inputs(data_type, uri)
        request = json.loads(json.dumps(request))
        request["TransformInput"].setdefault("CompressionType", "None")
        request["TransformInput"].setdefault("SplitType", "None")
        arn = f"arn:aws:sagemaker:{self.region}:{self.account_id}:transform-job/{name.lower()}"
        with self.lock:
            if name in self.jobs:
                raise ApiError(
                    400,
                    "ResourceInUse",
                    f"Job name must be unique within an AWS account and region, and a job with this name already "
                    f"exists ({self.jobs[name]['TransformJobArn']})",
                )
            now = self.clock.now()
            job = {
                # The defaults SageMaker fills in, as DescribeTransformJob and the events show them.
                "MaxConcurrentTransforms": 1,
                "MaxPayloadInMB": 6,
                "Environment": {},
                **{k: v for k, v in request.items() if k not in ("Tags",)},
                "TransformJobArn": arn,
                "TransformJobStatus": "InProgress",
                "CreationTime": now,
                "Tags": {tag["Key"]: tag["Value"] for tag in request.get("Tags", [])},
            }
            self.jobs[name] = job
            self.job_stop[name] = threading.Event()
        self._emit(job)
        threading.Thread(target=self._run_job, args=(name, inputs), name=f"job-{name}", daemon=True).start()
        return {"TransformJobArn": arn}

    def describe_transform_job(self, request: dict[str, Any]) -> dict[str, Any]:
        job = self._job(request.get("TransformJobName", ""))
        with self.lock:
            described = {k: v for k, v in job.items() if k != "Tags"}
        for key in ("CreationTime", "TransformStartTime", "TransformEndTime"):
            if isinstance(described.get(key), datetime):
                described[key] = described[key].timestamp()
        return described

    def stop_transform_job(self, request: dict[str, Any]) -> dict[str, Any]:
        name = request.get("TransformJobName", "")
        job = self._job(name)
        with self.lock:
            if job["TransformJobStatus"] != "InProgress":
                return {}
            job["TransformJobStatus"] = "Stopping"
            self.job_stop[name].set()
        self._emit(job)
        return {}

    def list_transform_jobs(self, request: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            jobs = list(self.jobs.values())
        summaries = [
            {
                "TransformJobName": job["TransformJobName"],
                "TransformJobArn": job["TransformJobArn"],
                "TransformJobStatus": job["TransformJobStatus"],
                "CreationTime": job["CreationTime"].timestamp(),
                **({"FailureReason": job["FailureReason"]} if "FailureReason" in job else {}),
            }
            for job in jobs
            if not request.get("StatusEquals") or job["TransformJobStatus"] == request["StatusEquals"]
        ]
        return {"TransformJobSummaries": summaries}

    def _job(self, name: str) -> dict[str, Any]:
        job = self.jobs.get(name)
        if job is None:
            raise validation_exception(f"Could not find requested job with name {name}")
        return job

    @staticmethod
    def _enum(value: Any, allowed: tuple[str, ...], label: str) -> None:
        if value is not None and value not in allowed:
            raise validation_exception(
                f"Value '{value}' at '{label}' failed to satisfy constraint: Member must satisfy enum value set: "
                f"[{', '.join(allowed)}]"
            )

    def _inputs(self, data_type: str, uri: str) -> list[tuple[str, str, str]]:
        """(bucket, key, relative name) of every input object, as the job will read them."""
        s3 = self.client("s3")
        bucket, key = split_s3(uri)
        if data_type == "ManifestFile":
            try:
                manifest = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
                prefix = manifest[0]["prefix"]
                entries = [str(entry) for entry in manifest[1:]]
            except ClientError as exc:
                raise validation_exception(f"Could not read the manifest file {uri}: {exc}") from exc
            except (ValueError, KeyError, IndexError, TypeError) as exc:
                raise validation_exception(f"The manifest file {uri} is malformed: {exc!r}") from exc
            base_bucket, base_key = split_s3(prefix)
            return [(base_bucket, base_key + entry, entry) for entry in entries]
        directory = key.rsplit("/", 1)[0] + "/" if "/" in key else ""
        found: list[tuple[str, str, str]] = []
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=key):
            for item in page.get("Contents", []):
                if not item["Key"].endswith("/"):
                    found.append((bucket, item["Key"], item["Key"][len(directory) :]))
        if not found:
            raise validation_exception(
                f'No S3 objects found under S3 URL "{uri}" given in input data source. Please ensure that the '
                f"bucket exists in the selected region ({self.region}), that objects exist under that S3 prefix, "
                'and that the role has "s3:ListBucket" permissions on the bucket.'
            )
        return found

    # ------------------------------------------------------------ transform execution

    def _run_job(self, name: str, inputs: list[tuple[str, str, str]]) -> None:
        """Every input object in turn, as SageMaker does: an object that cannot be read or that the
        model refuses fails the whole job with that object's reason (the first one), yet the job goes
        on with the other objects and writes each output it completes ("a transform job continues to
        process input files even if it fails to process one"); a failed object gets no output."""
        job = self.jobs[name]
        while not self.transforms_running.wait(0.1):
            if self.job_stop[name].is_set() or self.stopping.is_set():
                break
        with self.job_slots:
            with self.lock:
                job["TransformStartTime"] = self.clock.now()
            failure: str | None = None
            for bucket, key, relative in inputs:
                if self.job_stop[name].is_set():
                    break
                try:
                    self._transform_object(job, bucket, key, relative)
                except _ObjectFailed as exc:
                    failure = failure or str(exc)
                except Exception as exc:  # noqa: BLE001 - the job fails with the reason, as SageMaker's would
                    traceback.print_exc()
                    failure = failure or f"InternalServerError: {exc}"
            with self.lock:
                if self.job_stop[name].is_set():
                    job["TransformJobStatus"] = "Stopped"
                elif failure:
                    job["TransformJobStatus"] = "Failed"
                    job["FailureReason"] = failure[:1024]
                else:
                    job["TransformJobStatus"] = "Completed"
                job["TransformEndTime"] = self.clock.now()
        self._emit(job)
        self._log("TransformJob", job=name, status=job["TransformJobStatus"], reason=job.get("FailureReason"))

    def _transform_object(self, job: dict[str, Any], bucket: str, key: str, relative: str) -> None:
        s3 = self.client("s3")
        uri = f"s3://{bucket}/{key}"
        try:
            data = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        except ClientError as exc:
            raise _ObjectFailed(f"ClientError: Could not read {uri}. See job logs for more information.") from exc
        transform_input = job.get("TransformInput", {})
        output = job.get("TransformOutput", {})
        split = transform_input.get("SplitType", "None")
        max_payload = int(job.get("MaxPayloadInMB", 6)) * MB or 6 * MB
        lines = data.decode("utf-8", "replace").splitlines() if split == "Line" else []
        if split == "Line":
            if job.get("BatchStrategy") == "SingleRecord":
                payloads = [(line + "\n").encode() for line in lines if line.strip()]
            else:
                payloads = self._pack([line for line in lines if line.strip()], max_payload)
        else:
            payloads = [data]
        outputs: list[bytes] = []
        for payload in payloads:
            if len(payload) > max_payload:
                raise _ObjectFailed(
                    f"ClientError: A record of {uri} is larger than MaxPayloadInMB. See job logs for more information."
                )
            outputs.append(
                self._invoke_for_job(job, payload, transform_input.get("ContentType"), output.get("Accept"), uri)
            )
        if output.get("AssembleWith") == "Line":
            body = b"".join(chunk if chunk.endswith(b"\n") else chunk + b"\n" for chunk in outputs)
        else:
            body = b"".join(outputs)
        if job.get("DataProcessing", {}).get("JoinSource") == "Input" and split == "Line":
            predictions = body.decode().splitlines()
            rows = [line for line in lines if line.strip()]
            if len(predictions) != len(rows):
                raise _ObjectFailed(
                    f"ClientError: {uri}: cannot join {len(predictions)} predictions to {len(rows)} rows"
                )
            body = "".join(f"{row},{prediction}\n" for row, prediction in zip(rows, predictions, strict=True)).encode()
        out_bucket, out_prefix = split_s3(output["S3OutputPath"])
        out_key = (out_prefix.rstrip("/") + "/" if out_prefix else "") + relative + ".out"
        s3.put_object(Bucket=out_bucket, Key=out_key, Body=body)

    @staticmethod
    def _pack(lines: list[str], limit: int) -> list[bytes]:
        payloads: list[bytes] = []
        current: list[bytes] = []
        size = 0
        for line in lines:
            encoded = (line + "\n").encode()
            if current and size + len(encoded) > limit:
                payloads.append(b"".join(current))
                current, size = [], 0
            current.append(encoded)
            size += len(encoded)
        if current:
            payloads.append(b"".join(current))
        return payloads

    def _invoke_for_job(
        self, job: dict[str, Any], payload: bytes, content_type: str | None, accept: str | None, uri: str
    ) -> bytes:
        client_config = job.get("ModelClientConfig", {})
        retries = int(client_config.get("InvocationsMaxRetries", 3))
        timeout = float(client_config.get("InvocationsTimeoutInSeconds", 600))
        url = self.models.get(job["ModelName"], self.model_url)
        last = ""
        for _attempt in range(retries + 1):
            try:
                response = call_model(url, payload, content_type, accept, timeout)
            except OSError as exc:
                last = f"ModelError: The model did not respond for {uri} ({exc}). See job logs for more information."
                continue
            if response.status < 300:
                return response.body
            if response.status < 500:
                raise _ObjectFailed(
                    f"ClientError: Received client error ({response.status}) from model for {uri}: "
                    f"{response.body.decode('utf-8', 'replace')[:300]}. See job logs for more information."
                )
            last = (
                f"ServerError: Received server error ({response.status}) from model for {uri}. "
                "See job logs for more information."
            )
        raise _ObjectFailed(last)

    def _emit(self, job: dict[str, Any]) -> None:
        """A §6.3 "SageMaker Transform Job State Change" event, put on the default bus."""
        with self.lock:
            detail: dict[str, Any] = {
                "TransformJobName": job["TransformJobName"],
                "TransformJobArn": job["TransformJobArn"],
                "TransformJobStatus": job["TransformJobStatus"],
            }
            if "FailureReason" in job:
                detail["FailureReason"] = job["FailureReason"]
            for key in (
                "ModelName",
                "MaxConcurrentTransforms",
                "MaxPayloadInMB",
                "BatchStrategy",
                "Environment",
                "TransformInput",
                "TransformOutput",
                "TransformResources",
                "DataProcessing",
                "ModelClientConfig",
            ):
                if key in job:
                    detail[key] = job[key]
            for key in ("CreationTime", "TransformStartTime", "TransformEndTime"):
                if job.get(key) is not None:
                    detail[key] = iso_ms(job[key])
            detail["Tags"] = dict(job.get("Tags", {}))
        entry = {
            "Time": self.clock.now(),
            "Source": "aws.sagemaker",
            "Resources": [job["TransformJobArn"]],
            "DetailType": DETAIL_TYPE,
            "Detail": json.dumps(detail),
        }
        response = self.client("events").put_events(Entries=[entry])
        if response.get("FailedEntryCount"):
            print(f"standin: put_events failed: {response}", file=sys.stderr)
        self._log("TransformJobEvent", job=job["TransformJobName"], status=detail["TransformJobStatus"], detail=detail)


class _ObjectFailed(Exception):
    """One input object could not be transformed; the job fails with this reason."""


# ---------------------------------------------------------------- HTTP


_ASYNC_PATH = re.compile(r"^/endpoints/([^/]+)/async-invocations$")
_REALTIME_PATH = re.compile(r"^/endpoints/([^/]+)/invocations$")


class StandInHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: StandInServer

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.verbose:
            sys.stderr.write("standin: " + format % args + "\n")

    def _send(self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _error(self, error: ApiError, json_protocol: bool) -> None:
        if json_protocol:
            payload = {"__type": error.code, "Message": error.message, **error.extra}
            self._send(error.status, json.dumps(payload).encode(), "application/x-amz-json-1.1")
        else:
            payload = {"Message": error.message, **error.extra}
            self._send(error.status, json.dumps(payload).encode(), "application/json", {"x-amzn-ErrorType": error.code})

    def do_GET(self) -> None:
        standin = self.server.standin
        if self.path == "/_local/health":
            self._send(200, b'{"ok": true}', "application/json")
        elif self.path == "/_local/history":
            with standin.lock:
                body = json.dumps(standin.history, default=str).encode()
            self._send(200, body, "application/json")
        elif self.path == "/_local/endpoints":
            self._send(200, json.dumps(standin.capacities()).encode(), "application/json")
        elif self.path == "/_local/notifications/drop":
            with standin.lock:
                body = json.dumps([rule.describe() for rule in standin.drops]).encode()
            self._send(200, body, "application/json")
        else:
            self._send(404, b'{"Message": "not found"}', "application/json")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        # http.server reads header bytes as Latin-1; botocore sends UTF-8 (e.g. an InputLocation with é).
        headers = {k.lower(): _utf8(v) for k, v in self.headers.items()}
        target = headers.get("x-amz-target", "")
        json_protocol = target.startswith("SageMaker.")
        try:
            if json_protocol:
                result = self.server.standin.control(target.split(".", 1)[1], json.loads(body or b"{}"))
                self._send(200, json.dumps(result, default=str).encode(), "application/x-amz-json-1.1")
            elif match := _ASYNC_PATH.match(urllib.parse.unquote(self.path)):
                result, extra = self.server.standin.invoke_async(match.group(1), headers)
                self._send(202, json.dumps(result).encode(), "application/json", extra)
            elif match := _REALTIME_PATH.match(urllib.parse.unquote(self.path)):
                response, extra = self.server.standin.invoke(match.group(1), body, headers)
                self._send(200, response.body, response.content_type or "application/octet-stream", extra)
            elif self.path.startswith("/_local/"):
                self._control(self.path, json.loads(body or b"{}"))
            else:
                raise ApiError(404, "UnknownOperationException", f"{self.path} is not served by the stand-in")
        except ApiError as error:
            self._error(error, json_protocol)
        except Exception as exc:  # noqa: BLE001 - answered as the service's InternalFailure
            traceback.print_exc()
            self._error(ApiError(500, "InternalFailure", str(exc)), json_protocol)

    def _control(self, path: str, request: dict[str, Any]) -> None:
        standin = self.server.standin
        if match := re.match(r"^/_local/endpoints/([^/]+)/(pause|resume)$", path):
            # Capacity: a paused endpoint keeps requests queued, as one scaled to zero does.
            endpoint = standin._endpoint(match.group(1))
            with standin.lock:
                endpoint.paused = match.group(2) == "pause"
                standin.lock.notify_all()
        elif match := re.match(r"^/_local/transform/(pause|resume)$", path):
            # Transform jobs: paused, new and waiting jobs stay InProgress without processing anything.
            if match.group(1) == "pause":
                standin.transforms_running.clear()
            else:
                standin.transforms_running.set()
        elif path == "/_local/notifications/drop":
            # Lose the next matching notification(s) (see DropRule); the result object is still written.
            rule = DropRule.parse(request)
            with standin.lock:
                standin.drops.append(rule)
        elif path == "/_local/notifications/reset":
            with standin.lock:
                standin.drops.clear()
        elif match := re.match(r"^/_local/endpoints/([^/]+)/age$", path):
            # Age the requests queued now by ``seconds``, as if they had waited that long.
            endpoint = standin._endpoint(match.group(1))
            with standin.lock:
                for queued in endpoint.queue:
                    queued.aged_seconds += float(request.get("seconds", 0))
        else:
            raise ApiError(404, "UnknownOperationException", f"{path} is not a stand-in control")
        self._send(200, b'{"ok": true}', "application/json")


def _capacity(spec: dict[str, Any] | None) -> Capacity | None:
    """An endpoint's instances from its stand-in config (local/endpoints.py writes it), or None."""
    if not spec:
        return None
    return Capacity(
        variant=spec.get("variant", "AllTraffic"),
        instances=int(spec["initial"]),
        per_instance=int(spec.get("per_instance", 1)),
        startup_seconds=float(spec.get("startup_seconds", 0)),
        min_capacity=int(spec.get("min", 0)),
        max_capacity=int(spec.get("max", 1)),
        since=time.monotonic(),
    )


def _utf8(value: str) -> str:
    try:
        return value.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return value


class StandInServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port: int, standin: StandIn, verbose: bool = False) -> None:
        super().__init__((HOST, port), StandInHandler)
        self.standin = standin
        self.verbose = verbose


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="SageMaker stand-in for the local stack")
    parser.add_argument("--config", required=True, help="JSON: region, account_id, aws_endpoint, model_url, endpoints")
    parser.add_argument("--port", type=int, default=4567)
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args(argv)
    check_port_free(args.port, "LOCAL_SAGEMAKER_PORT")
    with open(args.config, encoding="utf-8") as handle:
        config = json.load(handle)
    server = StandInServer(args.port, StandIn(config), args.verbose)
    print(f"SageMaker stand-in listening on http://{HOST}:{args.port}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
