"""A nightly job that ended Failed or Stopped: its files' outputs verified in segments that resume.

SageMaker fails a whole job for one bad file yet writes every other output it completes, so each
file still waiting for the job is looked up (one HeadObject): an output means SUCCEEDED; a Stopped
job's other files are STOPPED; a Failed job's other files go to retry jobs of the night (halves,
orchestrator.core.nights) until a file fails alone.

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

import json
import tempfile
import uuid
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from itertools import batched, islice
from typing import IO, TYPE_CHECKING, Any

from orchestrator.aws import manifest, result_objects
from orchestrator.aws.night_progress import NightProgress, PlanHeader, Progress
from orchestrator.aws.tracker_table import BATCH_GET_MAX
from orchestrator.aws.transform_jobs import retry_request
from orchestrator.core import nights, timestamps
from orchestrator.core.routing import Mode
from orchestrator.core.status import Status
from orchestrator.errors import BadEventError, ConfigError, RetryableError
from orchestrator.modes.night_jobs import NightJobs, is_current
from orchestrator.observability import logger
from orchestrator.workflows.state_change import Pair, StateChange, failure_reason

if TYPE_CHECKING:
    from orchestrator.workflows.batch_results import BatchResults

# Stop looking up outputs this long before the Lambda timeout: the segment read so far still has its
# retry jobs started and its files marked (marking itself stops at night_jobs.SAFETY_MARGIN_MS).
VERIFY_MARGIN_MS = 120_000

RemainingMillis = Callable[[], int]
Settle = Callable[..., None]


class Remainder:
    """Files of a failed job left without an output, spooled to ``/tmp`` (one JSON line each)."""

    def __init__(self) -> None:
        self.count = 0
        self.file: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 - closed by __exit__

    def __enter__(self) -> Remainder:
        return self

    def __exit__(self, *_: object) -> None:
        self.file.close()

    def add(self, pairs: Iterable[Pair], job_name: str) -> None:
        for item, seq in pairs:
            kept: dict[str, Any] = {
                k: item[k] for k in ("request_id", "key", "object_uri", "content_type", "mode") if k in item
            }
            kept["marked"] = is_current(item, job_name, seq)  # else still where the job's roster found it
            self.file.write(json.dumps([kept, seq]).encode() + b"\n")
            self.count += 1

    def extend(self, lines: Iterable[bytes]) -> None:
        """Lines written by :meth:`add` (a plan read back from S3)."""
        for line in lines:
            self.file.write(line.rstrip(b"\n") + b"\n")
            self.count += 1

    def read(self) -> Iterator[Pair]:
        self.file.flush()
        self.file.seek(0)
        for line in self.file:
            item, seq = json.loads(line)
            yield item, int(seq)


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


def artifacts_of(manifest_uri: str, job_name: str) -> tuple[str, str]:
    """``(bucket, OUTPUT_PREFIX)`` of a nightly job's manifest ``s3://<bucket>/<prefix>batch/<job>/<run>/…``:
    where the job's retry jobs keep theirs."""
    import re

    match = re.match(rf"^s3://([^/]+)/(.*)batch/{re.escape(job_name)}/[^/]+/{manifest.MANIFEST_NAME}$", manifest_uri)
    if match is None:
        raise ConfigError(
            f"transform job {job_name} reads {manifest_uri}, not a manifest this stack wrote: "
            "its files are not retried",
            {"job": job_name, "manifest": manifest_uri},
        )
    return match[1], match[2]


