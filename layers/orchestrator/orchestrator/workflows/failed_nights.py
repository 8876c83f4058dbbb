"""A nightly job that ended Failed or Stopped: its files' outputs verified in segments that resume.

SageMaker fails a whole job for one bad file yet writes every other output it completes, so each
file still waiting for the job is looked up (one HeadObject): an output means SUCCEEDED; a Stopped
job's other files are STOPPED; a Failed job's other files go to retry jobs of the night (halves,
orchestrator.workflows.retry_jobs) until a file fails alone.

**Segments.** The roster is read ``NIGHT_SEGMENT_FILES`` files at a time (default 10,000). Each
segment is finished before the next is read: outputs settled, its files without output written to
a *plan* (retry-plan.jsonl), its retry jobs started and its files marked, then the position recorded
(orchestrator.aws.night_progress). So the first retry jobs of a 1,000,000-file night start within seconds,
not after the whole night was looked up, and no invocation repeats what an earlier one recorded.
Verification stops :data:`VERIFY_MARGIN_MS` before the Lambda timeout: the segment read so far is
finished the same way (its retry jobs started in the time left), and the next invocation resumes
at the recorded position. That next invocation is requested by the function itself (a hand-off
event, orchestrator.aws.handoff), so a night of any size finishes in a chain of invocations, each with
Lambda's own retries behind it; an invocation that could record nothing raises RetryableError
instead (Lambda's retries, then BatchResultDLQ), so the chain never loops without progress.

**Same files, same jobs.** A plan is written before its first retry job starts, and an invocation
that finds a plan not yet carried out carries out that plan, not a new one: the same parts, the
same names (``ResourceInUse`` for the jobs already started), the same files marked. A duplicate
event after a segment was recorded finds its files settled or marked and starts nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import KW_ONLY, dataclass, field
from itertools import islice
from typing import Any

from orchestrator.aws import manifest, result_objects
from orchestrator.aws.adapters import Adapters, UsesAdapters
from orchestrator.aws.handoff import JobHandOff
from orchestrator.aws.night_progress import NightProgress, PlanHeader, Progress
from orchestrator.aws.tracker_table import BATCH_GET_MAX
from orchestrator.core import nights
from orchestrator.core.status import Status
from orchestrator.errors import RetryableError
from orchestrator.observability import logger
from orchestrator.workflows.retry_jobs import Remainder, RetryJobs
from orchestrator.workflows.state_change import Pair, StateChange, failure_reason

# Stop looking up outputs this long before the Lambda timeout: the segment read so far still has its
# retry jobs started and its files marked (marking itself stops at night_jobs.SAFETY_MARGIN_MS).
VERIFY_MARGIN_MS = 120_000

RemainingMillis = Callable[[], int]
Settle = Callable[..., None]  # announce then record an outcome for files (BatchResults)
# The files of a roster chunk still waiting for the job's result (BatchResults.waiting).
Waiting = Callable[[tuple[manifest.RosterEntry, ...]], list[Pair]]


class _Roster:
    """A job's roster entries, streamed, with one entry of look-ahead (is there more?)."""

    def __init__(self, entries: Iterable[manifest.RosterEntry]) -> None:
        self._entries = iter(entries)
        self._ahead: list[manifest.RosterEntry] = []

    def __iter__(self) -> Iterator[manifest.RosterEntry]:
        return self

    def __next__(self) -> manifest.RosterEntry:
        return self._ahead.pop() if self._ahead else next(self._entries)

    def more(self) -> bool:
        if not self._ahead:
            self._ahead = list(islice(self._entries, 1))
        return bool(self._ahead)

    def skip(self, count: int) -> None:
        for _ in islice(self, count):
            pass


