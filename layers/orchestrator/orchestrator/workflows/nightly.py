"""The nightly batch (docs/architecture.md §2, §6): files routed NIGHTLY wait in the tracker as SCHEDULED; once a
night the schedule invokes the nightly function, which scores them all in one transform job.

The night is the schedule's own time, not the clock: the schedule's input carries
``<aws.scheduler.scheduled-time>``, so a retry the next morning still collects the files scheduled up
to that time and names the job from that night, read in the schedule's time zone
(``NIGHTLY_SCHEDULE_TIMEZONE``; see orchestrator.core.nights): ``<prefix>-nightly-YYYY-MM-DD``.

One run: collect the SCHEDULED items up to the scheduled time (the in-flight index, page by page),
keep the newest version of each key (two versions of one key in one night: the older is SKIPPED and
announced, since a manifest cannot name a version), spool the manifest and the roster to ``/tmp``,
upload both, start the job, then mark every file of the job SUBMITTED with its name (night_jobs).
Each step is safe to repeat:

- the job name is derived, so a second run for the same night meets ``ResourceInUse`` (or finds the
  job already there) and only finishes the marking, from the roster of the job that exists;
- marking is a conditional write per file, skipped for files already moved on;
- a run that nears the Lambda timeout stops marking and fails on purpose: Lambda's retry of the
  same event resumes it.

A failed night's job is followed up by the batch-result function (retry jobs for the files left
without output, orchestrator.workflows.batch_results). Re-running a night by hand:
``{"rerun": 1, "date": "2026-11-28"}``. Re-run *n* takes **every file of the night** not SUCCEEDED or
SKIPPED, whichever job of the night it was last given to (the jobs are found from the night's
artifacts, ``<OUTPUT_PREFIX>batch/<prefix>-nightly-<night>…/``), scores them in
``<prefix>-nightly-2026-11-28-r<n>`` and moves them back to SUBMITTED under that job: the one
deliberate exception to "status only moves forward". While a job of the night still runs, or a
finished job's results are still being recorded, the re-run starts nothing and says what it waits
for (``"waiting"`` in its answer): invoke it again later.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import batched
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from orchestrator.aws import manifest
from orchestrator.aws.adapters import Adapters, UsesAdapters
from orchestrator.aws.tracker_table import BATCH_GET_MAX
from orchestrator.aws.transform_jobs import FINISHED, JobStarted, TransformJobs, job_request, manifest_of
from orchestrator.core import nights, timestamps
from orchestrator.core.routing import Mode
from orchestrator.core.status import TERMINAL, Status
from orchestrator.errors import BadEventError, ConfigError, RetryableError
from orchestrator.modes.night_jobs import SAFETY_MARGIN_MS, WORKERS, NightJobs, is_current, takeable
from orchestrator.observability import logger
from orchestrator.settings import NightlySettings

if TYPE_CHECKING:
    from orchestrator.modes.interface import ClaimedFile

__all__ = ["SAFETY_MARGIN_MS", "Night", "Nightly", "NightlyEnlister", "night_from_event"]

MAX_RERUN = nights.MAX_RERUN
# Stop recording distinct content types past this: only "one or several" matters.
_CONTENT_TYPES_KEPT = 8
_PLACEHOLDER = "<aws.scheduler."
_COLLECTED = (
    "request_id",
    "bucket",
    "key",
    "content_type",
    "job_seq",
    "object_uri",
    "mode",
    "s3_event_time",
    "sequencer",
    "created_at",
)
_RERUN_FIELDS = ("status", "job_name", "job_seq", "bucket", "key", "content_type")
_TERMINAL = frozenset(status.value for status in TERMINAL)

RemainingMillis = Callable[[], int]


@dataclass(eq=False)
class NightlyEnlister(UsesAdapters):
    """``Router.register(Mode.NIGHTLY, NightlyEnlister(...))``: the file waits for tonight's job."""

    adapters: Adapters

    def __call__(self, file: ClaimedFile) -> None:
        # Due by the next night + its retry window + grace, from the claim, which wrote that deadline.
        request_id, event = file.request_id, file.event
        fields = {"scheduled_at": timestamps.iso(self.tracker.now())}
        confirmed = self.tracker.confirm(request_id, Status.SCHEDULED, fields)
        if not confirmed:  # pragma: no cover - only a concurrent takeover of the same claim gets here
            logger.info("already moved on before it was scheduled", extra={"key": event.key})
        else:  # DEBUG: the router's INFO line already says mode nightly (one line a file: nights are big)
            logger.debug("scheduled for the nightly batch", extra={"key": event.key})
        self.recorder.count("RequestsRouted", mode=Mode.NIGHTLY.value)


