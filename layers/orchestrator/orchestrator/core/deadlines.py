"""Deadlines and the in-flight index (docs/architecture.md §5). Pure: numbers in, timestamps and keys out.

Every non-terminal item carries ``deadline_at``, set in the same write that sets its status, by
which it must be terminal; the sweeper resolves an overdue item from ground truth. The deadline a
user can compute from the stack's parameters:

=================  ==========================================================================
status             deadline
=================  ==========================================================================
RECEIVED           claim + ``QueueRetentionSeconds`` + grace: the router's message may wait in
                   the queue or its DLQ (to be redriven) that long, never longer
SUBMITTED (async)  submitted + ``RequestTTLSeconds`` + ``InvocationTimeoutSeconds`` + grace
SUBMITTED (batch)  submitted + ``TransformMaxRuntimeSeconds`` + grace (moved while still running)
SUBMITTED /        handed to the scorer (or claimed by it) + ``QueueRetentionSeconds`` + grace:
IN_PROGRESS (sync) waiting in a queue is not being lost
SCHEDULED          scheduled + ``NightlyIntervalSeconds`` + the schedule's retry window + grace
=================  ==========================================================================

Queued work is bounded by the queues' retention: SQS deletes a message that long after it was first
sent, also from a dead-letter queue (a standard queue's DLQ keeps the original enqueue time), so at
the deadline the message can no longer arrive and the verdict is true. The queues' age alarms page
long before that.

The **in-flight index** (``InFlight``) holds only non-terminal items: its partition key
``inflight`` is ``<STATUS>#<shard>`` and exists only while the item is in flight (terminal writes
remove it), its sort key is ``deadline_at``. Writes of one status spread over :data:`SHARDS`
partition values, so marking a 100,000-file night is not capped by one index partition (about
1,000 writes/s each), and "what is overdue?" is one Query per (status, shard).

The **outcome index** (``ByOutcome``) holds only unsuccessful outcomes (:data:`UNSUCCESSFUL`): its
partition key ``outcome`` is ``<STATUS>#<shard>`` (the same shards), its sort key ``status_since``
(when the outcome was written). The terminal write sets it and every other status write removes it,
so a success never pays an index write, a reopened file leaves the index, and "what failed in the
last hour?" is one Query per shard with the time in the key condition.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import overload

from orchestrator.core import timestamps
from orchestrator.core.status import TERMINAL, Status

INDEX = "InFlight"
SHARDS = 16
# A pseudo-status partition: items the sweeper has closed but not yet announced (its outbox).
ANNOUNCE = "ANNOUNCE"
IN_FLIGHT = (Status.RECEIVED, Status.SCHEDULED, Status.SUBMITTED, Status.IN_PROGRESS)
OUTCOME_INDEX = "ByOutcome"
UNSUCCESSFUL = (Status.FAILED, Status.EXPIRED, Status.STOPPED, Status.SKIPPED)


def shard(request_id: str) -> int:
    """A stable shard in ``0..SHARDS-1``. Request ids are hex hashes; anything else is hashed first."""
    try:
        return int(request_id[:8], 16) % SHARDS
    except ValueError:
        return int(hashlib.sha256(request_id.encode()).hexdigest()[:8], 16) % SHARDS


def partition(state: str, request_id: str) -> str:
    return f"{state}#{shard(request_id):02d}"


def partitions(state: str) -> list[str]:
    """Every partition value of one status: the sweeper and the nightly run query each."""
    return [f"{state}#{n:02d}" for n in range(SHARDS)]


def inflight_key(status: Status, request_id: str) -> str | None:
    """The index partition of an item in ``status``; None once terminal (the item leaves the index)."""
    return None if status in TERMINAL else partition(status.value, request_id)


def outcome_key(status: Status, request_id: str) -> str | None:
    """The outcome index partition of an item in ``status``: set only for an unsuccessful outcome,
    None otherwise (in flight, SUCCEEDED: the item is not, or no longer, in the outcome index)."""
    return partition(status.value, request_id) if status in UNSUCCESSFUL else None


class _Deadline:
    """A status's deadline in seconds, as the module's table gives it: these settings' sum, plus grace."""

    def __init__(self, *spans: str) -> None:
        self.spans = (*spans, "grace_seconds")

    def __set_name__(self, owner: type, name: str) -> None:
        # The settings are named as text: a name that is not a field fails when the module loads.
        unknown = [span for span in self.spans if span not in owner.__annotations__]
        if unknown:
            raise TypeError(f"deadline {name} sums {', '.join(unknown)}, not fields of {owner.__name__}")

    @overload
    def __get__(self, settings: None, owner: type) -> _Deadline: ...
    @overload
    def __get__(self, settings: DeadlineSettings, owner: type) -> int: ...
    def __get__(self, settings: DeadlineSettings | None, owner: type) -> int | _Deadline:
        if settings is None:  # read on the class (help(), introspection): the declaration itself
            return self
        return sum(getattr(settings, span) for span in self.spans)


@dataclass(frozen=True)
class DeadlineSettings:
    """The numbers deadlines are computed from (the template's parameters and timing mapping)."""

    request_ttl_seconds: int = 21600
    invocation_timeout_seconds: int = 900
    transform_max_runtime_seconds: int = 86400
    nightly_interval_seconds: int = 86400
    nightly_retry_window_seconds: int = 86400
    grace_seconds: int = 900
    # The router's and scorer's queues and their DLQs keep a message this long (template parameter).
    queue_retention_seconds: int = 345600

    # From the claim: as long as the router's message may still be delivered (or redriven).
    received = _Deadline("queue_retention_seconds")
    # An async request: SageMaker may hold it its TTL, then run it its invocation timeout.
    submitted_async = _Deadline("request_ttl_seconds", "invocation_timeout_seconds")
    # A real-time / serverless file: as long as its message may still be delivered (a backlog,
    # redeliveries, a redrive from ScorerDLQ): the scorer's queue keeps messages as long as the
    # router's, so the same as received.
    submitted_sync = received
    # A file in a transform job: as long as the job may run.
    submitted_batch = _Deadline("transform_max_runtime_seconds")
    # A file waiting for the night: until the next night's run and its retries are over.
    scheduled = _Deadline("nightly_interval_seconds", "nightly_retry_window_seconds")

    def after(self, moment: datetime, seconds: int) -> str:
        return timestamps.iso(moment + timedelta(seconds=seconds))
