"""Starting a job of the nightly batch and marking its files: the nightly function's night and re-run
jobs and the batch-result function's retry jobs go through this one path (``NightJobs.launch``).

Start, then mark. The manifest and the roster (``<id> <seq>`` per file, manifest.RosterEntry) are
uploaded from the spool, the job is created, then each file still where the roster found it is
marked SUBMITTED with the job's name, its sequence, the night, its output location and a deadline.
A job of that name that exists already (``ResourceInUse``: a concurrent run, a duplicate event, an
earlier attempt) is taken over: its files are marked from its own roster, never from this spool.
A job may finish before its marking: its result applies to a file not yet marked for it
(``pending``), and the marking that comes after finds the file moved on and writes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import KW_ONLY, dataclass
from datetime import datetime
from itertools import batched
from typing import Any

from orchestrator.aws import manifest
from orchestrator.aws.adapters import Adapters, UsesAdapters
from orchestrator.aws.tracker_table import BATCH_GET_MAX
from orchestrator.aws.transform_jobs import JobStarted, TransformJobs
from orchestrator.core import timestamps
from orchestrator.core.deadlines import DeadlineSettings
from orchestrator.core.routing import Mode
from orchestrator.core.status import TERMINAL, Status
from orchestrator.errors import RetryableError

# Stop marking this long before the Lambda timeout; the retry carries on.
SAFETY_MARGIN_MS = 60_000
# Concurrent conditional writes while marking (botocore's connection pool holds 10).
WORKERS = 8
# What an earlier attempt left on the item: a new job's marking removes it.
CLEARED = ("failure_reason", "failure_location", "completed_at")
ITEM_FIELDS = ("status", "job_name", "job_seq", "key")
_DONE = frozenset({Status.SUCCEEDED.value, Status.SKIPPED.value})  # never scored again
_TERMINAL = frozenset(status.value for status in TERMINAL)

RemainingMillis = Callable[[], int]


def _seq(item: Mapping[str, Any]) -> int | None:
    value = item.get("job_seq")
    return None if value is None else int(value)


def takeable(item: Mapping[str, Any], seq: int) -> bool:
    """The file is where a roster giving it sequence ``seq`` found it: not taken by any job since
    (``seq - 1``), and not SUCCEEDED or SKIPPED (the same rule as ``TrackerTable.mark_for_job``)."""
    if item.get("status") in _DONE:
        return False
    return _seq(item) == (seq - 1 if seq > 1 else None)


def is_current(item: Mapping[str, Any], job_name: str, seq: int) -> bool:
    """The file is marked for ``job_name`` at ``seq``."""
    return _seq(item) == seq and item.get("job_name") == job_name


def pending(item: Mapping[str, Any], job_name: str, seq: int) -> bool:
    """``job_name``'s result applies to the file (the rule of ``TrackerTable.record_job_result``)."""
    if is_current(item, job_name, seq):
        return item.get("status") not in _TERMINAL
    return takeable(item, seq)


@dataclass(frozen=True)
class Launched:
    """A night's job started (or taken over) and the files this call marked for it."""

    started: JobStarted  # created here, or the existing job taken over
    marked: int  # files marked SUBMITTED for it by this call


