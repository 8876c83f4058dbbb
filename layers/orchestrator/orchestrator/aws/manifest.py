"""Batch artifacts in S3: the manifest SageMaker reads, the job's roster, and where outputs land.

Layout under ``s3://<bucket>/<OUTPUT_PREFIX>batch/<job name>/`` (docs/architecture.md §6):

- ``manifest.json`` (a per-file job) or ``<run>/manifest.json`` (a nightly job): the job's
  ``ManifestFile`` input, ``[{"prefix": "s3://<bucket>/"}, "<key>", …]``. The prefix is the bucket
  root, so each relative path is the object's full key and names exactly one object (an
  ``S3Prefix`` input on a key would also match ``<key>.bak``).
- ``<run>/requests.txt`` (nightly): the job's roster, one line per file in manifest order: the
  request id and the file's *job sequence* in this job (``<id> <seq>``; see :class:`RosterEntry`).
  It is how the nightly function (on a retry) and the batch-result function know which tracker
  items belong to the job, without an index and without holding the list in memory.
- ``output/``: the job's ``S3OutputPath``; SageMaker writes ``output/<key>.out`` per input object.

Manifest and roster are spooled to temporary files (Lambda's ``/tmp``) while the night's files are
read page by page, then uploaded as streams: memory does not grow with the number of files.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

from botocore.exceptions import BotoCoreError, ClientError

from orchestrator.errors import BadEventError, RetryableError

MANIFEST_NAME = "manifest.json"
ROSTER_NAME = "requests.txt"
OUTPUT_DIR = "output"


def job_key_prefix(output_prefix: str, job_name: str) -> str:
    """``<OUTPUT_PREFIX>batch/<job>/``: every artifact of one job, inside the bucket."""
    return f"{output_prefix}batch/{job_name}/"


def output_path(bucket: str, output_prefix: str, job_name: str) -> str:
    """The job's ``S3OutputPath`` (no trailing slash)."""
    return f"s3://{bucket}/{job_key_prefix(output_prefix, job_name)}{OUTPUT_DIR}"


def output_location(job_output_path: str, key: str) -> str:
    """Where SageMaker writes the prediction for input ``key``: ``<S3OutputPath>/<relative key>.out``."""
    return f"{job_output_path.rstrip('/')}/{key}.out"


def bucket_prefix(bucket: str) -> str:
    return f"s3://{bucket}/"


def split_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/key`` → ``(bucket, key)``."""
    if not uri.startswith("s3://") or "/" not in uri[5:]:
        raise BadEventError(f"not an S3 object URI: {uri!r}")
    bucket, _, key = uri[5:].partition("/")
    return bucket, key


def roster_uri(manifest_uri: str) -> str:
    """The roster written next to a manifest."""
    if not manifest_uri.endswith("/" + MANIFEST_NAME):
        raise BadEventError(f"{manifest_uri!r} is not a manifest this product wrote")
    return manifest_uri[: -len(MANIFEST_NAME)] + ROSTER_NAME


def single_manifest(bucket: str, key: str) -> bytes:
    """The manifest of a per-file job: exactly one object."""
    return json.dumps([{"prefix": bucket_prefix(bucket)}, key]).encode("utf-8")


def put_object(s3: Any, bucket: str, key: str, body: bytes | IO[bytes], content_type: str) -> None:
    try:
        s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type)
    except (ClientError, BotoCoreError) as exc:
        raise RetryableError(f"PutObject s3://{bucket}/{key} failed: {exc}", {"key": key}) from exc


@dataclass(frozen=True)
class RosterEntry:
    """One file of a nightly job: its request id and its *job sequence* in this job.

    Every tracker item of the nightly batch counts the jobs it was given to (``job_seq``): 1 for the
    night's job, one more for each retry job or re-run that takes it. A roster line says "this file
    is the job's once its ``job_seq`` is ``seq``"; the job may take it only from ``seq - 1`` (see
    :meth:`orchestrator.aws.tracker_table.TrackerTable.mark_for_job`). So a job's result applies to a file whether
    or not the job's marking has happened yet, and never once a later job has taken the file.
    A roster written before sequences existed has bare request ids: they read as ``seq`` 1 (files
    of a night in flight while this version was deployed are then matched without their job name).
    """

    request_id: str
    seq: int = 1

    def line(self) -> bytes:
        return f"{self.request_id} {self.seq}\n".encode()

    @classmethod
    def parse(cls, line: str) -> RosterEntry:
        request_id, _, seq = line.strip().partition(" ")
        return cls(request_id, int(seq) if seq.strip().isdigit() else 1)


def read_roster(s3: Any, uri: str) -> Iterator[str]:
    """Request ids of a roster, streamed line by line from S3."""
    for entry in read_entries(s3, uri):
        yield entry.request_id


def read_entries(s3: Any, uri: str) -> Iterator[RosterEntry]:
    """The entries of a roster, streamed line by line from S3."""
    bucket, key = split_uri(uri)
    try:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"]
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
            raise BadEventError(f"roster {uri} does not exist", {"roster": uri}) from exc
        raise RetryableError(f"GetObject {uri} failed: {exc}", {"roster": uri}) from exc
    except BotoCoreError as exc:
        raise RetryableError(f"GetObject {uri} failed: {exc}", {"roster": uri}) from exc
    try:
        for line in body.iter_lines():
            if line.strip():
                yield RosterEntry.parse(line.decode("utf-8"))
    except BotoCoreError as exc:  # the stream broke mid-way: the whole step is retried
        raise RetryableError(f"reading {uri} failed: {exc}", {"roster": uri}) from exc
    finally:
        body.close()


class Spool:
    """A manifest and its roster, written to temporary files one file at a time, uploaded at the end."""

    def __init__(self, bucket: str) -> None:
        import tempfile  # only the nightly function spools; the router's cold start skips this import

        self.bucket = bucket
        self.count = 0
        # Closed by close() / __exit__: the Spool is the context manager.
        self._manifest: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115
        self._roster: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115
        self._manifest.write(b"[" + json.dumps({"prefix": bucket_prefix(bucket)}).encode())

    def __enter__(self) -> Spool:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        self._manifest.close()
        self._roster.close()

    def add(self, key: str, request_id: str, seq: int = 1) -> None:
        self._manifest.write(b",\n" + json.dumps(key).encode())
        self._roster.write(RosterEntry(request_id, seq).line())
        self.count += 1

    def upload(self, s3: Any, manifest_key: str, roster_key: str) -> None:
        """Both files, streamed from disk. The roster first: a manifest is never without its roster."""
        self._manifest.write(b"\n]\n")
        for handle in (self._manifest, self._roster):
            handle.flush()
            handle.seek(0)
        put_object(s3, self.bucket, roster_key, self._roster, "text/plain")
        put_object(s3, self.bucket, manifest_key, self._manifest, "application/json")

    def request_ids(self) -> Iterator[str]:
        """The roster's request ids as written (read back from disk, not from S3)."""
        for entry in self.entries():
            yield entry.request_id

    def entries(self) -> Iterator[RosterEntry]:
        """The roster as written (read back from disk, not from S3)."""
        self._roster.seek(0)
        for line in self._roster:
            yield RosterEntry.parse(line.decode())
