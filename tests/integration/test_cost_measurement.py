"""The cost model is fed by measurement, not by typed-in figures: what ``sio cost`` reads
(``cli/sio/measured.json``) is what the real handlers write now, by DynamoDB's rules against the
template's indexes, and the model's DynamoDB and log lines are those measurements at list price.

A change to what an item carries, to an index's projection or to the writes of a path fails here
until ``python -m tests.bench costs --write`` records it."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sio import costs

from tests.bench import costs as bench

# Log lines carry durations and ids whose width varies by a few bytes from run to run.
LOG_TOLERANCE = 0.05


@pytest.fixture(scope="module")
def measurement() -> dict[str, Any]:
    return bench.measure()


@pytest.fixture(scope="module")
def recorded() -> dict[str, Any]:
    return json.loads(bench.MEASURED.read_text(encoding="utf-8"))


def test_the_recorded_measurement_is_what_the_handlers_write_today(measurement, recorded):
    assert recorded["indexes"] == measurement["indexes"]
    assert set(recorded["paths"]) == set(measurement["paths"]) == set(bench.PATHS)
    for path, now in measurement["paths"].items():
        then = recorded["paths"][path]
        for field in ("write_units", "write_units_total", "read_units", "table_writes", "calls"):
            assert then[field] == now[field], (path, field)
        assert then["log_bytes"] == pytest.approx(now["log_bytes"], rel=LOG_TOLERANCE), path
        assert then.get("night_log_bytes", 0) == pytest.approx(now.get("night_log_bytes", 0), rel=LOG_TOLERANCE), path


def test_a_nights_own_lines_are_shared_by_its_files(measurement):
    # A night of one file and of two: the second file adds its router lines, the night's are once.
    night = measurement["paths"]["nightly"]
    assert 0 < night["log_bytes"] < night["night_log_bytes"]
    prices, few, many = costs.load_prices(), costs.Workload(10, 100 * 1024, 0.2), costs.Workload(1e6, 100 * 1024, 0.2)
    assert (
        costs.orchestration("nightly", 1e6, few, prices)["logs"]
        > costs.orchestration("nightly", 1e6, many, prices)["logs"]
    )


@pytest.mark.parametrize("mode", costs.MODES)
def test_the_models_dynamodb_and_log_lines_are_the_measured_figures(mode, measurement):
    prices = costs.load_prices()
    path = measurement["paths"][costs.MEASURED_PATH[mode]]
    workload = costs.Workload(100_000, 100 * 1024, 0.2)
    lines = costs.orchestration(mode, 1_000_000, workload, prices)
    reads = sum(units for operation, units in path["read_units"].items() if operation != "Query")
    # List prices per million units; the sweeper's gauges read the file while it is in flight (by hand
    # in tests/unit/sio/test_cost_model.py).
    expected = path["write_units_total"] * 0.625 + (reads + costs.count_reads(mode, workload, prices)) * 0.125
    assert lines["dynamodb"] == pytest.approx(expected, rel=1e-9)
    # Logs: the handlers' own lines plus Lambda's START/END/REPORT (assumed 350 B an invocation)
    assert lines["logs"] >= path["log_bytes"] * 1e6 / 1024**3 * 0.5 * (1 - LOG_TOLERANCE)


def test_the_async_happy_path_writes_each_index_entry_once_at_most(measurement):
    """The levers kept: ByObject (KEYS_ONLY) is written once, when the item is created; the in-flight
    entry (INCLUDE) is put by the claim in its lane, rewritten in place by the confirmation (its keys
    unchanged: not a delete and a put) and deleted, 1 unit each; the outcome index is not touched by a
    success."""
    units = measurement["paths"]["async"]["write_units"]
    assert (units["ByObject"], units["InFlight"], units["ByOutcome"]) == (1, 3, 0)


def test_no_status_write_of_the_routers_or_the_scorers_moves_an_in_flight_entry(measurement):
    """Real-time: the claim, the router's confirmation, the scorer's claim and the outcome are 4 in-flight
    index units (a put, two rewrites in place, a delete), not 6 (each status its own partition and
    deadline: two moves of a delete and a put). A night's file moves once, when a job takes it."""
    paths = measurement["paths"]
    assert paths["realtime"]["write_units"]["InFlight"] == 4
    assert paths["batch"]["write_units"]["InFlight"] == 3
    assert paths["nightly"]["write_units"]["InFlight"] == 5
