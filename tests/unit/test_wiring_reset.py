"""The tests' one cold start of the composition root (tests/support/wiring.py) forgets every cached
builder, including one it was never told about."""

from __future__ import annotations

from functools import cache

import pytest
from orchestrator import wiring

from tests.support.wiring import cached_builders, reset_wiring


def test_every_builder_of_the_composition_root_is_found() -> None:
    found = set(cached_builders())
    assert {"router", "scorer", "outcome_recorder", "nightly", "sweeper", "batch_results"} <= found
    assert all(callable(getattr(wiring, name)) for name in found)
    assert "TrackerTable" not in found  # a class the builders use, not a cached builder


def test_a_new_builder_is_reset_without_being_listed(monkeypatch: pytest.MonkeyPatch) -> None:
    @cache
    def new_builder() -> object:
        return object()

    monkeypatch.setattr(wiring, "new_builder", new_builder, raising=False)
    first = wiring.new_builder()
    assert wiring.new_builder() is first  # cached, as a container keeps it
    reset_wiring()
    assert new_builder.cache_info().currsize == 0
    assert wiring.new_builder() is not first  # built again: a cold start
