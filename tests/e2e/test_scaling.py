"""Endpoints created by the stack, on a local stack of their own: the async one starts at zero instances,
scales out when files arrive (the template's step policy on HasBacklogWithoutCapacity, played by the
runner's autoscaler on a 60x clock) and back in to zero (target tracking); the real-time and serverless
ones serve through the names the nested stack's outputs give the functions.

Slow (tens of seconds of scaling): `make test-slow`, which CI runs after `make test`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from local.observe import Subscriber, wait_for
from local.scaling.player import journal
from local.stack import ENDPOINT_PARAMETERS, LocalStack
from tests.e2e.config import e2e_config
from tests.e2e.flow import WAIT, Flow, csv_rows

pytestmark = pytest.mark.slow
ENDPOINT = "demo-async-endpoint"


@pytest.fixture(scope="module")
def scaling_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    config = e2e_config(tmp_path_factory, "orchestrator-scaling", ENDPOINT_PARAMETERS, scaling_clock_factor=60)
    with LocalStack(config) as running:
        yield running


@pytest.fixture(scope="module")
def watcher(scaling_stack: LocalStack) -> Iterator[Subscriber]:
    with Subscriber(scaling_stack, "scaling-subscriber") as subscriber:
        yield subscriber


@pytest.fixture
def flow(scaling_stack: LocalStack, watcher: Subscriber, request: pytest.FixtureRequest) -> Flow:
    return Flow(scaling_stack, watcher, request.node.name)


def instances(stack: LocalStack) -> dict[str, Any]:
    variants = stack.client("sagemaker").describe_endpoint(EndpointName=ENDPOINT)["ProductionVariants"]
    return dict(variants[0])


def decisions(stack: LocalStack) -> list[dict[str, Any]]:
    return [entry for entry in journal(stack.directory) if entry["kind"] == "scale"]


def test_files_sent_at_zero_all_succeed_after_one_scale_out_and_the_endpoint_returns_to_zero(
    scaling_stack: LocalStack, flow: Flow
) -> None:
    """Given the created async endpoint at zero instances, when four files arrive (under the target of 5
    per instance), then the step policy adds one instance, every file SUCCEEDS exactly once (one
    invocation, one announcement), and target tracking takes the endpoint back to zero once the backlog
    is empty."""
    assert instances(scaling_stack)["CurrentInstanceCount"] == 0
    keys = [flow.put(f"file-{n}.csv", csv_rows(3)) for n in range(4)]

    items = [flow.wait_status(key, timeout=WAIT) for key in keys]

    assert {item["status"] for item in items} == {"SUCCEEDED"}
    for item in items:
        assert len(flow.history(item["request_id"])) == 1, "invoked once"
        assert [r.message["invocationStatus"] for r in flow.messages(item["request_id"])] == ["Completed"]
    first = decisions(scaling_stack)[0]
    assert (first["previous"], first["desired"], first["policy"]) == (0, 1, "AsyncScaleOutFromZero")
    assert "HasBacklogWithoutCapacity" in first["cause"]

    wait_for(lambda: instances(scaling_stack)["DesiredInstanceCount"] == 0, 60, what="scale in to zero")
    last = decisions(scaling_stack)[-1]
    assert (last["desired"], last["policy"]) == (0, "AsyncBacklogTracking")
    made = [(d["virtual_seconds"], d["previous"], d["desired"], d["cause"]) for d in decisions(scaling_stack)]
    assert max(d["desired"] for d in decisions(scaling_stack)) == 1, f"one instance was enough: {made}"
    capacity = scaling_stack.standin("/_local/endpoints")[ENDPOINT]
    assert capacity["instanceSeconds"] > 0
    assert capacity["CurrentInstanceCount"] == 0


def test_a_request_that_waits_at_zero_past_its_ttl_expires(scaling_stack: LocalStack, flow: Flow) -> None:
    """Given the endpoint at zero, when a queued request outlives its RequestTTLSeconds before an instance
    starts, then SageMaker's Expired notification makes the file EXPIRED (nothing is lost)."""
    wait_for(lambda: instances(scaling_stack)["DesiredInstanceCount"] == 0, 60, what="endpoint at zero")
    key = flow.put("late.csv", csv_rows(2))
    item = flow.wait_status(key, {"SUBMITTED"})
    # As if it had waited an hour in the queue: the stand-in's TTL check expires it now.
    scaling_stack.standin(f"/_local/endpoints/{ENDPOINT}/age", {"seconds": 3600})

    item = flow.wait_status(key)

    assert item["status"] == "EXPIRED"
    assert [r.message["invocationStatus"] for r in flow.messages(item["request_id"])] == ["Expired"]


@pytest.mark.parametrize("mode", ["realtime", "serverless"])
def test_created_synchronous_endpoints_serve_through_the_nested_stacks_names(
    scaling_stack: LocalStack, flow: Flow, mode: str
) -> None:
    """Given the real-time and serverless endpoints created by the stack, when a file goes to each mode,
    then the scorer invokes the endpoint the nested stack's output names, and the file SUCCEEDS."""
    function = scaling_stack.state.functions["ScorerFunction"]
    name = function.environment[f"{mode.upper()}_ENDPOINT_NAME"]
    assert name == scaling_stack.state.resources["Endpoints"][f"Outputs.{mode.capitalize()}EndpointName"]

    key = flow.put("small.csv", csv_rows(2), under=f"{mode}/")
    item = flow.wait_status(key)

    assert (item["status"], item["mode"]) == ("SUCCEEDED", mode)
    calls = [e for e in scaling_stack.standin("/_local/history") if e.get("operation") == "InvokeEndpoint"]
    assert any(e["endpoint"] == name and e["inferenceId"] == item["request_id"] for e in calls)
