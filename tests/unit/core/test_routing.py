"""The routing decision (docs/architecture.md §2): pure, every branch."""

from __future__ import annotations

import pytest
from orchestrator.core.routing import FileFacts, Mode, RoutingPolicy, content_type_for, decide
from orchestrator.settings import DEFAULT_CONTENT_TYPES, REALTIME_MAX_BYTES, parse_content_types

CONTENT_TYPES = parse_content_types(DEFAULT_CONTENT_TYPES)
# Every mode requestable, so these tests see the other rules (RequestableModes' own tests narrow it).
ASYNC_ONLY = RoutingPolicy(
    content_types=CONTENT_TYPES,
    nightly_prefix="incoming/nightly/",
    batch_prefix="incoming/batch/",
    requestable_modes=frozenset(Mode),
)


def _policy(*modes: Mode, **changes) -> RoutingPolicy:
    values = {
        "content_types": CONTENT_TYPES,
        "available_modes": frozenset(modes),
        "nightly_prefix": "incoming/nightly/",
        "batch_prefix": "incoming/batch/",
        "requestable_modes": frozenset(Mode),
        **changes,
    }
    return RoutingPolicy(**values)


def test_csv_file_goes_async_with_its_content_type():
    decision = decide(FileFacts("incoming/a.csv", 2048), ASYNC_ONLY)
    assert (decision.mode, decision.content_type, decision.skipped) == (Mode.ASYNC, "text/csv", False)
    assert "fits the async limit" in decision.reason


def test_zero_byte_file_is_skipped_as_empty():
    decision = decide(FileFacts("incoming/empty.csv", 0), ASYNC_ONLY)
    assert decision.skipped
    assert "empty object (0 bytes)" in decision.reason


def test_unsupported_extension_is_skipped_listing_the_supported_ones():
    decision = decide(FileFacts("incoming/photo.png", 4096), ASYNC_ONLY)
    assert decision.skipped
    assert "'.png'" in decision.reason
    assert all(ext in decision.reason for ext in CONTENT_TYPES)


def test_file_without_extension_is_skipped_saying_none():
    decision = decide(FileFacts("incoming/README", 10), ASYNC_ONLY)
    assert decision.skipped and "'(none)'" in decision.reason


def test_extension_is_matched_case_insensitively():
    assert decide(FileFacts("incoming/A.CSV", 10), ASYNC_ONLY).content_type == "text/csv"


def test_objects_own_content_type_overrides_the_extension():
    """Given metadata was read, a specific Content-Type beats the extension mapping."""
    facts = FileFacts("incoming/data.csv", 10, content_type="application/json")
    decision = decide(facts, ASYNC_ONLY)
    assert (decision.mode, decision.content_type) == (Mode.ASYNC, "application/json")


def test_objects_own_content_type_lets_an_unmapped_extension_through():
    assert decide(FileFacts("incoming/blob.bin", 10, content_type="text/csv"), ASYNC_ONLY).content_type == "text/csv"


@pytest.mark.parametrize("generic", ["binary/octet-stream", "application/octet-stream", "Application/Octet-Stream", ""])
def test_generic_stored_content_type_defers_to_the_extension(generic):
    assert content_type_for(FileFacts("incoming/a.json", 10, content_type=generic), CONTENT_TYPES) == "application/json"


def test_requested_mode_is_honoured_when_available():
    decision = decide(FileFacts("incoming/a.csv", 10, requested_mode=" ASYNC "), _policy(Mode.ASYNC, Mode.REALTIME))
    assert decision.mode is Mode.ASYNC
    assert "requested by x-amz-meta-inference-mode" in decision.reason


def test_requested_mode_beats_the_nightly_prefix():
    facts = FileFacts("incoming/nightly/a.csv", 10, requested_mode="async")
    assert decide(facts, ASYNC_ONLY).mode is Mode.ASYNC


def test_invalid_requested_mode_is_skipped_listing_the_valid_ones():
    decision = decide(FileFacts("incoming/a.csv", 10, requested_mode="turbo"), ASYNC_ONLY)
    assert decision.skipped
    assert "'turbo'" in decision.reason
    assert all(mode.value in decision.reason for mode in Mode)
    assert decision.content_type == "text/csv"


def test_requested_mode_not_configured_is_skipped_saying_so():
    decision = decide(FileFacts("incoming/a.csv", 10, requested_mode="realtime"), ASYNC_ONLY)
    assert decision.skipped
    assert "'realtime' is not configured" in decision.reason


@pytest.mark.parametrize(
    ("key", "mode"), [("incoming/nightly/a.csv", Mode.NIGHTLY), ("incoming/batch/a.csv", Mode.BATCH)]
)
def test_prefix_mode_unavailable_is_skipped_with_not_configured(key, mode):
    decision = decide(FileFacts(key, 10), ASYNC_ONLY)
    assert decision.skipped
    assert f"{mode.value!r} is not configured" in decision.reason
    assert "prefix" in decision.reason


@pytest.mark.parametrize(
    ("key", "mode"), [("incoming/nightly/a.csv", Mode.NIGHTLY), ("incoming/batch/a.csv", Mode.BATCH)]
)
def test_prefix_mode_is_chosen_when_available(key, mode):
    assert decide(FileFacts(key, 10), _policy(Mode.ASYNC, Mode.NIGHTLY, Mode.BATCH)).mode is mode


def test_empty_prefixes_never_match():
    policy = _policy(Mode.ASYNC, Mode.NIGHTLY, Mode.BATCH, nightly_prefix="", batch_prefix="")
    assert decide(FileFacts("incoming/nightly/a.csv", 10), policy).mode is Mode.ASYNC


