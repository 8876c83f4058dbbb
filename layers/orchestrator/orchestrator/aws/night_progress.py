"""How far the recording of a finished nightly job has come, kept in S3 next to the job's roster.

Three small objects in the job's run folder (``<OUTPUT_PREFIX>batch/<job>/<run>/``), so that no
invocation depends on what an earlier one held in memory:

- ``progress.json``: the roster position up to which every file is settled (announced and recorded,
  or marked for a retry job that was started), the retry jobs started so far, and when it was
  written. A Lambda retry or the next invocation of the job resumes there: nothing before it is
  read from the tracker or looked up in S3 again.
- ``retry-plan.jsonl``: a segment's files without output, written *before* any of its retry jobs is
  started, with the segment's bounds (``planned_end`` in the progress). An invocation that stops
  while starting them carries the same plan out again: the same parts, the same job names
  (``ResourceInUse``), never a second retry job for a file, and no output looked up twice.
- ``handoff.json``: when the sweeper last handed the job to the batch-result function, so that it
  does not hand it over again while that work goes on.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import IO, Any

from botocore.exceptions import BotoCoreError, ClientError

from orchestrator.aws import manifest
from orchestrator.core import timestamps
from orchestrator.errors import RetryableError
from orchestrator.observability import logger

PROGRESS_NAME = "progress.json"
PLAN_NAME = "retry-plan.jsonl"
HANDOFF_NAME = "handoff.json"
_ABSENT = frozenset({"404", "NoSuchKey", "NotFound"})


@dataclass(frozen=True)
class Progress:
    """How far a failed night's settling has got (its progress.json), so the next attempt resumes there."""

    position: int = 0  # roster entries settled or given to started retry jobs
    planned_end: int | None = None  # a written plan covers [position, planned_end), not yet carried out
    retry_jobs: tuple[str, ...] = ()
    updated_at: str | None = None

    def planned(self, end: int) -> Progress:
        return replace(self, planned_end=end)

    def advanced(self, position: int, started: list[str] | tuple[str, ...] = ()) -> Progress:
        return replace(self, position=position, planned_end=None, retry_jobs=(*self.retry_jobs, *started))


@dataclass
class PlanHeader:
    """The first line of a written plan: the failed job whose files it plans, the roster range it covers,
    and how many files."""

    job: str
    start: int
    end: int
    files: int = field(default=0)


def _folder(manifest_uri: str) -> str:
    if not manifest_uri.endswith("/" + manifest.MANIFEST_NAME):
        raise ValueError(f"{manifest_uri!r} is not a manifest")
    return manifest_uri[: -len(manifest.MANIFEST_NAME)]


