"""Asynchronous endpoints: ``InvokeEndpointAsync`` and what follows it.

Asynchronous requests queue and run in the background: the input is read from (moto's) S3, the
model is called over SageMaker's container contract, the output (or failure) object is written at
the endpoint config's S3OutputPath (S3FailurePath), and the notification (docs/architecture.md §7.2) is published to the
configured topic; a request whose RequestTTLSeconds passes while queued ends ``Expired``. A fault
switch (``DropRule``) loses chosen notifications.

An endpoint created from the template has instances (local/scaling/endpoint_capacity.py): at zero, requests wait
in its queue (and expire by their TTL); each instance processes MaxConcurrentInvocationsPerInstance at a
time and serves only after a start-up delay. The stand-in publishes the endpoint's AWS/SageMaker metrics
(ApproximateBacklogSize, ApproximateBacklogSizePerInstance, HasBacklogWithoutCapacity,
ApproximateAgeOfOldestRequest) to CloudWatch, where the trigger runner's autoscaler reads them.
"""

from __future__ import annotations

import collections
import contextlib
import json
import re
import threading
import time
import traceback
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from local.scaling.endpoint_capacity import Capacity
from local.standin.core import S3_URI, StandInCore, iso_ms, join_s3, split_s3
from local.standin.errors import ApiError, validation_error

INFERENCE_ID = re.compile(r"^\S[\x20-\x7e]*$")


@dataclass
class AsyncRequest:
    inference_id: str
    endpoint_name: str
    input_location: str
    content_type: str | None
    accept: str | None
    custom_attributes: str | None
    request_ttl_seconds: int
    invocation_timeout_seconds: int
    received: datetime
    output_location: str
    failure_location: str | None
    aged_seconds: float = 0.0  # added by the tests' /_local/…/age control: time spent "elsewhere"


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


class AsyncEndpoints(StandInCore):
    """The stand-in's asynchronous endpoints (a part of ``StandIn``): their queues and workers."""

    def __init__(self, config: dict[str, Any], **options: Any) -> None:
        super().__init__(config, **options)
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
        self.drops: list[DropRule] = []  # notifications to lose (/_local/notifications/drop)
        # Seconds the answer to an accepted InvokeEndpointAsync takes (a slow or congested SageMaker):
        # above the caller's read timeout, the request is taken and the caller cannot know it.
        self.answer_delay_seconds = float(config.get("answer_delay_seconds", 0))

    def _start_workers(self) -> None:
        """The queue workers, the TTL reaper and the metrics publisher; once the whole stand-in is built."""
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
        token = self.output_name(inference_id)
        failure_location = join_s3(endpoint.failure_path, f"{token}-error.out") if endpoint.failure_path else None
        request = AsyncRequest(
            inference_id=inference_id,
            endpoint_name=name,
            input_location=input_location,
            content_type=headers.get("x-amzn-sagemaker-content-type"),
            accept=headers.get("x-amzn-sagemaker-accept"),
            custom_attributes=headers.get("x-amzn-sagemaker-custom-attributes"),
            request_ttl_seconds=ttl,
            invocation_timeout_seconds=timeout,
            received=self.clock.now(),
            output_location=join_s3(endpoint.output_path, f"{token}.out"),
            failure_location=failure_location,
        )
        with self.lock:
            endpoint.queue.append(request)
            self.lock.notify_all()
        self._log("InvokeEndpointAsync accepted", inferenceId=inference_id, endpoint=name)
        if self.answer_delay_seconds:
            time.sleep(self.answer_delay_seconds)
        response_headers = {"X-Amzn-SageMaker-OutputLocation": request.output_location}
        if failure_location:
            response_headers["X-Amzn-SageMaker-FailureLocation"] = failure_location
        return {"InferenceId": inference_id}, response_headers

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
                self._run(endpoint, request)
            except Exception:  # noqa: BLE001 - a stand-in bug must not kill the worker
                traceback.print_exc()
            finally:
                with self.lock:
                    endpoint.busy -= 1
                    self.lock.notify_all()

    def _run(self, endpoint: Endpoint, request: AsyncRequest) -> None:
        if self._expired(request):
            self._expire(request)
        else:
            self._process(endpoint, request)

    def process_queued(self) -> int:
        """Process every queued request now, in the caller's thread, as the workers would (for a
        stand-in built without them); the number processed."""
        processed = 0
        for endpoint in self.endpoints.values():
            while True:
                with self.lock:
                    if not endpoint.queue:
                        break
                    request = endpoint.queue.popleft()
                self._run(endpoint, request)
                processed += 1
        return processed

    def _metrics(self) -> None:
        """Publish what AWS/SageMaker reports for an async endpoint, per created endpoint
        (docs/architecture.md §7.5)."""
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
        return waited > timedelta(seconds=request.request_ttl_seconds)

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
            result = self.model(
                endpoint.model_url, body, request.content_type, request.accept, request.invocation_timeout_seconds
            )
        except OSError as exc:
            seconds = request.invocation_timeout_seconds
            reason = f"ModelError: Model did not respond within the invocation timeout ({seconds} s): {exc}"
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
        """Publish the notification (docs/architecture.md §7.2): the same fields, in the same order, as SageMaker's."""
        endpoint = self.endpoints[request.endpoint_name]
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
        parameters["endpointName"] = request.endpoint_name
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
            endpoint=request.endpoint_name,
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


def _capacity(spec: dict[str, Any] | None) -> Capacity | None:
    """An endpoint's instances from its stand-in config (local/scaling/created_endpoints.py writes it), or None."""
    if not spec:
        return None
    return Capacity(
        variant=spec.get("variant", "AllTraffic"),
        instances=int(spec["initial"]),
        per_instance=int(spec.get("per_instance", 1)),
        startup_seconds=float(spec.get("startup_seconds", 0)),
        max_capacity=int(spec.get("max", 1)),
        since=time.monotonic(),
    )
