"""The cost model of `sio cost` / `sio recommend` (cli/sio/costs.py): table-driven, hand-computed.

Every expected figure below was worked out by hand from the formulas in the module docstring and the
shipped price file (cli/sio/prices/us-east-1.json), not by running the model.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest
from sio import units
from sio.costs import (
    DAYS_PER_MONTH,
    SHAPES,
    Crossover,
    Traffic,
    Workload,
    collapse,
    compare,
    count_reads,
    crossovers,
    fixed_monthly,
    floor,
    load_prices,
    orchestration,
)
from sio.history import workload_from_items
from sio.recommend import recommend, routing_rules

ROOT = Path(__file__).resolve().parents[3]
PRICES = load_prices()

# Workload A: 1,000 files a day of 100 KB, 1 s each, steady, ml.m5.large ($0.115/h).
#   R = 1,000 x 730/24 = 30,416.67 files a month; data in = out = R x 102,400 B / 2^30 = 2.90076 GB
#   data processing = 2 x 2.90076 x $0.016 = $0.092824
#   real-time: peak 0.01157/s x 1 s = 0.0116 busy / 0.7 -> 1 instance x $0.115 x 730 h = $83.95
#   serverless: R x 1 s x 2 GB = 60,833.3 GB-s x $0.00002 = $1.216667
#   async: 86.4 s between requests < 900 s scale-in wait: one instance, never at zero: 730 h = $83.95
#   batch: R x (300 + 1) s = 2,543.17 h x $0.115 = $292.4647
#   nightly: 1,000 s of work (1 instance within 6 h) + 300 s = 1,300 s x 30.4167 = 10.9838 h = $1.263137
# Workload B: 50,000 files a day of 2 MB, 3 s each, 2 at once per instance, bursty (12 x 5 min),
# ml.c5.xlarge ($0.204/h). R = 1,520,833.3; peak 50,000 / 3,600 s = 13.889/s
#   data: R x 2 MiB / 2^30 = R / 512 = 2,970.38 GB each way -> 5,940.76 x $0.016 = $95.05208
#   real-time: 13.889 x 3 / 2 = 20.83 busy / 0.7 = 29.8 -> 30 x $0.204 x 730 = $4,467.60
#   serverless: peak concurrency 41.7 <= 200; R x 3 s x 2 GB = 9,125,000 GB-s = $182.50
#   async: per burst 4,166.7 files = 6,250 instance-s of work in a 300 s burst -> 21 wanted, 10 at most;
#     6,900 s to the next burst > 900 s: each instance also pays start-up 300 + scale-in 900 s
#     = 6,250 + 12,000 = 18,250 s per burst x 12 = 219,000 s a day = 1,850.35 h a month = $377.4708
#   batch: R x 303 s = 128,003.5 h = $26,112.708
#   nightly: 75,000 s of work > 6 h: 4 instances; 4 x 300 + 75,000 = 76,200 s a night = 643.82 h = $131.3392
A = Workload(1000, 100 * 1024, 1.0, SHAPES["steady"], "ml.m5.large")
B = Workload(50_000, 2 * 1024**2, 3.0, SHAPES["bursty"], "ml.c5.xlarge", concurrency=2)


@pytest.mark.parametrize(
    ("workload", "mode", "expected"),
    [
        (A, "realtime", 83.95 + 0.092824),
        (A, "serverless", 1.216667 + 0.092824),
        (A, "async", 83.95 + 0.092824),
        (A, "batch", 292.4647),
        (A, "nightly", 1.263137),
        (B, "realtime", 4467.60 + 95.05208),
        (B, "serverless", 182.50 + 95.05208),
        (B, "async", 377.4708 + 95.05208),
        (B, "batch", 26112.708),
        (B, "nightly", 131.3392),
    ],
)
def test_sagemaker_monthly_cost_matches_the_hand_computation(workload: Workload, mode: str, expected: float) -> None:
    # Given a workload and the shipped prices / When compared / Then SageMaker's part is the hand figure
    cost = compare(workload, PRICES).mode(mode)
    assert cost.applicable
    assert cost.sagemaker_total == pytest.approx(expected, rel=1e-4)


# What one file costs the tables and the logs is measured (cli/sio/measured.json, written by
# `python -m tests.bench costs --write` from the real handlers' writes): read here, not typed in.
MEASURED = json.loads((ROOT / "cli" / "sio" / "measured.json").read_text(encoding="utf-8"))["paths"]


def _measured(path: str, invocations: float) -> float:
    """Per file: the measured write and read units at list price, the measured log bytes plus Lambda's
    own lines (350 B an invocation, assumed) at $0.50 per GB, and the measured bytes of the success
    message the tracker's success subscription scans at $0.09 per GB."""
    m = MEASURED[path]
    reads = sum(v for k, v in m["read_units"].items() if k != "Query")
    logs = (m["log_bytes"] + 350 * invocations) / 1024**3 * 0.5
    return m["write_units_total"] * 6.25e-7 + reads * 1.25e-7 + logs + m["success_message_bytes"] / 1024**3 * 0.09


