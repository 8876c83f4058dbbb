"""Nights and the names of their jobs, retry rounds and part sizes (pure: orchestrator.core.nights)."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest
from orchestrator.aws.manifest import RosterEntry
from orchestrator.core import nights
from orchestrator.modes.night_jobs import pending, takeable

PARIS = nights.time_zone("Europe/Paris")


@pytest.mark.parametrize(
    ("expression", "by_time"),
    [
        (None, False),
        ("", False),
        ("cron(0 2 * * ? *)", False),
        ("cron(30 1 ? * MON-FRI *)", False),  # one time a day, some days
        ("cron(0 2,14 * * ? *)", True),
        ("cron(0/30 * * * ? *)", True),
        ("cron(0 * * * ? *)", True),
        ("rate(1 day)", True),  # a day of 25 hours holds two runs
        ("rate(6 hours)", True),
    ],
)
def test_nights_carry_the_local_time_unless_the_schedule_runs_once_a_day(expression, by_time):
    assert nights.named_by_time(expression) is by_time


def test_a_night_is_the_local_date_of_its_scheduled_time():
    assert nights.night_of(datetime(2026, 3, 29, 23, 30, tzinfo=UTC), PARIS, with_time=False) == "2026-03-30"
    assert nights.night_of(datetime(2026, 3, 29, 23, 30, tzinfo=UTC), UTC, with_time=False) == "2026-03-29"


def test_the_second_pass_of_an_autumn_hour_is_its_own_night():
    first, second = (datetime(2026, 10, 25, hour, 30, tzinfo=UTC) for hour in (0, 1))
    assert nights.night_of(first, PARIS, with_time=True) == "2026-10-25-0230"
    assert nights.night_of(second, PARIS, with_time=True) == "2026-10-25-0230b"


@pytest.mark.parametrize("value", ["2026-11-28", "2026-11-28-0000", "2026-10-25-0230b", "2026-11-28-2359"])
def test_nights_a_rerun_may_name(value):
    assert nights.valid_night(value) == value


@pytest.mark.parametrize("value", [None, 20261128, "2026-11-31", "2026-11-28-2400", "2026-11-28-0260", "28-11-2026"])
def test_values_that_name_no_night(value):
    assert nights.valid_night(value) is None


def test_job_names_say_their_night_and_kind():
    parent = nights.night_job("sio", "2026-11-28")
    retry = nights.retry_job("sio", "2026-11-28", parent, ["a", "b"])
    assert parent == "sio-nightly-2026-11-28"
    assert nights.parse_job("sio", parent) == nights.NightJob("2026-11-28")
    assert nights.parse_job("sio", nights.rerun_job("sio", "2026-11-28-0230b", 7)) == nights.NightJob(
        "2026-11-28-0230b", rerun=7
    )
    assert nights.parse_job("sio", retry) == nights.NightJob("2026-11-28", retry=True)
    assert nights.parse_job("sio", "sio-0123456789abcdef0123456789abcdef") is None
    assert nights.parse_job("other", parent) is None


def test_a_retry_jobs_name_depends_on_its_parent_and_every_file_it_holds():
    name = nights.retry_job("sio", "2026-11-28", "sio-nightly-2026-11-28", ["a", "b"])
    assert name == nights.retry_job("sio", "2026-11-28", "sio-nightly-2026-11-28", iter(["a", "b"]))
    assert name != nights.retry_job("sio", "2026-11-28", "sio-nightly-2026-11-28", ["a"])
    assert name != nights.retry_job("sio", "2026-11-28", "sio-nightly-2026-11-28-r1", ["a", "b"])


def test_the_round_of_a_job_is_in_its_manifests_folder():
    assert nights.round_of("s3://b/results/batch/sio-nightly-2026-11-28/0f8a2c41d9b7/manifest.json") == 0
    folder = nights.run_folder("0f8a2c41d9b7", 3)
    assert nights.round_of(f"s3://b/results/batch/sio-nightly-2026-11-28-xabcdef/{folder}/manifest.json") == 3
    assert nights.round_of(None) == 0


@pytest.mark.parametrize("count", [1, 2, 3, 50, 1000, 4096, 4097, 100_000])
def test_parts_halve_and_isolate_every_file_within_the_round_limit(count):
    sizes = nights.part_sizes(count, 1)
    assert sum(sizes) == count and max(sizes) - min(sizes) <= 1
    assert len(sizes) == min(count, 2) if count <= 2**nights.MAX_SPLIT_ROUNDS else len(sizes) > 2
    rounds, largest = 1, max(sizes)
    while largest > 1:  # a part that fails again is split again, one round later
        rounds += 1
        largest = max(nights.part_sizes(largest, rounds))
    assert rounds <= max(1, min(nights.MAX_SPLIT_ROUNDS, math.ceil(math.log2(count)) if count > 1 else 1))


def test_the_last_round_holds_one_file_per_job():
    assert nights.part_sizes(7, nights.MAX_SPLIT_ROUNDS) == [1] * 7
    assert nights.part_sizes(0, 1) == []


def test_roster_lines_carry_the_job_sequence_and_old_ones_read_as_the_first():
    assert RosterEntry.parse("abc 3\n") == RosterEntry("abc", 3)
    assert RosterEntry.parse("abc\n") == RosterEntry("abc", 1)
    assert RosterEntry("abc", 2).line() == b"abc 2\n"


def test_a_jobs_result_applies_while_the_file_is_the_jobs_or_not_yet_marked_for_it():
    marked = {"status": "SUBMITTED", "job_name": "j", "job_seq": 2}
    assert pending(marked, "j", 2)  # marked for it
    assert pending({"status": "FAILED", "job_name": "p", "job_seq": 1}, "j", 2)  # its marking not done yet
    assert pending({"status": "SCHEDULED"}, "j", 1)
    assert not pending({**marked, "status": "FAILED"}, "j", 2)  # already recorded
    assert not pending({"status": "SUBMITTED", "job_name": "later", "job_seq": 3}, "j", 2)  # taken since
    assert not pending({"status": "SUCCEEDED", "job_seq": 1}, "j", 2)
    assert not takeable({"status": "SKIPPED"}, 1)
