"""The sweeper (docs/architecture.md §5): every file reaches a terminal status by its deadline, whatever AWS loses.

On a schedule it pages through the in-flight index for items past their ``deadline_at`` and
resolves each from ground truth, never from a guess (an item the claim gave an earlier deadline than
its status's, a claim still RECEIVED, is moved on to its own first: core/deadlines.py):

- the outbox first: verdicts recorded by an earlier run that crashed before announcing them;
- RECEIVED (the router never confirmed it; its notification went to the router DLQ) → FAILED
  "not routed: <last known reason>", marked ``not_routed`` so a redrive of the DLQ message may
  take the request over and score it (a new attempt, announced again);
- SUBMITTED async → ``HeadObject`` on the stored output location, then on the failure location:
  SUCCEEDED, or FAILED with an excerpt of SageMaker's failure body; neither → EXPIRED
  "no result and no notification within <deadline>";
- SUBMITTED / IN_PROGRESS with a transform job → ``DescribeTransformJob``: a finished job goes
  through the batch-result function's own code path (the same outcome its completion event would
  have produced); a job still running moves the deadline on;
- SUBMITTED / IN_PROGRESS real-time or serverless (handed to the scorer) → ``HeadObject`` on
  ``<OutputPrefix><mode>/<request id>.out``: SUCCEEDED, else FAILED "not scored: <last error>"
  (the scorer's message is in its dead-letter queue);
- SCHEDULED past its night → the next night takes it (deadline moved, counted overdue), or FAILED
  when nights are disabled (no transform model).

Verdicts are recorded before they are announced (:meth:`Announcer.verdict`): a result arriving at
the same moment wins or loses in one conditional write, so a tie ends with one terminal status and
one announcement; the same write refuses while a function holds a live claim on the file (a scorer
still scoring), and a later run looks again. A run does a bounded amount of work and stops while
time is left; the next run continues. Every overdue item found is counted (``OverdueItems``):
something AWS lost, alarmed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from orchestrator.aws import manifest, result_objects
from orchestrator.aws.adapters import Adapters, UsesAdapters
from orchestrator.aws.handoff import JobHandOff
from orchestrator.aws.night_progress import NightProgress
from orchestrator.aws.transform_jobs import TransformJobs, manifest_of
from orchestrator.core import deadlines, timestamps
from orchestrator.core.budgets import CONTROL_CALL
from orchestrator.core.status import Status
from orchestrator.errors import ConfigError, OrchestratorError
from orchestrator.observability import logger
from orchestrator.settings import SweeperSettings
from orchestrator.workflows.batch_results import BatchResults
from orchestrator.workflows.state_change import is_nightly, state_change_event

# Stop starting items this long before the Lambda timeout; the next run continues.
SAFETY_MARGIN_MS = 30_000
# One item's budget: its AWS calls at worst (a finished night's hand-off is the most: DescribeTransformJob,
# two GetObject, PutEvents, PutObject, the deadline's UpdateItem), each at its client's worst case. An
# item starts only while this much is left, so no item is cut off by the timeout.
ITEM_CALLS = 6
ITEM_BUDGET_MS = int(ITEM_CALLS * CONTROL_CALL.worst_case_seconds * 1000)
# A night handed to the batch-result function is not handed over again while that work shows life
# (a progress write or the last hand-off this recent): Lambda's 3 attempts of at most 15 minutes fit.
HANDOFF_QUIET_SECONDS = 3_600
# Items resolved per run at most: bounds one run's time and calls whatever the backlog.
MAX_ITEMS_PER_RUN = 2_000
_ATTRIBUTES = (
    "status",
    "mode",
    "key",
    "bucket",
    "object_uri",
    "content_type",
    "endpoint_name",
    "job_name",
    "output_location",
    "failure_location",
    "failure_reason",
    "last_error",
    "deadline_at",
    "created_at",
    "submission_uncertain",
    "s3_event_time",
    "sagemaker_received_at",
    "completed_at",
)
_FINISHED_JOB = frozenset({"Completed", "Failed", "Stopped"})
_SYNC_MODES = frozenset({"realtime", "serverless"})

RemainingMillis = Callable[[], int]


@dataclass
class SweepTotals:
    """What one sweep did, counted for its log line and metrics."""

    overdue: int = 0
    resolved: dict[str, int] = field(default_factory=dict)
    moved: int = 0
    not_yet_due: int = 0  # found at the claim's earlier deadline, moved on to their own (not overdue)
    announced_from_outbox: int = 0
    overtaken: int = 0  # a result arrived before the verdict, or a claim was live: nothing published
    handed_off: int = 0  # finished nights handed to the batch-result function
    errors: int = 0  # items that failed (counted, logged, left for the next run)
    outbox_failed: int = 0  # of which outbox verdicts whose announcement failed
    stopped_early: bool = False

    def add(self, outcome: str) -> None:
        self.resolved[outcome] = self.resolved.get(outcome, 0) + 1


class Sweeper(UsesAdapters):
    def __init__(
        self,
        settings: SweeperSettings,
        adapters: Adapters,
        *,
        jobs: TransformJobs | None,
        batch_results: BatchResults | None,
        handoff: JobHandOff | None = None,
    ) -> None:
        super().__init__(adapters)
        self.settings = settings
        self.jobs = jobs
        self.batch_results = batch_results
        self.handoff = handoff  # where a finished night goes (given with jobs and batch_results)
        self._described: dict[str, dict[str, Any] | None] = {}

    def run(self, remaining_ms: RemainingMillis | None = None) -> dict[str, Any]:
        moment = self.tracker.now()
        now = timestamps.iso(moment)
        totals = SweepTotals()
        self._described = {}  # one DescribeTransformJob per job per run
        try:
            for item in self._due(deadlines.ANNOUNCE, now, totals, remaining_ms):
                self._flush_safely(item, totals)
            for lane in deadlines.IN_FLIGHT:
                for item in self._due(lane.value, now, totals, remaining_ms):
                    self._resolve_safely(item, moment, totals)
        finally:
            if totals.overdue:
                self.recorder.count("OverdueItems", value=totals.overdue)
        counts = self.tracker.count_in_flight(lambda: self._time_left(remaining_ms))
        if counts is None:
            logger.info("in-flight counts skipped: no time left in this run")
        for status, count in (counts or {}).items():
            self.recorder.level("InFlightItems", count, status=status.value)
        summary = {
            "now": now,
            "overdue": totals.overdue,
            "resolved": totals.resolved,
            "deadlinesMoved": totals.moved,
            "notYetDue": totals.not_yet_due,
            "announcedFromOutbox": totals.announced_from_outbox,
            "overtakenByResults": totals.overtaken,
            "handedOff": totals.handed_off,
            "errors": totals.errors,
            "stoppedEarly": totals.stopped_early,
        }
        log = logger.warning if totals.overdue else logger.info
        log("sweep finished", extra=summary)
        return summary

    # ---------------------------------------------------------------- paging

    def _due(
        self, state: str, now: str, totals: SweepTotals, remaining_ms: RemainingMillis | None
    ) -> Iterator[dict[str, Any]]:
        for item in self.tracker.overdue(state, now=now, attributes=_ATTRIBUTES, page_size=100):
            handled = totals.overdue + totals.announced_from_outbox + totals.outbox_failed + totals.not_yet_due
            if handled >= MAX_ITEMS_PER_RUN or not self._room_for_an_item(remaining_ms):
                totals.stopped_early = True
                logger.info("sweep stops here; the next run continues", extra={"handled": handled})
                return
            yield item

    @staticmethod
    def _time_left(remaining_ms: RemainingMillis | None) -> bool:
        return remaining_ms is None or remaining_ms() >= SAFETY_MARGIN_MS

    @staticmethod
    def _room_for_an_item(remaining_ms: RemainingMillis | None) -> bool:
        return remaining_ms is None or remaining_ms() >= ITEM_BUDGET_MS

    def _due_later(self, item: dict[str, Any], moment: datetime) -> datetime | None:
        """The claim wrote the earliest deadline the file could have (``DeadlineSettings.at_claim``): when
        the item's status is due later (a claim still RECEIVED: its message may still be redriven),
        that later time; None when it is due now."""
        seconds = self.settings.deadlines.due(Status(item["status"]), item.get("mode"))
        if seconds is None or item.get("job_name") or not item.get("created_at"):
            return None
        due = timestamps.parse(str(item["created_at"])) + timedelta(seconds=seconds)
        return due if due > moment else None

    def _resolve_safely(self, item: dict[str, Any], moment: datetime, totals: SweepTotals) -> None:
        logger.set_correlation_id(item["request_id"])
        try:
            self._resolve(item, moment, totals)
        except Exception as exc:  # noqa: BLE001 - one item's trouble must not stop the sweep; the next run retries
            totals.errors += 1
            _log_failure("could not resolve an overdue item", exc)
        finally:
            logger.set_correlation_id(None)

    def _flush_safely(self, item: dict[str, Any], totals: SweepTotals) -> None:
        """An outbox verdict announced; a failing publish stays in the outbox for the next run."""
        logger.set_correlation_id(item["request_id"])
        try:
            self.announcer.flush(item)
            totals.announced_from_outbox += 1
        except Exception as exc:  # noqa: BLE001 - one failing publish must not stop the sweep
            totals.errors += 1
            totals.outbox_failed += 1
            _log_failure("could not announce a verdict from the outbox", exc)
        finally:
            logger.set_correlation_id(None)

    # ---------------------------------------------------------------- cases

    def _resolve(self, item: dict[str, Any], moment: datetime, totals: SweepTotals) -> None:
        status = Status(item["status"])
        later = self._due_later(item, moment)
        if later is not None:  # moved on to its own deadline: not judged, not counted overdue
            if self.tracker.move_deadline(item["request_id"], status, timestamps.iso(later)):
                totals.not_yet_due += 1
            return
        totals.overdue += 1
        logger.warning("overdue", extra={"status": status.value, "deadline_at": item.get("deadline_at")})
        if status is Status.RECEIVED:
            self._not_routed(item, totals)
        elif status is Status.SCHEDULED:
            self._past_its_night(item, moment, totals)
        elif item.get("job_name"):
            self._job(item, status, moment, totals)
        elif item.get("mode") in _SYNC_MODES:
            self._sync(item, status, totals)
        else:
            self._async(item, status, totals)

    def _verdict(self, item: dict[str, Any], expected: Status, status: Status, totals: SweepTotals, **kw: Any) -> None:
        if self.announcer.verdict(item, expected, status, **kw):
            totals.add(status.value)
        else:
            totals.overtaken += 1

    def _not_routed(self, item: dict[str, Any], totals: SweepTotals) -> None:
        """Past the queues' retention: SQS has deleted the notification (from RouterQueue or RouterDLQ),
        unless it was redriven since; a redriven message still takes the file over and scores it."""
        reason = (
            "not routed: the router did not confirm it within the router queue's retention ({retention} s), "
            "so SQS has deleted its notification from RouterQueue / RouterDLQ; upload the file again to score "
            "it (a notification redriven since is still scored when it arrives)"
        )
        self._lost_message(item, Status.RECEIVED, totals, reason, marked="not_routed")

    def _lost_message(
        self, item: dict[str, Any], expected: Status, totals: SweepTotals, reason: str, marked: str
    ) -> None:
        """FAILED: the file's SQS message is past the queues' retention (``reason``'s ``{retention}``)
        and its last error is added; ``marked`` lets a message redriven since still take it over."""
        reason = reason.format(retention=self.settings.deadlines.queue_retention_seconds)
        if item.get("last_error"):
            reason += f". Last error: {item['last_error']}"
        self._verdict(item, expected, Status.FAILED, totals, reason=reason, record={marked: True})

    def _past_its_night(self, item: dict[str, Any], moment: datetime, totals: SweepTotals) -> None:
        if self.settings.transform is None:
            reason = (
                "scheduled for the nightly batch, but nights are disabled (template parameter "
                "TransformModelName is empty)"
            )
            self._verdict(item, Status.SCHEDULED, Status.FAILED, totals, reason=reason)
            return
        # A night ran without it (or did not run): the next night takes it; OverdueItems pages someone.
        self._move(item, Status.SCHEDULED, moment, self.settings.deadlines.scheduled, totals)

    def _async(self, item: dict[str, Any], status: Status, totals: SweepTotals) -> None:
        output, failure = item.get("output_location"), item.get("failure_location")
        if output and result_objects.exists(self.s3, output):
            self._verdict(item, status, Status.SUCCEEDED, totals, output_location=output)
            return
        if failure:
            excerpt = result_objects.failure_excerpt(self.s3, failure)
            if excerpt is not None:
                reason = f"the model failed (SageMaker's failure body at {failure}): {excerpt}"
                self._verdict(item, status, Status.FAILED, totals, reason=reason)
                return
        reason = f"no result and no notification within the deadline {item.get('deadline_at')}"
        if item.get("submission_uncertain"):
            reason += " (the router could not tell whether SageMaker received the request"
            reason += f": {item['last_error']})" if item.get("last_error") else ")"
        self._verdict(item, status, Status.EXPIRED, totals, reason=reason)

    def _sync(self, item: dict[str, Any], status: Status, totals: SweepTotals) -> None:
        """The scorer writes the result before it announces it: a result object with no outcome
        recorded is a success whose announcement was lost; no object means the file was not scored."""
        from orchestrator.workflows.scorer import output_key

        key = output_key(self.settings.output_prefix, str(item["mode"]), str(item["request_id"]))
        location = f"s3://{item.get('bucket') or self.settings.input_bucket}/{key}"
        if result_objects.exists(self.s3, location):
            self._verdict(item, status, Status.SUCCEEDED, totals, output_location=location)
            return
        reason = (
            "not scored: no result within the scorer queue's retention ({retention} s), so SQS has deleted its "
            "message from ScorerQueue / ScorerDLQ; upload the file again to score it (a message redriven since "
            "is still scored when it arrives)"
        )
        self._lost_message(item, status, totals, reason, marked="not_scored")

    def _job(self, item: dict[str, Any], status: Status, moment: datetime, totals: SweepTotals) -> None:
        name = str(item["job_name"])
        if self.jobs is None or self.batch_results is None:
            reason = f"transform job {name} cannot be checked: TransformModelName is empty in this stack"
            self._verdict(item, status, Status.FAILED, totals, reason=reason)
            return
        if name not in self._described:
            self._described[name] = self.jobs.describe(name)
        description = self._described[name]
        if description is None:
            self._verdict(item, status, Status.FAILED, totals, reason=f"transform job {name} does not exist")
            return
        job_status = description.get("TransformJobStatus")
        if job_status in _FINISHED_JOB and not description.get("_swept"):
            # The completion event was lost (or sits in the batch-result DLQ): once per job per run
            # (also when it fails: the next run tries again), the code path the event would have taken.
            description["_swept"] = True
            self._finished_job(name, description, moment, totals)
        # Still running, or still this job's after its outcome was recorded: look again later. The
        # write is conditional on status and job, so a file the outcome closed is left alone.
        self._move(item, status, moment, max(self.settings.deadlines.grace_seconds, 300), totals, job_name=name)

    def _finished_job(self, name: str, description: dict[str, Any], moment: datetime, totals: SweepTotals) -> None:
        """A per-file job (one file: a few calls) is recorded here; a night, which may hold a million
        files, is handed to the batch-result function, whose invocations record it and resume from its
        progress (orchestrator.workflows.failed_nights): this run does a fixed number of calls for it."""
        assert self.batch_results is not None
        job_status = str(description.get("TransformJobStatus"))
        if not is_nightly(name, self.settings.results.job_prefix):
            self.batch_results.handle(state_change_event(description, moment))
            totals.add(f"job{job_status}")
            return
        if self.handoff is None:
            raise ConfigError(f"finished night {name} cannot be handed over: no hand-off configured", {"job": name})
        uri = manifest_of(description)
        progress = NightProgress(self.s3, uri) if uri and uri.endswith("/" + manifest.MANIFEST_NAME) else None
        last = progress.last_activity() if progress else None
        if last is not None and moment - timestamps.parse(last) < timedelta(seconds=HANDOFF_QUIET_SECONDS):
            logger.info("night is being recorded; not handed over again", extra={"job": name, "lastActivity": last})
            return
        self.handoff.request(name, job_status, requested_by="sweeper")
        if progress is not None:
            progress.handed_off(moment)
        totals.handed_off += 1
        logger.warning("finished night handed to the batch-result function", extra={"job": name, "status": job_status})

    def _move(
        self,
        item: dict[str, Any],
        status: Status,
        moment: datetime,
        seconds: int,
        totals: SweepTotals,
        job_name: str | None = None,
    ) -> None:
        later = timestamps.iso(moment + timedelta(seconds=seconds))
        if self.tracker.move_deadline(item["request_id"], status, later, job_name=job_name):
            totals.moved += 1


def _log_failure(message: str, exc: Exception) -> None:
    if isinstance(exc, OrchestratorError):
        logger.error(message, extra={"reason": exc.message, **exc.details})
    else:  # not an expected failure: the traceback says where
        logger.exception(message, extra={"reason": f"{type(exc).__name__}: {exc}"})