# Orchestration of A's async files, by hand (one record per invocation at 0.0116 files/s):
#   SQS 6 requests a file (S3 -> queue, receive, delete; SNS -> tracker queue, receive, delete) x $0.40/M
#   Lambda 2 invocations x $0.20/M; 0.25 GB x (20 + 60) ms + 0.25 GB x (20 + 15) ms = 0.02875 GB-s x $0.0000133334
#   SNS 1 publish x $0.50/M; DynamoDB and logs as measured
# B's async files: 10 records per invocation (13.9 files/s at the peak): SQS 2.4, Lambda 0.2 invocations,
#   0.25 x (2 + 60) + 0.25 x (2 + 15) = 0.01975 GB-s. B's serverless files: the router's part (SQS 1.2,
#   0.1 invocations, 0.25 x (2 + 60) = 0.0155 GB-s), no tracker (the scorer's messages are filtered out
#   of its queue: measured, 0 tracker messages), and the scorer (batch size 1): SQS +3, +1 invocation,
#   0.25 GB x (20 + 60 + 3,000) ms (256 MB: template.yaml); the real-time path's measured units.
@pytest.mark.parametrize(
    ("workload", "mode", "per_file"),
    [
        (A, "async", 6 * 4e-7 + 2 * 2e-7 + 0.02875 * 1.33334e-5 + 5e-7 + _measured("async", 2)),
        (B, "async", 2.4 * 4e-7 + 0.2 * 2e-7 + 0.01975 * 1.33334e-5 + 5e-7 + _measured("async", 0.2)),
        (B, "serverless", 4.2 * 4e-7 + 1.1 * 2e-7 + 0.7855 * 1.33334e-5 + 5e-7 + _measured("realtime", 1.1)),
    ],
)
def test_orchestration_per_file_matches_the_hand_computation(workload: Workload, mode: str, per_file: float) -> None:
    lines = orchestration(mode, 1_000_000, workload, PRICES)
    assert sum(lines.values()) == pytest.approx(per_file * 1_000_000, rel=1e-4)


# The design's floor by hand, per file: async sends 2 (S3 -> router queue, SNS -> tracker queue:
# SageMaker's notification), real-time 2 (S3 -> router queue, router -> scorer queue; its success is
# filtered out of the tracker's queue), batch and nightly 1; one publish; the measured table writes and
# the in-flight entry's put and delete (and a night's move: 2 more) at $0.625 per million write units.
@pytest.mark.parametrize(
    ("mode", "per_file"),
    [
        ("async", 2 * 4e-7 + 5e-7 + (3 + 2) * 6.25e-7),
        ("realtime", 2 * 4e-7 + 5e-7 + (4 + 2) * 6.25e-7),
        ("batch", 4e-7 + 5e-7 + (3 + 2) * 6.25e-7),
        ("nightly", 4e-7 + 5e-7 + (4 + 4) * 6.25e-7),
    ],
)
def test_the_designs_floor_matches_the_hand_computation_and_the_model_never_goes_below_it(
    mode: str, per_file: float
) -> None:
    assert sum(floor(mode, 1_000_000, PRICES).values()) == pytest.approx(per_file * 1_000_000, rel=1e-9)
    for workload in (A, B):  # one file an invocation, and full batches: still above the floor
        assert sum(orchestration(mode, 1e6, workload, PRICES).values()) > per_file * 1_000_000