@dataclass(frozen=True)
class Night:
    """The night a run is for: its name, its job and the files it takes."""

    date: str  # the night's name (orchestrator.core.nights): the scheduled time's local date, or the re-run's
    job_name: str
    until: str | None  # ISO-8601: files SCHEDULED up to here; None for a re-run
    rerun: int = 0


def night_from_event(event: Any, prefix: str, *, timezone: str = "UTC", by_time: bool = False) -> Night:
    """The schedule's event (``scheduledTime``) or a re-run request (``rerun`` + ``date``). The night
    is named in ``timezone`` (the schedule's), with the local time when ``by_time``."""
    if not isinstance(event, dict):
        raise BadEventError("nightly event is not a JSON object")
    if "rerun" in event:
        return _rerun(event, prefix)
    raw = event.get("scheduledTime")
    if not isinstance(raw, str) or not raw or raw.startswith(_PLACEHOLDER):
        raise BadEventError(
            "nightly event has no scheduledTime (the schedule's Input must carry <aws.scheduler.scheduled-time>)",
            {"fields": sorted(event)},
        )
    try:
        moment = timestamps.parse(raw)
    except ValueError as exc:
        raise BadEventError(f"scheduledTime {raw!r} is not a timestamp") from exc
    night = nights.night_of(moment, nights.time_zone(timezone), with_time=by_time)
    return Night(night, nights.night_job(prefix, night), timestamps.iso(moment))


def _rerun(event: dict[str, Any], prefix: str) -> Night:
    attempt = event["rerun"]
    if attempt is True:
        attempt = 1
    if isinstance(attempt, bool) or not isinstance(attempt, int) or not 1 <= attempt <= MAX_RERUN:
        raise BadEventError(f"rerun must be true or a number 1..{MAX_RERUN}, got {attempt!r}")
    raw = event.get("date")
    night = nights.valid_night(raw)
    if night is None:
        raise BadEventError(
            "a re-run needs the night's date as YYYY-MM-DD (YYYY-MM-DD-HHMM for a schedule that runs several "
            f"times a day: the night's job name says which), got {raw!r}"
        )
    return Night(night, nights.rerun_job(prefix, night, attempt), None, attempt)


@dataclass
class _Collected:
    """What a night's collection saw besides its files: content types, superseded, waiting."""

    content_types: set[str | None] = field(default_factory=set)
    superseded: int = 0
    waiting: list[str] = field(default_factory=list)  # why a re-run starts nothing yet

    def saw(self, content_type: str | None) -> None:
        if len(self.content_types) < _CONTENT_TYPES_KEPT:
            self.content_types.add(content_type)


def _newness(item: dict[str, Any]) -> str:
    """Orders two versions of one key: upload time (the S3 event's), then S3's sequencer, then claim."""
    uploaded = item.get("s3_event_time") or item.get("created_at") or ""
    return f"{uploaded}|{str(item.get('sequencer') or '').rjust(40, '0')}|{item.get('created_at') or ''}"


