"""The poison-file splitting: a failed nightly job's files left without output, retried in jobs of the
next round that each take a part of them (halves, orchestrator.core.nights), until a file that fails
alone in its job is FAILED with that job's reason (orchestrator.workflows.failed_nights decides that).

A retry job repeats its parent's parameters (``DescribeTransformJob``), reads a manifest of its own
next to its parent's artifacts and is named from its files, so the same files always give the same
job: a duplicate event, or a recorded plan carried out again, meets ``ResourceInUse`` and marks the
same files for the same jobs (modes/night_jobs).
"""

from __future__ import annotations

import json
import re
import tempfile
import uuid
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import KW_ONLY, dataclass, field
from itertools import batched, islice
from typing import IO, Any

from orchestrator.aws import manifest
from orchestrator.aws.adapters import Adapters, UsesAdapters
from orchestrator.aws.tracker_table import BATCH_GET_MAX
from orchestrator.aws.transform_jobs import TransformJobs, retry_request
from orchestrator.core import nights, timestamps
from orchestrator.errors import BadEventError, ConfigError, RetryableError
from orchestrator.modes.night_jobs import NightJobs, is_current
from orchestrator.observability import logger
from orchestrator.settings import BatchResultSettings
from orchestrator.workflows.state_change import Pair, StateChange

RemainingMillis = Callable[[], int]


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


def artifacts_of(manifest_uri: str, job_name: str) -> tuple[str, str]:
    """``(bucket, OUTPUT_PREFIX)`` of a nightly job's manifest ``s3://<bucket>/<prefix>batch/<job>/<run>/…``:
    where the job's retry jobs keep theirs."""
    match = re.match(rf"^s3://([^/]+)/(.*)batch/{re.escape(job_name)}/[^/]+/{manifest.MANIFEST_NAME}$", manifest_uri)
    if match is None:
        raise ConfigError(
            f"transform job {job_name} reads {manifest_uri}, not a manifest this stack wrote: "
            "its files are not retried",
            {"job": job_name, "manifest": manifest_uri},
        )
    return match[1], match[2]


def own_manifest(job_name: str, manifest_uri: str | None) -> str:
    """The manifest of a retry job that exists already, if this stack wrote it (else ConfigError)."""
    existing = manifest_uri or ""
    artifacts_of(existing, job_name)
    return existing


@dataclass(eq=False)
class RetryJobs(UsesAdapters):
    """The retry jobs of one failed nightly job, for one invocation (its parameters described once)."""

    change: StateChange
    adapters: Adapters
    _: KW_ONLY
    settings: BatchResultSettings
    jobs: Callable[[], TransformJobs]  # SageMaker, made on first use: most failed nights start no retry job
    workers: int
    pool: ThreadPoolExecutor
    totals: dict[str, int]
    remaining_ms: RemainingMillis | None
    round: int = field(init=False)
    _described: dict[str, Any] | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        assert self.change.manifest_uri is not None
        self.round = nights.round_of(self.change.manifest_uri) + 1

    def _parameters(self) -> dict[str, Any]:
        """The job's own parameters (DescribeTransformJob, once per invocation); the event's copy of
        them if it is gone."""
        if self._described is None:
            parent = self.change.job_name
            described = self.jobs().describe(parent) or self.change.detail
            if not described.get("ModelName"):
                raise RetryableError(f"transform job {parent} cannot be described", {"job": parent})
            self._described = described
        return self._described

    def start(self, remainder: Remainder) -> list[str]:
        """Retry jobs of the next round for the files of ``remainder``; returns their names."""
        assert self.change.manifest_uri is not None
        prefix, parent = self.settings.job_prefix, self.change.job_name
        night = nights.parse_job(prefix, parent)
        if night is None:
            raise BadEventError(f"{parent} is not named like a job of a night", {"job": parent})
        bucket, output_prefix = artifacts_of(self.change.manifest_uri, parent)
        described = self._parameters()
        sizes = nights.part_sizes(remainder.count, self.round)
        logger.warning(
            "files without output retried in smaller jobs",
            extra={"files": remainder.count, "jobs": len(sizes), "round": self.round},
        )
        # Each retry job takes its files from this job: a file this job's marking has not reached yet
        # (it failed within seconds) is marked for it first, so a retry job's result finds every one
        # of its files either marked for it or still at this job.
        unmarked = (pair for pair in remainder.read() if not pair[0]["marked"])
        for chunk in batched(unmarked, BATCH_GET_MAX, strict=False):
            list(self.pool.map(lambda pair: self._adopt(*pair), chunk))
        deadlines, clock = self.settings.deadlines, self.tracker.now
        night_jobs = NightJobs(self.adapters, jobs=self.jobs(), deadlines=deadlines, clock=clock, workers=self.workers)
        names: list[str] = []
        pairs = remainder.read()
        for size in sizes:
            with manifest.Spool(bucket) as spool:
                for item, seq in islice(pairs, size):
                    spool.add(item["key"], item["request_id"], seq + 1)
                name = nights.retry_job(prefix, night.night, parent, spool.request_ids())

                def request_for(manifest_uri: str, output_path: str, name: str = name) -> dict[str, Any]:
                    return retry_request(described, name=name, manifest_uri=manifest_uri, output_path=output_path)

                launched = night_jobs.launch(
                    spool,
                    name=name,
                    night=night.night,
                    output_prefix=output_prefix,
                    folder=nights.run_folder(uuid.uuid4().hex[:12], self.round),
                    request_for=request_for,
                    # started already (a duplicate event, or this plan before): the same files
                    own_manifest=own_manifest,
                    remaining_ms=self.remaining_ms,
                )
                self.totals["retried"] += launched.marked
                self.totals["retryJobs"] += 1
                names.append(name)
        return names

    def _adopt(self, item: dict[str, Any], seq: int) -> bool:
        moment = self.tracker.now()
        night = nights.parse_job(self.settings.job_prefix, self.change.job_name)
        fields = {
            "submitted_at": timestamps.iso(moment),
            "deadline_at": self.settings.deadlines.after(moment, self.settings.deadlines.submitted_batch),
            "night": night.night if night else None,
        }
        if self.change.output_path:
            fields["output_location"] = manifest.output_location(self.change.output_path, item["key"])
        return self.tracker.mark_for_job(item["request_id"], self.change.job_name, seq, fields)
