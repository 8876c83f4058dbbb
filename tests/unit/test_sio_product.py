"""sio carries a copy of the product facts it needs (cli/sio/product.py) so that it installs without
the Lambda layer. These tests hold every copy equal to the layer's: a change there fails here."""

from __future__ import annotations

import pytest
from orchestrator import deadlines, identity, routing, settings, status
from orchestrator.routing import FileFacts, Mode, RoutingPolicy
from sio import product


def test_statuses_and_terminal_set_match_the_layer() -> None:
    assert tuple(s.value for s in status.Status) == product.STATUSES
    assert {s.value for s in status.TERMINAL} == product.TERMINAL
    assert tuple(s.value for s in deadlines.IN_FLIGHT) == product.IN_FLIGHT


def test_in_flight_index_and_its_shards_match_the_layer() -> None:
    assert product.IN_FLIGHT_INDEX == deadlines.INDEX
    assert product.SHARDS == deadlines.SHARDS
    assert product.inflight_partitions("SUBMITTED") == deadlines.partitions("SUBMITTED")


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
ALL = frozenset(Mode)


@pytest.mark.parametrize(
    ("key", "size", "available", "requested", "sync"),
    [
        ("incoming/a.csv", 10, frozenset({Mode.ASYNC}), None, Mode.REALTIME),
        ("incoming/a.csv", 0, frozenset({Mode.ASYNC}), None, Mode.REALTIME),
        ("incoming/a.md", 10, frozenset({Mode.ASYNC}), None, Mode.REALTIME),
        ("incoming/nightly/a.csv", 10, ALL, None, Mode.REALTIME),
        ("incoming/batch/a.csv", 10, ALL, None, Mode.REALTIME),
        ("incoming/nightly/a.csv", 10, frozenset({Mode.ASYNC}), None, Mode.REALTIME),
        ("incoming/a.csv", 6_291_456, ALL, None, Mode.REALTIME),
        ("incoming/a.csv", 6_291_457, ALL, None, Mode.SERVERLESS),
        ("incoming/a.csv", 100, ALL, None, Mode.SERVERLESS),
        ("incoming/a.csv", settings.ASYNC_MAX_BYTES, frozenset({Mode.ASYNC}), None, Mode.REALTIME),
        ("incoming/a.csv", settings.ASYNC_MAX_BYTES + 1, ALL, None, Mode.REALTIME),
        ("incoming/a.csv", settings.ASYNC_MAX_BYTES + 1, frozenset({Mode.ASYNC}), None, Mode.REALTIME),
        ("incoming/a.csv", 10, ALL, "Batch", Mode.REALTIME),
        ("incoming/a.csv", 10, ALL, "turbo", Mode.REALTIME),
        ("incoming/a.csv", 7_000_000, ALL, "realtime", Mode.REALTIME),
        ("incoming/a.csv", settings.ASYNC_MAX_BYTES + 1, ALL, "async", Mode.REALTIME),
        ("incoming/nightly/a.csv", 10, ALL, "async", Mode.REALTIME),
    ],
)
def test_the_decision_framework_copy_decides_as_the_router(
    key: str, size: int, available: frozenset[Mode], requested: str | None, sync: Mode
) -> None:
    # Given one file and one stack configuration / When both copies decide / Then they agree
    policy = RoutingPolicy(
        CONTENT, available, nightly_prefix="incoming/nightly/", batch_prefix="incoming/batch/", sync_mode=sync
    )
    theirs = routing.decide(FileFacts(key, size, requested_mode=requested), policy)
    ours = product.route(
        key,
        size,
        content_types=CONTENT,
        available=frozenset(m.value for m in available),
        nightly_prefix="incoming/nightly/",
        batch_prefix="incoming/batch/",
        requested_mode=requested,
        sync_mode=sync.value,
    )
    assert ours.mode == (theirs.mode.value if theirs.mode else None)
    assert (ours.mode is None) == theirs.skipped
