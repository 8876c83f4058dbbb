"""The decision framework as data (README "Which mode a file gets"): parsing, validation, first match, limits."""

from __future__ import annotations

import json

import pytest
from orchestrator.core.routing import (
    FileFacts,
    Mode,
    RoutingPolicy,
    Rule,
    check_requestable,
    decide,
    default_rules,
    describe_rules,
    parse_rules,
)
from orchestrator.errors import ConfigError
from orchestrator.settings import DEFAULT_CONTENT_TYPES, REALTIME_MAX_BYTES, SERVERLESS_MAX_BYTES, parse_content_types

CONTENT_TYPES = parse_content_types(DEFAULT_CONTENT_TYPES)
ALL = frozenset(Mode)


def _policy(rules: str = "", *modes: Mode, **changes) -> RoutingPolicy:
    return RoutingPolicy(
        content_types=CONTENT_TYPES,
        available_modes=frozenset(modes) or ALL,
        nightly_prefix="incoming/nightly/",
        batch_prefix="incoming/batch/",
        rules=parse_rules(rules),
        **({"requestable_modes": ALL} | changes),  # every mode requestable unless a test narrows it
    )


def test_the_limits_are_the_documented_ones():
    assert (REALTIME_MAX_BYTES, SERVERLESS_MAX_BYTES) == (6_291_456, 4_194_304)


@pytest.mark.parametrize("raw", ["", "  ", "[]"])
def test_empty_setting_means_the_default_rules_only(raw):
    assert parse_rules(raw) == ()


def test_a_rule_is_parsed_with_every_field():
    raw = (
        '[{"name":"urgent","prefix":"incoming/urgent/","minBytes":1,"maxBytes":10,'
        '"mode":"realtime","ifConfigured":true}]'
    )
    assert parse_rules(raw) == (Rule(Mode.REALTIME, "incoming/urgent/", 1, 10, None, True, "urgent"),)


def test_an_unnamed_rule_is_named_by_its_index():
    assert parse_rules('[{"mode":"async"},{"mode":"batch"}]')[1].name == "RoutingRules[1]"


@pytest.mark.parametrize(
    ("raw", "where"),
    [
        ("not json", "not valid JSON"),
        ('{"mode":"async"}', "must be a JSON list"),
        ('[{"mode":"async"}, 3]', "RoutingRules[1] must be a JSON object"),
        ('[{"mode":"turbo"}]', "RoutingRules[0].mode='turbo' is not one of"),
        ('[{"prefix":"a/"}]', "RoutingRules[0].mode is required"),
        ('[{"mode":"async","size":3}]', "RoutingRules[0].size is not a rule field"),
        ('[{"mode":"async"},{"mode":"async","maxBytes":-1}]', "RoutingRules[1].maxBytes=-1 must be"),
        ('[{"mode":"async","minBytes":"1"}]', "RoutingRules[0].minBytes='1' must be"),
        ('[{"mode":"async","minBytes":true}]', "RoutingRules[0].minBytes=True must be"),
        ('[{"mode":"async","minBytes":5,"maxBytes":4}]', "RoutingRules[0].maxBytes=4 is below minBytes=5"),
        ('[{"mode":"realtime","maxBytes":6291457}]', "RoutingRules[0].maxBytes=6291457 exceeds the realtime"),
        ('[{"mode":"serverless","maxBytes":4194305}]', "RoutingRules[0].maxBytes=4194305 exceeds the serverless"),
        ('[{"requested":"fast"}]', "RoutingRules[0].requested='fast' must be"),
        ('[{"mode":"async","prefix":3}]', "RoutingRules[0].prefix=3 must be a string"),
        ('[{"mode":"async","ifConfigured":"yes"}]', "RoutingRules[0].ifConfigured='yes' must be"),
        ('[{"mode":"async","name":7}]', "RoutingRules[0].name=7 must be a string"),
    ],
)
def test_a_bad_rule_is_refused_naming_its_index_and_field(raw, where):
    with pytest.raises(ConfigError) as caught:
        parse_rules(raw)
    assert where in caught.value.message
    assert "RoutingRules" in caught.value.message


