"""Deadlines and the in-flight index (docs/architecture.md §5). Pure: numbers in, timestamps and keys out.

Every non-terminal item carries ``deadline_at``, by which it must be terminal; the sweeper resolves
an overdue item from ground truth. The deadline a user can compute from the stack's parameters:

=================  ==========================================================================
status             due
=================  ==========================================================================
RECEIVED           claim + ``QueueRetentionSeconds`` + grace: the router's message may wait in
                   the queue or its DLQ (to be redriven) that long, never longer
SUBMITTED (async)  claim + ``RequestTTLSeconds`` + ``InvocationTimeoutSeconds`` + grace'
SUBMITTED (batch)  claim + ``TransformMaxRuntimeSeconds`` + grace' (moved while still running)
SUBMITTED /        claim + ``QueueRetentionSeconds`` + grace': waiting in the scorer's queue is
IN_PROGRESS (sync) not being lost, and SQS counts its retention from the router's hand-off
SCHEDULED          claim + ``NightlyIntervalSeconds`` + the schedule's retry window + grace'
SUBMITTED (night)  marked for the night's job + ``TransformMaxRuntimeSeconds`` + grace
=================  ==========================================================================

"Claim" is the router's claim. The router confirms within its claim timeout C (150 s) or a later
attempt claims the file anew, so a status the router confirms counts from the claim with the grace
covering C: grace' is the grace, or C where the grace is shorter, and the verdict is never due before
the status's own time has passed. So the claim writes the deadline of the status the file is headed
for (the earliest it may have: :meth:`DeadlineSettings.at_claim`), and the router's confirmation and
the scorer's claim leave it as it is. Where a file's RECEIVED deadline comes *later* (the usual case:
the queues keep a message for days), the sweeper finds a RECEIVED item at the earlier deadline and
moves it on to its own (:meth:`DeadlineSettings.due`): a crash between claim and confirmation is
rare, a confirmation is every file's.

Queued work is bounded by the queues' retention: SQS deletes a message that long after it was first
sent, also from a dead-letter queue (a standard queue's DLQ keeps the original enqueue time), so at
the deadline the message can no longer arrive and the verdict is true. The queues' age alarms page
long before that.

The **in-flight index** (``InFlight``) holds only non-terminal items: its partition key
``inflight`` is ``<LANE>#<shard>`` and exists only while the item is in flight (terminal writes
remove it), its sort key is ``deadline_at``. The *lane* is the status the router confirms
(:func:`lane_of`): a nightly file's SCHEDULED, every other file's SUBMITTED (the scorer's
IN_PROGRESS stays in SUBMITTED); the claim already writes it. So the router's confirmation and the
scorer's claim change neither key of the entry: DynamoDB rewrites it in place (1 write unit)
instead of moving it (a delete and a put, 2). A lane holds its status and items still RECEIVED:
readers of one status filter on ``status`` (projected), and :func:`holding` says which lanes to
read. Writes of one lane spread over :data:`SHARDS` partition values, so marking a 100,000-file
night is not capped by one index partition (about 1,000 writes/s each), and "what is overdue?" is
one Query per (lane, shard).

The **outcome index** (``ByOutcome``) holds only unsuccessful outcomes (:data:`UNSUCCESSFUL`): its
partition key ``outcome`` is ``<STATUS>#<shard>`` (the same shards), its sort key ``status_since``
(when the outcome was written). The terminal write sets it and every other status write removes it,
so a success never pays an index write, a reopened file leaves the index, and "what failed in the
last hour?" is one Query per shard with the time in the key condition.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import overload

from orchestrator.core import timestamps
from orchestrator.core.routing import Mode
from orchestrator.core.status import TERMINAL, Status

INDEX = "InFlight"
SHARDS = 16
# The in-flight gauges (the sweeper's, each run) read a lane's shards in turn until this many entries,
# then scale what they read by SHARDS / shards read: a lane's entries spread evenly over its shards (ids
# are hashes), so the estimate is within about 1/sqrt(COUNT_EXACT_UP_TO), 2 %, while a night's backlog
# of 500,000 files costs a run one shard's read units (a Query pays for the entries it reads), not all.
COUNT_EXACT_UP_TO = 2_000
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


def lane_of(status: Status) -> Status:
    """The lane (in-flight partition) of an item written in ``status``: the scorer's IN_PROGRESS stays
    in SUBMITTED, where the router put the file; every other in-flight status is its own lane."""
    return Status.SUBMITTED if status is Status.IN_PROGRESS else status


def lane_of_mode(mode: str | None) -> Status:
    """The lane the router claims a file into: the status it will confirm in ``mode`` (None: skipped)."""
    if mode is None:
        return Status.RECEIVED
    return Status.SCHEDULED if mode == Mode.NIGHTLY else Status.SUBMITTED


def holding(status: Status) -> tuple[Status, ...]:
    """The lanes that may hold an item in ``status``: its own lane, and for RECEIVED every lane (a
    claim not yet confirmed). IN_PROGRESS also reads its own old partition, which items written
    before lanes still occupy."""
    if status is Status.RECEIVED:
        return (Status.RECEIVED, Status.SCHEDULED, Status.SUBMITTED)
    if status is Status.IN_PROGRESS:
        return (Status.SUBMITTED, Status.IN_PROGRESS)
    return (status,)


def inflight_key(status: Status, request_id: str) -> str | None:
    """The index partition of an item written in ``status``: its lane's; None once terminal (the item
    leaves the index)."""
    return None if status in TERMINAL else partition(lane_of(status).value, request_id)


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
    # The router confirms its claim within this, or a later attempt takes the claim over with a new one
    # (its claim timeout, the template's Timing mapping): the lag of a confirmation behind its claim.
    claim_timeout_seconds: int = 150

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

    def confirmed(self, mode: str) -> int:
        """The deadline, counted from the claim, of the status the router confirms in ``mode``: that
        status's own, which counts from the confirmation. The confirmation comes within the router's
        claim timeout, which the grace covers (150 s of 900 by default); what a shorter grace lacks is
        added, so the verdict is never due before the status's own time has passed."""
        own = {
            Mode.ASYNC: self.submitted_async,
            Mode.BATCH: self.submitted_batch,
            Mode.NIGHTLY: self.scheduled,
        }.get(Mode(mode), self.submitted_sync)  # realtime, serverless: handed to the scorer
        return own + max(0, self.claim_timeout_seconds - self.grace_seconds)

    def at_claim(self, modes: Iterable[str]) -> int:
        """The deadline the claim writes: the earliest of RECEIVED's and those of the statuses the file
        may be confirmed in (``modes``: the decision's, and a spill rule's other one), so that the
        sweeper never looks later than any of them (:meth:`due` tells it when one is not yet due)."""
        return min([self.received, *(self.confirmed(mode) for mode in modes)])

    def due(self, status: Status, mode: str | None) -> int | None:
        """When an item the router claimed is due in ``status``, in seconds from its claim; None for an
        item whose deadline a later write set (a transform job's, the sweeper's outbox)."""
        if status is Status.RECEIVED:
            return self.received
        if status is Status.SCHEDULED:
            return self.confirmed(Mode.NIGHTLY)
        if status in (Status.SUBMITTED, Status.IN_PROGRESS) and mode not in (None, Mode.BATCH, Mode.NIGHTLY):
            return self.confirmed(mode)
        return None

    def after(self, moment: datetime, seconds: int) -> str:
        return timestamps.iso(moment + timedelta(seconds=seconds))
