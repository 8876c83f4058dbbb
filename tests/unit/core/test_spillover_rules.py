"""Spill rules (README "Which mode a file gets"): a sync rule's files go elsewhere while the scorer queue is deep.

The backlog is a fact given to the pure decision; these tests give it by hand.
"""

from __future__ import annotations

import json

import pytest
from orchestrator.core.routing import Backlog, FileFacts, Mode, RoutingPolicy, decide, describe_rules, parse_rules
from orchestrator.errors import ConfigError
from orchestrator.settings import DEFAULT_CONTENT_TYPES, parse_content_types

BURST = {
    "name": "burst",
    "prefix": "incoming/realtime/",
    "mode": "realtime",
    "spillTo": "async",
    "spillWhenQueued": 500,
}
KEY = "incoming/realtime/a.csv"


def _policy(rules: list[dict] | None = None, *modes: Mode, **changes) -> RoutingPolicy:
    return RoutingPolicy(
        content_types=parse_content_types(DEFAULT_CONTENT_TYPES),
        available_modes=frozenset(modes) or frozenset(Mode),
        rules=parse_rules(json.dumps(rules if rules is not None else [BURST])),
        **changes,
    )


def _facts(queued: int | None = None, *, problem: str = "", size: int = 2048, key: str = KEY) -> FileFacts:
    backlog = Backlog(queued, problem) if queued is not None or problem else None
    return FileFacts(key, size, backlog=backlog)


def test_a_spill_rule_is_parsed_with_its_mode_and_bound():
    [rule] = parse_rules(json.dumps([BURST]))
    assert (rule.mode, rule.spill_to, rule.spill_when_queued) == (Mode.REALTIME, Mode.ASYNC, 500)
    assert parse_rules('[{"mode":"serverless","spillTo":"nightly","spillWhenQueued":1}]')[0].spill_to is Mode.NIGHTLY


def test_a_rule_without_spill_fields_never_spills():
    [rule] = parse_rules('[{"mode":"realtime"}]')
    assert (rule.spill_to, rule.spill_when_queued) == (None, None)


@pytest.mark.parametrize(
    ("changes", "field", "problem"),
    [
        ({"spillTo": "turbo"}, "spillTo", "='turbo' is not one of: async, nightly"),
        ({"spillTo": 3}, "spillTo", "=3 is not one of: async, nightly"),
        ({"mode": "async"}, "spillTo", " is only for a realtime or serverless rule (this rule has mode 'async')"),
        ({"mode": "nightly"}, "spillTo", " is only for a realtime or serverless rule (this rule has mode 'nightly')"),
        ({"mode": None, "requested": "*"}, "spillTo", " is only for a realtime or serverless rule (this rule has the"),
        ({"spillTo": "realtime"}, "spillTo", "='realtime' is the rule's own mode"),
        ({"spillTo": "serverless"}, "spillTo", "='serverless' waits in the same scorer queue"),
        ({"spillTo": "batch"}, "spillTo", "='batch' would start a transform job per spilled file"),
        ({"spillWhenQueued": None}, "spillWhenQueued", " is required with spillTo"),
        ({"spillWhenQueued": 0}, "spillWhenQueued", "=0 must be a whole number of messages ≥ 1"),
        ({"spillWhenQueued": -5}, "spillWhenQueued", "=-5 must be a whole number"),
        ({"spillWhenQueued": "500"}, "spillWhenQueued", "='500' must be a whole number"),
        ({"spillWhenQueued": 2.5}, "spillWhenQueued", "=2.5 must be a whole number"),
        ({"spillWhenQueued": True}, "spillWhenQueued", "=True must be a whole number"),
        ({"spillTo": None}, "spillWhenQueued", " is given without spillTo"),
    ],
)
def test_a_bad_spill_rule_is_refused_at_cold_start_naming_its_index_and_field(changes, field, problem):
    rule = {k: v for k, v in {**BURST, **changes}.items() if v is not None}
    with pytest.raises(ConfigError) as caught:
        parse_rules(json.dumps([{"mode": "async"}, rule]))
    assert f"RoutingRules[1].{field}{problem}" in caught.value.message
    assert (caught.value.details["variable"], caught.value.details["rule"], caught.value.details["field"]) == (
        "ROUTING_RULES",
        1,
        field,
    )