class FailedNight:
    """One invocation's work on a Failed or Stopped nightly job (see the module docstring)."""

    def __init__(
        self,
        results: BatchResults,
        change: StateChange,
        status: Status,
        *,
        pool: ThreadPoolExecutor,
        totals: dict[str, int],
        settle: Settle,
        remaining_ms: RemainingMillis | None,
    ) -> None:
        assert change.manifest_uri is not None
        self.results = results
        self.change = change
        self.status = status
        self.pool = pool
        self.totals = totals
        self.settle = settle
        self.remaining_ms = remaining_ms
        self.store = NightProgress(results.s3, change.manifest_uri)
        self.split_round = nights.round_of(change.manifest_uri) + 1
        self.advanced = False  # this invocation recorded progress
        self._described: dict[str, Any] | None = None

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
        size = self.results.settings.night_segment_files
        consumed = 0
        while consumed < size and roster.more():
            if self.remaining_ms is not None and self.remaining_ms() < VERIFY_MARGIN_MS:
                return consumed, True
            chunk = tuple(islice(roster, min(BATCH_GET_MAX, size - consumed)))
            self._verify_chunk(chunk, remainder)
            consumed += len(chunk)
        return consumed, False

    def _verify_chunk(self, chunk: tuple[manifest.RosterEntry, ...], remainder: Remainder) -> None:
        waiting = self.results.waiting(self.change, chunk, self.totals)
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
        return result_objects.exists(self.results.s3, manifest.output_location(self.change.output_path, item["key"]))

    # ---------------------------------------------------------------- finishing a segment

    def _finish_segment(self, state: Progress, end: int, remainder: Remainder, alone: bool) -> Progress:
        """The segment's files without output: the job's only file is FAILED with the job's reason;
        otherwise planned, then retried in jobs of the next round. Then its end is recorded."""
        if not remainder.count:
            return self._save(state.advanced(end))
        if alone:
            self.settle(Status.FAILED, list(remainder.read()))
            return self._save(state.advanced(end))
        if self.split_round > nights.MAX_SPLIT_ROUNDS:  # only a manifest not split by this product gets here
            reason = failure_reason(self.change, Status.FAILED)
            reason += f" (not isolated within {nights.MAX_SPLIT_ROUNDS} rounds of retry jobs)"
            self.settle(Status.FAILED, list(remainder.read()), reason=reason)
            return self._save(state.advanced(end))
        header = PlanHeader(self.change.job_name, state.position, end, remainder.count)
        self.store.write_plan(header, remainder.file)
        state = self._save(state.planned(end))
        started = self._retry(remainder)
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
            started = self._retry(remainder)
        roster.skip(state.planned_end - state.position)
        return self._save(state.advanced(state.planned_end, started))

    def _save(self, state: Progress) -> Progress:
        self.advanced = True
        return self.store.save(state, self.results.tracker.now())

    def _continue_later(self) -> None:
        """Out of time: the next invocation resumes at the recorded position."""
        handoff = self.results.handoff
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

    # ---------------------------------------------------------------- retry jobs

    def _parameters(self) -> dict[str, Any]:
        """The job's own parameters (DescribeTransformJob, once per invocation); the event's copy of
        them if it is gone."""
        if self._described is None:
            parent = self.change.job_name
            described = self.results.jobs.describe(parent) or self.change.detail
            if not described.get("ModelName"):
                raise RetryableError(f"transform job {parent} cannot be described", {"job": parent})
            self._described = described
        return self._described

    def _retry(self, remainder: Remainder) -> list[str]:
        """Retry jobs of the next round for the files of ``remainder``; returns their names."""
        assert self.change.manifest_uri is not None
        results, prefix, parent = self.results, self.results.settings.job_prefix, self.change.job_name
        night = nights.parse_job(prefix, parent)
        if night is None:
            raise BadEventError(f"{parent} is not named like a job of a night", {"job": parent})
        bucket, output_prefix = artifacts_of(self.change.manifest_uri, parent)
        described = self._parameters()
        sizes = nights.part_sizes(remainder.count, self.split_round)
        logger.warning(
            "files without output retried in smaller jobs",
            extra={"files": remainder.count, "jobs": len(sizes), "round": self.split_round},
        )
        # Each retry job takes its files from this job: a file this job's marking has not reached yet
        # (it failed within seconds) is marked for it first, so a retry job's result finds every one
        # of its files either marked for it or still at this job.
        unmarked = (pair for pair in remainder.read() if not pair[0]["marked"])
        for chunk in batched(unmarked, BATCH_GET_MAX, strict=False):
            list(self.pool.map(lambda pair: self._adopt(*pair), chunk))
        night_jobs = NightJobs(
            tracker=results.tracker,
            jobs=results.jobs,
            s3=results.s3,
            deadlines=results.settings.deadlines,
            recorder=results.recorder,
            clock=results.tracker.now,
            workers=results.workers,
        )
        names: list[str] = []
        pairs = remainder.read()
        for size in sizes:
            with manifest.Spool(bucket) as spool:
                for item, seq in islice(pairs, size):
                    spool.add(item["key"], item["request_id"], seq + 1)
                name = nights.retry_job(prefix, night.night, parent, spool.request_ids())

                def request_for(manifest_uri: str, output_path: str, name: str = name) -> dict[str, Any]:
                    return retry_request(described, name=name, manifest_uri=manifest_uri, output_path=output_path)

                started = night_jobs.start(
                    spool,
                    name=name,
                    output_prefix=output_prefix,
                    folder=nights.run_folder(uuid.uuid4().hex[:12], self.split_round),
                    request_for=request_for,
                )
                if started.created:
                    results.recorder.count("TransformJobsStarted", mode=Mode.NIGHTLY.value)
                    entries: Iterable[manifest.RosterEntry] = spool.entries()
                else:  # started already (a duplicate event, or this plan before): the same files
                    existing = started.manifest_uri or ""
                    artifacts_of(existing, name)
                    entries = manifest.read_entries(results.s3, manifest.roster_uri(existing))
                output = manifest.output_path(bucket, output_prefix, name)
                self.totals["retried"] += night_jobs.mark(name, night.night, output, entries, self.remaining_ms)
                self.totals["retryJobs"] += 1
                names.append(name)
        return names

    def _adopt(self, item: dict[str, Any], seq: int) -> bool:
        results, moment = self.results, self.results.tracker.now()
        night = nights.parse_job(results.settings.job_prefix, self.change.job_name)
        fields = {
            "submitted_at": timestamps.iso(moment),
            "deadline_at": results.settings.deadlines.after(moment, results.settings.deadlines.submitted_batch),
            "night": night.night if night else None,
        }
        if self.change.output_path:
            fields["output_location"] = manifest.output_location(self.change.output_path, item["key"])
        return results.tracker.mark_for_job(item["request_id"], self.change.job_name, seq, fields)