class _Newest:
    """The night's files by key, the newest version of each kept, in a table on disk (SQLite in
    ``/tmp``): deduplicating 100,000 keys costs no memory that grows with the night."""

    def __init__(self) -> None:
        import sqlite3  # only the nightly function needs it
        import tempfile

        self._dir = tempfile.TemporaryDirectory()
        self._db = sqlite3.connect(os.path.join(self._dir.name, "night.sqlite"))
        self._db.executescript(
            "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;"
            "CREATE TABLE files (key TEXT PRIMARY KEY, newness TEXT NOT NULL, item TEXT NOT NULL);"
        )

    def __enter__(self) -> _Newest:
        return self

    def __exit__(self, *_: object) -> None:
        self._db.close()
        self._dir.cleanup()

    def add(self, item: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """Keep ``item`` unless a newer version of its key is kept. Returns ``(older, newer)`` when
        one of two versions of a key is superseded."""
        key, newness, blob = item["key"], _newness(item), json.dumps(item)
        row = self._db.execute("SELECT newness, item FROM files WHERE key = ?", (key,)).fetchone()
        if row is None:
            self._db.execute("INSERT INTO files (key, newness, item) VALUES (?, ?, ?)", (key, newness, blob))
            return None
        kept: dict[str, Any] = json.loads(row[1])
        if kept["request_id"] == item["request_id"]:
            return None
        if newness > row[0]:
            self._db.execute("UPDATE files SET newness = ?, item = ? WHERE key = ?", (newness, blob, key))
            return kept, item
        return item, kept

    def items(self) -> Iterator[dict[str, Any]]:
        for (blob,) in self._db.execute("SELECT item FROM files ORDER BY rowid"):
            yield json.loads(blob)


def _plain(item: dict[str, Any]) -> dict[str, Any]:
    """The fields of a SCHEDULED item the night needs, as JSON-ready values."""
    plain = {name: item.get(name) for name in _COLLECTED if item.get(name) is not None}
    plain["job_seq"] = int(item.get("job_seq") or 0)
    return plain


class Nightly(UsesAdapters):
    def __init__(
        self,
        settings: NightlySettings,
        adapters: Adapters,
        *,
        jobs: TransformJobs,
        clock: Callable[[], Any] = timestamps.now,
        workers: int = WORKERS,
    ) -> None:
        super().__init__(adapters)
        self.settings = settings
        self.bucket = settings.input_bucket
        self.prefix = settings.transform.job_prefix
        self.jobs = jobs
        self.night_jobs = NightJobs(adapters, jobs=jobs, deadlines=settings.deadlines, clock=clock, workers=workers)
        self.by_time = nights.named_by_time(settings.schedule_expression)

    def run(self, event: Any, remaining_ms: RemainingMillis | None = None) -> dict[str, Any]:
        night = night_from_event(event, self.prefix, timezone=self.settings.schedule_timezone, by_time=self.by_time)
        logger.append_keys(job_name=night.job_name)
        existing = self.jobs.describe(night.job_name)
        if existing is not None:
            manifest_uri = self._own_manifest(night.job_name, manifest_of(existing))
            status = existing.get("TransformJobStatus")
            logger.info("transform job already started: finishing its marking", extra={"status": status})
            marked = self.night_jobs.take_over(
                manifest_uri,
                name=night.job_name,
                night=night.date,
                output_path=manifest.output_path(self.bucket, self.settings.output_prefix, night.job_name),
                remaining_ms=remaining_ms,
            )
            return self._summary(night, night.job_name, files=None, marked=marked, created=False)
        with manifest.Spool(self.bucket) as spool:
            collected = self._collect_rerun(night, spool) if night.rerun else self._collect_night(night, spool)
            if collected.waiting:
                return self._waiting(night, collected)
            if spool.count == 0:
                what = "of the night left to re-run" if night.rerun else f"scheduled up to {night.until}"
                logger.info(f"no files {what}: no transform job started", extra={"date": night.date})
                return self._summary(night, None, files=0, marked=0, created=False, collected=collected)
            content_type = self._content_type(collected.content_types)

            def request_for(manifest_uri: str, output_path: str) -> dict[str, Any]:
                return job_request(
                    self.settings.transform,
                    name=night.job_name,
                    manifest_uri=manifest_uri,
                    output_path=output_path,
                    content_type=content_type,
                )

            def on_started(started: JobStarted) -> None:
                if started.created:
                    logger.info("transform job started", extra={"files": spool.count, "content_type": content_type})
                else:  # a concurrent run won: the files of the job that exists are marked, from its roster
                    logger.info("transform job already started by another run", extra={"status": started.status})

            # One folder per attempt: a concurrent duplicate never overwrites the manifest a job reads.
            launched = self.night_jobs.launch(
                spool,
                name=night.job_name,
                night=night.date,
                output_prefix=self.settings.output_prefix,
                folder=uuid.uuid4().hex[:12],
                request_for=request_for,
                own_manifest=self._own_manifest,
                remaining_ms=remaining_ms,
                on_started=on_started,
            )
            return self._summary(
                night,
                night.job_name,
                files=spool.count,
                marked=launched.marked,
                created=launched.started.created,
                collected=collected,
            )

    # ---------------------------------------------------------------- the night's files

    def _collect_night(self, night: Night, spool: manifest.Spool) -> _Collected:
        """Every file SCHEDULED up to the scheduled time, the newest version of each key."""
        assert night.until is not None
        collected = _Collected()
        with _Newest() as newest:
            for item in self.tracker.in_status(Status.SCHEDULED, until=night.until, attributes=_COLLECTED):
                if item.get("bucket", self.bucket) != self.bucket:
                    logger.warning(
                        "scheduled file of another bucket left out", extra={"request_id": item["request_id"]}
                    )
                    continue
                if superseded := newest.add(_plain(item)):
                    self._supersede(*superseded)
                    collected.superseded += 1
            for item in newest.items():
                spool.add(item["key"], item["request_id"], item["job_seq"] + 1)
                collected.saw(item.get("content_type"))
        return collected

    def _supersede(self, older: dict[str, Any], newer: dict[str, Any]) -> None:
        """Two versions of one key in one night: a manifest names keys, not versions, so the job would
        read the newer bytes twice. The older request is SKIPPED and announced."""
        uploaded = newer.get("s3_event_time") or newer.get("created_at")
        reason = (
            f"superseded by a newer version uploaded at {uploaded} (request {newer['request_id']}): a nightly "
            "job reads each key's current version, so only the newest version of a key is scored"
        )
        logger.info("older version of a key superseded", extra={"key": older["key"], "newer": newer["request_id"]})
        self.announcer.announce(older, Status.SKIPPED, reason=reason, extra={"supersededBy": newer["request_id"]})

    def _collect_rerun(self, night: Night, spool: manifest.Spool) -> _Collected:
        """Every file of the night not SUCCEEDED or SKIPPED, from the roster of the job it was last
        given to; nothing while a job of the night runs or a finished job's results are not recorded."""
        collected = _Collected()
        jobs = self._jobs_of(night)
        running = [f"{name} is {d.get('TransformJobStatus')}" for name, d in jobs.items() if not self._finished(d)]
        if running:
            collected.waiting = running
            return collected
        for name, description in jobs.items():
            roster = manifest.roster_uri(self._own_manifest(name, manifest_of(description)))
            for chunk in batched(manifest.read_entries(self.s3, roster), BATCH_GET_MAX, strict=False):
                seqs = {entry.request_id: entry.seq for entry in chunk}
                for item in self.tracker.get_many(list(seqs), _RERUN_FIELDS):
                    seq = seqs[item["request_id"]]
                    if not (is_current(item, name, seq) or takeable(item, seq)):
                        continue  # another job of the night has it, or it SUCCEEDED
                    status = item.get("status")
                    if status in (Status.SUCCEEDED, Status.SKIPPED):
                        continue
                    if status in (Status.SUBMITTED, Status.IN_PROGRESS):  # its job finished: result on its way
                        collected.waiting = [
                            f"the results of {name} are still being recorded (should this last, its state-change "
                            "event is in BatchResultDLQ: redrive it; the sweeper also records it once overdue)"
                        ]
                        return collected
                    if item.get("bucket", self.bucket) != self.bucket:
                        continue
                    spool.add(item["key"], item["request_id"], int(item.get("job_seq") or 0) + 1)
                    collected.saw(item.get("content_type"))
        return collected

    def _jobs_of(self, night: Night) -> dict[str, dict[str, Any]]:
        """Every job of the night that exists (from the night's artifact folders), described."""
        base = f"{self.settings.output_prefix}batch/"
        params: dict[str, Any] = {
            "Bucket": self.bucket,
            "Prefix": base + nights.night_job(self.prefix, night.date),
            "Delimiter": "/",
        }
        names: list[str] = []
        while True:
            try:
                page = self.s3.list_objects_v2(**params)
            except (ClientError, BotoCoreError) as exc:
                message = f"listing the jobs of night {night.date} failed: {exc}"
                raise RetryableError(message, {"date": night.date}) from exc
            for folder in page.get("CommonPrefixes", []):
                name = folder["Prefix"][len(base) :].rstrip("/")
                parsed = nights.parse_job(self.prefix, name)
                if parsed is not None and parsed.night == night.date and name != night.job_name:
                    names.append(name)
            if not page.get("IsTruncated"):
                break
            params["ContinuationToken"] = page["NextContinuationToken"]
        jobs = {name: described for name in sorted(names) if (described := self.jobs.describe(name)) is not None}
        if not jobs:
            raise BadEventError(f"cannot re-run: night {night.date} has no transform job", {"date": night.date})
        return jobs

    @staticmethod
    def _finished(description: dict[str, Any]) -> bool:
        return description.get("TransformJobStatus") in FINISHED

    def _content_type(self, seen: set[str | None]) -> str | None:
        if self.settings.transform.content_type:
            return self.settings.transform.content_type
        known = {ct for ct in seen if ct}
        if len(known) == 1:
            return known.pop()
        if known:
            logger.warning(
                "the night's files have several content types and TransformContentType is not set: "
                "the job sends none (the container's default applies)",
                extra={"content_types": sorted(known)},
            )
        return None

    def _own_manifest(self, job_name: str, manifest_uri: str | None) -> str:
        """The job's manifest, if this stack wrote it; a job of the same name from elsewhere is an error."""
        mine = f"s3://{self.bucket}/{manifest.job_key_prefix(self.settings.output_prefix, job_name)}"
        if not manifest_uri or not manifest_uri.startswith(mine) or not manifest_uri.endswith(manifest.MANIFEST_NAME):
            raise ConfigError(
                f"transform job {job_name} exists but was not started by this stack (it reads {manifest_uri}); "
                "give each stack its own TransformJobPrefix",
                {"job": job_name, "manifest": manifest_uri},
            )
        return manifest_uri

    def _waiting(self, night: Night, collected: _Collected) -> dict[str, Any]:
        summary = self._summary(night, None, files=0, marked=0, created=False, log=False)
        summary["waiting"] = "; ".join(collected.waiting)
        logger.warning("re-run waits: no job started; invoke it again later", extra=summary)
        return summary

    def _summary(
        self,
        night: Night,
        job_name: str | None,
        *,
        files: int | None,
        marked: int,
        created: bool,
        collected: _Collected | None = None,
        log: bool = True,
    ) -> dict[str, Any]:
        summary: dict[str, Any] = {
            "date": night.date,
            "jobName": job_name,
            "jobCreated": created,
            "files": files,
            "markedSubmitted": marked,
        }
        if night.rerun:
            summary["rerun"] = night.rerun
        if collected is not None and collected.superseded:
            summary["superseded"] = collected.superseded
        if log:
            logger.info("nightly run finished", extra=summary)
        return summary
