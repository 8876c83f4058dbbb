"""The outcome index's key (``orchestrator.core.deadlines``), the tracker's status writes that set or remove
it, and the write-unit rules the bench and the integration tier apply to it."""

from __future__ import annotations

import hashlib
import re
from collections import Counter

import pytest
from orchestrator.aws.tracker_table import TrackerTable
from orchestrator.core import deadlines
from orchestrator.core.status import TERMINAL, Status

from tests.support.aws import tracker_table_properties
from tests.support.index_units import ENTRY_OVERHEAD, WRITE_UNIT, Index, item_size

UNSUCCESSFUL = {Status.FAILED, Status.EXPIRED, Status.STOPPED, Status.SKIPPED}
REQUEST_ID = "3f2a9c0e5b7d41e6a8c2f0b1d4e6a8c2"


def test_only_unsuccessful_outcomes_have_an_outcome_key() -> None:
    assert set(deadlines.UNSUCCESSFUL) == UNSUCCESSFUL == TERMINAL - {Status.SUCCEEDED}
    for status in Status:
        key = deadlines.outcome_key(status, REQUEST_ID)
        if status in UNSUCCESSFUL:
            # the status, then the request's shard: the same shard as its in-flight entries
            assert key == f"{status.value}#{deadlines.shard(REQUEST_ID):02d}"
            assert key in deadlines.partitions(status.value)
        else:
            assert key is None


def test_a_burst_of_failures_spreads_over_every_shard() -> None:
    # Given 1,600 request ids as the router derives them (hex hashes) / Then each shard takes its share
    ids = [hashlib.sha256(str(n).encode()).hexdigest()[:32] for n in range(1600)]
    per_shard = Counter(deadlines.outcome_key(Status.FAILED, rid) for rid in ids)
    assert set(per_shard) == set(deadlines.partitions("FAILED"))
    assert max(per_shard.values()) < 2 * 1600 / deadlines.SHARDS


def _clause(status: Status, **options: str) -> tuple[set[str], set[str], dict[str, str]]:
    """What one status write SETs and REMOVEs (attribute names), and the values it sets."""
    names, values, expression = TrackerTable("table", client=None)._set_clause(REQUEST_ID, status, {}, **options)
    set_part, _, remove_part = expression.partition(" REMOVE ")
    assignments = dict(re.findall(r"(#f\d+) = (:v\d+)", set_part))
    set_names = {names[name]: values[value] for name, value in assignments.items()}
    removed = {names[name.strip()] for name in remove_part.split(",") if name.strip()}
    return set(set_names), removed, {name: next(iter(v.values())) for name, v in set_names.items()}


@pytest.mark.parametrize("status", list(Status))
def test_every_status_write_sets_the_outcome_key_only_for_an_unsuccessful_outcome(status: Status) -> None:
    set_names, removed, values = _clause(status)
    if status in UNSUCCESSFUL:
        assert values["outcome"] == deadlines.outcome_key(status, REQUEST_ID)
        assert "outcome" not in removed
        assert "status_since" in set_names  # the index's sort key: when the outcome was written
    else:
        # a success or a reopening (IN_PROGRESS, SUBMITTED, …) takes the item out of the index
        assert "outcome" not in set_names and "outcome" in removed


@pytest.mark.parametrize("status", sorted(UNSUCCESSFUL))
def test_a_sweeper_verdict_in_the_outbox_is_in_the_outcome_index_too(status: Status) -> None:
    _, removed, values = _clause(status, outbox_at="2026-12-03T10:00:00.000Z")
    assert values["inflight"] == deadlines.partition(deadlines.ANNOUNCE, REQUEST_ID)
    assert values["outcome"] == deadlines.outcome_key(status, REQUEST_ID)
    assert "outcome" not in removed


# ---------------------------------------------------------------- the write-unit rules


OUTCOMES = Index.declared(tracker_table_properties(), deadlines.OUTCOME_INDEX)


def _item(**extra: str) -> dict[str, dict[str, str]]:
    return {"request_id": {"S": REQUEST_ID}, **{name: {"S": value} for name, value in extra.items()}}


def test_the_declared_index_is_sparse_and_projects_only_what_sio_status_prints() -> None:
    assert OUTCOMES.keys == ("outcome", "status_since") and OUTCOMES.projection == "INCLUDE"
    item = _item(status="FAILED", outcome="FAILED#03", status_since="t", inflight="x", object_uri="s3://b/k")
    assert set(OUTCOMES.entry(item) or {}) == {"request_id", "outcome", "status_since", "status"}
    assert OUTCOMES.entry(_item(status="SUCCEEDED", status_since="t")) is None


def test_an_entry_costs_one_unit_per_started_kilobyte_with_the_overhead() -> None:
    base = _item(outcome="FAILED#03", status_since="2026-12-03T10:00:00.000Z")
    room = WRITE_UNIT - ENTRY_OVERHEAD - item_size(base) - len("failure_reason")
    fits = {**base, "failure_reason": {"S": "x" * room}}  # exactly 1 KB with the overhead
    over = {**base, "failure_reason": {"S": "x" * (room + 1)}}
    assert OUTCOMES.write_units(None, fits) == 1
    assert OUTCOMES.write_units(None, over) == 2


def test_write_rules_put_delete_move_update_and_nothing() -> None:
    failed = _item(status="FAILED", outcome="FAILED#03", status_since="t1")
    expired = _item(status="EXPIRED", outcome="EXPIRED#03", status_since="t2")
    succeeded = _item(status="SUCCEEDED", status_since="t3")
    assert OUTCOMES.change(succeeded, {**succeeded, "mode": {"S": "async"}}) is None
    assert (OUTCOMES.change(None, failed), OUTCOMES.write_units(None, failed)) == ("put", 1)
    assert (OUTCOMES.change(failed, succeeded), OUTCOMES.write_units(failed, succeeded)) == ("delete", 1)
    assert (OUTCOMES.change(failed, expired), OUTCOMES.write_units(failed, expired)) == ("move", 2)
    assert OUTCOMES.change(failed, {**failed, "failure_reason": {"S": "why"}}) == "update"
    # an attribute the index does not project (the sweeper's outbox key) changes nothing there
    assert OUTCOMES.change(failed, {**failed, "inflight": {"S": "ANNOUNCE#03"}}) is None
