"""Transform jobs: ``CreateTransformJob``, ``DescribeTransformJob``, ``StopTransformJob``,
``ListTransformJobs``, running them, and their state-change events.

Transform jobs read ``S3Prefix`` or ``ManifestFile`` input, split it by line, write
``<S3OutputPath>/<relative key>.out``, fail if one object fails, and emit state-change events
(docs/architecture.md §7.3) through EventBridge.

In the local stack each job runs on a thread of its own once created. In process (``StandIn(...,
workers=False)``, tests/support/sagemaker.py) a job stays ``InProgress`` until the caller runs it
(``run_transform_job``, in the caller's thread) or ends it as it chooses (``end_transform_job``), so a
test decides when, in which order and how each job ends.
"""

from __future__ import annotations

import json
import re
import sys
import threading
import traceback
import uuid
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from local.standin.core import MB, S3_URI, StandInCore, iso_ms, split_s3
from local.standin.errors import ApiError, validation_exception

JOB_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
MODEL_NAME = re.compile(r"^[a-zA-Z0-9]([\-a-zA-Z0-9]*[a-zA-Z0-9])?$")
TERMINAL = ("Completed", "Failed", "Stopped")
DETAIL_TYPE = "SageMaker Transform Job State Change"


class TransformJobs(StandInCore):
    """The stand-in's transform jobs (a part of ``StandIn``)."""

    def __init__(self, config: dict[str, Any], **options: Any) -> None:
        super().__init__(config, **options)
        self.models: dict[str, str] = config.get("models", {})  # transform jobs: ModelName → URL ({} = any)
        self.jobs: dict[str, dict[str, Any]] = {}
        self.job_stop: dict[str, threading.Event] = {}
        self.job_slots = threading.Semaphore(int(config.get("transform_concurrency", 2)))
        # Cleared by the tests' /_local/transform/pause: jobs then wait before their first object, as real
        # ones do for minutes while their instances start (so a test can let the caller finish first).
        self.transforms_running = threading.Event()
        self.transforms_running.set()
        self.job_threads = True  # False: a created job waits for run_transform_job (StandIn(workers=False))
        # True plays a job that stops at its first failed object (an instance lost mid-way): the objects
        # after it get no output. SageMaker's default goes on with the other objects.
        self.stop_at_first_failure = False
        self.job_inputs: dict[str, list[tuple[str, str, str]]] = {}

    # ------------------------------------------------------------ control plane (JSON 1.1)

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
        with self.lock:
            if name in self.jobs:
                raise ApiError(
                    400,
                    "ResourceInUse",
                    f"Job name must be unique within an AWS account and region, and a job with this name already "
                    f"exists ({self.jobs[name]['TransformJobArn']})",
                )
            job = self._record(request, "InProgress")
            self.job_inputs[name] = inputs
        self._emit(job)
        if self.job_threads:
            threading.Thread(target=self._run_job, args=(name, inputs), name=f"job-{name}", daemon=True).start()
        return {"TransformJobArn": job["TransformJobArn"]}

    def add_transform_job(self, request: dict[str, Any], status: str = "InProgress") -> None:
        """A job that exists already (started before this stand-in, or by another stack): recorded as
        given, unchecked, without an event; it never runs."""
        with self.lock:
            self._record(request, status)

    def _record(self, request: dict[str, Any], status: str) -> dict[str, Any]:
        """The job as DescribeTransformJob and the events show it; the caller holds the lock."""
        request = json.loads(json.dumps(request))
        request["TransformInput"].setdefault("CompressionType", "None")
        request["TransformInput"].setdefault("SplitType", "None")
        name = request["TransformJobName"]
        job = {
            # The defaults SageMaker fills in, as DescribeTransformJob and the events show them.
            "MaxConcurrentTransforms": 1,
            "MaxPayloadInMB": 6,
            "Environment": {},
            **{k: v for k, v in request.items() if k not in ("Tags",)},
            "TransformJobArn": f"arn:aws:sagemaker:{self.region}:{self.account_id}:transform-job/{name.lower()}",
            "TransformJobStatus": status,
            "CreationTime": self.clock.now(),
            "Tags": {tag["Key"]: tag["Value"] for tag in request.get("Tags", [])},
        }
        self.jobs[name] = job
        self.job_stop[name] = threading.Event()
        return job

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

    def run_transform_job(self, name: str) -> str:
        """Run job ``name`` now, in the caller's thread, as its own thread would; its final status."""
        self._run_job(name, self.job_inputs[name])
        return str(self.jobs[name]["TransformJobStatus"])

    def end_transform_job(self, name: str, status: str, reason: str | None = None) -> None:
        """End job ``name`` with ``status`` (and ``reason``) without running it, and emit its event."""
        job = self._job(name)
        with self.lock:
            job["TransformJobStatus"] = status
            if reason:
                job["FailureReason"] = reason[:1024]
            job["TransformEndTime"] = self.clock.now()
        self._emit(job)

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
                if failure and self.stop_at_first_failure:
                    break
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
                response = self.model(url, payload, content_type, accept, timeout)
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

    def state_change_event(self, name: str) -> dict[str, Any]:
        """Job ``name``'s "SageMaker Transform Job State Change" event as it stands now, as EventBridge
        delivers it to a rule's target (what the batch-result function receives)."""
        job = self._job(name)
        return {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": DETAIL_TYPE,
            "source": "aws.sagemaker",
            "account": self.account_id,
            "time": self.clock.now().strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": self.region,
            "resources": [job["TransformJobArn"]],
            "detail": self._detail(job),
        }

    def _detail(self, job: dict[str, Any]) -> dict[str, Any]:
        """The event's ``detail`` (docs/architecture.md §7.3): the job as DescribeTransformJob shows it."""
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
        return detail

    def _emit(self, job: dict[str, Any]) -> None:
        """The job's state-change event, put on the default bus."""
        detail = self._detail(job)
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