class NightProgress:
    """The progress objects of one nightly job's run folder (the folder of ``manifest_uri``)."""

    def __init__(self, s3: Any, manifest_uri: str) -> None:
        self.s3 = s3
        folder = _folder(manifest_uri)
        self.progress_uri = folder + PROGRESS_NAME
        self.plan_uri = folder + PLAN_NAME
        self.handoff_uri = folder + HANDOFF_NAME

    # ---------------------------------------------------------------- progress

    def load(self) -> Progress:
        """The recorded progress; a fresh start when there is none (or it cannot be parsed: starting
        over repeats lookups, never outcomes, as every write is conditional)."""
        raw = self._get(self.progress_uri)
        if raw is None:
            return Progress()
        try:
            data = json.loads(raw)
            return Progress(
                position=int(data["position"]),
                planned_end=None if data.get("plannedEnd") is None else int(data["plannedEnd"]),
                retry_jobs=tuple(str(name) for name in data.get("retryJobs", [])),
                updated_at=data.get("updatedAt"),
            )
        except (ValueError, KeyError, TypeError):
            logger.warning("progress object unreadable: starting from the beginning", extra={"uri": self.progress_uri})
            return Progress()

    def save(self, progress: Progress, moment: datetime) -> Progress:
        saved = replace(progress, updated_at=timestamps.iso(moment))
        body = {
            "position": saved.position,
            "plannedEnd": saved.planned_end,
            "retryJobs": list(saved.retry_jobs),
            "updatedAt": saved.updated_at,
        }
        self._put(self.progress_uri, json.dumps(body).encode(), "application/json")
        return saved

    # ---------------------------------------------------------------- plan

    def write_plan(self, header: PlanHeader, lines: IO[bytes]) -> None:
        """The plan: a header line, then ``lines`` (one JSON line per file, streamed from disk)."""
        import tempfile

        with tempfile.TemporaryFile() as body:
            body.write(json.dumps(header.__dict__).encode() + b"\n")
            lines.seek(0)
            while chunk := lines.read(1 << 20):
                body.write(chunk)
            body.seek(0)
            self._put(self.plan_uri, body, "application/x-ndjson")

    def read_plan(self, header: PlanHeader) -> Iterator[bytes] | None:
        """The plan's file lines if its header is ``header`` (else None: a stale or missing plan)."""
        bucket, key = manifest.split_uri(self.plan_uri)
        try:
            body = self.s3.get_object(Bucket=bucket, Key=key)["Body"]
        except ClientError as exc:
            if _code(exc) in _ABSENT:
                return None
            raise RetryableError(f"GetObject {self.plan_uri} failed: {exc}", {"uri": self.plan_uri}) from exc
        except BotoCoreError as exc:
            raise RetryableError(f"GetObject {self.plan_uri} failed: {exc}", {"uri": self.plan_uri}) from exc
        lines = body.iter_lines()
        first = next(lines, b"")
        try:
            found = PlanHeader(**json.loads(first))
        except (ValueError, TypeError):
            found = None
        if found is None or (found.job, found.start, found.end) != (header.job, header.start, header.end):
            body.close()
            logger.warning("retry plan does not match the progress: verifying again", extra={"uri": self.plan_uri})
            return None
        return _closing(lines, body)

    # ---------------------------------------------------------------- the sweeper's hand-off

    def last_activity(self) -> str | None:
        """The later of the last progress write and the sweeper's last hand-off (ISO), or None."""
        stamps = [self.load().updated_at]
        raw = self._get(self.handoff_uri)
        if raw is not None:
            with contextlib.suppress(ValueError, KeyError, TypeError):  # unreadable: as if never handed off
                stamps.append(str(json.loads(raw)["requestedAt"]))
        known = [stamp for stamp in stamps if stamp]
        return max(known, key=timestamps.parse) if known else None

    def handed_off(self, moment: datetime) -> None:
        body = json.dumps({"requestedAt": timestamps.iso(moment)}).encode()
        self._put(self.handoff_uri, body, "application/json")

    # ---------------------------------------------------------------- S3

    def _get(self, uri: str) -> bytes | None:
        bucket, key = manifest.split_uri(uri)
        try:
            return bytes(self.s3.get_object(Bucket=bucket, Key=key)["Body"].read())
        except ClientError as exc:
            if _code(exc) in _ABSENT:
                return None
            raise RetryableError(f"GetObject {uri} failed: {exc}", {"uri": uri}) from exc
        except BotoCoreError as exc:
            raise RetryableError(f"GetObject {uri} failed: {exc}", {"uri": uri}) from exc

    def _put(self, uri: str, body: bytes | IO[bytes], content_type: str) -> None:
        bucket, key = manifest.split_uri(uri)
        manifest.put_object(self.s3, bucket, key, body, content_type)


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _closing(lines: Iterator[bytes], body: Any) -> Iterator[bytes]:
    try:
        for line in lines:
            if line.strip():
                yield line
    except BotoCoreError as exc:  # the stream broke: the whole step is retried
        raise RetryableError(f"reading a retry plan failed: {exc}") from exc
    finally:
        body.close()
