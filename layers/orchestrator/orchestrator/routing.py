"""The decision framework (DESIGN §1): which inference mode a file gets. Pure: plain data in and out.

Order: an explicit request (metadata, when the lookup is on) beats a prefix rule, which beats the
size rule. A mode the deployment has not configured is never chosen silently: the file is skipped
with a reason that says what is missing.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import PurePosixPath

from orchestrator.settings import ASYNC_MAX_BYTES, REALTIME_MAX_BYTES


class Mode(StrEnum):
    REALTIME = "realtime"
    SERVERLESS = "serverless"
    ASYNC = "async"
    BATCH = "batch"
    NIGHTLY = "nightly"


@dataclass(frozen=True)
class RoutingPolicy:
    content_types: dict[str, str]
    available_modes: frozenset[Mode] = frozenset({Mode.ASYNC})
    nightly_prefix: str = ""
    batch_prefix: str = ""
    async_max_bytes: int = ASYNC_MAX_BYTES
    realtime_max_bytes: int = REALTIME_MAX_BYTES
    # REALTIME or SERVERLESS: which kind of synchronous endpoint is configured, if any.
    sync_mode: Mode = Mode.REALTIME


@dataclass(frozen=True)
class FileFacts:
    key: str
    size: int
    content_type: str | None = None  # the object's own Content-Type, when metadata is read
    requested_mode: str | None = None  # x-amz-meta-inference-mode, when metadata is read


@dataclass(frozen=True)
class Decision:
    mode: Mode | None  # None: the file is skipped
    content_type: str | None
    reason: str

    @property
    def skipped(self) -> bool:
        return self.mode is None


# A stored Content-Type this generic says nothing; the extension mapping decides instead.
_GENERIC_CONTENT_TYPES = frozenset({"", "binary/octet-stream", "application/octet-stream"})


def content_type_for(facts: FileFacts, content_types: dict[str, str]) -> str | None:
    if facts.content_type and facts.content_type.lower() not in _GENERIC_CONTENT_TYPES:
        return facts.content_type
    suffix = PurePosixPath(facts.key).suffix.lower().lstrip(".")
    return content_types.get(suffix)


def decide(facts: FileFacts, policy: RoutingPolicy) -> Decision:
    if facts.size <= 0:
        return Decision(None, None, "empty object (0 bytes): nothing to score")
    content_type = content_type_for(facts, policy.content_types)
    if content_type is None:
        suffix = PurePosixPath(facts.key).suffix or "(none)"
        supported = ", ".join(sorted(policy.content_types))
        return Decision(None, None, f"unsupported file extension {suffix!r}; supported: {supported}")

    mode, why = _choose(facts, policy)
    if mode is None:
        return Decision(None, content_type, why)
    if mode not in policy.available_modes:
        return Decision(None, content_type, f"{why}, but mode {mode.value!r} is not configured in this stack")
    if mode in (Mode.REALTIME, Mode.SERVERLESS) and facts.size > policy.realtime_max_bytes:
        return Decision(
            None, content_type, f"{why}, but {facts.size} B exceeds the {policy.realtime_max_bytes} B limit"
        )
    if mode is Mode.ASYNC and facts.size > policy.async_max_bytes:
        return Decision(None, content_type, f"{why}, but {facts.size} B exceeds the async limit")
    return Decision(mode, content_type, why)


def _choose(facts: FileFacts, policy: RoutingPolicy) -> tuple[Mode | None, str]:
    if facts.requested_mode:
        try:
            return Mode(facts.requested_mode.strip().lower()), "requested by x-amz-meta-inference-mode"
        except ValueError:
            valid = ", ".join(m.value for m in Mode)
            return None, f"x-amz-meta-inference-mode {facts.requested_mode!r} is not one of: {valid}"
    if policy.nightly_prefix and facts.key.startswith(policy.nightly_prefix):
        return Mode.NIGHTLY, f"under the nightly prefix {policy.nightly_prefix!r}"
    if policy.batch_prefix and facts.key.startswith(policy.batch_prefix):
        return Mode.BATCH, f"under the batch prefix {policy.batch_prefix!r}"
    if policy.sync_mode in policy.available_modes and facts.size <= policy.realtime_max_bytes:
        return policy.sync_mode, f"{facts.size} B fits the {policy.sync_mode.value} limit"
    if facts.size <= policy.async_max_bytes:
        return Mode.ASYNC, f"{facts.size} B fits the async limit ({policy.async_max_bytes} B)"
    return Mode.BATCH, f"{facts.size} B is over the async limit ({policy.async_max_bytes} B)"
