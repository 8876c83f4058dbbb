"""The batch-result function's workflow: a "SageMaker Transform Job State Change" event (docs/architecture.md §7.3)
→ one result message per file, in the async-notification shape, and the tracker updated.

Granularity: one message per file, like every other result, so a subscriber parses one schema and
can act on each file. A job's files are read from its roster (``requests.txt`` next to the manifest;
for a per-file job the request id is in the job name), 100 at a time: one BatchGetItem (what is
left to announce), PublishBatch calls of 10, then one conditional write per file, in parallel.
Memory is one chunk, whatever the job's size.

**A poison file never fails a night.** SageMaker fails a whole job for one bad file, yet keeps
going with the other files and writes each output it completes (``<S3OutputPath>/<key>.out``). So
after a nightly job ends Failed, each of its files still waiting is looked up (one HeadObject):
an output means SUCCEEDED; the others are *retried*, never announced as failed in between: they
move to retry jobs of the night (orchestrator.core.nights: names, rounds) holding halves of them, with
a new job name and deadline, until a file that fails alone in its job is FAILED with that job's
reason. A job that was Stopped (a person's decision) is not retried: its files without output are
STOPPED, and a re-run takes them. Both are verified in segments that start their retry jobs and
record their progress as they go, whatever the night's size (orchestrator.workflows.failed_nights;
the splitting into retry jobs: orchestrator.workflows.retry_jobs).

A *hand-off* (orchestrator.aws.handoff: the sweeper's, for a job whose event was lost, or this
function's own, to continue a night in a new invocation) names a nightly job only; its state is read
from ``DescribeTransformJob``, so the same code path records it.

Duplicates: SageMaker may send several events per state change. A file already in a terminal state
(or taken over by a later job) is neither announced nor written again; only two copies of an event
handled at the very same moment can announce a file twice (SNS is at-least-once anyway: subscribers
key on ``inferenceId``). Writes are conditional (status rank, and for nightly files the job sequence
of night_jobs), so the tracker never moves twice; retry jobs are named from their files, so a
duplicate event meets ``ResourceInUse`` and marks the same files for the same jobs.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from itertools import batched
from typing import Any

from orchestrator.aws import manifest
from orchestrator.aws.adapters import Adapters, UsesAdapters
from orchestrator.aws.announce import STATUS_METRIC
from orchestrator.aws.handoff import JobHandOff, is_handoff
from orchestrator.aws.notifications import PUBLISH_BATCH_MAX
from orchestrator.aws.tracker_table import BATCH_GET_MAX
from orchestrator.aws.transform_jobs import TransformJobs
from orchestrator.core import timestamps
from orchestrator.core.messages import build_result
from orchestrator.core.routing import Mode
from orchestrator.core.status import TERMINAL, Status
from orchestrator.errors import BadEventError, RetryableError
from orchestrator.modes.night_jobs import pending
from orchestrator.observability import logger
from orchestrator.settings import BatchResultSettings
from orchestrator.workflows.failed_nights import FailedNight
from orchestrator.workflows.retry_jobs import RetryJobs
from orchestrator.workflows.state_change import (
    OUTCOMES,
    Pair,
    StateChange,
    belongs,
    failure_reason,
    is_nightly,
    parse_state_change,
    request_of,
    state_change_event,
)

SAFETY_MARGIN_MS = 60_000
WORKERS = 8
_ITEM_FIELDS = ("status", "job_name", "key", "object_uri", "content_type", "mode")
_NIGHT_FIELDS = (*_ITEM_FIELDS, "job_seq")
_TERMINAL_VALUES = frozenset(status.value for status in TERMINAL)

RemainingMillis = Callable[[], int]


class BatchResults(UsesAdapters):
    def __init__(
        self,
        settings: BatchResultSettings,
        adapters: Adapters,
        *,
        jobs: TransformJobs | None = None,
        workers: int = WORKERS,
        handoff: JobHandOff | None = None,
    ) -> None:
        super().__init__(adapters)  # publishes its files' results itself: many at a time (PublishBatch)
        self.settings = settings
        self.workers = workers
        self._jobs = jobs
        # Hands a night not finished in one invocation on to the next (None: Lambda's retries only).
        self.handoff = handoff

    @property
    def jobs(self) -> TransformJobs:
        """SageMaker, for hand-offs and retry jobs only: made on first use (most events never need it)."""
        if self._jobs is None:
            from orchestrator.aws import clients

            self._jobs = TransformJobs(clients.client("sagemaker"))
        return self._jobs

    def handle(self, event: Any, remaining_ms: RemainingMillis | None = None) -> dict[str, Any]:
        if is_handoff(event):
            event = self._described_event(event)
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
            totals = self._announce(change, status, mode, [request_id], remaining_ms)
        elif change.manifest_uri:
            totals = self._night_result(change, status, remaining_ms)
        else:
            raise BadEventError("nightly job state change names no manifest", {"job": change.job_name})
        self.recorder.timing("ProcessingTime", timestamps.millis_between(change.started, change.ended), mode=mode.value)
        summary = {"jobName": change.job_name, "status": change.status, **totals}
        logger.info("job result recorded", extra=summary)
        return summary

    def _described_event(self, event: dict[str, Any]) -> dict[str, Any]:
        """A hand-off (orchestrator.aws.handoff) names a nightly job: its state comes from SageMaker, the
        event SageMaker would have sent, never from the hand-off itself."""
        detail: dict[str, Any] = event["detail"] if isinstance(event.get("detail"), dict) else {}
        name = detail.get("TransformJobName")
        if not isinstance(name, str) or not is_nightly(name, self.settings.job_prefix):
            raise BadEventError("a hand-off names a nightly job of this stack", {"job": name})
        description = self.jobs.describe(name)
        if description is None:
            raise BadEventError(f"transform job {name} of a hand-off does not exist", {"job": name})
        logger.info("job handed over", extra={"job_name": name, "requestedBy": detail.get("requestedBy")})
        return state_change_event(description, self.tracker.now(), resolved_by=str(detail.get("requestedBy")))

    def _in_progress(self, change: StateChange, request_id: str | None) -> dict[str, Any]:
        """A per-file job's file moves to IN_PROGRESS. A nightly job's files stay SUBMITTED: writing
        100,000 items to say "started" costs as much as the result itself and says nothing new."""
        recorded = False
        if request_id is not None:
            fields = {"sagemaker_received_at": change.started or change.created}
            recorded = self.tracker.apply_job_outcome(request_id, change.job_name, Status.IN_PROGRESS, fields)
        logger.info("transform job in progress", extra={"recorded": recorded})
        return {"jobName": change.job_name, "status": change.status, "recorded": int(recorded)}

    # ---------------------------------------------------------------- a per-file job

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
                    self._check_time(change, totals, remaining_ms)
                    self._announce_chunk(change, status, chunk, pool, totals)
        finally:  # what was done counts, even when a retry has to finish the job
            self._count(Counter({status: totals["recorded"]}), mode, totals)
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
        waiting = [i for i in items if belongs(i, change.job_name) and i.get("status") not in _TERMINAL_VALUES]
        messages = self._publish(change, status, waiting, pool)
        pairs = zip(waiting, messages, strict=True)
        recorded = sum(pool.map(lambda pair: self._record(change, status, *pair), pairs))
        totals["files"] += len(chunk)
        totals["published"] += len(messages)
        totals["recorded"] += recorded
        totals["alreadyDone"] += len(chunk) - len(waiting)

    def _record(self, change: StateChange, status: Status, item: dict[str, Any], message: dict[str, Any]) -> bool:
        return self.tracker.apply_job_outcome(item["request_id"], change.job_name, status, self._fields(message))

    # ---------------------------------------------------------------- a nightly job

    def _night_result(
        self, change: StateChange, status: Status, remaining_ms: RemainingMillis | None
    ) -> dict[str, int]:
        """Every file of the job still waiting for it: announced and recorded, or (a Failed or
        Stopped job) verified in segments (orchestrator.workflows.failed_nights)."""
        assert change.manifest_uri is not None
        entries = manifest.read_entries(self.s3, manifest.roster_uri(change.manifest_uri))
        totals = {"files": 0, "published": 0, "recorded": 0, "alreadyDone": 0}
        tally: Counter[Status] = Counter()
        try:
            with ThreadPoolExecutor(max_workers=self.workers) as pool:
                settle = partial(self._settle, change, pool=pool, totals=totals, tally=tally)
                if status is Status.SUCCEEDED:
                    for chunk in batched(entries, BATCH_GET_MAX, strict=False):
                        self._check_time(change, totals, remaining_ms)
                        settle(Status.SUCCEEDED, self.waiting(change, chunk, totals))
                else:
                    retry_jobs = RetryJobs(
                        change,
                        self.adapters,
                        settings=self.settings,
                        jobs=lambda: self.jobs,
                        workers=self.workers,
                        pool=pool,
                        totals=totals,
                        remaining_ms=remaining_ms,
                    )
                    night = FailedNight(
                        change,
                        status,
                        self.adapters,
                        retry_jobs=retry_jobs,
                        segment_files=self.settings.night_segment_files,
                        handoff=self.handoff,
                        pool=pool,
                        totals=totals,
                        waiting=partial(self.waiting, change, totals=totals),
                        settle=settle,
                        remaining_ms=remaining_ms,
                    )
                    night.run(entries)
        finally:  # what was done counts, even when a retry has to finish the job
            self._count(tally, Mode.NIGHTLY, totals)
        return totals

    def waiting(
        self, change: StateChange, chunk: tuple[manifest.RosterEntry, ...], totals: dict[str, int]
    ) -> list[Pair]:
        """The files of a roster chunk still waiting for the job's result, in roster order (one
        BatchGetItem; DynamoDB answers in any order, and retry jobs are named from their files)."""
        seqs = {entry.request_id: entry.seq for entry in chunk}
        order = {request_id: n for n, request_id in enumerate(seqs)}
        items = sorted(self.tracker.get_many(list(seqs), _NIGHT_FIELDS), key=lambda i: order[i["request_id"]])
        if missing := len(seqs) - len(items):
            logger.warning("files of the job have no tracker item", extra={"missing": missing})
        waiting = [(i, seqs[i["request_id"]]) for i in items if pending(i, change.job_name, seqs[i["request_id"]])]
        totals["files"] += len(chunk)
        totals["alreadyDone"] += len(chunk) - len(waiting)
        return waiting

    # ---------------------------------------------------------------- shared

    def _settle(
        self,
        change: StateChange,
        status: Status,
        pairs: list[Pair],
        *,
        pool: ThreadPoolExecutor,
        totals: dict[str, int],
        tally: Counter[Status],
        reason: str | None = None,
    ) -> None:
        """Announce then record an outcome for files of a nightly job (conditional on the sequence)."""
        messages = self._publish(change, status, [item for item, _ in pairs], pool, reason=reason)

        def record(args: tuple[Pair, dict[str, Any]]) -> bool:
            (item, seq), message = args
            fields = self._fields(message)
            return self.tracker.record_job_result(item["request_id"], change.job_name, seq, status, fields)

        recorded = sum(pool.map(record, zip(pairs, messages, strict=True)))
        totals["published"] += len(messages)
        totals["recorded"] += recorded
        tally[status] += recorded

    def _publish(
        self,
        change: StateChange,
        status: Status,
        items: list[dict[str, Any]],
        pool: ThreadPoolExecutor,
        reason: str | None = None,
    ) -> list[dict[str, Any]]:
        """The messages of ``items``, published (PublishBatch calls of 10 side by side) before any of
        their writes: a crash in between repeats messages (at least once), never loses one."""
        messages = [self._message(change, status, item, reason) for item in items]
        groups = [messages[n : n + PUBLISH_BATCH_MAX] for n in range(0, len(messages), PUBLISH_BATCH_MAX)]
        success = status is Status.SUCCEEDED
        list(pool.map(lambda group: self.publisher.publish_batch(group, success=success), groups))
        return messages

    def _check_time(self, change: StateChange, totals: dict[str, int], remaining_ms: RemainingMillis | None) -> None:
        if remaining_ms is not None and remaining_ms() < SAFETY_MARGIN_MS:
            raise RetryableError(
                f"announced {totals['files']} files of {change.job_name} before the Lambda timeout; a retry continues",
                {"job": change.job_name, **totals},
            )

    def _count(self, tally: Counter[Status], mode: Mode, totals: dict[str, int]) -> None:
        for outcome, value in tally.items():
            if value:
                self.recorder.count(STATUS_METRIC[outcome], mode=mode.value, value=value)
        if totals["alreadyDone"]:
            self.recorder.count("StaleResultsIgnored", value=totals["alreadyDone"])
        if totals.get("retried"):
            self.recorder.count("FilesRetried", mode=mode.value, value=totals["retried"])

    def _message(
        self, change: StateChange, status: Status, item: dict[str, Any], reason: str | None = None
    ) -> dict[str, Any]:
        success = status is Status.SUCCEEDED
        output = manifest.output_location(change.output_path, item["key"]) if success and change.output_path else None
        return build_result(
            request_id=item["request_id"],
            status=status,
            region=self.adapters.region,
            event_time=change.ended or change.event_time,
            received_time=change.started or change.created or change.event_time,
            input_location=item.get("object_uri") or "",
            content_type=item.get("content_type"),
            mode=item.get("mode"),
            output_location=output,
            failure_reason=None if success else reason or failure_reason(change, status),
            extra={"jobName": change.job_name},
        )

    @staticmethod
    def _fields(message: dict[str, Any]) -> dict[str, Any]:
        return {
            "output_location": message["responseParameters"].get("outputLocation"),
            "failure_reason": message.get("failureReason"),
            "sagemaker_received_at": message["receivedTime"],
            "completed_at": message["eventTime"],
        }
