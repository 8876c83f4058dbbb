"""The local stack for the e2e tests, on free loopback ports, with the settings of ``config.py``;
``flow.py`` holds what the tests drive and watch it with.

One stack serves every test: each test works under keys of its own, and asserts on the tracker
items, S3 objects and topic messages of its own requests.

One scenario is shared too (:func:`lost_notifications`): two files whose notification the
SageMaker stand-in loses, started with the first test that drives files, so that their 65 s
deadline runs out while the other tests run; ``test_sweeper.py`` asserts how the sweeper resolved them.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from local.observe import Subscriber
from local.stack import LocalStack
from tests.e2e.config import e2e_config
from tests.e2e.flow import Flow, LostNotifications, csv_rows


# Package scope: the stack (a dozen processes) stops when the e2e tests are done, not at the end of
# `make test`'s session, where it would keep polling while the tiers after it run.
@pytest.fixture(scope="package")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    with LocalStack(e2e_config(tmp_path_factory, "orchestrator-e2e")) as running:
        yield running


@pytest.fixture(scope="package")
def subscriber(stack: LocalStack) -> Iterator[Subscriber]:
    with Subscriber(stack, "e2e-subscriber") as watcher:
        yield watcher


@pytest.fixture(scope="package")
def lost_notifications(stack: LocalStack, subscriber: Subscriber) -> LostNotifications:
    """Started by the first test that drives files: the sweeper resolves them at their deadline, 65 s
    after submission, while the rest of the tier runs."""
    flow = Flow(stack, subscriber, "lost-notifications")
    success_key, failure_key = flow.key("scored.csv"), flow.key("rejected.csv")
    stack.standin(
        "/_local/notifications/drop",
        {"inputLocation": f"s3://{stack.bucket}/{success_key}", "status": "Completed"},
    )
    stack.standin("/_local/notifications/drop", {"inputKey": failure_key, "status": "Failed"})
    flow.put("scored.csv", csv_rows(6))
    flow.put("rejected.csv", "1,2,3\n1,two,3\n")
    return LostNotifications(flow, success_key, failure_key)


@pytest.fixture
def flow(
    stack: LocalStack, subscriber: Subscriber, lost_notifications: LostNotifications, request: pytest.FixtureRequest
) -> Flow:
    return Flow(stack, subscriber, request.node.name)


@pytest.fixture
def model(stack: LocalStack) -> Iterator[LocalStack]:
    """The demo model's fault controls, reset after the test."""
    yield stack
    stack.model("/_local/faults", {"status": None, "delay": 0})
