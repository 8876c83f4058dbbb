"""The nightly batch (DESIGN §1, §2): files routed NIGHTLY wait in the tracker as SCHEDULED; once a
night the schedule invokes the nightly function, which scores them all in one transform job.

The night is the schedule's own time, not the clock: the schedule's input carries
``<aws.scheduler.scheduled-time>``, so a retry the next morning still collects the files scheduled up
to that time and names the job from that date (UTC): ``<prefix>-nightly-YYYY-MM-DD``.

One run: collect the SCHEDULED items up to the scheduled time (``ByStatus`` index, page by page),
spool the manifest and the roster (request ids) to ``/tmp``, upload both, start the job, then mark
every file of the job SUBMITTED with its name. Each step is safe to repeat:

- the job name is derived, so a second run for the same night meets ``ResourceInUse`` (or finds the
  job already there) and only finishes the marking, from the roster of the job that exists;
- marking is a conditional write per file (SCHEDULED → SUBMITTED), skipped for files already moved;
- a run that nears the Lambda timeout stops marking and fails on purpose: Lambda's retry of the
  same event resumes it.

Re-running a failed night: invoke the function with ``{"rerun": 1, "date": "2026-11-28"}``. Re-run
*n* takes the files still FAILED or STOPPED in the night's previous attempt (the night's job for
n = 1, re-run n-1's job otherwise), scores them in ``<prefix>-nightly-2026-11-28-r<n>`` and moves
them back to SUBMITTED under that job: the one deliberate exception to "status only moves forward".
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from itertools import batched
from typing import Any

from orchestrator import identity, manifest, timeutil
from orchestrator.errors import BadEventError, ConfigError, RetryableError
from orchestrator.observability import Recorder, logger
from orchestrator.routing import Decision, Mode
from orchestrator.s3_events import ObjectCreated
from orchestrator.settings import NightlySettings
from orchestrator.status import Status
from orchestrator.tracker import BATCH_GET_MAX, Tracker
from orchestrator.transform import TransformJobs, job_request, manifest_of

# Stop marking this long before the Lambda timeout; the retry carries on.
SAFETY_MARGIN_MS = 60_000
# Concurrent conditional writes while marking (botocore's connection pool holds 10).
WORKERS = 8
MAX_RERUN = 99
# Stop recording distinct content types past this: only "one or several" matters.
_CONTENT_TYPES_KEPT = 8
_PLACEHOLDER = "<aws.scheduler."

RemainingMillis = Callable[[], int]


class NightlyEnlister:
    """``Router.register(Mode.NIGHTLY, NightlyEnlister(...))``: the file waits for tonight's job."""

    def __init__(self, tracker: Tracker, deadline_seconds: int, recorder: Recorder | None = None) -> None:
        self.tracker = tracker
        self.deadline_seconds = deadline_seconds  # the next night + its retry window + grace
        self.recorder = recorder or Recorder()

    def __call__(self, request_id: str, event: ObjectCreated, decision: Decision) -> None:
        moment = self.tracker.now()
        fields = {
            "scheduled_at": timeutil.iso(moment),
            "deadline_at": timeutil.iso(moment + timedelta(seconds=self.deadline_seconds)),
        }
        confirmed = self.tracker.confirm(request_id, Status.SCHEDULED, fields)
        if not confirmed:  # pragma: no cover - only a concurrent takeover of the same claim gets here
            logger.info("already moved on before it was scheduled", extra={"key": event.key})
        logger.info("scheduled for the nightly batch", extra={"key": event.key})
        self.recorder.count("RequestsRouted", mode=Mode.NIGHTLY.value)


@dataclass(frozen=True)
class Night:
    date: str  # YYYY-MM-DD (UTC) of the scheduled time, or the date a re-run names
    job_name: str
    until: str | None  # ISO-8601: files SCHEDULED up to here; None for a re-run
    rerun: int = 0
    source_job: str | None = None  # a re-run takes over this job's FAILED / STOPPED files


def night_from_event(event: Any, prefix: str) -> Night:
    """The schedule's event (``scheduledTime``) or a re-run request (``rerun`` + ``date``)."""
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
        moment = timeutil.parse(raw)
    except ValueError as exc:
        raise BadEventError(f"scheduledTime {raw!r} is not a timestamp") from exc
    night = moment.astimezone(UTC).date().isoformat()
    return Night(night, identity.job_name(prefix, f"nightly-{night}"), timeutil.iso(moment))


