"""sio's product facts come from the layer's pure core (cli/sio/product.py adapts them to plain strings
and sio's errors): the adaptations are what is tested here; the facts are the layer's own objects."""

from __future__ import annotations

import pytest
from orchestrator.core import deadlines, identity, routing
from orchestrator.core.limits import DEFAULT_CONTENT_TYPES
from orchestrator.core.routing import FileFacts, Mode, RoutingPolicy
from sio import product
from sio.errors import SioError


def test_statuses_are_plain_strings_in_the_layers_order() -> None:
    assert product.STATUSES[0] == "RECEIVED" and product.STATUSES[-1] == "SKIPPED"
    assert all(type(s) is str for s in (*product.STATUSES, *product.TERMINAL, *product.IN_FLIGHT))
    assert set(product.IN_FLIGHT) | product.TERMINAL == set(product.STATUSES)
    assert product.TERMINAL - {"SUCCEEDED"} == product.NOT_SUCCEEDED


def test_every_outcome_key_the_tracker_writes_is_a_partition_sio_queries() -> None:
    for rid in ("0" * 32, "f" * 32, "not-hex"):
        for state in deadlines.UNSUCCESSFUL:
            assert deadlines.outcome_key(state, rid) in product.outcome_partitions(state.value)


def test_a_request_id_is_the_routers_and_without_a_version_a_value_error() -> None:
    rid = product.request_id("b", "incoming/ä ö/+x.csv", None, "0055AED6DCD90281E5")
    assert rid == identity.request_id("b", "incoming/ä ö/+x.csv", None, "0055AED6DCD90281E5")
    assert product.looks_like_request_id(rid) and not product.looks_like_request_id("incoming/a.csv")
    with pytest.raises(ValueError, match="neither versionId nor sequencer"):
        product.request_id("b", "k", None)


def test_content_types_default_like_the_routers_and_a_bad_one_names_the_parameter() -> None:
    assert product.parse_content_types("") == routing.parse_content_types(DEFAULT_CONTENT_TYPES)
    assert product.parse_content_types("CSV=text/csv") == {"csv": "text/csv"}
    with pytest.raises(SioError, match=r"ContentTypes entry 'csv' must look like 'csv=text/csv'.*refuses it too"):
        product.parse_content_types("csv")


CONTENT = routing.parse_content_types(DEFAULT_CONTENT_TYPES)


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
