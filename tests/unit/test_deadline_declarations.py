"""Each status's deadline is declared as the settings it sums, plus grace; the claim writes the earliest a
file may have, in the lane of the status its mode confirms (orchestrator/core/deadlines.py)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from orchestrator.core import deadlines
from orchestrator.core.deadlines import DeadlineSettings, _Deadline
from orchestrator.core.status import Status

SETTINGS = DeadlineSettings(
    request_ttl_seconds=60,
    invocation_timeout_seconds=5,
    transform_max_runtime_seconds=700,
    nightly_interval_seconds=86400,
    nightly_retry_window_seconds=3600,
    grace_seconds=9,
    queue_retention_seconds=1000,
    claim_timeout_seconds=20,
)


def test_each_deadline_is_its_settings_sum_plus_grace() -> None:
    s = SETTINGS
    assert s.received == s.submitted_sync == 1000 + 9
    assert s.submitted_async == 60 + 5 + 9
    assert s.submitted_batch == 700 + 9
    assert s.scheduled == 86400 + 3600 + 9


def test_a_deadline_read_on_the_class_is_its_declaration() -> None:
    declared = DeadlineSettings.submitted_async
    assert isinstance(declared, _Deadline)
    assert declared.spans == ("request_ttl_seconds", "invocation_timeout_seconds", "grace_seconds")


def test_a_deadline_naming_no_field_fails_when_its_class_is_made() -> None:
    with pytest.raises(TypeError, match="deadline late sums request_tll_seconds, not fields of Misspelled"):

        @dataclass(frozen=True)
        class Misspelled:
            request_ttl_seconds: int = 60
            grace_seconds: int = 0
            late = _Deadline("request_tll_seconds")


# ---------------------------------------------------------------- the claim's lane and deadline


@pytest.mark.parametrize(
    ("modes", "seconds"),
    [
        # The grace (9 s) is shorter than the claim timeout (20 s): the statuses the router confirms get
        # the 11 s it lacks, so they are never due before their own time from the confirmation.
        (["async"], 60 + 5 + 9 + 11),  # earlier than RECEIVED's 1009: async's own
        (["batch"], 709 + 11),
        (["realtime"], 1009),  # RECEIVED's: the sweeper moves a stuck one on by the 11 s
        (["nightly"], 1009),  # the night's is later: RECEIVED's, and the sweeper moves it on
        ([], 1009),  # skipped: RECEIVED's
        (["realtime", "async"], 85),  # a spill rule: the earlier of the two
    ],
)
def test_the_claim_writes_the_earliest_deadline_the_file_may_have(modes: list[str], seconds: int) -> None:
    assert SETTINGS.at_claim(modes) == seconds


@pytest.mark.parametrize(
    ("status", "mode", "due"),
    [
        (Status.RECEIVED, "async", 1009),  # its notification was sent before the claim: no lag
        (Status.SCHEDULED, "nightly", 86400 + 3600 + 9 + 11),
        (Status.SUBMITTED, "async", 74 + 11),
        (Status.IN_PROGRESS, "serverless", 1009 + 11),
        (Status.SUBMITTED, "batch", None),  # a transform job's: the sweeper asks the job
        (Status.SUBMITTED, "nightly", None),
    ],
)
def test_an_items_due_time_counts_from_its_claim_by_its_status(status: Status, mode: str, due: int | None) -> None:
    assert SETTINGS.due(status, mode) == due


def test_with_the_default_grace_a_status_is_due_as_long_after_the_claim_as_before_after_its_confirmation() -> None:
    # The default grace (900 s) covers the router's claim timeout (150 s): the numbers are the statuses' own.
    defaults = DeadlineSettings()
    assert defaults.confirmed("async") == defaults.submitted_async == 6 * 3600 + 30 * 60
    assert defaults.confirmed("realtime") == defaults.received


def test_a_file_is_claimed_into_the_lane_of_the_status_its_mode_confirms() -> None:
    assert [deadlines.lane_of_mode(m) for m in ("async", "realtime", "batch", "nightly", None)] == [
        Status.SUBMITTED,
        Status.SUBMITTED,
        Status.SUBMITTED,
        Status.SCHEDULED,
        Status.RECEIVED,
    ]
    # The scorer's claim stays where the router put the file: its entry is rewritten, not moved.
    assert deadlines.inflight_key(Status.IN_PROGRESS, "0a") == deadlines.inflight_key(Status.SUBMITTED, "0a")
    assert deadlines.inflight_key(Status.SUCCEEDED, "0a") is None
    # A status is read from every lane that may hold it.
    assert set(deadlines.holding(Status.RECEIVED)) == {Status.RECEIVED, Status.SUBMITTED, Status.SCHEDULED}
    assert deadlines.holding(Status.SCHEDULED) == (Status.SCHEDULED,)
