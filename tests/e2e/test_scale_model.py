"""Production phenomena at small scale, on local stacks of their own (README "The terminal-status promise").

Each scenario scales a time constant down through the template's own parameters and overrides, the
way a deployment sets them, never through a code path only tests take:

- **a sync burst against a 15-second queue window**: the scorer's timeout 10 s, claim 12 s, visibility
  15 s, one receive, no grace, one scorer environment, a model that takes MODEL_SECONDS a file, then a
  burst of small real-time files: BURST x MODEL_SECONDS alone is longer than the window, whatever the
  machine's speed. The queue holds files longer than visibility x receives (the former deadline, when 72 of 300 such
  files were closed FAILED while their messages still waited): every file must be scored once, and
  none recorded FAILED.
- **ambiguous invoke timeouts**: SageMaker takes each InvokeEndpointAsync and answers after 5 s, past
  the router's 4 s read timeout (orchestrator/core/budgets.py). Every file must be invoked exactly once and
  still end SUCCEEDED from SageMaker's own notification.

Slow (a burst through one scorer): `make test-slow`, which CI runs after `make test`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest
from orchestrator.core import timestamps

from local.aws.resources import Overrides
from local.observe import Subscriber, wait_for
from local.stack import LocalStack
from tests.e2e.config import BURST, BURST_OVERRIDES, BURST_PARAMETERS, E2E_OVERRIDES, WINDOW, claim_timeout, e2e_config
from tests.e2e.flow import Flow, all_terminal, csv_rows

pytestmark = pytest.mark.slow

SLOW_ANSWER_SECONDS = 5.0  # > the router's 4 s read timeout
# The model's time per file in the sync burst: the backlog outlasts the window by the model's time, not
# by how busy the machine happens to be. 200 x 0.2 s = 40 s: the last BURST // 10 files wait past the
# 15 s window unless the first 180 are handed off faster than the model can take them.
MODEL_SECONDS = 0.2
# The router keeps the template's order (timeout 30 < claim 35, timeout + claim <= visibility 70) and
# starts a record with 6 s left: a record here is one 4 s read timeout plus milliseconds.
AMBIGUOUS_OVERRIDES = Overrides(
    properties={
        **E2E_OVERRIDES.properties,
        "RouterFunction": {"Timeout": 30},
        "RouterQueue": {"VisibilityTimeout": 70},
    },
    environment=claim_timeout(35, RouterFunction={"ROUTER_RECORD_BUDGET_MS": "6000"}),
)


@pytest.fixture(scope="module")
def burst_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    config = e2e_config(tmp_path_factory, "orchestrator-burst", BURST_PARAMETERS, overrides=BURST_OVERRIDES)
    config.concurrency = 1  # one scorer environment
    assert (BURST - BURST // 10) * MODEL_SECONDS > 2 * WINDOW
    with LocalStack(config) as running:
        running.model("/_local/faults", {"delay": MODEL_SECONDS})
        yield running


def test_a_sync_burst_longer_than_the_queue_window_is_scored_once_and_never_failed(burst_stack: LocalStack) -> None:
    with Subscriber(burst_stack, "burst-subscriber") as subscriber:
        flow = Flow(burst_stack, subscriber, "sync burst")
        keys = [flow.put(f"f{n:04d}.csv", csv_rows(1), under="realtime/") for n in range(BURST)]
        items = all_terminal(burst_stack, flow.tag, BURST)

    statuses = Counter(i["status"] for i in items)
    assert statuses == {"SUCCEEDED": BURST}, (statuses, {i.get("failure_reason") for i in items})  # 0 false FAILED
    assert {i["key"] for i in items} == set(keys) and {i["mode"] for i in items} == {"realtime"}
    # At most one invocation per file, and every file invoked: nothing acknowledged as done unscored.
    invoked = Counter(
        e["inferenceId"] for e in flow.history(operation="InvokeEndpoint") if e["inferenceId"] is not None
    )
    assert {i["request_id"]: invoked[i["request_id"]] for i in items} == {i["request_id"]: 1 for i in items}
    # The phenomenon happened: many files waited in the queue longer than the former deadline (visibility x
    # receives + grace = 15 s after hand-off), each of which the former sweeper would have closed FAILED.
    waits = sorted(
        (timestamps.parse(i["sagemaker_received_at"]) - timestamps.parse(i["submitted_at"])).total_seconds()
        for i in items
    )
    past_the_window = sum(wait > WINDOW for wait in waits)
    assert past_the_window >= BURST // 10, waits[-5:]
    print(
        f"\nsync burst of {BURST}: {past_the_window} files waited longer than the {WINDOW} s window "
        f"(longest {waits[-1]:.0f} s); 0 FAILED, one invocation each"
    )


@pytest.fixture(scope="module")
def slow_answer_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    config = e2e_config(
        tmp_path_factory,
        "orchestrator-ambiguous",
        overrides=AMBIGUOUS_OVERRIDES,
        standin={"answer_delay_seconds": SLOW_ANSWER_SECONDS},
    )
    with LocalStack(config) as running:
        yield running


def test_invoke_answers_lost_to_read_timeouts_invoke_each_file_exactly_once(slow_answer_stack: LocalStack) -> None:
    files = 6
    with Subscriber(slow_answer_stack, "ambiguous-subscriber") as subscriber:
        flow = Flow(slow_answer_stack, subscriber, "ambiguous invoke")
        for n in range(files):
            flow.put(f"a{n}.csv", csv_rows(1))
        items = all_terminal(slow_answer_stack, flow.tag, files)

    assert Counter(i["status"] for i in items) == {"SUCCEEDED": files}
    # Every call ended in the router's read timeout (ambiguous), so the router could not know; SageMaker's
    # notification told, often before the read timeout (the confirmation then leaves the result alone).
    log = slow_answer_stack.log_path("RouterFunction")
    line = '"message":"possibly sent: confirmed without invoking again"'
    wait_for(lambda: log.read_text().count(line) == files, 60, what=f"{files} ambiguous invocations")
    # Every record was acknowledged (none released): nothing came back to invoke again.
    accepted = Counter(e["inferenceId"] for e in flow.history(operation="InvokeEndpointAsync accepted"))
    assert {i["request_id"]: accepted[i["request_id"]] for i in items} == {i["request_id"]: 1 for i in items}
