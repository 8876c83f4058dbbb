"""Watching a running local stack from outside: tracker items, a subscriber on the topics, waiting.

Used by the demo, the end-to-end tests and the bench; nothing here is part of the product.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from orchestrator.aws.tracker_reads import scan_items

from local.stack import LocalStack


def tracker_items(stack: LocalStack) -> list[dict[str, Any]]:
    return list(scan_items(stack.client("dynamodb"), stack.table))


def items_by_key(stack: LocalStack) -> dict[str, list[dict[str, Any]]]:
    result: dict[str, list[dict[str, Any]]] = {}
    for item in tracker_items(stack):
        result.setdefault(str(item.get("key")), []).append(item)
    return result


def wait_for(predicate: Callable[[], Any], timeout: float, interval: float = 0.2, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not reached within {timeout:.0f} s")
        time.sleep(interval)


@dataclass
class Received:
    topic: str  # topic name
    message: dict[str, Any]  # the message body (SageMaker's or the product's notification)
    envelope: dict[str, Any]  # the SNS envelope as the subscriber received it


class Subscriber:
    """A user's subscription: one queue subscribed to every topic of the stack, envelopes kept
    (so each message says which topic it came on). A background thread drains it."""

    def __init__(self, stack: LocalStack, name: str = "demo-subscriber") -> None:
        self.stack = stack
        sqs = stack.client("sqs")
        self.queue_url = sqs.create_queue(QueueName=f"{stack.config.stack_name}-{name}")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        self.topics = {
            stack.state.physical(logical_id): logical_id for logical_id in stack.state.of_type("AWS::SNS::Topic")
        }
        for topic_arn in self.topics:
            stack.client("sns").subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)
        self.received: list[Received] = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._drain, daemon=True)
        self.thread.start()

    def _drain(self) -> None:
        sqs = self.stack.client("sqs")
        while not self.stopping.is_set():
            try:
                response = sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
            except Exception:  # noqa: BLE001 - the stack may be stopping
                time.sleep(0.2)
                continue
            messages = response.get("Messages", [])
            for message in messages:
                envelope = json.loads(message["Body"])
                topic = self.topics.get(envelope.get("TopicArn", ""), envelope.get("TopicArn", "?"))
                with self.lock:
                    self.received.append(Received(topic, json.loads(envelope["Message"]), envelope))
            if messages:
                sqs.delete_message_batch(
                    QueueUrl=self.queue_url,
                    Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)],
                )

    def messages(self, request_id: str | None = None, topic: str | None = None) -> list[Received]:
        with self.lock:
            return [
                r
                for r in self.received
                if (request_id is None or r.message.get("inferenceId") == request_id)
                and (topic is None or r.topic == topic)
            ]

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(5)

    def __enter__(self) -> Subscriber:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
