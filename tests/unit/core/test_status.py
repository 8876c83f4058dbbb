"""Tracker statuses only move forward (docs/architecture.md §4)."""

from __future__ import annotations

import itertools

import pytest
from orchestrator.core.status import TERMINAL, Status, rank

ORDER = [Status.RECEIVED, Status.SCHEDULED, Status.SUBMITTED, Status.IN_PROGRESS]


def can_advance(current: Status, new: Status) -> bool:
    """The tracker's write condition, ``status_rank < :rank``, on the stored and the new rank."""
    return rank(current) < rank(new)


def test_ranks_follow_the_lifecycle():
    assert [rank(s) for s in ORDER] == sorted({rank(s) for s in ORDER})
    assert all(rank(t) > rank(Status.IN_PROGRESS) for t in TERMINAL)


def test_every_status_has_a_rank():
    assert all(isinstance(rank(s), int) for s in Status)


def test_terminal_statuses_share_one_rank():
    assert len({rank(t) for t in TERMINAL}) == 1


@pytest.mark.parametrize(("current", "new"), list(itertools.pairwise(ORDER)))
def test_next_status_advances(current, new):
    assert can_advance(current, new)


@pytest.mark.parametrize(("current", "new"), [(new, old) for old, new in itertools.pairwise(ORDER)])
def test_previous_status_does_not_advance(current, new):
    assert not can_advance(current, new)


@pytest.mark.parametrize("status", list(Status))
def test_same_status_does_not_advance(status):
    assert not can_advance(status, status)


@pytest.mark.parametrize("terminal", sorted(TERMINAL))
@pytest.mark.parametrize("new", list(Status))
def test_terminal_status_never_changes(terminal, new):
    """E.g. EXPIRED after SUCCEEDED is ignored."""
    assert not can_advance(terminal, new)


@pytest.mark.parametrize("terminal", sorted(TERMINAL))
def test_submitted_reaches_any_terminal_status(terminal):
    assert can_advance(Status.SUBMITTED, terminal)
