"""SageMaker batch transform adapter: the CreateTransformJob request (pure) and the two calls the
product makes, with ClientError codes translated at this boundary (docs/architecture.md §3, §7.4).

Job names are derived (from a request id, or from the scheduled date), so ``ResourceInUse`` means
"this job was already started": the existing job is described and returned, never a second one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from orchestrator.errors import InvocationRejectedError, RetryableError
from orchestrator.settings import TransformSettings

# The request itself is wrong (bad option, unknown model): retrying it cannot help.
_REJECTED = frozenset({"ValidationException", "ValidationError", "ResourceNotFound"})
# DescribeTransformJob on a name that was never used (SageMaker answers ValidationException;
# the API model declares ResourceNotFound).
_NOT_FOUND = frozenset({"ValidationException", "ValidationError", "ResourceNotFound"})
# TransformJobStatus values after which nothing more happens to a job.
FINISHED = frozenset({"Completed", "Failed", "Stopped"})


def job_request(
    settings: TransformSettings, *, name: str, manifest_uri: str, output_path: str, content_type: str | None
) -> dict[str, Any]:
    """The CreateTransformJob parameters for a job reading ``manifest_uri``."""
    transform_input: dict[str, Any] = {
        "DataSource": {"S3DataSource": {"S3DataType": "ManifestFile", "S3Uri": manifest_uri}},
        "SplitType": settings.split_type,
    }
    if content_type:
        transform_input["ContentType"] = content_type
    transform_output: dict[str, Any] = {"S3OutputPath": output_path, "AssembleWith": settings.assemble_with}
    if settings.accept:
        transform_output["Accept"] = settings.accept
    request: dict[str, Any] = {
        "TransformJobName": name,
        "ModelName": settings.model_name,
        "MaxConcurrentTransforms": settings.max_concurrent_transforms,
        "MaxPayloadInMB": settings.max_payload_mb,
        "TransformInput": transform_input,
        "TransformOutput": transform_output,
        "TransformResources": {"InstanceType": settings.instance_type, "InstanceCount": settings.instance_count},
    }
    if settings.batch_strategy:
        request["BatchStrategy"] = settings.batch_strategy
    processing = {
        name: value
        for name, value in (
            ("InputFilter", settings.input_filter),
            ("OutputFilter", settings.output_filter),
            ("JoinSource", settings.join_source if settings.join_source != "None" else None),
        )
        if value
    }
    if processing:
        request["DataProcessing"] = processing
    return request


# DescribeTransformJob fields that are CreateTransformJob parameters: a retry job repeats them.
_REPEATED = (
    "ModelName",
    "MaxConcurrentTransforms",
    "ModelClientConfig",
    "MaxPayloadInMB",
    "BatchStrategy",
    "Environment",
    "TransformInput",
    "TransformOutput",
    "DataCaptureConfig",
    "TransformResources",
    "DataProcessing",
    "ExperimentConfig",
)


def retry_request(described: dict[str, Any], *, name: str, manifest_uri: str, output_path: str) -> dict[str, Any]:
    """A job like the ``described`` one (same model, options and resources) over another manifest,
    writing to ``output_path``: a retry of part of its files runs exactly as the job itself did."""
    request: dict[str, Any] = {key: described[key] for key in _REPEATED if described.get(key) not in (None, {}, "")}
    transform_input = dict(request.get("TransformInput") or {})
    transform_input["DataSource"] = {"S3DataSource": {"S3DataType": "ManifestFile", "S3Uri": manifest_uri}}
    transform_output = dict(request.get("TransformOutput") or {})
    transform_output["S3OutputPath"] = output_path
    request.update(TransformJobName=name, TransformInput=transform_input, TransformOutput=transform_output)
    return request


def payload_problem(settings: TransformSettings, size: int) -> str | None:
    """Why one unsplit file of ``size`` bytes would fail its job, or None.

    Without a SplitType, SageMaker sends each file as one request, which may not exceed
    MaxPayloadInMB (0 means no limit: the container streams).
    """
    limit = settings.max_payload_mb * 1024 * 1024
    if settings.split_type == "None" and settings.max_payload_mb and size > limit:
        return (
            f"{size} B exceeds MaxPayloadInMB ({settings.max_payload_mb} MB) and TransformSplitType is None: "
            "SageMaker would send the whole file as one request; set TransformSplitType (e.g. Line)"
        )
    return None


def manifest_of(description: dict[str, Any]) -> str | None:
    """The manifest URI a described (or state-change) job reads, if it reads one."""
    source = description.get("TransformInput", {}).get("DataSource", {}).get("S3DataSource", {})
    return source.get("S3Uri") if source.get("S3DataType") == "ManifestFile" else None


@dataclass(frozen=True)
class JobStarted:
    """A transform job after CreateTransformJob: created here, or the one already holding the name."""

    name: str
    created: bool  # False: the name was taken (ResourceInUse) and the existing job is returned
    status: str  # TransformJobStatus ("InProgress" for a job just created)
    manifest_uri: str | None  # what the job reads: ours, or the existing job's own manifest


class TransformJobs:
    def __init__(self, client: Any) -> None:
        self._client = client

    def start(self, request: dict[str, Any]) -> JobStarted:
        name = request["TransformJobName"]
        manifest = request["TransformInput"]["DataSource"]["S3DataSource"]["S3Uri"]
        try:
            self._client.create_transform_job(**request)
        except ClientError as exc:
            if _code(exc) != "ResourceInUse":
                raise job_error(exc, name) from exc
            existing = self.describe(name)
            if existing is None:  # pragma: no cover - SageMaker said in use, then not found
                raise RetryableError(f"transform job {name} is in use but cannot be described", {"job": name}) from exc
            return JobStarted(name, False, existing["TransformJobStatus"], manifest_of(existing))
        except BotoCoreError as exc:
            raise RetryableError(f"CreateTransformJob did not complete: {exc}", {"job": name}) from exc
        return JobStarted(name, True, "InProgress", manifest)

    def describe(self, name: str) -> dict[str, Any] | None:
        """The job, or None if no job has this name."""
        try:
            return dict(self._client.describe_transform_job(TransformJobName=name))
        except ClientError as exc:
            if _code(exc) in _NOT_FOUND:
                return None
            raise job_error(exc, name) from exc
        except BotoCoreError as exc:
            raise RetryableError(f"DescribeTransformJob did not complete: {exc}", {"job": name}) from exc


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def job_error(exc: ClientError, job_name: str) -> Exception:
    error = exc.response.get("Error", {})
    code = _code(exc)
    details = {"code": code, "job": job_name}
    if code in _REJECTED:
        return InvocationRejectedError(f"SageMaker rejected the transform job: {error.get('Message', code)}", details)
    # ThrottlingException, ResourceLimitExceeded (the account's job or instance quota), 5xx and
    # anything unexpected: the work is retried later (the record goes back to its queue).
    return RetryableError(f"SageMaker transform call failed: {code}", details)
