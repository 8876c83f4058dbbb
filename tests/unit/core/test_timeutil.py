"""Timestamps: ISO-8601 UTC with milliseconds; AWS events give ISO strings or epoch millis."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from orchestrator.core import timestamps

MOMENT = datetime(2026, 11, 28, 21, 14, 5, 201_999, tzinfo=UTC)


def test_iso_is_utc_with_milliseconds():
    assert timestamps.iso(MOMENT) == "2026-11-28T21:14:05.201Z"


def test_iso_converts_other_offsets_to_utc():
    assert timestamps.iso(MOMENT.astimezone(timezone(timedelta(hours=2)))) == "2026-11-28T21:14:05.201Z"


def test_iso_strings_sort_in_time_order():
    later = MOMENT + timedelta(milliseconds=900)
    assert timestamps.iso(MOMENT) < timestamps.iso(later)


@pytest.mark.parametrize(
    "value",
    [
        "2026-11-28T21:14:05.201Z",
        "2026-11-28T22:14:05.201+01:00",
        "2026-11-28T21:14:05.201",  # no offset: taken as UTC
        1795900445201,
        "1795900445201",
        1795900445201.0,
    ],
)
def test_parse_accepts_iso_and_epoch_millis(value):
    assert timestamps.parse(value) == datetime(2026, 11, 28, 21, 14, 5, 201_000, tzinfo=UTC)


def test_parse_round_trips_iso():
    assert timestamps.iso(timestamps.parse(timestamps.iso(MOMENT))) == timestamps.iso(MOMENT)


def test_now_is_aware_utc():
    assert timestamps.now().tzinfo is UTC


def test_millis_between_iso_times():
    assert timestamps.millis_between("2026-11-28T21:14:05.201Z", "2026-11-28T21:14:09.873Z") == pytest.approx(4672)


@pytest.mark.parametrize(
    ("start", "end"), [(None, "2026-11-28T21:14:05.201Z"), ("2026-11-28T21:14:05.201Z", ""), ("x", "y")]
)
def test_millis_between_unknown_or_unparseable_is_none(start, end):
    assert timestamps.millis_between(start, end) is None
