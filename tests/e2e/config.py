"""The e2e stacks' settings: the template overrides and parameters that shorten what a test would
otherwise wait minutes for (visibility timeouts, and with them the function timeouts and the router's
claim timeout, keeping the template's order: timeout < claim < visibility; the async deadline:
RequestTTLSeconds 60 (SageMaker's minimum) + InvocationTimeoutSeconds 5 + DeadlineGraceSeconds 0), and
the sync burst's stack shared by ``test_scale_model.py`` and ``test_spillover.py``."""

from __future__ import annotations

from typing import Any

import pytest

from local.aws.resources import Overrides
from local.stack import StackConfig

FUNCTIONS = (
    "RouterFunction",
    "ScorerFunction",
    "TrackerFunction",
    "SweeperFunction",
    "NightlyFunction",
    "BatchResultFunction",
)


def claim_timeout(seconds: int, **extra: dict[str, str]) -> dict[str, dict[str, str]]:
    """The router's claim timeout for every function, as the template's Globals set it: the router counts
    a claim's deadline with it and the sweeper each status's due time. Set on the router alone, the
    sweeper's larger default (150 s) made a submitted file's own due time later than its index
    deadline: the sweeper moved it on instead of resolving it (``extra``: more variables by function)."""
    assert set(extra) <= set(FUNCTIONS), f"not a function of the template: {set(extra) - set(FUNCTIONS)}"
    return {name: {"CLAIM_TIMEOUT_SECONDS": str(seconds), **extra.get(name, {})} for name in FUNCTIONS}


E2E_ROUTER = {"ROUTER_RECORD_BUDGET_MS": "2000"}
# Short, but with room for a loaded 2-core CI machine: an invocation that overruns its timeout is
# retried, and a retried router call after its claim expired would invoke SageMaker a second time.
E2E_OVERRIDES = Overrides(
    properties={
        "RouterFunction": {"Timeout": 5},
        "RouterQueue": {"VisibilityTimeout": 8},
        "TrackerFunction": {"Timeout": 3},
        "TrackerQueue": {"VisibilityTimeout": 3},
    },
    # The router starts a record only with its worst case left (108 s): with a 5 s timeout, 2 s here.
    environment=claim_timeout(6, RouterFunction=E2E_ROUTER),
)
E2E_PARAMETERS = {"RequestTTLSeconds": "60", "InvocationTimeoutSeconds": "5", "DeadlineGraceSeconds": "0"}
# The sweeper's rate(5 minutes), compressed: how often it runs by itself on the e2e stack.
SWEEP_SECONDS = 3.0


def e2e_config(
    tmp_path_factory: pytest.TempPathFactory, stack_name: str, parameters: dict[str, str] | None = None, **changes: Any
) -> StackConfig:
    """An e2e stack's settings: free ports, a state directory of its own, the shortened timeouts and
    deadlines above (``parameters`` on top), the sweeper every SWEEP_SECONDS."""
    return StackConfig.on_free_ports(
        stack_name=stack_name,
        state_dir=tmp_path_factory.mktemp(stack_name),
        parameters={**E2E_PARAMETERS, **(parameters or {})},
        rate_schedule_seconds=SWEEP_SECONDS,
        **{"overrides": E2E_OVERRIDES, **changes},
    )


# A sync burst against a 15-second queue window: one scorer environment (the fixture's concurrency 1).
BURST = 200
WINDOW = 15  # the scorer queue's visibility timeout x max receives: the former deadline of a sync file
BURST_OVERRIDES = Overrides(
    properties={
        **E2E_OVERRIDES.properties,
        "ScorerFunction": {"Timeout": 10},
        "ScorerQueue": {
            "VisibilityTimeout": WINDOW,
            "RedrivePolicy": {"deadLetterTargetArn": {"Fn::GetAtt": ["ScorerDLQ", "Arn"]}, "maxReceiveCount": 1},
        },
    },
    environment=claim_timeout(6, RouterFunction=E2E_ROUTER, ScorerFunction={"SCORER_CLAIM_TIMEOUT_SECONDS": "12"}),
)
# Queued work is bounded by the retention, far longer than the burst takes to drain.
BURST_PARAMETERS = {"DeadlineGraceSeconds": "0", "QueueRetentionSeconds": "1800"}
