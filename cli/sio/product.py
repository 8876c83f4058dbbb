"""Facts about the product that sio relies on, copied from the Lambda layer so that ``pip install .``
needs no layer. ``tests/unit/test_sio_product.py`` holds every one equal to the layer's
(``orchestrator.core.identity``, ``status``, ``deadlines``, ``routing``, ``settings``), so a change there
fails a test here instead of silently drifting.
"""

from __future__ import annotations

import hashlib
from pathlib import PurePosixPath

# ---------------------------------------------------------------- statuses (orchestrator.core.status)
STATUSES = ("RECEIVED", "SCHEDULED", "SUBMITTED", "IN_PROGRESS", "SUCCEEDED", "FAILED", "EXPIRED", "STOPPED", "SKIPPED")
TERMINAL = frozenset({"SUCCEEDED", "FAILED", "EXPIRED", "STOPPED", "SKIPPED"})
IN_FLIGHT = ("RECEIVED", "SCHEDULED", "SUBMITTED", "IN_PROGRESS")
NOT_SUCCEEDED = TERMINAL - {"SUCCEEDED"}

# ---------------------------------------------------------------- tracker indexes (template.yaml, deadlines)
BY_OBJECT_INDEX = "ByObject"  # object_uri + created_at: every version of an S3 object
IN_FLIGHT_INDEX = "InFlight"  # inflight (<STATUS>#<shard>) + deadline_at: only non-terminal items
OUTCOME_INDEX = "ByOutcome"  # outcome (<STATUS>#<shard>) + status_since: only unsuccessful outcomes
UNSUCCESSFUL = ("FAILED", "EXPIRED", "STOPPED", "SKIPPED")
SHARDS = 16


def inflight_partitions(status: str) -> list[str]:
    """Every partition value of one in-flight status in the ``InFlight`` index."""
    return [f"{status}#{n:02d}" for n in range(SHARDS)]


def outcome_partitions(status: str) -> list[str]:
    """Every partition value of one unsuccessful status in the ``ByOutcome`` index."""
    return [f"{status}#{n:02d}" for n in range(SHARDS)]


# ---------------------------------------------------------------- identity (orchestrator.core.identity)
REQUEST_ID_LENGTH = 32


def request_id(bucket: str, key: str, version_id: str | None, sequencer: str | None = None) -> str:
    """The tracker key of one object version: the hash the router derives from its notification."""
    if version_id:
        revision = f"v:{version_id}"
    elif sequencer:
        revision = f"s:{sequencer}"
    else:
        raise ValueError("neither a version id nor a sequencer: the request id cannot be derived")
    return hashlib.sha256("\0".join((bucket, key, revision)).encode("utf-8")).hexdigest()[:REQUEST_ID_LENGTH]


def looks_like_request_id(text: str) -> bool:
    return len(text) == REQUEST_ID_LENGTH and all(c in "0123456789abcdef" for c in text)


# ------------------------------------------------ limits (orchestrator.settings, docs/architecture.md §7.4)
REALTIME_MAX_BYTES = 6_291_456
SERVERLESS_MAX_BYTES = 4 * 1024 * 1024
ASYNC_MAX_BYTES = 1_073_741_824
SYNC_MAX_SECONDS = 60  # a real-time or serverless container must answer within 60 s
ASYNC_MAX_SECONDS = 3600  # InvocationTimeoutSeconds ≤ 3600
DEFAULT_CONTENT_TYPES = "csv=text/csv,json=application/json,jsonl=application/jsonlines,txt=text/plain"
MODES = ("realtime", "serverless", "async", "batch", "nightly")


# ---------------------------------------------------------------- what the router skips (orchestrator.core.routing)


def skip_reason(key: str, size: int, content_types: dict[str, str]) -> str | None:
    """Why the router will SKIP this file whatever the routing rules say (empty, or an extension
    ContentTypes does not map), or None. Said by ``sio submit`` before the file is sent."""
    if size <= 0:
        return "empty object (0 bytes): nothing to score"
    suffix = PurePosixPath(key).suffix
    if suffix.lower().lstrip(".") not in content_types:
        return f"unsupported file extension {suffix or '(none)'!r}; supported: {', '.join(sorted(content_types))}"
    return None


def parse_content_types(raw: str) -> dict[str, str]:
    """``csv=text/csv,json=application/json`` → ``{"csv": "text/csv", …}`` (the ContentTypes parameter)."""
    mapping = {}
    for entry in filter(None, (part.strip() for part in raw.split(","))):
        ext, _, content_type = entry.partition("=")
        mapping[ext.strip().lower().lstrip(".")] = content_type.strip()
    return mapping
