"""SQS event source mappings: long-polls each queue, hands batches of ``BatchSize`` records to the
function, and with ``ReportBatchItemFailures`` deletes only the records the function did not report;
anything else stays in flight until the queue's visibility timeout, and moto moves it to the DLQ after
``maxReceiveCount`` receives."""

from __future__ import annotations

import hashlib
import threading
import time
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from local.aws.state import EventSourceMapping
from local.triggers.context import RunnerContext
from local.triggers.environments import HostPool

POLL_WAIT_SECONDS = 1  # long-poll slices; short so that the runner stops promptly
# Within a batching window's last second (SQS waits whole seconds): how long between two looks.
WINDOW_RECHECK_SECONDS = 0.1


def window_wait(remaining: float) -> int:
    """``WaitTimeSeconds`` for a receive that completes a batch with ``remaining`` seconds of its
    window left: a long poll (it returns as soon as a message arrives) that never outlasts the window.
    An empty queue was once polled in a tight loop for the whole window, each receive a pass of moto
    over the queue: at 1,000 files, a fifth of the local AWS's time."""
    return max(0, min(POLL_WAIT_SECONDS, int(remaining)))


# How often a rate(...) schedule fires locally (LOCAL_RATE_SCHEDULE_SECONDS; 0: only on demand).


def sqs_record(message: dict[str, Any], mapping_arn: str, region: str, body: str) -> dict[str, Any]:
    """An SQS message as Lambda hands it to the function."""
    attributes = {
        name: message.get("Attributes", {})[name]
        for name in (
            "ApproximateReceiveCount",
            "SentTimestamp",
            "SenderId",
            "ApproximateFirstReceiveTimestamp",
            "AWSTraceHeader",
            "MessageGroupId",
            "MessageDeduplicationId",
            "SequenceNumber",
        )
        if name in message.get("Attributes", {})
    }
    message_attributes = {
        name: {
            "stringValue": value.get("StringValue"),
            "binaryValue": value.get("BinaryValue"),
            "stringListValues": value.get("StringListValues", []),
            "binaryListValues": value.get("BinaryListValues", []),
            "dataType": value["DataType"],
        }
        for name, value in message.get("MessageAttributes", {}).items()
    }
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": body,
        "attributes": attributes,
        "messageAttributes": message_attributes,
        "md5OfBody": hashlib.md5(body.encode()).hexdigest(),
        "eventSource": "aws:sqs",
        "eventSourceARN": mapping_arn,
        "awsRegion": region,
    }


class QueuePoller:
    """One SQS event source mapping."""

    def __init__(self, runner: RunnerContext, mapping: EventSourceMapping, pool: HostPool, concurrency: int) -> None:
        self.runner = runner
        self.mapping = mapping
        self.pool = pool
        self.concurrency = concurrency
        self.complete = mapping.queue_arn in runner.state.notification_queues

    def start(self) -> list[threading.Thread]:
        threads = [
            threading.Thread(target=self._loop, name=f"{self.mapping.logical_id}-{i}", daemon=True)
            for i in range(self.concurrency)
        ]
        for thread in threads:
            thread.start()
        return threads

    def _loop(self) -> None:
        sqs = self.runner.client("sqs")
        while not self.runner.stopping.is_set():
            try:
                messages = self._receive(sqs)
                if messages:
                    self._deliver(sqs, messages)
            except (ClientError, BotoCoreError) as exc:
                self.runner.log(f"{self.mapping.logical_id}: {exc}")
                time.sleep(0.5)

    def _receive(self, sqs: Any) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = []
        deadline = time.monotonic() + self.mapping.batching_window
        while len(messages) < self.mapping.batch_size and not self.runner.stopping.is_set():
            response = sqs.receive_message(
                QueueUrl=self.mapping.queue_url,
                MaxNumberOfMessages=min(10, self.mapping.batch_size - len(messages)),
                WaitTimeSeconds=window_wait(deadline - time.monotonic()) if messages else POLL_WAIT_SECONDS,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            )
            batch = response.get("Messages", [])
            messages += batch
            if not messages:
                return []
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            if not batch and window_wait(remaining) == 0:
                time.sleep(min(WINDOW_RECHECK_SECONDS, remaining))
        return messages

    def _deliver(self, sqs: Any, messages: list[dict[str, Any]]) -> None:
        records = []
        for message in messages:
            body = message["Body"]
            if self.complete:
                body = self.runner.completer.complete(body)
            records.append(sqs_record(message, self.mapping.queue_arn, self.runner.state.region, body))
        response = self.pool.invoke({"Records": records})
        if not response.get("ok"):
            self.runner.log(
                f"{self.mapping.function}: invocation failed ({response.get('errorType')}: "
                f"{response.get('errorMessage')}); {len(records)} message(s) stay in the queue"
            )
            return
        failed = self._failed_ids(response.get("result"), {r["messageId"] for r in records})
        done = [m for m in messages if m["MessageId"] not in failed]
        for start in range(0, len(done), 10):
            chunk = done[start : start + 10]
            sqs.delete_message_batch(
                QueueUrl=self.mapping.queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)],
            )
        self.runner.count(self.mapping.function, len(done), len(failed))

    def _failed_ids(self, result: Any, batch: set[str]) -> set[str]:
        """Message ids to leave in the queue, read as Lambda reads a partial batch response."""
        if not self.mapping.report_batch_item_failures or not isinstance(result, dict):
            return set()
        items = result.get("batchItemFailures")
        if not items:
            return set()
        failed = {item.get("itemIdentifier") for item in items if isinstance(item, dict)}
        if None in failed or "" in failed or not failed <= batch:
            return batch  # an invalid response fails the whole batch
        return {str(i) for i in failed}
