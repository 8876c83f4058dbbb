"""Tracker statuses. A status only moves forward; terminal statuses never change."""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    RECEIVED = "RECEIVED"
    SCHEDULED = "SCHEDULED"
    SUBMITTED = "SUBMITTED"
    IN_PROGRESS = "IN_PROGRESS"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    EXPIRED = "EXPIRED"
    STOPPED = "STOPPED"
    SKIPPED = "SKIPPED"


TERMINAL = frozenset({Status.SUCCEEDED, Status.FAILED, Status.EXPIRED, Status.STOPPED, Status.SKIPPED})

RANK: dict[Status, int] = {
    Status.RECEIVED: 0,
    Status.SCHEDULED: 1,
    Status.SUBMITTED: 2,
    Status.IN_PROGRESS: 3,
    **dict.fromkeys(TERMINAL, 4),
}


def rank(status: Status) -> int:
    return RANK[status]