@dataclass(eq=False)
class NightJobs(UsesAdapters):
    """Starts a night's transform jobs and marks their files."""

    adapters: Adapters
    _: KW_ONLY
    jobs: TransformJobs
    deadlines: DeadlineSettings
    clock: Callable[[], datetime] = timestamps.now
    workers: int = WORKERS

    def start(
        self,
        spool: manifest.Spool,
        *,
        name: str,
        output_prefix: str,
        folder: str,
        request_for: Callable[[str, str], dict[str, Any]],
    ) -> JobStarted:
        """Upload the spool to ``<OUTPUT_PREFIX>batch/<name>/<folder>/`` and create job ``name`` with
        ``request_for(manifest_uri, output_path)``; ``ResourceInUse`` returns the existing job."""
        prefix = f"{manifest.job_key_prefix(output_prefix, name)}{folder}/"
        spool.upload(self.s3, prefix + manifest.MANIFEST_NAME, prefix + manifest.ROSTER_NAME)
        manifest_uri = f"s3://{spool.bucket}/{prefix}{manifest.MANIFEST_NAME}"
        output_path = manifest.output_path(spool.bucket, output_prefix, name)
        return self.jobs.start(request_for(manifest_uri, output_path))

    def launch(
        self,
        spool: manifest.Spool,
        *,
        name: str,
        night: str,
        output_prefix: str,
        folder: str,
        request_for: Callable[[str, str], dict[str, Any]],
        own_manifest: Callable[[str, str | None], str],
        remaining_ms: RemainingMillis | None = None,
        on_started: Callable[[JobStarted], None] | None = None,
    ) -> Launched:
        """Spool → start or take over → mark: job ``name`` started from the spool (:meth:`start`) and
        its files marked; a job of that name that exists already is taken over (:meth:`take_over`).
        ``own_manifest(name, manifest_uri)`` returns the existing job's manifest if this stack wrote it
        (else raises ConfigError); ``on_started`` is the caller's word on the start, said first."""
        started = self.start(spool, name=name, output_prefix=output_prefix, folder=folder, request_for=request_for)
        if on_started is not None:
            on_started(started)
        output_path = manifest.output_path(spool.bucket, output_prefix, name)
        if started.created:
            self.recorder.count("TransformJobsStarted", mode=Mode.NIGHTLY.value)
            marked = self.mark(name, night, output_path, spool.entries(), remaining_ms)
        else:
            existing = own_manifest(name, started.manifest_uri)
            marked = self.take_over(
                existing, name=name, night=night, output_path=output_path, remaining_ms=remaining_ms
            )
        return Launched(started, marked)

    def take_over(
        self,
        manifest_uri: str,
        *,
        name: str,
        night: str,
        output_path: str,
        remaining_ms: RemainingMillis | None = None,
    ) -> int:
        """Marks the files of job ``name``, started already, from the roster next to its manifest."""
        entries = manifest.read_entries(self.s3, manifest.roster_uri(manifest_uri))
        return self.mark(name, night, output_path, entries, remaining_ms)

    def mark(
        self,
        job_name: str,
        night: str,
        output_path: str,
        entries: Iterable[manifest.RosterEntry],
        remaining_ms: RemainingMillis | None = None,
    ) -> int:
        """SUBMITTED to ``job_name`` for every file of the job still where its roster found it;
        returns how many. Stops with ``RetryableError`` when the Lambda timeout nears."""
        moment = self.clock()
        base = {
            "submitted_at": timestamps.iso(moment),
            "deadline_at": self.deadlines.after(moment, self.deadlines.submitted_batch),
            "night": night,
        }

        def submit(pair: tuple[dict[str, Any], int]) -> bool:
            item, seq = pair
            fields = {**base, "output_location": manifest.output_location(output_path, item["key"])}
            return self.tracker.mark_for_job(item["request_id"], job_name, seq, fields, clear=CLEARED)

        marked = 0
        try:
            with ThreadPoolExecutor(max_workers=self.workers) as pool:
                for chunk in batched(entries, BATCH_GET_MAX, strict=False):
                    if remaining_ms is not None and remaining_ms() < SAFETY_MARGIN_MS:
                        raise RetryableError(
                            f"marked {marked} files of {job_name} before the Lambda timeout; a retry continues",
                            {"job": job_name, "marked": marked},
                        )
                    seqs = {entry.request_id: entry.seq for entry in chunk}
                    items = self.tracker.get_many(list(seqs), ITEM_FIELDS)
                    todo = [(i, seqs[i["request_id"]]) for i in items if takeable(i, seqs[i["request_id"]])]
                    marked += sum(pool.map(submit, todo))
        finally:  # what was marked counts, even when a retry has to finish the marking
            if marked:
                self.recorder.count("RequestsSubmitted", mode=Mode.NIGHTLY.value, value=marked)
        return marked