def test_without_the_backlog_a_spill_rule_asks_for_it_and_keeps_its_own_mode_meanwhile():
    decision = decide(_facts(), _policy())
    assert (decision.mode, decision.backlog_wanted) == (Mode.REALTIME, True)
    assert decision.spill_modes == (Mode.REALTIME, Mode.ASYNC)


@pytest.mark.parametrize(
    ("rules", "key", "size"),
    [
        ([], KEY, 2048),  # the default table: no spill unless a rule asks
        ([BURST], "incoming/other/a.csv", 2048),  # another prefix: the spill rule does not match
        ([{**BURST, "maxBytes": 1000}], KEY, 2048),  # over the rule's own bound: not its file
        ([{"mode": "async"}, BURST], KEY, 2048),  # an earlier rule decides
    ],
)
def test_files_no_spill_rule_decides_never_ask_for_the_backlog(rules, key, size):
    decision = decide(_facts(key=key, size=size), _policy(rules))
    assert decision.backlog_wanted is False and decision.spill_modes is None


def test_below_the_bound_the_file_keeps_the_rules_mode_saying_the_backlog_seen():
    decision = decide(_facts(499), _policy())
    assert (decision.mode, decision.spilled_from, decision.backlog_wanted) == (Mode.REALTIME, None, False)
    assert decision.reason == "[burst] under 'incoming/realtime/' → realtime; scorer queue holds 499 < 500: not spilled"


@pytest.mark.parametrize("queued", [500, 812])
def test_at_or_over_the_bound_the_file_spills_saying_the_backlog_seen(queued):
    decision = decide(_facts(queued), _policy())
    assert (decision.mode, decision.spilled_from, decision.rule) == (Mode.ASYNC, Mode.REALTIME, "burst")
    assert decision.content_type == "text/csv"
    assert decision.reason == (
        f"[burst] under 'incoming/realtime/' → realtime; scorer queue holds {queued} ≥ 500 → spilled to async"
    )


def test_a_serverless_rule_spills_to_nightly():
    rule = {"prefix": "incoming/", "mode": "serverless", "spillTo": "nightly", "spillWhenQueued": 10}
    decision = decide(_facts(10), _policy([rule]))
    assert (decision.mode, decision.spilled_from) == (Mode.NIGHTLY, Mode.SERVERLESS)


def test_a_backlog_that_could_not_be_read_never_spills_and_says_so():
    decision = decide(_facts(problem="GetQueueAttributes failed: AccessDenied"), _policy())
    assert decision.mode is Mode.REALTIME
    assert decision.reason.endswith(
        "; scorer queue backlog unknown (GetQueueAttributes failed: AccessDenied): not spilled"
    )


def test_a_spill_mode_that_is_not_configured_keeps_the_rules_mode_naming_the_parameter():
    rule = {**BURST, "spillTo": "nightly"}
    decision = decide(_facts(900), _policy([rule], Mode.REALTIME, Mode.ASYNC))
    assert decision.mode is Mode.REALTIME
    assert decision.reason.endswith(
        "; scorer queue holds 900 ≥ 500, but spillTo 'nightly' is not configured in this stack "
        "(template parameter TransformModelName is empty): kept realtime"
    )


def test_the_spill_modes_payload_limit_still_applies():
    decision = decide(_facts(900, size=2048), _policy(async_max_bytes=1000))
    assert decision.mode is Mode.REALTIME
    assert decision.reason.endswith("but 2048 B exceeds the async limit (1000 B): kept realtime")


def test_the_rules_own_mode_not_configured_skips_as_before_without_reading_the_backlog():
    decision = decide(_facts(), _policy([BURST], Mode.ASYNC))
    assert (decision.mode, decision.backlog_wanted) == (None, False)
    assert "template parameter RealtimeEndpointName is empty" in decision.reason


def test_a_spill_rule_is_described_with_its_bound():
    [line] = describe_rules(parse_rules(json.dumps([BURST])))
    assert line == "burst: under 'incoming/realtime/' → realtime, async while the scorer queue holds ≥ 500"
