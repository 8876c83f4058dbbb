"""Drive a test's files through an e2e stack and watch what became of them."""

from __future__ import annotations

import json
import re
import time
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote_plus

from local.observe import Received, Subscriber, tracker_items, wait_for
from local.stack import LocalStack

TERMINAL = {"SUCCEEDED", "FAILED", "EXPIRED", "STOPPED", "SKIPPED"}
# Deadlines for what the tests wait on: generous (a slow machine only makes them wait longer).
WAIT = 90


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
                "bucket": {"name": self.stack.bucket, "arn": f"arn:aws:s3:::{self.stack.bucket}"},
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


def csv_rows(count: int, width: int = 4) -> str:
    return "".join(
        ",".join(f"{(row * width + col) % 7 - 3:.1f}" for col in range(width)) + "\n" for row in range(count)
    )


def all_terminal(stack: LocalStack, tag: str, expected: int) -> list[dict]:
    def done() -> list[dict] | None:
        mine = [i for i in tracker_items(stack) if tag in str(i.get("key"))]
        return mine if len(mine) == expected and all(i["status"] in TERMINAL for i in mine) else None

    return wait_for(done, 900, what=f"{expected} files terminal")
