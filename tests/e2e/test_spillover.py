"""Spillover at small scale (README "Which mode a file gets"): the sync burst of ``test_scale_model.py``
(same template overrides: one scorer environment, a 15-second queue window) sent twice through one
local stack, once under a plain real-time rule and once under a rule that spills to async while the
scorer queue holds ``SPILL_WHEN_QUEUED`` messages. The router reads the backlog every second here
(``SPILLOVER_CHECK_SECONDS``, through the function's environment as a deployment would set it).

Each model call takes ``MODEL_SECONDS`` (the demo model's delay): the real-time endpoint serves one
call at a time through its one scorer, the async endpoint two, as a burst meets them in AWS.

Asserted: every file SUCCEEDED and was invoked exactly once, in one mode or the other, and part of the
spill burst went async, each such file saying the backlog it saw. Printed, never asserted: the share
spilled and the end-to-end p95 (``s3_event_time`` → ``completed_at``) with and without spillover.

Slow (two bursts through one scorer): `make test-slow`, which CI runs after `make test`.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterator

import pytest
from orchestrator.core import timestamps

from local.aws.resources import Overrides
from local.observe import Subscriber
from local.stack import LOCAL_ROUTING_RULES, LocalStack
from tests.e2e.config import BURST, BURST_OVERRIDES, BURST_PARAMETERS, e2e_config
from tests.e2e.flow import Flow, all_terminal, csv_rows

pytestmark = pytest.mark.slow

SPILL_WHEN_QUEUED = 20
# Each model call takes this long (the model's own time: a sleep, not CPU), so the endpoints' capacity
# is the model's and not the shared CPU: real-time, one scorer = one call at a time; async, the
# stand-in's two workers (one instance of two concurrent requests).
MODEL_SECONDS = 0.5
ASYNC_CONCURRENCY = 2
SPILL_RULE = {
    "name": "burst spill",
    "prefix": "incoming/spill/",
    "mode": "realtime",
    "spillTo": "async",
    "spillWhenQueued": SPILL_WHEN_QUEUED,
}
SPILL_PARAMETERS = {**BURST_PARAMETERS, "RoutingRules": json.dumps([SPILL_RULE, *json.loads(LOCAL_ROUTING_RULES)])}
SPILL_OVERRIDES = Overrides(
    properties=BURST_OVERRIDES.properties,
    environment={
        **BURST_OVERRIDES.environment,
        "RouterFunction": {**BURST_OVERRIDES.environment.get("RouterFunction", {}), "SPILLOVER_CHECK_SECONDS": "1"},
    },
)


@pytest.fixture(scope="module")
def spill_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    config = e2e_config(
        tmp_path_factory,
        "orchestrator-spill",
        SPILL_PARAMETERS,
        overrides=SPILL_OVERRIDES,
        standin={"async_concurrency": ASYNC_CONCURRENCY},
    )
    config.concurrency = 1  # one scorer environment (and one router environment: one backlog cache)
    with LocalStack(config) as running:
        running.model("/_local/faults", {"delay": MODEL_SECONDS})
        yield running


def _burst(stack: LocalStack, name: str, under: str) -> tuple[Flow, list[dict]]:
    with Subscriber(stack, name.replace(" ", "-") + "-subscriber") as subscriber:
        flow = Flow(stack, subscriber, name)
        for n in range(BURST):
            flow.put(f"f{n:04d}.csv", csv_rows(1), under=under)
        return flow, all_terminal(stack, flow.tag, BURST)


def _seconds(item: dict, start: str, end: str) -> float:
    return (timestamps.parse(item[end]) - timestamps.parse(item[start])).total_seconds()


def _p(items: list[dict], share: float, start: str = "s3_event_time", end: str = "completed_at") -> float:
    """The ``share`` percentile of ``start`` → ``end`` over ``items`` (nearest rank), in seconds."""
    ordered = sorted(_seconds(i, start, end) for i in items)
    return ordered[math.ceil(share * len(ordered)) - 1] if ordered else float("nan")


def _summary(items: list[dict]) -> str:
    by_mode = {mode: [i for i in items if i["mode"] == mode] for mode in sorted({i["mode"] for i in items})}
    parts = [f"p50 {_p(items, 0.5):.1f} s, p95 {_p(items, 0.95):.1f} s"]
    parts += [f"{mode} ({len(group)}) p95 {_p(group, 0.95):.1f} s" for mode, group in by_mode.items()]
    routed = [i for i in items if i.get("submitted_at")]
    parts.append(f"routed p95 {_p(routed, 0.95, end='submitted_at'):.1f} s")
    return "; ".join(parts)


def _invocations(flow: Flow) -> Counter[str]:
    """Model calls per request id, in either mode (real-time by the scorer, async accepted by SageMaker)."""
    calls = flow.history(operation="InvokeEndpoint") + flow.history(operation="InvokeEndpointAsync accepted")
    return Counter(e["inferenceId"] for e in calls if e["inferenceId"] is not None)


def test_a_sync_burst_spills_to_async_and_every_file_succeeds_once(spill_stack: LocalStack) -> None:
    plain_flow, plain = _burst(spill_stack, "burst without spill", "realtime/")
    spill_flow, spilled = _burst(spill_stack, "burst with spill", "spill/")

    for flow, items in ((plain_flow, plain), (spill_flow, spilled)):
        assert Counter(i["status"] for i in items) == {"SUCCEEDED": BURST}, {i.get("failure_reason") for i in items}
        invoked = _invocations(flow)
        assert {i["request_id"]: invoked[i["request_id"]] for i in items} == {i["request_id"]: 1 for i in items}
    assert {i["mode"] for i in plain} == {"realtime"}

    modes = Counter(i["mode"] for i in spilled)
    assert set(modes) <= {"realtime", "async"} and modes["async"] > 0, modes
    for item in spilled:
        said = item["route_reason"]
        if item["mode"] == "async":
            assert said.endswith(" → spilled to async") and f"≥ {SPILL_WHEN_QUEUED}" in said, said
        else:
            assert said.endswith(": not spilled"), said

    print(
        f"\nsync burst of {BURST} (one scorer environment, {MODEL_SECONDS} s a model call, async"
        f" {ASYNC_CONCURRENCY} at a time), end to end (s3_event_time → completed_at):"
        f"\n  real-time only: {_summary(plain)}"
        f"\n  spillWhenQueued {SPILL_WHEN_QUEUED}: {_summary(spilled)}"
        f"\n  {modes['async']} of {BURST} spilled to async"
    )
