"""``sio submit``: files and folders into the input bucket with boto3's managed transfers (multipart,
10 concurrent requests, one transfer manager for every file), under the input prefix or a mode's
prefix, or with the mode metadata; then the request ids, for ``--wait``.

The request id is derived from bucket, key and S3 version (:func:`sio.product.request_id`), and the
version comes back in the upload's own response (``PutObject`` or ``CompleteMultipartUpload``),
captured with a botocore event hook: no extra call per file.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sio.errors import SioError
from sio.product import ASYNC_MAX_BYTES, MODES, TERMINAL, parse_content_types, request_id, skip_reason
from sio.stack import Stack
from sio.tracker import TrackerReader

MB = 1024 * 1024
# The AWS CLI's defaults (`aws s3 cp`): 8 MB parts and threshold, 10 concurrent requests.
MAX_CONCURRENCY = 10
CHUNK_SIZE = 8 * MB
METADATA_KEY = "inference-mode"  # x-amz-meta-inference-mode


@dataclass(frozen=True)
class Upload:
    path: Path
    key: str
    size: int


@dataclass
class Submitted:
    key: str
    size: int
    version_id: str | None = None
    request_id: str | None = None
    error: str | None = None


@dataclass(frozen=True)
class Target:
    base: str  # key prefix the files go under
    metadata: dict[str, str]
    notes: tuple[str, ...]


def _folder(prefix: str) -> str:
    prefix = prefix.strip().lstrip("/")
    return prefix if not prefix or prefix.endswith("/") else prefix + "/"


def target(stack: Stack, *, mode: str | None, prefix: str = "") -> Target:
    """Where the files go so that the router gives them ``mode``: the mode's prefix (nightly, batch),
    or the object metadata when the stack reads it (``ReadObjectMetadata=true``), or the plain input
    prefix for the size rule (async up to 1 GB)."""
    sub = _folder(prefix)
    reads_metadata = stack.parameter("ReadObjectMetadata").lower() == "true"
    nightly, batch = stack.parameter("NightlyPrefix"), stack.parameter("BatchPrefix")
    base = stack.input_prefix + sub
    notes: list[str] = []
    metadata: dict[str, str] = {}
    if mode is not None and mode not in MODES:
        raise SioError(f"unknown mode {mode!r}: one of {', '.join(MODES)}")
    if mode == "nightly":
        base = nightly + sub
    elif mode == "batch":
        base = batch + sub
    elif mode in ("realtime", "serverless") and not reads_metadata:
        raise SioError(
            f"this stack cannot be asked for mode {mode!r}: it has no prefix for it and does not read the object "
            "metadata (deploy with ReadObjectMetadata=true to honour x-amz-meta-inference-mode)"
        )
    elif mode == "async" and not reads_metadata and (base.startswith(nightly) or base.startswith(batch)):
        raise SioError(f"--prefix puts the files under {base!r}, a nightly or batch prefix: they would not go to async")
    # The nightly and batch prefixes say the mode themselves; the others are asked for in the metadata,
    # which the router honours only for RequestableModes (it would SKIP the files).
    if mode in ("realtime", "serverless", "async") and reads_metadata:
        requestable = [m.strip() for m in stack.parameter("RequestableModes").split(",") if m.strip()]
        if mode not in requestable:
            raise SioError(
                f"this stack does not let uploaders ask for mode {mode!r}: RequestableModes is "
                f"{','.join(requestable) or 'empty'} (add {mode} to it, or drop --mode to let the routing rules decide)"
            )
        metadata[METADATA_KEY] = mode
        notes.append(f"x-amz-meta-{METADATA_KEY}: {mode} (the stack reads object metadata)")
    if mode is None and (base.startswith(nightly) or base.startswith(batch)):
        notes.append(f"{base!r} is under the {'nightly' if base.startswith(nightly) else 'batch'} prefix")
    return Target(base, metadata, tuple(notes))


def plan(paths: Sequence[Path], base: str) -> list[Upload]:
    """One upload per file: a file goes to ``<base><name>``, a folder's files to
    ``<base><folder name>/<path inside it>`` (like ``cp -r``), in a stable order."""
    uploads: list[Upload] = []
    for path in paths:
        if path.is_file():
            uploads.append(Upload(path, base + path.name, path.stat().st_size))
        elif path.is_dir():
            root = path.resolve()
            for file in sorted(p for p in root.rglob("*") if p.is_file()):
                relative = file.relative_to(root).as_posix()
                uploads.append(Upload(file, f"{base}{root.name}/{relative}", file.stat().st_size))
        else:
            raise SioError(f"no such file or folder: {path}")
    keys: dict[str, Path] = {}
    for upload in uploads:
        if upload.key in keys:
            raise SioError(f"{upload.path} and {keys[upload.key]} would both be uploaded as {upload.key!r}")
        keys[upload.key] = upload.path
    return uploads


def warnings_for(stack: Stack, uploads: Sequence[Upload], mode: str | None) -> list[str]:
    """Files the router will skip, said before they are sent (it would announce them SKIPPED)."""
    content_types = parse_content_types(stack.parameter("ContentTypes"))
    found: list[str] = []
    for upload in uploads:
        reason = skip_reason(upload.key, upload.size, content_types)
        if reason is not None:
            found.append(f"{upload.path}: will be SKIPPED ({reason})")
        elif mode == "async" and upload.size > ASYNC_MAX_BYTES:
            found.append(f"{upload.path}: over 1 GB, the router sends it to a batch transform job")
    return found


class VersionRecorder:
    """The S3 version of each uploaded key, read from the upload's own response: a botocore hook
    remembers the key of each ``PutObject``/``CompleteMultipartUpload`` and records the
    ``VersionId`` its response carries."""

    OPERATIONS = ("PutObject", "CompleteMultipartUpload")

    def __init__(self, client: Any) -> None:
        self.versions: dict[str, str] = {}
        self._lock = threading.Lock()
        for operation in self.OPERATIONS:
            client.meta.events.register(f"provide-client-params.s3.{operation}", self._remember)
            client.meta.events.register(f"after-call.s3.{operation}", self._record)

    @staticmethod
    def _remember(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["sio_key"] = params.get("Key")

    def _record(self, parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        key, version = context.get("sio_key"), parsed.get("VersionId")
        if key and version:
            with self._lock:
                self.versions[key] = version


def transfer_config() -> Any:
    from boto3.s3.transfer import TransferConfig

    return TransferConfig(
        multipart_threshold=CHUNK_SIZE,
        multipart_chunksize=CHUNK_SIZE,
        max_concurrency=MAX_CONCURRENCY,
        preferred_transfer_client="classic",
    )


def upload_all(
    client: Any,
    bucket: str,
    uploads: Sequence[Upload],
    *,
    metadata: dict[str, str] | None = None,
    on_bytes: Callable[[int], None] | None = None,
    on_file: Callable[[Upload, str | None], None] | None = None,
) -> list[Submitted]:
    """Upload every file through one transfer manager (files and parts share its 10 workers)."""
    from boto3.s3.transfer import create_transfer_manager
    from s3transfer.subscribers import BaseSubscriber

    recorder = VersionRecorder(client)

    class Progress(BaseSubscriber):
        def __init__(self, upload: Upload) -> None:
            self.upload = upload

        def on_progress(self, future: Any, bytes_transferred: int, **_: Any) -> None:
            if on_bytes is not None:
                on_bytes(bytes_transferred)

        def on_done(self, future: Any, **_: Any) -> None:
            if on_file is not None:
                try:
                    future.result()
                    error = None
                except Exception as exc:  # noqa: BLE001 - reported per file
                    error = str(exc)
                on_file(self.upload, error)

    extra = {"Metadata": metadata} if metadata else None
    manager = create_transfer_manager(client, transfer_config())
    results: list[Submitted] = []
    try:
        futures = [
            (
                upload,
                manager.upload(str(upload.path), bucket, upload.key, extra_args=extra, subscribers=[Progress(upload)]),
            )
            for upload in uploads
        ]
        for upload, future in futures:
            submitted = Submitted(upload.key, upload.size)
            try:
                future.result()
            except Exception as exc:  # noqa: BLE001 - one file's failure does not stop the others
                submitted.error = str(exc)
            results.append(submitted)
    except KeyboardInterrupt:
        manager.shutdown(cancel=True, cancel_msg="interrupted")
        raise
    manager.shutdown()
    for submitted in results:
        submitted.version_id = recorder.versions.get(submitted.key)
        if submitted.error is None and submitted.version_id:
            submitted.request_id = request_id(bucket, submitted.key, submitted.version_id)
    return results


def complete_versions(client: Any, bucket: str, submitted: Sequence[Submitted]) -> None:
    """HeadObject for files whose version did not come back (a proxy that strips the header)."""
    for entry in submitted:
        if entry.error is None and entry.request_id is None:
            version = client.head_object(Bucket=bucket, Key=entry.key).get("VersionId")
            if not version:
                raise SioError(
                    f"s3://{bucket}/{entry.key} has no version id: the input bucket must be versioned (the product "
                    "derives each request id from the object version)"
                )
            entry.version_id = version
            entry.request_id = request_id(bucket, entry.key, version)


# ---------------------------------------------------------------- waiting


def poll(
    reader: TrackerReader,
    request_ids: Sequence[str],
    *,
    timeout: float | None,
    interval: float = 1.0,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[tuple[dict[str, dict[str, Any]], bool]]:
    """The tracker items of ``request_ids`` after each poll, and whether every one is terminal;
    stops when all are terminal or ``timeout`` (seconds) runs out. Only unfinished ones are read
    again (``BatchGetItem``, 100 per call)."""
    items: dict[str, dict[str, Any]] = {}
    started = clock()
    while True:
        pending = [rid for rid in request_ids if items.get(rid, {}).get("status") not in TERMINAL]
        if pending:
            items.update(reader.get_many(pending))
        done = all(items.get(rid, {}).get("status") in TERMINAL for rid in request_ids)
        yield items, done
        if done or (timeout is not None and clock() - started >= timeout):
            return
        sleep(interval)


# ---------------------------------------------------------------- receipts (resume watching)


def receipts_dir(env: dict[str, str] | None = None) -> Path:
    env = dict(os.environ) if env is None else env
    if env.get("SIO_STATE_DIR"):
        return Path(env["SIO_STATE_DIR"])
    base = Path(env.get("XDG_STATE_HOME") or Path.home() / ".local" / "state")
    return base / "sio"


def save_receipt(stack: Stack, submitted: Sequence[Submitted], directory: Path | None = None) -> Path:
    """The submitted files in a small JSON file, for ``sio wait RECEIPT`` after an interruption."""
    directory = directory or receipts_dir()
    directory.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    path = directory / f"submit-{stamp}.json"
    document = {
        "stack": stack.name,
        "source": stack.source,
        "bucket": stack.bucket,
        "files": [asdict(entry) for entry in submitted if entry.request_id],
    }
    path.write_text(json.dumps(document, indent=1), encoding="utf-8")
    return path


def load_receipt(path: Path) -> list[Submitted]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        return [Submitted(**entry) for entry in document["files"]]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise SioError(f"{path} is not a receipt written by sio submit: {exc}") from None