def test_file_over_the_async_limit_goes_to_batch_when_available():
    policy = _policy(Mode.ASYNC, Mode.BATCH, async_max_bytes=100)
    decision = decide(FileFacts("incoming/a.csv", 101), policy)
    assert decision.mode is Mode.BATCH
    assert "over the async limit" in decision.reason


def test_file_over_the_async_limit_without_batch_is_skipped():
    decision = decide(FileFacts("incoming/a.csv", 101), _policy(Mode.ASYNC, async_max_bytes=100))
    assert decision.skipped
    assert "'batch' is not configured" in decision.reason


def test_file_at_the_async_limit_still_goes_async():
    assert decide(FileFacts("incoming/a.csv", 100), _policy(Mode.ASYNC, async_max_bytes=100)).mode is Mode.ASYNC


def test_requested_async_over_the_async_limit_is_skipped_naming_the_limit():
    decision = decide(
        FileFacts("incoming/a.csv", 101, requested_mode="async"), _policy(Mode.ASYNC, async_max_bytes=100)
    )
    assert decision.skipped
    assert "101 B exceeds the async limit" in decision.reason


@pytest.mark.parametrize(("sync_mode", "limit"), [(Mode.REALTIME, REALTIME_MAX_BYTES), (Mode.SERVERLESS, 4_194_304)])
def test_small_file_goes_to_the_synchronous_endpoint_when_configured(sync_mode, limit):
    # Serverless endpoints take 4 MB, not the real-time 6 MB (docs/architecture.md §7.4): the file at its own limit.
    decision = decide(FileFacts("incoming/a.csv", limit), _policy(Mode.ASYNC, sync_mode, sync_mode=sync_mode))
    assert decision.mode is sync_mode


def test_file_over_the_realtime_limit_goes_async_even_with_realtime_configured():
    decision = decide(FileFacts("incoming/a.csv", REALTIME_MAX_BYTES + 1), _policy(Mode.ASYNC, Mode.REALTIME))
    assert decision.mode is Mode.ASYNC


def test_requested_realtime_over_its_limit_is_skipped_naming_the_limit():
    facts = FileFacts("incoming/a.csv", REALTIME_MAX_BYTES + 1, requested_mode="realtime")
    decision = decide(facts, _policy(Mode.ASYNC, Mode.REALTIME))
    assert decision.skipped
    assert f"exceeds the {REALTIME_MAX_BYTES} B limit" in decision.reason


# ---------------------------------------------------------------- what uploaders control (metadata)


@pytest.mark.parametrize("stored", ["image/png", "text/html", "text/csv; charset=utf-8", "application/x-evil"])
def test_stored_content_type_outside_content_types_is_skipped_naming_it_and_the_allowed_ones(stored):
    """Given the object's own Content-Type is not a ContentTypes value, then the file is skipped with a
    reason naming that Content-Type and every allowed one, whatever its extension maps to."""
    decision = decide(FileFacts("incoming/a.csv", 10, content_type=stored), _policy(Mode.ASYNC))
    assert decision.skipped
    assert (decision.rule, decision.content_type) == ("content type", None)
    assert f"Content-Type {stored!r}" in decision.reason
    assert all(allowed in decision.reason for allowed in CONTENT_TYPES.values())


@pytest.mark.parametrize("stored", ["text/csv", "TEXT/CSV", " application/jsonlines "])
def test_stored_content_type_listed_in_content_types_is_sent_as_stored(stored):
    decision = decide(FileFacts("incoming/a.bin", 10, content_type=stored), _policy(Mode.ASYNC))
    assert (decision.mode, decision.content_type) == (Mode.ASYNC, stored)


def test_only_async_and_nightly_are_requestable_by_default():
    policy = RoutingPolicy(content_types=CONTENT_TYPES, available_modes=frozenset(Mode))
    assert policy.requestable_modes == {Mode.ASYNC, Mode.NIGHTLY}


@pytest.mark.parametrize("asked", ["batch", "realtime", "serverless", " Batch "])
def test_requesting_a_mode_outside_requestable_modes_is_skipped_naming_the_parameter(asked):
    """Given a configured mode the operator did not make requestable, then the uploader's request for it
    skips the file, the reason naming the request and RequestableModes with what it holds."""
    policy = _policy(*Mode, requestable_modes=frozenset({Mode.ASYNC, Mode.NIGHTLY}))
    decision = decide(FileFacts("incoming/a.csv", 10, requested_mode=asked), policy)
    assert decision.skipped
    assert decision.rule == "default: requested"
    assert f"x-amz-meta-inference-mode {asked!r}" in decision.reason
    assert "RequestableModes: async, nightly" in decision.reason


@pytest.mark.parametrize(("asked", "mode"), [("async", Mode.ASYNC), ("nightly", Mode.NIGHTLY)])
def test_requesting_a_requestable_mode_is_honoured(asked, mode):
    policy = _policy(*Mode, requestable_modes=frozenset({Mode.ASYNC, Mode.NIGHTLY}))
    assert decide(FileFacts("incoming/batch/a.csv", 10, requested_mode=asked), policy).mode is mode


def test_with_no_requestable_mode_every_request_is_skipped_saying_none():
    decision = decide(
        FileFacts("incoming/a.csv", 10, requested_mode="async"), _policy(*Mode, requestable_modes=frozenset())
    )
    assert decision.skipped
    assert "RequestableModes: none" in decision.reason


def test_a_file_without_a_request_is_routed_by_the_other_rules_whatever_requestable_modes_says():
    policy = _policy(*Mode, requestable_modes=frozenset())
    assert decide(FileFacts("incoming/batch/a.csv", 10), policy).mode is Mode.BATCH
