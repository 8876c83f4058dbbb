"""SageMaker batch transform as the product sees it, where moto 5.2.5 differs from SageMaker.

moto accepts a second CreateTransformJob with a name already used (SageMaker answers
``ResourceInUse``), marks every job ``Completed`` at once, and emits no EventBridge state-change
event. This stand-in answers CreateTransformJob and DescribeTransformJob over HTTP (through the
:class:`~tests.support.hooks.Interceptor`, so botocore's serialisation, retries and parsing stay
real), keeps jobs ``InProgress`` until a test finishes them, and builds the state-change event a
job would emit from the samples in ``events/``.

A test may also *run* a job (:meth:`TransformStandIn.run`) as SageMaker does: each object of the
manifest is read and scored in order, its output written to ``<S3OutputPath>/<key>.out``; an object
that cannot be read or that the model refuses (a "malformed" file) fails the whole job with that
object's reason, and SageMaker keeps going with the other objects (their outputs are written: "When
your dataset has multiple input files, a transform job continues to process input files even if it
fails to process one"). ``abort_on_failure`` plays a job that stops at its first failure instead
(an instance lost mid-way): the objects after it get no output.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from botocore.awsrequest import AWSPreparedRequest, AWSResponse
from botocore.exceptions import ClientError

from tests.support.events import load_event
from tests.support.hooks import Interceptor, error_response, response

REGION = "us-east-1"
ACCOUNT = "123456789012"
_JSON = {"Content-Type": "application/x-amz-json-1.1"}


@dataclass
class Job:
    request: dict[str, Any]  # the CreateTransformJob parameters, as SageMaker received them
    status: str = "InProgress"
    failure_reason: str | None = None
    created: datetime = field(default_factory=lambda: datetime.now(UTC))

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
        described = {
            **self.request,
            "TransformJobArn": arn(self.name),
            "TransformJobStatus": self.status,
            "CreationTime": self.created.timestamp(),  # JSON protocol: epoch seconds
        }
        if self.failure_reason:
            described["FailureReason"] = self.failure_reason
        return described


def arn(name: str) -> str:
    # SageMaker lowercases the resource part of its ARNs.
    return f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:transform-job/{name.lower()}"


def malformed(body: bytes) -> bool:
    """What the stand-in's model refuses (a client error, 400): a file saying it is malformed."""
    return b"malformed" in body


class TransformStandIn:
    def __init__(
        self, s3: Any = None, *, bad: Callable[[bytes], bool] = malformed, abort_on_failure: bool = False
    ) -> None:
        self.jobs: dict[str, Job] = {}
        self.create_attempts = 0  # CreateTransformJob calls that reached SageMaker, accepted or not
        self.s3 = s3  # the test's own client (not counted): reads inputs and manifests, writes outputs
        self.bad = bad
        self.abort_on_failure = abort_on_failure
        # Called once a job is created, before CreateTransformJob answers: lets a test finish the job
        # "before" the caller marks its files (a job failing within seconds).
        self.on_create: Callable[[Job], None] | None = None

    def attach(self, interceptor: Interceptor) -> TransformStandIn:
        interceptor.respond("sagemaker.CreateTransformJob", self._create)
        interceptor.respond("sagemaker.DescribeTransformJob", self._describe)
        return self

    def add(self, request: dict[str, Any], status: str = "InProgress") -> Job:
        """A job that exists already (started by an earlier run, or by someone else)."""
        job = Job(request, status)
        self.jobs[job.name] = job
        return job

    def finish(self, name: str, status: str, reason: str | None = None) -> dict[str, Any]:
        """End job ``name`` and return the state-change event SageMaker sends for it."""
        job = self.jobs[name]
        job.status, job.failure_reason = status, reason
        return self.event(name)

    def run(self, name: str) -> dict[str, Any]:
        """Run job ``name`` as SageMaker would (see the module docstring); returns its state-change event."""
        assert self.s3 is not None, "TransformStandIn(s3=...) is needed to run jobs"
        job = self.jobs[name]
        entries = read_manifest(self.s3, job.manifest_uri)
        base = entries[0]["prefix"]
        failure: str | None = None
        for relative in entries[1:]:
            uri = f"{base}{relative}"
            bucket, _, key = uri.removeprefix("s3://").partition("/")
            try:
                body = self.s3.get_object(Bucket=bucket, Key=key)["Body"].read()
            except ClientError:
                problem = f"ClientError: Could not read {uri}. See job logs for more information."
            else:
                problem = (
                    f"ClientError: Received client error (400) from model for {uri}: malformed input. "
                    "See job logs for more information."
                    if self.bad(body)
                    else None
                )
            if problem is None:
                out_bucket, _, out_key = f"{job.output_path.rstrip('/')}/{relative}.out".removeprefix(
                    "s3://"
                ).partition("/")
                self.s3.put_object(Bucket=out_bucket, Key=out_key, Body=b"0.5\n")
                continue
            failure = failure or problem
            if self.abort_on_failure:
                break
        return self.finish(name, "Failed" if failure else "Completed", failure)

    def in_progress(self) -> list[str]:
        """Jobs not finished yet, oldest first."""
        return [name for name, job in self.jobs.items() if job.status == "InProgress"]

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
        job = self.jobs[name]
        sample = {
            "InProgress": "transform-state-inprogress",
            "Completed": "transform-state-completed",
            "Failed": "transform-state-failed",
            "Stopped": "transform-state-stopped",
        }[job.status]
        event = load_event(sample)
        detail = event["detail"]
        detail.pop("FailureReason", None)
        detail.update(
            {
                "TransformJobName": job.name,
                "TransformJobArn": arn(job.name),
                "TransformJobStatus": job.status,
                "TransformInput": job.request["TransformInput"],
                "TransformOutput": job.request["TransformOutput"],
                "ModelName": job.request["ModelName"],
            }
        )
        if job.failure_reason:
            detail["FailureReason"] = job.failure_reason
        event["resources"] = [arn(job.name)]
        return event

    def _create(self, request: AWSPreparedRequest) -> AWSResponse:
        self.create_attempts += 1
        params = json.loads(request.body or b"{}")
        name = params["TransformJobName"]
        if name in self.jobs:
            return error_response(
                request.url,
                400,
                "ResourceInUse",
                f"Job name {name} must be unique within an AWS account and region ({arn(name)} exists)",
            )
        self.jobs[name] = Job(params)
        if self.on_create is not None:
            self.on_create(self.jobs[name])
        return response(request.url, 200, _JSON, json.dumps({"TransformJobArn": arn(name)}).encode())

    def _describe(self, request: AWSPreparedRequest) -> AWSResponse:
        name = json.loads(request.body or b"{}")["TransformJobName"]
        job = self.jobs.get(name)
        if job is None:
            return error_response(
                request.url, 400, "ValidationException", f"Could not find requested job with name {name}"
            )
        return response(request.url, 200, _JSON, json.dumps(job.description()).encode())


# What the template gives the functions when a transform model is configured (README, design reference).
TRANSFORM_ENV = {
    "TRANSFORM_MODEL_NAME": "demo-model",
    "TRANSFORM_JOB_PREFIX": "sio",
    "TRANSFORM_SPLIT_TYPE": "Line",
    "TRANSFORM_ASSEMBLE_WITH": "Line",
    "OUTPUT_PREFIX": "results/",
}


def batch_env(bucket: str) -> dict[str, str]:
    return {**TRANSFORM_ENV, "INPUT_BUCKET": bucket}


def read_manifest(s3: Any, uri: str) -> list[Any]:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return list(json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read()))


def read_text(s3: Any, uri: str) -> str:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return str(s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode())
