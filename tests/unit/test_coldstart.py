"""The cold start runs without cyclic collections in a Lambda execution environment, and building a
function's workflow ends it (orchestrator/coldstart.py, orchestrator/wiring.py)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest
from orchestrator import coldstart, wiring

from tests.support.wiring import cached_builders

LAMBDA = {"AWS_LAMBDA_FUNCTION_NAME": "sagemaker-inference-orchestrator-router"}


@pytest.fixture(autouse=True)
def _collector_restored() -> Iterator[None]:
    yield
    coldstart.resume()
    gc.unfreeze()  # the frozen objects are this test process's: give them back to the collector
    gc.enable()


def test_outside_lambda_nothing_is_paused() -> None:
    assert coldstart.pause({}) is False
    assert gc.isenabled()


def test_in_lambda_the_collector_waits_until_the_cold_start_is_over_then_runs_on_what_comes_after() -> None:
    assert coldstart.pause(LAMBDA) is True
    assert not gc.isenabled()
    assert coldstart.pause(LAMBDA) is False  # once

    coldstart.resume()

    assert gc.isenabled()
    assert gc.get_freeze_count() > 0  # what the cold start made is out of later collections
    frozen = gc.get_freeze_count()  # may fall a little as frozen objects are freed, never rise by itself
    made_after = [[] for _ in range(10_000)]  # tracked objects of the invocations, not of the cold start
    coldstart.resume()  # again: nothing is frozen now
    assert gc.get_freeze_count() < frozen + len(made_after)


def test_building_a_workflow_ends_the_cold_start() -> None:
    assert coldstart.pause(LAMBDA)
    build = wiring._root(lambda: "workflow")
    assert gc.isenabled() is False
    assert build() == "workflow"
    assert gc.isenabled()
    assert build() == "workflow" and build.cache_info().hits == 1  # built once per container


def test_a_workflow_that_cannot_be_built_ends_the_cold_start_too() -> None:
    def misconfigured() -> str:
        raise ValueError("TRACKER_TABLE is not set")

    assert coldstart.pause(LAMBDA)
    with pytest.raises(ValueError, match="TRACKER_TABLE"):
        wiring._root(misconfigured)()
    assert gc.isenabled()


def test_every_functions_composition_root_ends_the_cold_start() -> None:
    # A builder that did not would leave the collector paused for the container's life.
    builders = cached_builders()
    assert {"router", "scorer", "outcome_recorder", "sweeper"} <= set(builders)
    ends_the_cold_start = wiring._root(object).__wrapped__.__code__  # _root's wrapper, whatever it builds
    for name, builder in builders.items():
        assert builder.__wrapped__.__code__ is ends_the_cold_start, f"{name} is not built by wiring._root"
