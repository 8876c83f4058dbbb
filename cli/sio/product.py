"""Facts about the product that sio relies on, copied from the Lambda layer so that ``pip install .``
needs no layer. ``tests/unit/test_sio_product.py`` holds every one equal to the layer's
(``orchestrator.identity``, ``status``, ``deadlines``, ``routing``, ``settings``), so a change there
fails a test here instead of silently drifting.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import PurePosixPath

# ---------------------------------------------------------------- statuses (orchestrator.status)
STATUSES = ("RECEIVED", "SCHEDULED", "SUBMITTED", "IN_PROGRESS", "SUCCEEDED", "FAILED", "EXPIRED", "STOPPED", "SKIPPED")
TERMINAL = frozenset({"SUCCEEDED", "FAILED", "EXPIRED", "STOPPED", "SKIPPED"})
IN_FLIGHT = ("RECEIVED", "SCHEDULED", "SUBMITTED", "IN_PROGRESS")
NOT_SUCCEEDED = TERMINAL - {"SUCCEEDED"}

# ---------------------------------------------------------------- tracker indexes (template.yaml, deadlines)
BY_OBJECT_INDEX = "ByObject"  # object_uri + created_at: every version of an S3 object
IN_FLIGHT_INDEX = "InFlight"  # inflight (<STATUS>#<shard>) + deadline_at: only non-terminal items
SHARDS = 16


def inflight_partitions(status: str) -> list[str]:
    """Every partition value of one in-flight status in the ``InFlight`` index."""
    return [f"{status}#{n:02d}" for n in range(SHARDS)]


# ---------------------------------------------------------------- identity (orchestrator.identity)
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


# ---------------------------------------------------------------- limits (orchestrator.settings, DESIGN §6.4)
REALTIME_MAX_BYTES = 6_291_456
SERVERLESS_MAX_BYTES = 4 * 1024 * 1024
ASYNC_MAX_BYTES = 1_073_741_824
SYNC_MAX_SECONDS = 60  # a real-time or serverless container must answer within 60 s
ASYNC_MAX_SECONDS = 3600  # InvocationTimeoutSeconds ≤ 3600
DEFAULT_CONTENT_TYPES = "csv=text/csv,json=application/json,jsonl=application/jsonlines,txt=text/plain"
MODES = ("realtime", "serverless", "async", "batch", "nightly")


# ---------------------------------------------------------------- the decision framework today (orchestrator.routing)
@dataclass(frozen=True)
class Route:
    mode: str | None  # None: SKIPPED
    reason: str
    rule: str  # which step of the framework decided


def route(
    key: str,
    size: int,
    *,
    content_types: dict[str, str],
    available: frozenset[str],
    nightly_prefix: str = "",
    batch_prefix: str = "",
    requested_mode: str | None = None,
    sync_mode: str = "realtime",
) -> Route:
    """What today's router decides for one file (orchestrator.routing.decide, step for step).

    The order: empty or unsupported → SKIPPED; the requested mode (metadata, when read); the
    nightly, then the batch prefix; ≤ the real-time limit with a synchronous endpoint; ≤ 1 GB →
    async; larger → batch. A mode the stack has not configured is SKIPPED, saying so.
    """
    if size <= 0:
        return Route(None, "empty object (0 bytes): nothing to score", "empty")
    suffix = PurePosixPath(key).suffix.lower().lstrip(".")
    if suffix not in content_types:
        return Route(None, f"unsupported file extension {PurePosixPath(key).suffix or '(none)'!r}", "content type")
    if requested_mode:
        mode: str | None = requested_mode.strip().lower()
        rule, why = "metadata", "requested by x-amz-meta-inference-mode"
        if mode not in MODES:
            return Route(None, f"x-amz-meta-inference-mode {requested_mode!r} is not one of: {', '.join(MODES)}", rule)
    elif nightly_prefix and key.startswith(nightly_prefix):
        mode, rule, why = "nightly", "nightly prefix", f"under the nightly prefix {nightly_prefix!r}"
    elif batch_prefix and key.startswith(batch_prefix):
        mode, rule, why = "batch", "batch prefix", f"under the batch prefix {batch_prefix!r}"
    elif sync_mode in available and size <= REALTIME_MAX_BYTES:
        mode, rule, why = sync_mode, "size: synchronous", f"{size} B fits the {sync_mode} limit"
    elif size <= ASYNC_MAX_BYTES:
        mode, rule, why = "async", "size: async", f"{size} B fits the async limit ({ASYNC_MAX_BYTES} B)"
    else:
        mode, rule, why = "batch", "size: over the async limit", f"{size} B is over the async limit"
    assert mode is not None
    if mode not in available:
        return Route(None, f"{why}, but mode {mode!r} is not configured in this stack", rule)
    if mode in ("realtime", "serverless") and size > REALTIME_MAX_BYTES:
        return Route(None, f"{why}, but {size} B exceeds the {REALTIME_MAX_BYTES} B limit", rule)
    if mode == "async" and size > ASYNC_MAX_BYTES:
        return Route(None, f"{why}, but {size} B exceeds the async limit", rule)
    return Route(mode, why, rule)


def parse_content_types(raw: str) -> dict[str, str]:
    """``csv=text/csv,json=application/json`` → ``{"csv": "text/csv", …}`` (the ContentTypes parameter)."""
    mapping = {}
    for entry in filter(None, (part.strip() for part in raw.split(","))):
        ext, _, content_type = entry.partition("=")
        mapping[ext.strip().lower().lstrip(".")] = content_type.strip()
    return mapping
