"""The product facts sio relies on, taken from the Lambda layer's pure core (``orchestrator.core``).

``pip install .`` ships that core beside sio (pyproject.toml: the package ``orchestrator.core`` and the
exception module it raises), so sio and the functions read one definition of each fact: statuses,
the tracker's indexes and shards, request ids, payload and time limits, content types, routing.
This module only adapts them to what sio handles (plain strings, sio's errors).
"""

from __future__ import annotations

from orchestrator.core import deadlines, identity, limits, routing
from orchestrator.core.status import TERMINAL as _TERMINAL
from orchestrator.core.status import Status
from orchestrator.errors import BadEventError, ConfigError

from sio.errors import SioError

# ---------------------------------------------------------------- statuses
STATUSES = tuple(status.value for status in Status)
TERMINAL = frozenset(status.value for status in _TERMINAL)
IN_FLIGHT = tuple(status.value for status in deadlines.IN_FLIGHT)
UNSUCCESSFUL = tuple(status.value for status in deadlines.UNSUCCESSFUL)
NOT_SUCCEEDED = frozenset(UNSUCCESSFUL)

# ---------------------------------------------------------------- tracker indexes (template.yaml)
BY_OBJECT_INDEX = "ByObject"  # object_uri + created_at: every version of an S3 object (only sio queries it)
IN_FLIGHT_INDEX = deadlines.INDEX  # inflight (<LANE>#<shard>) + deadline_at: only non-terminal items
OUTCOME_INDEX = deadlines.OUTCOME_INDEX  # outcome (<STATUS>#<shard>) + status_since: unsuccessful outcomes
SHARDS = deadlines.SHARDS
COUNT_EXACT_UP_TO = deadlines.COUNT_EXACT_UP_TO  # the sweeper's gauges: exact up to, then scaled
outcome_partitions = deadlines.partitions  # every partition value of one status in ByOutcome


def inflight_partitions(status: str) -> list[str]:
    """Every InFlight partition value that may hold an item in ``status``: the lanes it may sit in."""
    return [value for lane in deadlines.holding(Status(status)) for value in deadlines.partitions(lane.value)]


# ---------------------------------------------------------------- identity
REQUEST_ID_LENGTH = identity.REQUEST_ID_LENGTH
looks_like_request_id = identity.looks_like_request_id


def request_id(bucket: str, key: str, version_id: str | None, sequencer: str | None = None) -> str:
    """The tracker key of one object version, as the router derives it; ValueError without a version
    or sequencer (an unversioned bucket's object read back without its notification)."""
    try:
        return identity.request_id(bucket, key, version_id, sequencer)
    except BadEventError as exc:
        raise ValueError(str(exc)) from None


# ---------------------------------------------------------------- limits and modes
REALTIME_MAX_BYTES = limits.REALTIME_MAX_BYTES
SERVERLESS_MAX_BYTES = limits.SERVERLESS_MAX_BYTES
ASYNC_MAX_BYTES = limits.ASYNC_MAX_BYTES
SYNC_MAX_SECONDS = limits.SYNC_MAX_SECONDS
ASYNC_MAX_SECONDS = limits.ASYNC_MAX_SECONDS
DEFAULT_CONTENT_TYPES = limits.DEFAULT_CONTENT_TYPES
MODES = tuple(mode.value for mode in routing.Mode)


def parse_content_types(raw: str | None) -> dict[str, str]:
    """The stack's ``ContentTypes`` (its default when empty), parsed as the router parses it."""
    try:
        return routing.parse_content_types(raw or DEFAULT_CONTENT_TYPES, "ContentTypes")
    except ConfigError as exc:
        raise SioError(f"the stack's {exc}: the router refuses it too") from None


def skip_reason(key: str, size: int, content_types: dict[str, str]) -> str | None:
    """Why the router will SKIP this file whatever the routing rules say (empty, or an extension
    ContentTypes does not map), or None. Said by ``sio submit`` before the file is sent."""
    decision = routing.decide(routing.FileFacts(key, size), routing.RoutingPolicy(content_types))
    return decision.reason if decision.rule in ("empty object", "content type") else None
