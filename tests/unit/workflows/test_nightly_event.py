"""Which night a nightly event means, and which job names it (pure)."""

from __future__ import annotations

import pytest
from orchestrator.errors import BadEventError
from orchestrator.workflows.nightly import Night, night_from_event

from tests.support.events import load_event


def test_schedule_event_names_the_job_from_the_scheduled_date_not_the_clock():
    night = night_from_event(load_event("schedule-nightly"), "sio")
    assert night == Night("2026-11-28", "sio-nightly-2026-11-28", "2026-11-28T02:00:00.000Z")


def test_a_retry_the_next_attempt_carries_the_same_scheduled_time():
    first = load_event("schedule-nightly")
    retry = {**first, "attemptNumber": "3", "executionId": "e2"}
    assert night_from_event(retry, "sio") == night_from_event(first, "sio")


def test_scheduled_time_with_an_offset_is_read_in_utc():
    night = night_from_event({"scheduledTime": "2026-11-28T00:30:00+01:00"}, "sio")
    assert (night.date, night.until) == ("2026-11-27", "2026-11-27T23:30:00.000Z")


@pytest.mark.parametrize(
    ("rerun", "job"),
    [
        (1, "sio-nightly-2026-11-28-r1"),
        (True, "sio-nightly-2026-11-28-r1"),
        (3, "sio-nightly-2026-11-28-r3"),
    ],
)
def test_rerun_n_names_its_own_job(rerun, job):
    """A re-run takes the night's files by the night (before: re-run n took over re-run n-1's roster),
    so the event names only the re-run's own job."""
    night = night_from_event({"rerun": rerun, "date": "2026-11-28"}, "sio")
    assert (night.job_name, night.rerun, night.until) == (job, int(rerun), None)


def test_rerun_of_a_night_named_by_its_time():
    night = night_from_event({"rerun": 2, "date": "2026-10-25-0230b"}, "sio")
    assert (night.date, night.job_name) == ("2026-10-25-0230b", "sio-nightly-2026-10-25-0230b-r2")


def test_the_sample_rerun_event_is_the_first_rerun():
    assert night_from_event(load_event("nightly-rerun"), "sio").job_name == "sio-nightly-2026-11-28-r1"


def test_longest_prefix_and_rerun_still_fit_a_job_name():
    night = night_from_event({"rerun": 99, "date": "2026-11-28"}, "p" * 30)
    assert len(night.job_name) <= 63


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ({}, "no scheduledTime"),
        ({"scheduledTime": "<aws.scheduler.scheduled-time>"}, "no scheduledTime"),
        ({"scheduledTime": "tonight"}, "is not a timestamp"),
        ({"rerun": 0, "date": "2026-11-28"}, "rerun must be"),
        ({"rerun": "1", "date": "2026-11-28"}, "rerun must be"),
        ({"rerun": False, "date": "2026-11-28"}, "rerun must be"),
        ({"rerun": 1}, "needs the night's date"),
        ({"rerun": 1, "date": "28/11/2026"}, "needs the night's date"),
        ({"rerun": 1, "date": "2026-02-30"}, "needs the night's date"),
        ({"rerun": 1, "date": "2026-11-28-2460"}, "needs the night's date"),
        ({"rerun": 1, "date": "2026-11-28-0200c"}, "needs the night's date"),
        ([], "not a JSON object"),
    ],
)
def test_bad_events_are_refused_saying_why(event, message):
    with pytest.raises(BadEventError, match=message):
        night_from_event(event, "sio")
