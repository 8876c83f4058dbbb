"""The cost model's figures that come from the template (cli/sio/prices/us-east-1.json, assumptions
marked "template.yaml") are the template's: batch sizes and batching windows of the event source
mappings, memory sizes, the Architecture default. A change to one fails here until the price file
follows, so `sio cost` prices the stack that is deployed."""

from __future__ import annotations

from typing import Any

import pytest
from sio.costs import load_prices

ASSUMPTIONS = load_prices().data["assumptions"]


def _memory(source: dict[str, Any], function: str) -> int:
    return int(source["Resources"][function]["Properties"]["MemorySize"])


@pytest.mark.parametrize(
    ("assumption", "function"),
    [
        ("router_memory_mb", "RouterFunction"),
        ("tracker_memory_mb", "TrackerFunction"),
        ("scorer_memory_mb", "ScorerFunction"),
        ("nightly_memory_mb", "NightlyFunction"),
        ("batch_result_memory_mb", "BatchResultFunction"),
        ("sweeper_memory_mb", "SweeperFunction"),
    ],
)
def test_memory_sizes_are_the_templates(source_template, batch_template, assumption, function):
    # The nightly and batch-result functions are the nested application Batch's (batch/template.yaml).
    source = batch_template if function in batch_template["Resources"] else source_template
    assert ASSUMPTIONS[assumption] == _memory(source, function)


def test_batch_sizes_windows_and_architecture_are_the_templates(source_template):
    parameters, resources = source_template["Parameters"], source_template["Resources"]
    tracker = resources["TrackerQueueMapping"]["Properties"]
    assert ASSUMPTIONS["router_batch_size"] == int(parameters["RouterBatchSize"]["Default"])
    assert ASSUMPTIONS["tracker_batch_size"] == int(tracker["BatchSize"])
    assert ASSUMPTIONS["tracker_batching_window_seconds"] == int(tracker.get("MaximumBatchingWindowInSeconds", 0))
    assert ASSUMPTIONS["scorer_batch_size"] == int(source_template["Mappings"]["Timing"]["Scorer"]["BatchSize"])
    assert ASSUMPTIONS["lambda_architecture"] == parameters["Architecture"]["Default"]
    # The optional fixed costs are priced at their parameters' defaults ("true": 1)
    for assumption, parameter in (
        ("create_dashboard", "CreateDashboard"),
        ("alarm_topic_encryption", "AlarmTopicEncryption"),
    ):
        assert ASSUMPTIONS[assumption] == (1 if parameters[parameter]["Default"] == "true" else 0)