def test_the_readme_floor_table_is_what_the_model_computes() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = text.split("<!-- cost-floor -->", 2)[1]
    stated = dict(re.findall(r"^\| ([a-z]+)[^|]*\| \**\$([0-9.]+)\**", block, re.M))
    assert set(stated) == {"async", "real", "nightly", "batch"}, stated
    for label, mode in (("async", "async"), ("real", "realtime"), ("nightly", "nightly"), ("batch", "batch")):
        assert float(stated[label]) == round(sum(floor(mode, 1e6, PRICES).values()), 2), mode


def test_the_sweepers_gauges_read_a_waiting_night_from_one_shard_and_a_small_lane_whole() -> None:
    # A nightly file is in flight 12 h (the mean wait for its night) + its job's 5.64 h at 100,000 a day:
    # 63,500 s, read by 211.7 runs (one every 300 s). Its lane then holds 100,000 x 63,500 / 86,400 =
    # 73,495 entries, 4,593 a shard: past 2,000 the gauge reads one shard of 16. At 1,000 a day a shard
    # holds 46 entries, so all 16 are read (2,000 needs 44 shards' worth).
    entry = MEASURED["nightly"]["in_flight_entry_bytes"]
    per_read = entry / 4096 * 0.5  # eventually consistent: half a unit per 4 KB
    assert count_reads("nightly", Workload(100_000, 100 * 1024, 0.2), PRICES) == pytest.approx(
        63_500 / 300 * (1 / 16) * per_read, rel=1e-3
    )
    few = Workload(1_000, 100 * 1024, 0.2)
    in_flight = 43_200 + 300 + 1_000 * 0.2  # the mean wait, a job's start-up and its work
    assert count_reads("nightly", few, PRICES) == pytest.approx(in_flight / 300 * per_read, rel=1e-3)
    assert count_reads("async", Workload(100_000, 100 * 1024, 0.2), PRICES) < 1e-3  # in flight 0.2 s


def test_the_readme_night_figures_are_what_the_model_computes() -> None:
    # README "A 1,000,000-file night, on paper": its orchestration total and DynamoDB line
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    found = re.search(r"Cost per 1 M-file night\*\*.*?\*\*\$([0-9.]+)\*\*.*?DynamoDB \$([0-9.]+)", text, re.S)
    assert found, "the README states the night's cost"
    lines = orchestration("nightly", 1_000_000, Workload(1_000_000, 100 * 1024, 0.2), PRICES)
    assert float(found.group(1)) == round(sum(lines.values()), 2)
    assert float(found.group(2)) == round(lines["dynamodb"], 2)