def test_limits_exactly_at_the_payload_limit_are_accepted():
    rules = parse_rules(
        json.dumps([{"mode": "realtime", "maxBytes": 6_291_456}, {"mode": "serverless", "maxBytes": 4_194_304}])
    )
    assert [r.max_bytes for r in rules] == [6_291_456, 4_194_304]


# Given the default rules and every mode configured (or only some), When a file is decided, Then:
@pytest.mark.parametrize(
    ("key", "size", "modes", "sync", "mode", "rule"),
    [
        ("incoming/a.csv", 10, ALL, Mode.REALTIME, Mode.REALTIME, "default: realtime"),
        ("incoming/a.csv", 10, ALL, Mode.SERVERLESS, Mode.SERVERLESS, "default: serverless"),
        ("incoming/a.csv", REALTIME_MAX_BYTES, ALL, Mode.REALTIME, Mode.REALTIME, "default: realtime"),
        ("incoming/a.csv", REALTIME_MAX_BYTES + 1, ALL, Mode.REALTIME, Mode.ASYNC, "default: async"),
        # serverless first: a 5 MB file is over its 4 MB, so the real-time endpoint takes it
        ("incoming/a.csv", SERVERLESS_MAX_BYTES, ALL, Mode.SERVERLESS, Mode.SERVERLESS, "default: serverless"),
        ("incoming/a.csv", SERVERLESS_MAX_BYTES + 1, ALL, Mode.SERVERLESS, Mode.REALTIME, "default: realtime"),
        (
            "incoming/a.csv",
            SERVERLESS_MAX_BYTES + 1,
            frozenset({Mode.ASYNC, Mode.SERVERLESS}),
            Mode.SERVERLESS,
            Mode.ASYNC,
            "default: async",
        ),
        (
            "incoming/a.csv",
            10,
            frozenset({Mode.ASYNC, Mode.SERVERLESS}),
            Mode.REALTIME,
            Mode.SERVERLESS,
            "default: serverless",
        ),
        ("incoming/nightly/a.csv", 10, ALL, Mode.REALTIME, Mode.NIGHTLY, "default: nightly prefix"),
        ("incoming/batch/a.csv", 10, ALL, Mode.REALTIME, Mode.BATCH, "default: batch prefix"),
    ],
)
def test_default_rules_decide_as_the_table_says(key, size, modes, sync, mode, rule):
    decision = decide(FileFacts(key, size), _policy("", *modes, sync_mode=sync))
    assert (decision.mode, decision.rule) == (mode, rule)
    assert decision.reason.startswith(f"[{rule}] ")


def test_default_rules_end_with_a_catch_all():
    rules = default_rules(_policy())
    assert rules[-1] == Rule(Mode.BATCH, name="default: batch", because=rules[-1].because)
    assert Rule(Mode.BATCH).matches(FileFacts("anything", 10**12))


def test_first_matching_rule_wins():
    policy = _policy('[{"prefix":"incoming/urgent/","mode":"realtime"},{"prefix":"incoming/","mode":"serverless"}]')
    assert decide(FileFacts("incoming/urgent/a.csv", 10), policy).mode is Mode.REALTIME
    assert decide(FileFacts("incoming/other/a.csv", 10), policy).mode is Mode.SERVERLESS


def test_user_rules_come_before_the_default_rules():
    policy = _policy('[{"name":"big to batch","minBytes":1000,"mode":"batch"}]')
    decision = decide(FileFacts("incoming/a.csv", 1000), policy)
    assert (decision.mode, decision.rule) == (Mode.BATCH, "big to batch")
    assert "1000 B ≥ 1000 B" in decision.reason
    assert decide(FileFacts("incoming/a.csv", 999), policy).rule == "default: realtime"


def test_serverless_up_to_one_mb_then_async():
    policy = _policy('[{"maxBytes":1048576,"mode":"serverless"},{"mode":"async"}]')
    assert decide(FileFacts("incoming/a.csv", 1_048_576), policy).mode is Mode.SERVERLESS
    assert decide(FileFacts("incoming/a.csv", 1_048_577), policy).mode is Mode.ASYNC


