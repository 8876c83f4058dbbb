"""``sio selftest``'s plan: which modes a stack has, where each sample must go for the router to give
it that mode, and the nightly event. The router's own routing (``orchestrator.core.routing.decide``)
judges every placement, and confirms that a mode called not testable is reached by no place sio
could have put the sample."""

from __future__ import annotations

import json
from typing import Any

import pytest
from orchestrator import settings
from orchestrator.core import routing
from orchestrator.core.routing import FileFacts, Mode, RoutingPolicy
from orchestrator.workflows.nightly import night_from_event
from sio.errors import SioError
from sio.selftest_plan import (
    BUILTIN,
    FOLDER,
    MODE_PARAMETERS,
    SAMPLE_MAX_BYTES,
    Sample,
    night_event,
    plan,
)
from sio.selftest_report import FAILED, NOT_TESTED, PASSED, TIMED_OUT, Cleanup, Report, Row

from local.aws.template import REPO, load_yaml
from local.model.demo_model import predict
from local.stack import LOCAL_PARAMETERS

BASE = {
    "InputPrefix": "incoming/",
    "NightlyPrefix": "incoming/nightly/",
    "BatchPrefix": "incoming/batch/",
    "ContentTypes": settings.DEFAULT_CONTENT_TYPES,
    "ReadObjectMetadata": "false",
    "RequestableModes": "async,nightly",
    "RoutingRules": "",
    "AsyncEndpointName": "scores-async",
    "RealtimeEndpointName": "",
    "ServerlessEndpointName": "",
    "TransformModelName": "",
}
ALL_ENDPOINTS = {"RealtimeEndpointName": "rt", "ServerlessEndpointName": "sl", "TransformModelName": "model"}
STACKS: dict[str, dict[str, str]] = {
    "template defaults (async only)": {},
    "real-time, default rules": {"RealtimeEndpointName": "rt"},
    "every mode, default rules": ALL_ENDPOINTS,
    "every mode, metadata read": {
        **ALL_ENDPOINTS,
        "ReadObjectMetadata": "true",
        "RequestableModes": "async,nightly,serverless",
    },
    "the local stack": {k: v for k, v in LOCAL_PARAMETERS.items() if k in BASE},
    "a size rule": {
        **ALL_ENDPOINTS,
        "RoutingRules": json.dumps([{"minBytes": 1000, "maxBytes": 4000, "mode": "serverless"}]),
    },
    "a spill rule": {
        "RealtimeEndpointName": "rt",
        "RoutingRules": json.dumps(
            [{"prefix": "incoming/urgent/", "mode": "realtime", "spillTo": "async", "spillWhenQueued": 100}]
        ),
    },
    "prefixes outside the input prefix": {
        **ALL_ENDPOINTS,
        "NightlyPrefix": "elsewhere/nightly/",
        "RoutingRules": json.dumps([{"prefix": "elsewhere/sl/", "mode": "serverless"}]),
    },
}


def _parameters(name: str) -> dict[str, str]:
    return {**BASE, **STACKS[name]}


def _layer_policy(parameters: dict[str, str]) -> RoutingPolicy:
    """The router's policy for these parameters (router.policy_from, with the modes it registers)."""
    available = frozenset(Mode(m) for m, p in MODE_PARAMETERS.items() if parameters[p])
    return RoutingPolicy(
        content_types=settings.parse_content_types(parameters["ContentTypes"]),
        available_modes=available,
        nightly_prefix=parameters["NightlyPrefix"],
        batch_prefix=parameters["BatchPrefix"],
        rules=routing.parse_rules(parameters["RoutingRules"]),
        requestable_modes=settings.parse_requestable_modes(parameters["RequestableModes"]),
    )


def _layer_mode(parameters: dict[str, str], key: str, size: int, requested: str | None) -> tuple[str | None, str]:
    reads = parameters["ReadObjectMetadata"] == "true"
    facts = FileFacts(key, size, requested_mode=requested if reads else None)
    decision = routing.decide(facts, _layer_policy(parameters))
    return (decision.mode.value if decision.mode else None), decision.rule


