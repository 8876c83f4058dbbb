"""The local stack for the e2e tests, on free loopback ports, and helpers to drive and watch it.

One stack serves every test: each test works under keys of its own, and asserts on the tracker
items, S3 objects and topic messages of its own requests. The overrides shorten the timeouts a
test would otherwise wait minutes for (visibility timeouts, and with them the function timeouts
and the router's claim timeout, keeping the template's order: timeout < claim < visibility), and,
through template parameters as a deployment would set them, the async deadline: RequestTTLSeconds
60 (SageMaker's minimum) + InvocationTimeoutSeconds 5 + DeadlineGraceSeconds 0.

One scenario is shared too (:func:`lost_notifications`): two files whose notification the
SageMaker stand-in loses, started with the first test that drives files, so that their 65 s
deadline runs out while the other tests run; ``test_sweeper.py`` asserts how the sweeper resolved them.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote_plus

import pytest

from local.aws.resources import Overrides
from local.observe import Received, Subscriber, tracker_items, wait_for
from local.stack import LocalStack, StackConfig

TERMINAL = {"SUCCEEDED", "FAILED", "EXPIRED", "STOPPED", "SKIPPED"}
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
    environment={"RouterFunction": {"CLAIM_TIMEOUT_SECONDS": "6", "ROUTER_RECORD_BUDGET_MS": "2000"}},
)
E2E_PARAMETERS = {"RequestTTLSeconds": "60", "InvocationTimeoutSeconds": "5", "DeadlineGraceSeconds": "0"}
# The sweeper's rate(5 minutes), compressed: how often it runs by itself on the e2e stack.
SWEEP_SECONDS = 3.0
# Deadlines for what the tests wait on: generous (a slow machine only makes them wait longer).
WAIT = 90


# Package scope: the stack (a dozen processes) stops when the e2e tests are done, not at the end of
# `make test`'s session, where it would keep polling while the tiers after it run.
@pytest.fixture(scope="package")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    with LocalStack(e2e_config(tmp_path_factory, "orchestrator-e2e")) as running:
        yield running


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


@pytest.fixture(scope="package")
def subscriber(stack: LocalStack) -> Iterator[Subscriber]:
    watcher = Subscriber(stack, "e2e-subscriber")
    yield watcher
    watcher.stop()


class Flow:
    """Drive one test's files through the stack and look at what became of them."""

    def __init__(self, stack: LocalStack, subscriber: Subscriber, name: str) -> None:
        self.stack = stack
        self.subscriber = subscriber
        self.prefix = stack.state.parameters.get("InputPrefix", "incoming/")
        self.tag = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:30] + "-" + uuid.uuid4().hex[:6]
        self.s3 = stack.client("s3")
        self.sqs = stack.client("sqs")

    # ------------------------------------------------------------ input

    def key(self, name: str, under: str = "") -> str:
        return f"{self.prefix}{under}e2e/{self.tag}/{name}"

    def put(self, name: str, body: bytes | str, under: str = "") -> str:
        key = self.key(name, under)
        self.s3.put_object(Bucket=self.stack.bucket, Key=key, Body=body.encode() if isinstance(body, str) else body)
        return key

    # ------------------------------------------------------------ tracker

    def items(self, key: str) -> list[dict[str, Any]]:
        return [item for item in tracker_items(self.stack) if item.get("key") == key]

    def item(self, key: str) -> dict[str, Any]:
        items = self.items(key)
        assert len(items) == 1, f"expected one tracker item for {key}, found {len(items)}"
        return items[0]

    def wait_status(self, key: str, statuses: set[str] | str = TERMINAL, timeout: float = WAIT) -> dict[str, Any]:
        wanted = {statuses} if isinstance(statuses, str) else statuses

        def reached() -> dict[str, Any] | None:
            items = self.items(key)
            return items[0] if len(items) == 1 and items[0]["status"] in wanted else None

        return wait_for(reached, timeout, what=f"{key} in {sorted(wanted)}")

    # ------------------------------------------------------------ S3, topics, queues

    def object(self, uri: str) -> bytes:
        bucket, key = uri.removeprefix("s3://").split("/", 1)
        return self.s3.get_object(Bucket=bucket, Key=key)["Body"].read()

    def exists(self, uri: str) -> bool:
        bucket, key = uri.removeprefix("s3://").split("/", 1)
        return bool(self.s3.list_objects_v2(Bucket=bucket, Prefix=key).get("KeyCount"))

    def messages(self, request_id: str, count: int = 1, timeout: float = WAIT) -> list[Received]:
        wait_for(lambda: len(self.subscriber.messages(request_id)) >= count, timeout, what=f"{count} message(s)")
        time.sleep(0.3)  # a duplicate would arrive about now
        return self.subscriber.messages(request_id)

    def queue_url(self, logical_id: str) -> str:
        return self.stack.state.physical(logical_id)

    def queue_idle(self, logical_id: str, timeout: float = WAIT) -> None:
        url = self.queue_url(logical_id)

        def idle() -> bool:
            attributes = self.sqs.get_queue_attributes(
                QueueUrl=url,
                AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
            )["Attributes"]
            return all(value == "0" for value in attributes.values())

        wait_for(idle, timeout, what=f"{logical_id} drained")

    def send(self, logical_id: str, body: str) -> None:
        self.sqs.send_message(QueueUrl=self.queue_url(logical_id), MessageBody=body)

    def history(self, inference_id: str | None = None, operation: str = "InvokeEndpointAsync") -> list[dict[str, Any]]:
        return [
            entry
            for entry in self.stack.standin("/_local/history")
            if entry.get("operation") == operation
            and (inference_id is None or entry.get("inferenceId") == inference_id)
        ]

    def s3_notification(self, item: dict[str, Any], *, complete: bool) -> str:
        """The notification S3 sends for a tracker item's object: moto's form, or the complete form."""
        obj: dict[str, Any] = {"key": quote_plus(item["key"]), "size": int(item["size"]), "eTag": item["etag"]}
        if complete:
            obj = {
                "key": quote_plus(item["key"], safe="/"),
                "size": int(item["size"]),
                "eTag": item["etag"],
                "versionId": item["version_id"],
                "sequencer": item["sequencer"],
            }
        record = {
            "eventVersion": "2.1",
            "eventSource": "aws:s3",
            "awsRegion": self.stack.config.region,
            "eventTime": item["s3_event_time"],
            "eventName": "ObjectCreated:Put",
            "s3": {
                "s3SchemaVersion": "1.0",
                "configurationId": "duplicate",
                "bucket": {"name": item["bucket"], "arn": f"arn:aws:s3:::{item['bucket']}"},
                "object": obj,
            },
        }
        return json.dumps({"Records": [record]})


@dataclass(frozen=True)
class LostNotifications:
    """Files whose notification the stand-in lost (its fault switch), with the result object written."""

    flow: Flow
    success_key: str  # scored: the output object exists, the Completed notification is lost
    failure_key: str  # rejected by the model (400): the failure object exists, the Failed notification is lost


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


def csv_rows(count: int, width: int = 4) -> str:
    return "".join(
        ",".join(f"{(row * width + col) % 7 - 3:.1f}" for col in range(width)) + "\n" for row in range(count)
    )