def _rerun(event: dict[str, Any], prefix: str) -> Night:
    attempt = event["rerun"]
    if attempt is True:
        attempt = 1
    if isinstance(attempt, bool) or not isinstance(attempt, int) or not 1 <= attempt <= MAX_RERUN:
        raise BadEventError(f"rerun must be true or a number 1..{MAX_RERUN}, got {attempt!r}")
    raw = event.get("date")
    try:
        night = date.fromisoformat(raw).isoformat() if isinstance(raw, str) and len(raw) == 10 else None
    except ValueError:
        night = None
    if night is None:
        raise BadEventError(f"a re-run needs the night's date as YYYY-MM-DD, got {raw!r}")
    base = f"nightly-{night}"
    source = base if attempt == 1 else f"{base}-r{attempt - 1}"
    return Night(
        night,
        identity.job_name(prefix, f"{base}-r{attempt}"),
        None,
        attempt,
        identity.job_name(prefix, source),
    )


class Nightly:
    def __init__(
        self,
        settings: NightlySettings,
        *,
        tracker: Tracker,
        jobs: TransformJobs,
        s3: Any,
        recorder: Recorder | None = None,
        clock: Callable[[], datetime] = timeutil.now,
        workers: int = WORKERS,
    ) -> None:
        self.settings = settings
        self.bucket = settings.input_bucket
        self.tracker = tracker
        self.jobs = jobs
        self.s3 = s3
        self.recorder = recorder or Recorder()
        self.clock = clock
        self.workers = workers

    def run(self, event: Any, remaining_ms: RemainingMillis | None = None) -> dict[str, Any]:
        night = night_from_event(event, self.settings.transform.job_prefix)
        logger.append_keys(job_name=night.job_name)
        existing = self.jobs.describe(night.job_name)
        if existing is not None:
            manifest_uri = self._own_manifest(night.job_name, manifest_of(existing))
            status = existing.get("TransformJobStatus")
            logger.info("transform job already started: finishing its marking", extra={"status": status})
            marked = self._mark(night, manifest.read_roster(self.s3, manifest.roster_uri(manifest_uri)), remaining_ms)
            return self._summary(night, night.job_name, files=None, marked=marked, created=False)
        source_manifest = self._source_manifest(night) if night.rerun else None
        with manifest.Spool(self.bucket) as spool:
            content_types = self._collect(night, spool, source_manifest)
            if spool.count == 0:
                what = f"failed or stopped in {night.source_job}" if night.rerun else f"scheduled up to {night.until}"
                logger.info(f"no files {what}: no transform job started", extra={"date": night.date})
                return self._summary(night, None, files=0, marked=0, created=False)
            run = uuid.uuid4().hex[:12]  # one folder per attempt: a concurrent duplicate never overwrites
            folder = f"{manifest.job_key_prefix(self.settings.output_prefix, night.job_name)}{run}/"
            spool.upload(self.s3, folder + manifest.MANIFEST_NAME, folder + manifest.ROSTER_NAME)
            request = job_request(
                self.settings.transform,
                name=night.job_name,
                manifest_uri=f"s3://{self.bucket}/{folder}{manifest.MANIFEST_NAME}",
                output_path=manifest.output_path(self.bucket, self.settings.output_prefix, night.job_name),
                content_type=self._content_type(content_types),
            )
            started = self.jobs.start(request)
            if started.created:
                logger.info(
                    "transform job started",
                    extra={"files": spool.count, "content_type": request["TransformInput"].get("ContentType")},
                )
                self.recorder.count("TransformJobsStarted", mode=Mode.NIGHTLY.value)
                ids: Iterable[str] = spool.request_ids()
            else:  # a concurrent run won: mark the files of the job that exists, from its roster
                logger.info("transform job already started by another run", extra={"status": started.status})
                winner = self._own_manifest(night.job_name, started.manifest_uri)
                ids = manifest.read_roster(self.s3, manifest.roster_uri(winner))
            marked = self._mark(night, ids, remaining_ms)
            return self._summary(night, night.job_name, files=spool.count, marked=marked, created=started.created)

    # ---------------------------------------------------------------- collect

    def _collect(self, night: Night, spool: manifest.Spool, source_manifest: str | None) -> set[str | None]:
        content_types: set[str | None] = set()
        for item in self._candidates(night, source_manifest):
            if item.get("bucket", self.bucket) != self.bucket:
                logger.warning("scheduled file of another bucket left out", extra={"request_id": item["request_id"]})
                continue
            spool.add(item["key"], item["request_id"])
            if len(content_types) < _CONTENT_TYPES_KEPT:
                content_types.add(item.get("content_type"))
        return content_types

    def _candidates(self, night: Night, source_manifest: str | None) -> Iterator[dict[str, Any]]:
        if source_manifest is None:
            assert night.until is not None
            yield from self.tracker.in_status(
                Status.SCHEDULED, until=night.until, attributes=("request_id", "bucket", "key", "content_type")
            )
            return
        roster = manifest.read_roster(self.s3, manifest.roster_uri(source_manifest))
        for chunk in batched(roster, BATCH_GET_MAX, strict=False):
            items = self.tracker.get_many(chunk, ("status", "job_name", "bucket", "key", "content_type"))
            yield from (item for item in items if self._eligible(night, item))

    def _source_manifest(self, night: Night) -> str:
        assert night.source_job is not None
        source = self.jobs.describe(night.source_job)
        if source is None:
            raise BadEventError(f"cannot re-run: no transform job {night.source_job}", {"job": night.source_job})
        status = source.get("TransformJobStatus")
        if status not in ("Failed", "Stopped"):
            raise BadEventError(
                f"cannot re-run: {night.source_job} is {status}; only a Failed or Stopped night can be re-run",
                {"job": night.source_job},
            )
        return self._own_manifest(night.source_job, manifest_of(source))

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

    # ---------------------------------------------------------------- mark

    def _eligible(self, night: Night, item: dict[str, Any]) -> bool:
        if night.rerun:
            return item.get("status") in (Status.FAILED, Status.STOPPED) and item.get("job_name") == night.source_job
        return item.get("status") == Status.SCHEDULED

    def _mark(self, night: Night, request_ids: Iterable[str], remaining_ms: RemainingMillis | None) -> int:
        """SUBMITTED with the job name, for every file of the job still waiting; returns how many."""
        output = manifest.output_path(self.bucket, self.settings.output_prefix, night.job_name)
        moment = self.clock()
        submitted_at = timeutil.iso(moment)
        deadline_at = self.settings.deadlines.after(moment, self.settings.deadlines.submitted_batch)
        from_statuses = (Status.FAILED, Status.STOPPED) if night.rerun else (Status.SCHEDULED,)
        clear = ("failure_reason", "failure_location", "completed_at") if night.rerun else ()

        def submit(item: dict[str, Any]) -> bool:
            fields = {
                "submitted_at": submitted_at,
                "deadline_at": deadline_at,
                "output_location": manifest.output_location(output, item["key"]),
            }
            return self.tracker.submit_to_job(
                item["request_id"],
                night.job_name,
                fields,
                from_statuses=from_statuses,
                from_job=night.source_job,
                clear=clear,
            )

        marked = 0
        try:
            with ThreadPoolExecutor(max_workers=self.workers) as pool:
                for chunk in batched(request_ids, BATCH_GET_MAX, strict=False):
                    if remaining_ms is not None and remaining_ms() < SAFETY_MARGIN_MS:
                        raise RetryableError(
                            f"marked {marked} files of {night.job_name} before the Lambda timeout; a retry continues",
                            {"job": night.job_name, "marked": marked},
                        )
                    items = self.tracker.get_many(chunk, ("status", "job_name", "key"))
                    marked += sum(pool.map(submit, [item for item in items if self._eligible(night, item)]))
        finally:  # what was marked counts, even when a retry has to finish the marking
            if marked:
                self.recorder.count("RequestsSubmitted", mode=Mode.NIGHTLY.value, value=marked)
        return marked

    def _summary(
        self, night: Night, job_name: str | None, *, files: int | None, marked: int, created: bool
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
        logger.info("nightly run finished", extra=summary)
        return summary