def test_a_matching_rule_whose_mode_is_not_configured_skips_naming_the_parameter():
    decision = decide(
        FileFacts("incoming/urgent/a.csv", 10), _policy('[{"prefix":"incoming/urgent/","mode":"realtime"}]', Mode.ASYNC)
    )
    assert decision.skipped
    assert "'realtime' is not configured" in decision.reason
    assert "RealtimeEndpointName" in decision.reason
    assert decision.rule == "RoutingRules[0]"


def test_if_configured_passes_over_an_unconfigured_mode():
    policy = _policy('[{"prefix":"incoming/urgent/","mode":"realtime","ifConfigured":true}]', Mode.ASYNC)
    assert decide(FileFacts("incoming/urgent/a.csv", 10), policy).mode is Mode.ASYNC


@pytest.mark.parametrize(
    ("mode", "limit"), [(Mode.REALTIME, REALTIME_MAX_BYTES), (Mode.SERVERLESS, SERVERLESS_MAX_BYTES)]
)
def test_a_sync_rule_without_bounds_still_never_sends_over_the_limit(mode, limit):
    policy = _policy(json.dumps([{"mode": mode.value}]))
    assert decide(FileFacts("incoming/a.csv", limit), policy).mode is mode
    over = decide(FileFacts("incoming/a.csv", limit + 1), policy)
    assert over.skipped
    assert f"{limit + 1} B exceeds the {limit} B limit" in over.reason


@pytest.mark.parametrize(
    ("requested", "rules", "expected"),
    [
        ("serverless", '[{"requested":"serverless","mode":"realtime"}]', Mode.REALTIME),
        ("async", '[{"requested":"serverless","mode":"realtime"}]', Mode.ASYNC),  # default: requested
        (None, '[{"requested":"*","mode":"batch"}]', Mode.REALTIME),  # nothing asked: no match
        ("nightly", '[{"requested":"*","mode":"batch"}]', Mode.BATCH),
    ],
)
def test_requested_mode_rules(requested, rules, expected):
    decision = decide(FileFacts("incoming/a.csv", 10, requested_mode=requested), _policy(rules))
    assert decision.mode is expected


@pytest.mark.parametrize(
    ("rules", "expected"),
    [
        # The operator's own mapping: the request is its condition, the rule names the mode.
        ('[{"requested":"batch","mode":"batch"}]', Mode.BATCH),
        ('[{"requested":"*","mode":"batch"}]', Mode.BATCH),
        # The mode the object asks for: RequestableModes decides.
        ('[{"requested":"*"}]', None),
        ("", None),
    ],
)
def test_requestable_modes_limit_only_the_modes_taken_from_the_request(rules, expected):
    policy = _policy(rules, requestable_modes=frozenset({Mode.ASYNC, Mode.NIGHTLY}))
    decision = decide(FileFacts("incoming/a.csv", 10, requested_mode="batch"), policy)
    assert decision.mode is expected
    assert expected is not None or "RequestableModes: async, nightly" in decision.reason


def test_a_rule_honouring_a_request_that_requestable_modes_leaves_out_is_refused_at_cold_start():
    rules = parse_rules('[{"prefix":"incoming/u/","mode":"realtime"},{"requested":"batch"}]')
    with pytest.raises(ConfigError, match=r"RoutingRules\[1\]\.requested='batch' .*RequestableModes") as raised:
        check_requestable(rules, frozenset({Mode.ASYNC, Mode.NIGHTLY}))
    assert raised.value.details["variable"] == "ROUTING_RULES"
    check_requestable(rules, frozenset({Mode.BATCH}))  # listed: accepted
    check_requestable(parse_rules('[{"requested":"*"},{"requested":"batch","mode":"batch"}]'), frozenset())


def test_unconfigured_default_sync_rules_fall_through_to_async():
    decision = decide(FileFacts("incoming/a.csv", 10), _policy("", Mode.ASYNC))
    assert (decision.mode, decision.rule) == (Mode.ASYNC, "default: async")


def test_rules_are_described_one_line_each():
    lines = describe_rules(_policy('[{"name":"u","prefix":"incoming/u/","mode":"realtime"}]').all_rules())
    assert lines[0] == "u: under 'incoming/u/' → realtime"
    assert lines[1] == "default: requested: the requested mode"
    assert any("(if configured)" in line for line in lines)
