"""A transform job's state change, as the batch-result function reads it (docs/architecture.md §7.3):
the event's fields, which job of this stack it names, and the event rebuilt from ``DescribeTransformJob``
for a job whose event was lost. Pure: the batch-result workflow and the failed-night follow-up share it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from orchestrator.aws.transform_jobs import manifest_of
from orchestrator.core import timestamps
from orchestrator.core.status import Status
from orchestrator.errors import BadEventError

DETAIL_TYPE = "SageMaker Transform Job State Change"
# TransformJobStatus → the tracker status of every file of the job.
OUTCOMES = {"Completed": Status.SUCCEEDED, "Failed": Status.FAILED, "Stopped": Status.STOPPED}
_REQUEST_ID_HEX = frozenset("0123456789abcdef")

Pair = tuple[dict[str, Any], int]  # a tracker item of a nightly job and its sequence in that job


@dataclass(frozen=True)
class StateChange:
    """A transform job's state-change event, the parts the product reads."""

    job_name: str
    status: str  # TransformJobStatus: InProgress | Completed | Failed | Stopping | Stopped
    failure_reason: str | None
    output_path: str | None
    manifest_uri: str | None
    created: str | None  # ISO-8601, whatever form the event used
    started: str | None
    ended: str | None
    event_time: str
    # The job's parameters as the event (or DescribeTransformJob, for the sweeper) carries them: a
    # retry job repeats them.
    detail: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


def _stamp(value: Any, field: str) -> str | None:
    if value is None or value == "":
        return None
    try:
        return timestamps.iso(timestamps.parse(value))
    except (TypeError, ValueError) as exc:
        raise BadEventError(f"{field} {value!r} is neither ISO-8601 nor epoch milliseconds") from exc


def parse_state_change(event: Any) -> StateChange:
    """The fields the product uses; ``BadEventError`` says what is missing."""
    detail = event.get("detail") if isinstance(event, dict) else None
    if not isinstance(detail, dict):
        raise BadEventError("event has no 'detail' object", {"detail-type": _detail_type(event)})
    name, status = detail.get("TransformJobName"), detail.get("TransformJobStatus")
    if not isinstance(name, str) or not name or not isinstance(status, str) or not status:
        raise BadEventError(
            "transform state change without TransformJobName and TransformJobStatus", {"fields": sorted(detail)}
        )
    event_time = _stamp(event.get("time"), "time") or timestamps.iso(timestamps.now())
    return StateChange(
        job_name=name,
        status=status,
        failure_reason=detail.get("FailureReason") or None,
        output_path=(detail.get("TransformOutput") or {}).get("S3OutputPath"),
        manifest_uri=manifest_of(detail),
        created=_stamp(detail.get("CreationTime"), "CreationTime"),
        started=_stamp(detail.get("TransformStartTime"), "TransformStartTime"),
        ended=_stamp(detail.get("TransformEndTime"), "TransformEndTime"),
        event_time=event_time,
        detail=detail,
    )


def _detail_type(event: Any) -> Any:
    return event.get("detail-type") if isinstance(event, dict) else None


def request_of(job_name: str, prefix: str) -> str | None:
    """The request id a per-file job is named from (``<prefix>-<32 hex>``), else None."""
    rest = job_name.removeprefix(f"{prefix}-")
    if rest != job_name and len(rest) == 32 and set(rest) <= _REQUEST_ID_HEX:
        return rest
    return None


def is_nightly(job_name: str, prefix: str) -> bool:
    return job_name.startswith(f"{prefix}-nightly-")


def belongs(item: dict[str, Any], job_name: str) -> bool:
    """The file is this job's: it names the job, or no job yet (marking not done, confirm not done)."""
    return item.get("job_name") in (None, job_name)


def failure_reason(change: StateChange, status: Status) -> str:
    if change.failure_reason:
        return change.failure_reason
    if status is Status.STOPPED:
        return f"transform job {change.job_name} was stopped"
    return f"transform job {change.job_name} failed without a reason"


def state_change_event(description: dict[str, Any], moment: datetime, resolved_by: str = "sweeper") -> dict[str, Any]:
    """The EventBridge event SageMaker would have sent, from ``DescribeTransformJob`` (the event's
    ``detail`` carries the same fields)."""
    detail = {k: _plain(v) for k, v in description.items() if k not in ("ResponseMetadata", "_swept")}
    return {
        "version": "0",
        "source": "aws.sagemaker",
        "detail-type": DETAIL_TYPE,
        "time": timestamps.iso(moment),
        "resolvedBy": resolved_by,
        "detail": detail,
    }


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return timestamps.iso(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value
