"""`sio cost` and `sio recommend` for people (the tables and lines they print) and their usage errors:
each exits 2 with one line naming the option or value at fault. No AWS: the workload is given."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sio.cli import cli

WORKLOAD = ["--requests-per-day", "20000", "--payload", "500KB", "--processing", "1s", "--traffic", "business"]


def sio(*args: str) -> Result:
    return CliRunner(mix_stderr=False).invoke(cli, list(args), env={"SIO_OUTPUT": "table"})


def _shows(out: str, *parts: str) -> None:
    missing = [part for part in parts if part not in out]
    assert not missing, f"not in the output: {missing}"


def test_cost_table_names_every_mode_the_cheapest_and_the_fixed_costs():
    result = sio("cost", *WORKLOAD)

    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert "20,000 requests/day, 500.0 KB, 1.0 s each on ml.m5.large, business traffic" in out
    _shows(
        out,
        *("async", "realtime", "serverless", "nightly", "batch"),
        "◀ cheapest",
        "Orchestration per million files:",
        "The stack's fixed monthly cost (any volume): $",
        "Optional fixed costs (template parameters):",
        "Crossovers, cheapest for an answer",
        "Prices: ",
    )


def test_a_payload_no_mode_can_take_is_shown_as_not_fitting():
    result = sio("cost", "--requests-per-day", "10", "--payload", "7GB", "--processing", "1s")

    assert result.exit_code == 0, result.stderr
    assert "does not fit:" in result.stdout


def test_recommend_names_the_mode_the_rule_the_runner_up_and_the_routing_rules():
    result = sio("recommend", *WORKLOAD, "--needs", "minutes")

    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert out.startswith("Recommended: ")
    _shows(
        out,
        "  rule '",
        "  runner-up: ",
        "RoutingRules value (for stacks that have that parameter; first match wins): [",
        "The decision framework as the router applies it today (orchestrator/core/routing.py), per file:",
        "  1. ",
    )


def test_a_shape_of_your_own_is_a_number_of_bursts_of_a_length():
    result = sio("-o", "json", "cost", *WORKLOAD[:6], "--bursts-per-day", "2", "--burst-minutes", "30")

    assert result.exit_code == 0, result.stderr
    assert '"name": "custom"' in result.stdout and '"burst_hours": 0.5' in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "give --requests-per-day N (or --from-tracker)"),
        ([*WORKLOAD, "--bursts-per-day", "3"], "a shape of your own needs both --bursts-per-day and --burst-minutes"),
        (["--requests-per-day", "10", "--payload", "lots"], "'lots' is not a size (e.g. 512, 200KB, 5MB, 1.5GB)"),
        (["--requests-per-day", "10", "--processing", "soon"], "'soon' is not a duration (e.g. 250ms, 2s, 5m, 1h)"),
        ([*WORKLOAD[:6], "--bursts-per-day", "100", "--burst-minutes", "60"], "bursts x hours must be within a day"),
    ],
)
@pytest.mark.parametrize("command", ["cost", "recommend"])
def test_usage_errors_exit_2_naming_the_problem(command, args, message):
    result = sio(command, *args)

    assert result.exit_code == 2, result.stdout
    assert result.stderr.startswith("sio: error: ")
    assert message in result.stderr


def test_prices_that_cannot_be_read_are_named(tmp_path: Path):
    prices = tmp_path / "prices.json"
    prices.write_text("{not json")

    result = sio("cost", *WORKLOAD, "--prices", str(prices))

    assert result.exit_code == 2
    assert "sio: error: cannot read the prices:" in result.stderr


@pytest.mark.parametrize(
    ("option", "value"),
    [("--requests-per-day", "-5"), ("--requests-per-day", "0"), ("--bursts-per-day", "-1"), ("--burst-minutes", "0")],
)
def test_a_volume_or_burst_of_zero_or_less_is_refused_naming_the_option(option: str, value: str) -> None:
    # Given a negative or zero volume (it used to print negative costs)
    args = ["cost", "--requests-per-day", "100", "--bursts-per-day", "2", "--burst-minutes", "30"]
    args[args.index(option) + 1] = value
    # When sio cost runs / Then it exits 2 naming the option and the value, and prints no table
    result = sio(*args)
    assert result.exit_code == 2
    assert f"Invalid value for '{option}'" in result.stderr and "x>0" in result.stderr
    assert result.stdout == ""