@pytest.mark.parametrize("name", STACKS)
def test_every_placement_is_routed_by_the_router_to_its_mode_by_the_rule_named(name: str) -> None:
    parameters = _parameters(name)
    made = plan(parameters, parameters["InputPrefix"], run_id="0123456789ab")
    assert made.placements, "every stack has async"
    for placement in made.placements:
        assert placement.key.startswith(parameters["InputPrefix"]) and f"{FOLDER}0123456789ab/" in placement.key
        requested = placement.metadata.get("inference-mode")
        assert _layer_mode(parameters, placement.key, placement.size, requested) == (placement.mode, placement.rule)
        assert len(BUILTIN.sized(placement.size)) == placement.size
    # and every configured mode is either placed or said not testable, never dropped
    assert {p.mode for p in made.placements} | {u.mode for u in made.untestable} == set(made.configured)


@pytest.mark.parametrize("name", STACKS)
def test_a_mode_called_not_testable_is_reached_by_no_place_under_the_input_prefix(name: str) -> None:
    parameters = _parameters(name)
    made = plan(parameters, parameters["InputPrefix"], run_id="0123456789ab")
    policy = _layer_policy(parameters)
    prefixes = {r.prefix for r in policy.all_rules() if r.prefix} | {parameters["InputPrefix"]}
    prefixes = {p for p in prefixes if p.startswith(parameters["InputPrefix"])} | {"incoming/a/b/"}
    bounds = {b for r in policy.all_rules() for b in (r.min_bytes, r.max_bytes) if b is not None}
    sizes = {len(BUILTIN.body)} | {s + d for s in bounds for d in (-1, 0, 1) if 0 < s + d <= SAMPLE_MAX_BYTES}
    for untestable in made.untestable:
        for prefix in prefixes:
            for size in sizes:
                for requested in (None, untestable.mode):
                    key = f"{prefix}x/{untestable.mode}.csv"
                    assert _layer_mode(parameters, key, size, requested)[0] != untestable.mode


def test_what_each_stack_can_test() -> None:
    def modes(name: str) -> tuple[dict[str, tuple[str, int, bool]], set[str]]:
        made = plan(_parameters(name), "incoming/", run_id="0123456789ab")
        placed = {p.mode: (p.key.split(FOLDER)[0], p.size, bool(p.metadata)) for p in made.placements}
        return placed, {u.mode for u in made.untestable}

    tiny = len(BUILTIN.body)
    # Real-time takes every small file: async is reached with a sample just over the real-time limit
    assert modes("real-time, default rules") == (
        {"realtime": ("incoming/", tiny, False), "async": ("incoming/", settings.REALTIME_MAX_BYTES + 1, False)},
        set(),
    )
    # Serverless comes after real-time in the default table: nothing small reaches it
    placed, untestable = modes("every mode, default rules")
    assert untestable == {"serverless"}
    assert placed["batch"][0] == "incoming/batch/" and placed["nightly"][0] == "incoming/nightly/"
    # … unless uploaders may ask for it in the metadata
    placed, untestable = modes("every mode, metadata read")
    assert not untestable and placed["serverless"] == ("incoming/", tiny, True) and placed["async"][2]
    # The local stack: a prefix for each synchronous endpoint
    placed, untestable = modes("the local stack")
    assert not untestable and placed["realtime"][0] == "incoming/realtime/"
    assert placed["serverless"][0] == "incoming/serverless/" and placed["async"] == ("incoming/", tiny, False)
    # A rule's lower bound: the sample is padded to reach it
    assert modes("a size rule")[0]["serverless"] == ("incoming/", 1000, False)
    # Prefixes outside the input prefix never reach the router
    assert modes("prefixes outside the input prefix")[1] == {"serverless", "nightly"}


def test_the_reason_a_mode_is_not_testable_says_where_the_sample_went_and_how_to_fix_it() -> None:
    [untestable] = plan(_parameters("every mode, default rules"), "incoming/", run_id="abc").untestable
    assert "goes to realtime (default: realtime)" in untestable.reason
    assert "ReadObjectMetadata=false" in untestable.reason
    rule = json.loads(untestable.reason.split("add a rule such as ")[1].split(" at the top")[0])
    assert rule == {"prefix": "incoming/selftest/serverless/", "mode": "serverless"}
    # The rule it suggests makes it testable
    fixed = {**_parameters("every mode, default rules"), "RoutingRules": json.dumps([rule])}
    assert plan(fixed, "incoming/", run_id="abc").placement("serverless") is not None


def test_a_spill_rule_is_named_in_the_placements_notes() -> None:
    placement = plan(_parameters("a spill rule"), "incoming/", run_id="abc").placement("realtime")
    assert placement is not None and placement.key.startswith("incoming/urgent/")
    assert "spills to async" in placement.notes[0]