def _readme_example() -> tuple[dict[str, str], dict[str, float]]:
    """The worked example in the README: its workload line and its table of monthly totals."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = text.split("<!-- sio-cost-example -->", 2)[1]
    command = re.search(r"sio cost (.+)", block)
    assert command, "the README's worked example shows its sio cost command"
    options = dict(re.findall(r"--([a-z-]+) (\S+)", command.group(1)))
    totals = {
        mode: float(value.replace(",", ""))
        for mode, value in re.findall(
            r"^\| (realtime|serverless|async|batch|nightly)\s*\| \$?([0-9,]+\.[0-9]{2})", block, re.M
        )
    }
    return options, totals


def test_the_readme_worked_example_is_what_the_model_computes() -> None:
    # Given the README's worked example (its command and its table)
    options, totals = _readme_example()
    workload = Workload(
        requests_per_day=float(options["requests-per-day"]),
        payload_bytes=units.size(options["payload"]),
        processing_seconds=units.duration(options["processing"]),
        traffic=SHAPES[options["traffic"]],
        serverless_memory_mb=int(options["serverless-memory"]),
    )
    # When the model computes it / Then every total in the README is the model's, to the cent
    comparison = compare(workload, PRICES)
    assert set(totals) == {"realtime", "serverless", "async", "batch", "nightly"}
    for mode, total in totals.items():
        assert round(comparison.mode(mode).total, 2) == total, mode


@pytest.mark.parametrize(
    ("workload", "mode", "reason"),
    [
        (Workload(10, 7 * 1024**2, 1.0), "realtime", "payload over the real-time limit"),
        (Workload(10, 5 * 1024**2, 1.0), "serverless", "payload over the serverless limit"),
        (Workload(10, 1024, 61.0), "realtime", "processing over the 60 s"),
        (Workload(10_000_000, 1024, 5.0), "serverless", "concurrent requests at the peak"),
        (Workload(10, 2 * 1024**3, 1.0), "async", "payload over 1 GB"),
    ],
)
def test_a_mode_outside_its_limits_does_not_fit_and_says_why(workload: Workload, mode: str, reason: str) -> None:
    cost = compare(workload, PRICES).mode(mode)
    assert not cost.applicable
    assert reason in cost.sizing


def test_sparse_requests_make_async_start_from_zero_for_each_one() -> None:
    # Given 10 requests a day, 2.4 h apart (more than the 900 s scale-in wait)
    workload = Workload(10, 1024, 2.0)
    cost = compare(workload, PRICES).mode("async")
    # Then each pays start-up 300 + 2 + scale-in 900 s = 1,202 s: 10 x 1,202 x 30.4167 / 3600 h x $0.115
    assert cost.sagemaker["instances"] == pytest.approx(10 * 1202 * DAYS_PER_MONTH / 3600 * 0.115, rel=1e-6)
    assert "scales to zero between requests" in cost.sizing
    assert cost.latency[0] == pytest.approx(180 + 300 + 2)  # every request waits for an instance


def test_fixed_monthly_cost_by_hand() -> None:
    fixed = fixed_monthly(PRICES)
    assert fixed["alarms"] == pytest.approx(35 * 0.10)
    assert fixed["idle queue polling"] == pytest.approx(2 * 657_000 * 4e-7)
    # 8,760 sweeps x ($0.20/M + 0.5 GB x 0.3 s x $0.0000133334 + 40 read units x $0.125/M)
    assert fixed["sweeper"] == pytest.approx(8760 * (2e-7 + 0.15 * 1.33334e-5 + 40 * 1.25e-7), rel=1e-6)
    assert sum(fixed.values()) == pytest.approx(8.10, abs=0.01)


def test_crossover_is_where_the_cheaper_mode_changes() -> None:
    # serverless costs R x 1 s x 2 GB x $0.00002 + data; async, steady, one instance: $83.95 + data.
    # Without data (tiny payloads) they meet near 83.95 / (30.4167 x 0.00004) = 69,000 a day; the scorer
    # waiting 1.08 s at 0.5 GB for each serverless file ($7.2 per million) moves it below.
    workload = Workload(1000, 1, 1.0)
    found = crossovers(workload, PRICES, modes=("serverless", "async"))
    assert [(c.below, c.above) for c in found] == [("serverless", "async")]
    point = found[0].requests_per_day
    assert 50_000 < point < 69_000
    below, above = (
        compare(workload.with_volume(point * 0.99), PRICES),
        compare(workload.with_volume(point * 1.01), PRICES),
    )
    assert below.mode("serverless").total < below.mode("async").total
    assert above.mode("serverless").total > above.mode("async").total


def test_real_time_staircase_flips_are_one_crossover_with_a_settled_volume() -> None:
    flips = [
        Crossover(100, "serverless", "realtime", 1),
        Crossover(150, "realtime", "serverless", 1),
        Crossover(180, "serverless", "realtime", 1),
    ]
    assert collapse(flips) == [Crossover(100, "serverless", "realtime", 1, settled=180)]
    assert collapse(flips[:2]) == []  # undone and never made again: noise


@pytest.mark.parametrize(
    ("workload", "needs", "mode", "rule", "runner_up"),
    [
        (A, "next-day", "nightly", "next-day", "serverless"),
        (A, "seconds", "serverless", "interactive", "realtime"),
        (Workload(2_000_000, 1024, 0.2, serverless_memory_mb=4096), "seconds", "realtime", "interactive", "serverless"),
        (A, "minutes", "async", "async", "serverless"),
        (Workload(100, 8 * 1024**2, 1.0), "seconds", "async", "async", "batch"),
        (Workload(100, 2 * 1024**3, 1.0), "minutes", "batch", "batch", None),
    ],
)
def test_recommend_names_the_rule_and_the_runner_up(
    workload: Workload, needs: str, mode: str, rule: str, runner_up: str | None
) -> None:
    choice = recommend(compare(workload, PRICES), needs)
    assert (choice.mode, choice.rule) == (mode, rule)
    if runner_up is not None:
        assert choice.runner_up == runner_up


def test_recommend_says_when_a_cheaper_mode_also_answers_in_time() -> None:
    choice = recommend(compare(A, PRICES), "minutes")  # async $84 vs serverless $1.81
    assert any("serverless would cost less" in note for note in choice.notes)


def test_routing_rules_value_ends_with_batch_and_keeps_the_limits() -> None:
    assert routing_rules("realtime") == [
        {"maxBytes": 6_291_456, "mode": "realtime"},
        {"maxBytes": 1_073_741_824, "mode": "async"},
        {"mode": "batch"},
    ]
    assert routing_rules("nightly") == [{"mode": "nightly"}]


def test_price_override_replaces_only_the_figures_given(tmp_path: Path) -> None:
    override = tmp_path / "prices.json"
    override.write_text(json.dumps({"as_of": "2027-01", "sagemaker": {"hosting_instance_hour": {"ml.m5.large": 0.2}}}))
    prices = load_prices(override)
    assert prices.hosting_hour("ml.m5.large") == 0.2
    assert prices.hosting_hour("ml.c5.xlarge") == 0.204  # untouched
    assert prices.as_of == "2027-01"
    assert compare(A, prices).mode("realtime").sagemaker["instances"] == pytest.approx(0.2 * 730)


def test_unknown_instance_type_names_the_known_ones() -> None:
    with pytest.raises(KeyError, match=r"ml\.m5\.large"):
        compare(Workload(10, 1024, 1.0, instance_type="ml.x99.huge"), PRICES)


def test_the_shipped_price_file_is_dated_sourced_and_flagged_unchecked() -> None:
    data = json.loads((ROOT / "cli" / "sio" / "prices" / "us-east-1.json").read_text())
    assert re.fullmatch(r"\d{4}-\d{2}(-\d{2})?", data["as_of"])
    assert all(url.startswith("https://aws.amazon.com/") for url in data["sources"].values())
    assert data["checked"] is False and "NOT been re-checked" in data["note"]


def test_traffic_must_fit_in_a_day() -> None:
    with pytest.raises(ValueError, match="within a day"):
        Traffic("too long", 2, 13)


def test_workload_from_tracker_items() -> None:
    # Given two days of items: day 1 at 09:xx and 10:xx (one burst of 2 h), day 2 at 09:xx and 14:xx (two bursts)
    def item(day: int, hour: int, size: int, seconds: float) -> dict[str, object]:
        start = f"2026-12-0{day}T{hour:02d}:00:00.000Z"
        return {"size": size, "s3_event_time": start, "sagemaker_received_at": start,
                "completed_at": f"2026-12-0{day}T{hour:02d}:00:{seconds:06.3f}Z"}  # fmt: skip

    items = [item(1, 9, 100, 1.0), item(1, 10, 300, 2.0), item(2, 9, 200, 3.0), item(2, 14, 400, 4.0)]
    workload, summary = workload_from_items(items, days=2, instance_type="ml.m5.large")
    assert workload.requests_per_day == 2
    assert workload.payload_bytes == 250
    assert workload.processing_seconds == 2.5  # the median
    assert workload.traffic.bursts_per_day == 1.5 and workload.traffic.burst_hours == pytest.approx(2 / 1.5)
    assert summary["items"] == 4


@pytest.mark.parametrize(
    ("text", "value"),
    [("512", 512), ("200KB", 204_800), ("6MB", 6_291_456), ("1.5 GiB", 1.5 * 1024**3), ("2k", 2048)],
)
def test_sizes_are_1024_based(text: str, value: float) -> None:
    assert units.size(text) == value


@pytest.mark.parametrize(("text", "value"), [("250ms", 0.25), ("2", 2), ("5m", 300), ("1h", 3600), ("1.5s", 1.5)])
def test_durations(text: str, value: float) -> None:
    assert math.isclose(units.duration(text), value)


def test_since_accepts_a_time_ago_or_an_iso_date() -> None:
    from datetime import UTC, datetime

    now = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
    assert units.since("2h", now) == "2026-12-03T10:00:00.000Z"
    assert units.since("2026-12-01", now) == "2026-12-01T00:00:00.000Z"
    with pytest.raises(ValueError, match="neither"):
        units.since("yesterday", now)


README_WORKLOAD = ["--requests-per-day", "20000", "--payload", "500KB", "--processing", "1s", "--traffic", "business"]
README_WORKLOAD += ["--serverless-memory", "4096"]


def _readme_workload() -> Workload:
    return Workload(20_000, 500 * 1024, 1.0, SHAPES["business"], serverless_memory_mb=4096)


def test_cost_command_answers_in_json_and_draws_the_plot(tmp_path: Path) -> None:
    from click.testing import CliRunner
    from sio.cli import cli

    plot = tmp_path / "cost.png"
    result = CliRunner(mix_stderr=False).invoke(cli, ["-o", "json", "cost", *README_WORKLOAD, "--plot", str(plot)])
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    model = compare(_readme_workload(), PRICES)
    assert {m["mode"]: m["monthly_total"] for m in data["modes"]}["async"] == round(model.mode("async").total, 2)
    assert data["orchestration_per_million_files"] == {k: round(v, 2) for k, v in model.per_million.items()}
    assert data["cheapest"] == "nightly"
    [minutes] = data["crossovers"]["within minutes"]
    assert (minutes["below"], minutes["above"]) == ("serverless", "async")
    assert minutes["requests_per_day"] == round(
        crossovers(_readme_workload(), PRICES, modes=("serverless", "async"))[0].requests_per_day
    )
    assert data["prices"]["as_of"] == "2025-01" and data["prices"]["checked"] is False
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_recommend_command_names_rule_runner_up_and_routing_rules() -> None:
    from click.testing import CliRunner
    from sio.cli import cli

    result = CliRunner(mix_stderr=False).invoke(cli, ["-o", "json", "recommend", *README_WORKLOAD])
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert (data["mode"], data["rule"], data["runner_up"]) == ("async", "async", "serverless")
    model = compare(_readme_workload(), PRICES)
    assert (data["monthly"], data["runner_up_monthly"]) == (
        round(model.mode("async").total, 2),
        round(model.mode("serverless").total, 2),
    )
    assert data["routing_rules"][-1] == {"mode": "batch"}
    assert data["framework_today"][-1] == "larger → batch"