@dataclass(eq=False)
class FailedNight(UsesAdapters):
    """One invocation's work on a Failed or Stopped nightly job (see the module docstring)."""

    change: StateChange
    status: Status
    adapters: Adapters
    _: KW_ONLY
    retry_jobs: RetryJobs  # the same change, pool, totals and time left
    segment_files: int
    handoff: JobHandOff | None
    pool: ThreadPoolExecutor
    totals: dict[str, int]
    waiting: Waiting
    settle: Settle
    remaining_ms: RemainingMillis | None
    store: NightProgress = field(init=False)
    advanced: bool = field(init=False, default=False)  # this invocation recorded progress

    def __post_init__(self) -> None:
        assert self.change.manifest_uri is not None
        self.totals |= {"withOutput": 0, "retried": 0, "retryJobs": 0}
        self.store = NightProgress(self.s3, self.change.manifest_uri)

    def run(self, entries: Iterable[manifest.RosterEntry]) -> None:
        state = self.store.load()
        self.totals |= {"resumedAt": state.position}
        roster = _Roster(entries)
        roster.skip(state.position)  # settled by an earlier invocation: streamed past, not looked up
        if state.planned_end is not None:
            state = self._carry_out_plan(state, roster)
        while roster.more():
            with Remainder() as remainder:
                consumed, out_of_time = self._verify(roster, remainder)
                if consumed:
                    alone = state.position == 0 and consumed == 1 and not roster.more()
                    state = self._finish_segment(state, state.position + consumed, remainder, alone)
            if out_of_time:
                self._continue_later()
                return

    # ---------------------------------------------------------------- verifying

    def _verify(self, roster: _Roster, remainder: Remainder) -> tuple[int, bool]:
        """Up to one segment of the roster: outputs settled, the files without one kept in ``remainder``.
        Returns how many entries were read, and whether time ran out first."""
        size = self.segment_files
        consumed = 0
        while consumed < size and roster.more():
            if self.remaining_ms is not None and self.remaining_ms() < VERIFY_MARGIN_MS:
                return consumed, True
            chunk = tuple(islice(roster, min(BATCH_GET_MAX, size - consumed)))
            self._verify_chunk(chunk, remainder)
            consumed += len(chunk)
        return consumed, False

    def _verify_chunk(self, chunk: tuple[manifest.RosterEntry, ...], remainder: Remainder) -> None:
        waiting = self.waiting(chunk)
        # SageMaker kept going after the failure: every output it wrote is a result (HeadObject each).
        found = list(self.pool.map(lambda pair: self._has_output(pair[0]), waiting))
        with_output = [pair for pair, exists in zip(waiting, found, strict=True) if exists]
        without = [pair for pair, exists in zip(waiting, found, strict=True) if not exists]
        self.totals["withOutput"] += len(with_output)
        self.settle(Status.SUCCEEDED, with_output)
        if self.status is Status.STOPPED:  # a person stopped it: no retry; a re-run takes these
            self.settle(Status.STOPPED, without)
            return
        remainder.add(without, self.change.job_name)

    def _has_output(self, item: dict[str, Any]) -> bool:
        if not self.change.output_path:
            return False
        return result_objects.exists(self.s3, manifest.output_location(self.change.output_path, item["key"]))

    # ---------------------------------------------------------------- finishing a segment

    def _finish_segment(self, state: Progress, end: int, remainder: Remainder, alone: bool) -> Progress:
        """The segment's files without output: the job's only file is FAILED with the job's reason;
        otherwise planned, then retried in jobs of the next round. Then its end is recorded."""
        if not remainder.count:
            return self._save(state.advanced(end))
        if alone:
            self.settle(Status.FAILED, list(remainder.read()))
            return self._save(state.advanced(end))
        if self.retry_jobs.round > nights.MAX_SPLIT_ROUNDS:  # only a manifest not split by this product gets here
            reason = failure_reason(self.change, Status.FAILED)
            reason += f" (not isolated within {nights.MAX_SPLIT_ROUNDS} rounds of retry jobs)"
            self.settle(Status.FAILED, list(remainder.read()), reason=reason)
            return self._save(state.advanced(end))
        header = PlanHeader(self.change.job_name, state.position, end, remainder.count)
        self.store.write_plan(header, remainder.file)
        state = self._save(state.planned(end))
        started = self.retry_jobs.start(remainder)
        return self._save(state.advanced(end, started))

    def _carry_out_plan(self, state: Progress, roster: _Roster) -> Progress:
        """A plan written by an invocation that stopped while starting its retry jobs: carried out as
        written (no output is looked up again), then the roster continues after it."""
        assert state.planned_end is not None
        header = PlanHeader(self.change.job_name, state.position, state.planned_end)
        lines = self.store.read_plan(header)
        if lines is None:  # never written, or another segment's: that segment is verified again
            return state
        with Remainder() as remainder:
            remainder.extend(lines)
            logger.info("carrying out a recorded retry plan", extra={"files": remainder.count})
            started = self.retry_jobs.start(remainder)
        roster.skip(state.planned_end - state.position)
        return self._save(state.advanced(state.planned_end, started))

    def _save(self, state: Progress) -> Progress:
        self.advanced = True
        return self.store.save(state, self.tracker.now())

    def _continue_later(self) -> None:
        """Out of time: the next invocation resumes at the recorded position."""
        handoff = self.handoff
        if self.advanced and handoff is not None:
            handoff.request(self.change.job_name, self.change.status, requested_by="batch-result")
            self.totals["continued"] = 1
            logger.info("verification continues in a new invocation", extra=self.totals)
            return
        raise RetryableError(
            f"verified {self.totals['files']} files of {self.change.job_name} before the Lambda timeout; "
            "a retry continues",
            {"job": self.change.job_name, **self.totals},
        )