def test_modes_asked_for_must_exist_and_be_testable() -> None:
    with pytest.raises(SioError, match="has no serverless mode: its parameter ServerlessEndpointName is empty"):
        plan(_parameters("template defaults (async only)"), "incoming/", run_id="abc", modes=("serverless",))
    with pytest.raises(SioError, match="serverless cannot be tested on this stack: no file sio can place"):
        plan(_parameters("every mode, default rules"), "incoming/", run_id="abc", modes=("serverless",))
    only = plan(_parameters("every mode, default rules"), "incoming/", run_id="abc", modes=("batch", "realtime"))
    assert [p.mode for p in only.placements] == ["realtime", "batch"] and not only.untestable


def test_a_sample_the_router_would_skip_is_refused() -> None:
    with pytest.raises(SioError, match=r"'scan\.png' has an extension the stack does not score"):
        plan(_parameters("the local stack"), "incoming/", run_id="abc", sample=Sample("scan.png", b"x", False))
    own = plan(_parameters("the local stack"), "incoming/", run_id="abc", sample=Sample("rows.jsonl", b"[1]\n", False))
    assert {p.key.rsplit("/", 1)[1] for p in own.placements} == {f"{m}.jsonl" for m in own.configured}


def test_a_padded_sample_is_still_scored_row_by_row_by_the_demo_model() -> None:
    body = BUILTIN.sized(settings.REALTIME_MAX_BYTES + 1)
    assert len(body) == settings.REALTIME_MAX_BYTES + 1
    scores, _ = predict(body, "text/csv", "text/csv")
    assert len(scores.splitlines()) == 3 * (len(body) // len(BUILTIN.body))
    assert Sample("own.csv", b"1,2\n", builtin=False).sized(5000) == b"1,2\n"


def _schedule_input() -> dict[str, Any]:
    # The nightly function is the nested application Batch's.
    events = load_yaml(REPO / "batch" / "template.yaml")["Resources"]["NightlyFunction"]["Properties"]["Events"]
    [schedule] = [e for e in events.values() if e["Type"] == "ScheduleV2"]
    return dict(json.loads(schedule["Properties"]["Input"]))


@pytest.mark.parametrize("expression", ["cron(0 2 * * ? *)", "rate(6 hours)"])
def test_the_nightly_event_has_the_schedules_shape_and_a_far_future_night_of_its_own(expression: str) -> None:
    from orchestrator.core import nights

    events = [night_event("0123456789ab", attempt) for attempt in range(3)]
    # The schedule's own fields, filled in, and saying who sent it
    assert all(set(e) == set(_schedule_input()) for e in events)
    assert {e["scheduleArn"] for e in events} == {"sio-selftest"}
    # The nightly function reads a night from it: far after any real one, a new one on each attempt
    by_time = nights.named_by_time(expression)
    parsed = [night_from_event(e, "sio", timezone="Europe/Paris", by_time=by_time) for e in events]
    assert all(n.date > "2100-01-01" and n.job_name == f"sio-nightly-{n.date}" for n in parsed)
    assert len({n.job_name for n in parsed}) == 3
    assert night_event("0123456789ab") == events[0]  # the same run, the same night
    assert night_event("ba9876543210")["scheduledTime"] != events[0]["scheduledTime"]


@pytest.mark.parametrize(
    ("statuses", "requested", "cleanup_error", "code"),
    [
        ((PASSED, PASSED, NOT_TESTED), (), False, 0),
        ((PASSED, FAILED), (), False, 1),
        ((PASSED, TIMED_OUT), (), False, 3),
        ((FAILED, TIMED_OUT), (), False, 1),
        ((PASSED,), (), True, 1),
        ((PASSED, NOT_TESTED), ("serverless",), False, 1),
        ((NOT_TESTED,), (), False, 1),
    ],
)
def test_exit_status(statuses: tuple[str, ...], requested: tuple[str, ...], cleanup_error: bool, code: int) -> None:
    modes = ("async", "serverless", "batch")
    rows = [Row(mode, status) for mode, status in zip(modes, statuses, strict=False)]
    cleanup = Cleanup(errors=["delete queue x: AccessDenied"] if cleanup_error else [])
    assert Report("r", rows, cleanup, {}, requested).exit_code == code
