"""sio carries a copy of the product facts it needs (cli/sio/product.py) so that it installs without
the Lambda layer. These tests hold every copy equal to the layer's: a change there fails here."""

from __future__ import annotations

import pytest
from orchestrator import settings
from orchestrator.core import deadlines, identity, routing, status
from orchestrator.core.routing import FileFacts, Mode, RoutingPolicy
from sio import product


def test_statuses_and_terminal_set_match_the_layer() -> None:
    assert tuple(s.value for s in status.Status) == product.STATUSES
    assert {s.value for s in status.TERMINAL} == product.TERMINAL
    assert tuple(s.value for s in deadlines.IN_FLIGHT) == product.IN_FLIGHT


def test_in_flight_index_and_its_shards_match_the_layer() -> None:
    assert product.IN_FLIGHT_INDEX == deadlines.INDEX
    assert product.SHARDS == deadlines.SHARDS
    assert product.inflight_partitions("SUBMITTED") == deadlines.partitions("SUBMITTED")


def test_outcome_index_and_its_shards_match_the_layer() -> None:
    assert product.OUTCOME_INDEX == deadlines.OUTCOME_INDEX
    assert tuple(s.value for s in deadlines.UNSUCCESSFUL) == product.UNSUCCESSFUL
    assert set(product.UNSUCCESSFUL) == product.NOT_SUCCEEDED
    # Every key the tracker writes is one of the partitions sio queries
    for rid in ("0" * 32, "f" * 32, "not-hex"):
        for state in deadlines.UNSUCCESSFUL:
            assert deadlines.outcome_key(state, rid) in product.outcome_partitions(state.value)


@pytest.mark.parametrize(
    ("bucket", "key", "version", "sequencer"),
    [
        ("b", "incoming/a.csv", "3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY", None),
        ("b", "incoming/ä ö/+x.csv", None, "0055AED6DCD90281E5"),
        ("other", "k", "null", None),
    ],
)
def test_request_id_is_the_routers(bucket: str, key: str, version: str | None, sequencer: str | None) -> None:
    assert product.request_id(bucket, key, version, sequencer) == identity.request_id(bucket, key, version, sequencer)
    assert product.looks_like_request_id(identity.request_id(bucket, key, version, sequencer))


def test_limits_and_default_content_types_match_the_layer() -> None:
    assert product.REALTIME_MAX_BYTES == settings.REALTIME_MAX_BYTES
    assert product.ASYNC_MAX_BYTES == settings.ASYNC_MAX_BYTES
    assert product.DEFAULT_CONTENT_TYPES == settings.DEFAULT_CONTENT_TYPES
    assert product.parse_content_types(settings.DEFAULT_CONTENT_TYPES) == settings.parse_content_types(
        settings.DEFAULT_CONTENT_TYPES
    )
    assert set(product.MODES) == {m.value for m in Mode}


CONTENT = settings.parse_content_types(settings.DEFAULT_CONTENT_TYPES)


@pytest.mark.parametrize(
    ("key", "size"),
    [
        ("incoming/a.csv", 10),
        ("incoming/a.CSV", 10),
        ("incoming/a.csv", 0),
        ("incoming/a.md", 10),
        ("incoming/noextension", 10),
        ("incoming/nightly/a.jsonl", 2_000_000_000),
    ],
)
def test_submit_warns_of_exactly_the_files_the_router_skips_whatever_the_rules(key: str, size: int) -> None:
    # Given every mode configured (no skip for a missing mode) / When both decide / Then they agree
    decision = routing.decide(FileFacts(key, size), RoutingPolicy(CONTENT, frozenset(Mode)))
    assert (product.skip_reason(key, size, CONTENT) is not None) == decision.skipped
