"""`sio status` usage errors: each is one clear line and exit 2, before any AWS call (no stack is
needed to refuse them); `--output json` gives the error as JSON."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from click.testing import CliRunner, Result
from sio import units
from sio.cli import cli

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
# A stack from the environment that nothing answers for: reaching AWS would fail differently.
ENV = {"SIO_TRACKER_TABLE_NAME": "t", "SIO_INPUT_BUCKET_NAME": "b", "AWS_REGION": "us-east-1"}


def sio(*args: str) -> Result:
    return CliRunner(mix_stderr=False).invoke(cli, list(args), env=ENV)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("1x", "'1x' is neither a time ago (30m, 2h, 1d) nor an ISO date/time"),
        ("-5m", "'-5m': a time ago is positive (5m means 5m ago)"),
        ("2026-12-04", "'2026-12-04' is in the future (now is 2026-12-03T12:00:00.000Z)"),
        ("", "'' is neither a time ago"),
    ],
)
def test_since_refuses_what_is_not_a_past_moment(text: str, problem: str) -> None:
    with pytest.raises(ValueError, match="^" + problem.replace("(", r"\(").replace(")", r"\)")):
        units.since(text, NOW)


def test_since_takes_a_time_ago_or_a_past_iso_moment() -> None:
    assert units.since("1h", NOW) == "2026-12-03T11:00:00.000Z"
    assert units.since("2026-12-03T11:30:00+01:00", NOW) == "2026-12-03T10:30:00.000Z"


@pytest.mark.parametrize("since", ["1x", "-5m"])
def test_a_bad_since_is_one_line_and_exit_2(since: str) -> None:
    result = sio("-o", "json", "status", "--status", "FAILED", "--since", since)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"sio: error: bad --since: '{since}'") and "Traceback" not in result.stderr
    assert json.loads(result.stdout)["details"] == {"since": since}


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (["--status", "BROKEN"], "Invalid value for '--status': 'BROKEN' is not one of"),
        (["--status", "FAILED", "--limit", "0"], "Invalid value for '--limit': 0 is not in the range x>=1"),
        ([], "give a KEY, a REQUEST_ID, or --status STATUS"),
    ],
)
def test_an_unknown_status_a_bad_limit_or_no_question_is_exit_2(args: list[str], problem: str) -> None:
    result = sio("status", *args)
    assert result.exit_code == 2
    assert problem in result.stderr
    assert "FAILED, EXPIRED, STOPPED, SKIPPED" in sio("status").stderr  # the statuses it can list
