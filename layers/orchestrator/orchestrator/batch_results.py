"""The batch-result function's workflow: a "SageMaker Transform Job State Change" event (DESIGN §6.3)
→ one result message per file, in the async-notification shape, and the tracker updated.

Granularity: one message per file, like every other result, so a subscriber parses one schema and
can act on each file. A job's files are read from its roster (``requests.txt`` next to the manifest;
for a per-file job the request id is in the job name), 100 at a time: one BatchGetItem (what is
left to announce), PublishBatch calls of 10, then one conditional write per file, in parallel.
Memory is one chunk, whatever the job's size.

Duplicates: SageMaker may send several events per state change. A file already in a terminal state
(or taken over by a re-run's job) is neither announced nor written again; only two copies of an
event handled at the very same moment can announce a file twice (SNS is at-least-once anyway:
subscribers key on ``inferenceId``). Writes are conditional on the status rank, so the tracker
never moves twice.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from itertools import batched
from typing import Any

from orchestrator import manifest, timeutil
from orchestrator.announce import STATUS_METRIC
from orchestrator.errors import BadEventError, RetryableError
from orchestrator.messages import build_result
from orchestrator.notifications import PUBLISH_BATCH_MAX, Publisher
from orchestrator.observability import Recorder, logger
from orchestrator.routing import Mode
from orchestrator.settings import BatchResultSettings
from orchestrator.status import TERMINAL, Status
from orchestrator.tracker import BATCH_GET_MAX, Tracker
from orchestrator.transform import manifest_of

DETAIL_TYPE = "SageMaker Transform Job State Change"
# TransformJobStatus → the tracker status of every file of the job.
OUTCOMES = {"Completed": Status.SUCCEEDED, "Failed": Status.FAILED, "Stopped": Status.STOPPED}
SAFETY_MARGIN_MS = 60_000
WORKERS = 8
_ITEM_FIELDS = ("status", "job_name", "key", "object_uri", "content_type", "mode")
_REQUEST_ID_HEX = frozenset("0123456789abcdef")
_TERMINAL_VALUES = frozenset(status.value for status in TERMINAL)

RemainingMillis = Callable[[], int]


@dataclass(frozen=True)
class StateChange:
    job_name: str
    status: str  # TransformJobStatus: InProgress | Completed | Failed | Stopping | Stopped
    failure_reason: str | None
    output_path: str | None
    manifest_uri: str | None
    created: str | None  # ISO-8601, whatever form the event used
    started: str | None
    ended: str | None
    event_time: str


def _stamp(value: Any, field: str) -> str | None:
    if value is None or value == "":
        return None
    try:
        return timeutil.iso(timeutil.parse(value))
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
    event_time = _stamp(event.get("time"), "time") or timeutil.iso(timeutil.now())
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


class BatchResults:
    def __init__(
        self,
        settings: BatchResultSettings,
        *,
        tracker: Tracker,
        publisher: Publisher,
        s3: Any,
        region: str,
        recorder: Recorder | None = None,
        workers: int = WORKERS,
    ) -> None:
        self.settings = settings
        self.tracker = tracker
        self.publisher = publisher
        self.s3 = s3
        self.region = region
        self.recorder = recorder or Recorder()
        self.workers = workers

    def handle(self, event: Any, remaining_ms: RemainingMillis | None = None) -> dict[str, Any]:
        change = parse_state_change(event)
        logger.append_keys(job_name=change.job_name)
        prefix = self.settings.job_prefix
        request_id = request_of(change.job_name, prefix)
        if request_id is None and not is_nightly(change.job_name, prefix):
            logger.info("not a job of this stack; ignored")
            return {"jobName": change.job_name, "ignored": True}
        mode = Mode.BATCH if request_id else Mode.NIGHTLY
        if change.status == "InProgress":
            return self._in_progress(change, request_id)
        status = OUTCOMES.get(change.status)
        if status is None:
            logger.info("job state noted", extra={"status": change.status})
            return {"jobName": change.job_name, "status": change.status}
        if request_id is not None:
            request_ids: Iterable[str] = [request_id]
        elif change.manifest_uri:
            request_ids = manifest.read_roster(self.s3, manifest.roster_uri(change.manifest_uri))
        else:
            raise BadEventError("nightly job state change names no manifest", {"job": change.job_name})
        totals = self._announce(change, status, mode, request_ids, remaining_ms)
        self.recorder.timing("ProcessingTime", timeutil.millis_between(change.started, change.ended), mode=mode.value)
        summary = {"jobName": change.job_name, "status": change.status, **totals}
        logger.info("job result recorded", extra=summary)
        return summary

    def _in_progress(self, change: StateChange, request_id: str | None) -> dict[str, Any]:
        """A per-file job's file moves to IN_PROGRESS. A nightly job's files stay SUBMITTED: writing
        100,000 items to say "started" costs as much as the result itself and says nothing new."""
        recorded = False
        if request_id is not None:
            fields = {"sagemaker_received_at": change.started or change.created}
            recorded = self.tracker.apply_job_outcome(request_id, change.job_name, Status.IN_PROGRESS, fields)
        logger.info("transform job in progress", extra={"recorded": recorded})
        return {"jobName": change.job_name, "status": change.status, "recorded": int(recorded)}

    def _announce(
        self,
        change: StateChange,
        status: Status,
        mode: Mode,
        request_ids: Iterable[str],
        remaining_ms: RemainingMillis | None,
    ) -> dict[str, int]:
        totals = {"files": 0, "published": 0, "recorded": 0, "alreadyDone": 0}
        try:
            with ThreadPoolExecutor(max_workers=self.workers) as pool:
                for chunk in batched(request_ids, BATCH_GET_MAX, strict=False):
                    if remaining_ms is not None and remaining_ms() < SAFETY_MARGIN_MS:
                        raise RetryableError(
                            f"announced {totals['files']} files of {change.job_name} before the Lambda timeout; "
                            "a retry continues",
                            {"job": change.job_name, **totals},
                        )
                    self._announce_chunk(change, status, chunk, pool, totals)
        finally:  # what was done counts, even when a retry has to finish the job
            if totals["recorded"]:
                self.recorder.count(STATUS_METRIC[status], mode=mode.value, value=totals["recorded"])
            if totals["alreadyDone"]:
                self.recorder.count("StaleResultsIgnored", value=totals["alreadyDone"])
        return totals

    def _announce_chunk(
        self,
        change: StateChange,
        status: Status,
        chunk: tuple[str, ...],
        pool: ThreadPoolExecutor,
        totals: dict[str, int],
    ) -> None:
        """Up to 100 files: what is left to announce, its messages, then its conditional writes."""
        items = self.tracker.get_many(chunk, _ITEM_FIELDS)
        if missing := len(set(chunk)) - len(items):
            logger.warning("files of the job have no tracker item", extra={"missing": missing})
        pending = [i for i in items if belongs(i, change.job_name) and i.get("status") not in _TERMINAL_VALUES]
        messages = [self._message(change, status, item) for item in pending]
        # Every message of the chunk is out before any of its writes: a crash in between repeats
        # messages (at least once), never loses one. PublishBatch calls of 10 run side by side.
        groups = [messages[n : n + PUBLISH_BATCH_MAX] for n in range(0, len(messages), PUBLISH_BATCH_MAX)]
        success = status is Status.SUCCEEDED
        list(pool.map(lambda group: self.publisher.publish_batch(group, success=success), groups))
        pairs = zip(pending, messages, strict=True)
        recorded = sum(pool.map(lambda pair: self._record(change, status, *pair), pairs))
        totals["files"] += len(chunk)
        totals["published"] += len(messages)
        totals["recorded"] += recorded
        totals["alreadyDone"] += len(chunk) - len(pending)

    def _message(self, change: StateChange, status: Status, item: dict[str, Any]) -> dict[str, Any]:
        success = status is Status.SUCCEEDED
        output = manifest.output_location(change.output_path, item["key"]) if success and change.output_path else None
        return build_result(
            request_id=item["request_id"],
            status=status,
            region=self.region,
            event_time=change.ended or change.event_time,
            received_time=change.started or change.created or change.event_time,
            input_location=item.get("object_uri") or "",
            content_type=item.get("content_type"),
            mode=item.get("mode"),
            output_location=output,
            failure_reason=None if success else self._failure_reason(change, status),
            extra={"jobName": change.job_name},
        )

    def _failure_reason(self, change: StateChange, status: Status) -> str:
        if change.failure_reason:
            return change.failure_reason
        if status is Status.STOPPED:
            return f"transform job {change.job_name} was stopped"
        return f"transform job {change.job_name} failed without a reason"

    def _record(self, change: StateChange, status: Status, item: dict[str, Any], message: dict[str, Any]) -> bool:
        fields = {
            "output_location": message["responseParameters"].get("outputLocation"),
            "failure_reason": message.get("failureReason"),
            "sagemaker_received_at": message["receivedTime"],
            "completed_at": message["eventTime"],
        }
        return self.tracker.apply_job_outcome(item["request_id"], change.job_name, status, fields)
