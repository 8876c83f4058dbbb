"""``sio redrive QUEUE``: move dead-lettered messages back where they can be processed, and say why
that is safe.

- **router**, **tracker** (and **scorer**, in stacks that have it): SQS's own message-move task
  (``StartMessageMoveTask``) from the DLQ to its source queue. Where the endpoint does not run it
  (moto), the messages are moved by receive → send → delete, one batch of 10 at a time, and the
  output says so.
- **nightly**, **batch-result**: these DLQs hold asynchronous invocations that failed (Lambda's
  on-failure records, or the event itself from Scheduler and EventBridge): each event is invoked
  again, synchronously; a message is deleted only when its invocation succeeded.
- **sweeper**: nothing to redrive (the next run repeats the work): the count, and where to look.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from sio.errors import SioError
from sio.invoke import invoke
from sio.stack import Stack


@dataclass(frozen=True)
class Queue:
    name: str
    dlq: str  # stack output of the dead-letter queue
    how: str  # "move", "invoke" or "none"
    why: str  # why redriving it is safe
    target: str = ""  # move: the source queue's output; invoke: the function's output


QUEUES: dict[str, Queue] = {
    q.name: q
    for q in (
        Queue(
            "router",
            "RouterDeadLetterQueueUrl",
            "move",
            "each notification names one object version, hence one request id: a file already scored stops at its "
            "claim (one conditional write, no second invocation); a file the sweeper closed 'not routed' is taken "
            "over, scored and announced once",
            "RouterQueueUrl",
        ),
        Queue(
            "tracker",
            "TrackerDeadLetterQueueUrl",
            "move",
            "recording a result is one conditional write that only moves a status forward: a result already "
            "recorded changes nothing",
            "TrackerQueueUrl",
        ),
        Queue(
            "scorer",
            "ScorerDeadLetterQueueUrl",
            "move",
            "the scorer claims each request before calling the endpoint: a request already scored stops at its claim",
            "ScorerQueueUrl",
        ),
        Queue(
            "nightly",
            "NightlyDeadLetterQueueUrl",
            "invoke",
            "the job name is derived from the night, so a repeated run starts no second job and only finishes "
            "marking its files",
            "NightlyFunctionName",
        ),
        Queue(
            "batch-result",
            "BatchResultDeadLetterQueueUrl",
            "invoke",
            "a state change already recorded publishes and writes nothing (per-file conditional writes, a "
            "BatchGetItem skips finished files)",
            "BatchResultFunctionName",
        ),
        Queue(
            "sweeper",
            "SweeperDeadLetterQueueUrl",
            "none",
            "nothing to redrive: the next sweep repeats the work. A message here means the sweeper itself is "
            "broken: read its log group (SweeperFunctionName)",
        ),
    )
}


@dataclass
class Result:
    queue: str
    dlq_url: str
    method: str
    waiting: int  # messages in the DLQ before
    moved: int = 0
    failed: int = 0
    left: int = 0
    notes: list[str] = field(default_factory=list)
    why: str = ""
    failures: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.failed == 0


def _count(sqs: Any, url: str) -> int:
    """Messages in the queue, visible or not (a message being handled is still there)."""
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
    return sum(int(attributes.get(name, 0)) for name in names)


def _arn(sqs: Any, url: str) -> str:
    return str(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"])


def redrive(stack: Stack, name: str, *, dry_run: bool = False, sleep: Callable[[float], None] = time.sleep) -> Result:
    queue = QUEUES.get(name)
    if queue is None:
        raise SioError(f"unknown queue {name!r}: one of {', '.join(QUEUES)}")
    if not stack.has(queue.dlq):
        have = [q for q, spec in QUEUES.items() if stack.has(spec.dlq)]
        raise SioError(
            f"{stack.describe()} has no {name} dead-letter queue (output {queue.dlq}); it has: {', '.join(have)}",
            {"output": queue.dlq},
        )
    sqs = stack.client("sqs")
    url = stack.output(queue.dlq)
    result = Result(name, url, queue.how, _count(sqs, url), why=queue.why)
    if queue.how == "none" or dry_run or result.waiting == 0:
        result.left = result.waiting
        if dry_run:
            result.notes.append("dry run: nothing moved")
        return result
    if queue.how == "move":
        _move(stack, sqs, queue, result, sleep)
    else:
        _reinvoke(stack, sqs, queue, result)
    result.left = _count(sqs, url)
    return result


# ---------------------------------------------------------------- SQS queues


def _move(stack: Stack, sqs: Any, queue: Queue, result: Result, sleep: Callable[[float], None]) -> None:
    source_arn = _arn(sqs, result.dlq_url)
    target_url = stack.output(queue.target)
    target_arn = _arn(sqs, target_url)
    once = stack.client("sqs", retries={"mode": "standard", "total_max_attempts": 1})
    try:
        handle = once.start_message_move_task(SourceArn=source_arn, DestinationArn=target_arn)["TaskHandle"]
    except ClientError as exc:
        error = exc.response.get("Error", {})
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))
        unsupported = status >= 500 or error.get("Code") in {"InvalidAction", "UnsupportedOperation"}
        if not unsupported:
            raise SioError(f"StartMessageMoveTask refused: {error.get('Code')}: {error.get('Message')}") from None
        result.method = "receive-send-delete"
        result.notes.append(
            f"this endpoint does not run SQS's message-move task (StartMessageMoveTask: HTTP {status}, "
            f"{error.get('Code', '')}): moved by receive → send → delete, 10 at a time"
        )
        _move_by_hand(sqs, result, target_url)
        return
    result.method = "message-move-task"
    result.notes.append(f"message-move task {handle}")
    while True:
        tasks = sqs.list_message_move_tasks(SourceArn=source_arn, MaxResults=1).get("Results", [])
        task = tasks[0] if tasks else {}
        if task.get("Status") in ("COMPLETED", "FAILED", "CANCELLED"):
            result.moved = int(task.get("ApproximateNumberOfMessagesMoved", 0))
            if task.get("Status") != "COMPLETED":
                result.failed = max(0, result.waiting - result.moved)
                result.notes.append(f"task {task.get('Status')}: {task.get('FailureReason', '')}")
            return
        sleep(1.0)


def _move_by_hand(sqs: Any, result: Result, target_url: str) -> None:
    """Receive a batch, send it to the source queue (body and attributes), delete what was sent."""
    while True:
        response = sqs.receive_message(
            QueueUrl=result.dlq_url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=1,
            VisibilityTimeout=60,
            MessageAttributeNames=["All"],
        )
        messages = response.get("Messages", [])
        if not messages:
            return
        entries = []
        for n, message in enumerate(messages):
            entry: dict[str, Any] = {"Id": str(n), "MessageBody": message["Body"]}
            if message.get("MessageAttributes"):
                entry["MessageAttributes"] = message["MessageAttributes"]
            entries.append(entry)
        sent = sqs.send_message_batch(QueueUrl=target_url, Entries=entries)
        done = {entry["Id"] for entry in sent.get("Successful", [])}
        for failure in sent.get("Failed", []):
            result.failures.append({"message": failure.get("Id"), "error": failure.get("Message")})
        result.failed += len(sent.get("Failed", []))
        deletes = [
            {"Id": str(n), "ReceiptHandle": message["ReceiptHandle"]}
            for n, message in enumerate(messages)
            if str(n) in done
        ]
        if deletes:
            sqs.delete_message_batch(QueueUrl=result.dlq_url, Entries=deletes)
        result.moved += len(deletes)
        if sent.get("Failed"):
            return  # the rest stays in the DLQ; say so rather than loop on a failing send


# ---------------------------------------------------------------- asynchronous invocations


def event_of(body: str) -> Any:
    """The event a dead-lettered asynchronous invocation carried: Lambda's on-failure record holds it
    as ``requestPayload``; Scheduler and EventBridge dead-letter the event itself."""
    document = json.loads(body)
    if isinstance(document, dict) and "requestPayload" in document and "requestContext" in document:
        return document["requestPayload"]
    return document


def _reinvoke(stack: Stack, sqs: Any, queue: Queue, result: Result) -> None:
    result.method = "invoke"
    seen: set[str] = set()
    kept: list[str] = []  # receipt handles of messages whose invocation failed: they stay in the DLQ
    while True:
        response = sqs.receive_message(
            QueueUrl=result.dlq_url, MaxNumberOfMessages=10, WaitTimeSeconds=1, VisibilityTimeout=900
        )
        messages = [m for m in response.get("Messages", []) if m["MessageId"] not in seen]
        if not messages:
            for handle in kept:  # visible again at once, for the next attempt after a fix
                sqs.change_message_visibility(QueueUrl=result.dlq_url, ReceiptHandle=handle, VisibilityTimeout=0)
            return
        for message in messages:
            seen.add(message["MessageId"])
            try:
                event = event_of(message["Body"])
            except ValueError:
                result.failed += 1
                result.failures.append({"message": message["MessageId"], "error": "body is not JSON"})
                kept.append(message["ReceiptHandle"])
                continue
            outcome = invoke(stack, queue.target, event)
            if outcome.ok:
                sqs.delete_message(QueueUrl=result.dlq_url, ReceiptHandle=message["ReceiptHandle"])
                result.moved += 1
            else:
                result.failed += 1
                kept.append(message["ReceiptHandle"])
                result.failures.append(
                    {"message": message["MessageId"], "error": f"{outcome.error_type}: {outcome.error_message}"}
                )
