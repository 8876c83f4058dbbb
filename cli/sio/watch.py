"""``sio watch``: the results as they arrive, through a temporary SQS queue subscribed to both
topics (raw delivery, a filter on the message body), removed on exit — also on Ctrl-C, SIGTERM and
errors. Nothing is left behind unless the process is killed outright (SIGKILL): the queue and its
subscriptions are named ``sio-watch-<random>``, so a leftover is easy to spot and delete.
"""

from __future__ import annotations

import contextlib
import json
import signal
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

from sio.stack import Stack

QUEUE_PREFIX = "sio-watch-"
TOPICS = (("success", "SuccessTopicArn"), ("error", "ErrorTopicArn"))


def body_filter(stack: Stack, prefix: str | None, statuses: tuple[str, ...] = ()) -> dict[str, Any] | None:
    """An SNS filter on the message body (``FilterPolicyScope: MessageBody``): SageMaker's messages
    carry no attributes. ``prefix`` is under the input prefix, matched on ``inputLocation``."""
    policy: dict[str, Any] = {}
    if prefix is not None:
        key_prefix = prefix if prefix.startswith(stack.input_prefix) else stack.input_prefix + prefix.lstrip("/")
        policy["requestParameters"] = {"inputLocation": [{"prefix": f"s3://{stack.bucket}/{key_prefix}"}]}
    if statuses:
        policy["invocationStatus"] = list(statuses)
    return policy or None


def allow_topics(sqs: Any, queue_url: str, topics: str | list[str], *, sid: str) -> str:
    """The queue's policy lets ``topics`` (one ARN or several) deliver to it; returns the queue's ARN."""
    arn = str(sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"])
    statement = {
        "Sid": sid,
        "Effect": "Allow",
        "Principal": {"Service": "sns.amazonaws.com"},
        "Action": "sqs:SendMessage",
        "Resource": arn,
        "Condition": {"ArnEquals": {"aws:SourceArn": topics}},
    }
    sqs.set_queue_attributes(
        QueueUrl=queue_url, Attributes={"Policy": json.dumps({"Version": "2012-10-17", "Statement": [statement]})}
    )
    return arn


@dataclass
class Watcher:
    """The temporary queue and its two subscriptions; a context manager that always cleans up."""

    stack: Stack
    filter_policy: dict[str, Any] | None = None
    name: str = field(default_factory=lambda: QUEUE_PREFIX + uuid.uuid4().hex[:12])
    queue_url: str = ""
    subscriptions: list[str] = field(default_factory=list)
    cleanup_errors: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.sqs = self.stack.client("sqs")
        self.sns = self.stack.client("sns")

    def __enter__(self) -> Watcher:
        previous = signal.getsignal(signal.SIGTERM)
        self._previous_sigterm = previous
        with contextlib.suppress(ValueError):  # not the main thread: no handler, the caller cleans up
            signal.signal(signal.SIGTERM, _raise_interrupt)
        try:
            self._create()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _create(self) -> None:
        topics = [self.stack.output(output) for _, output in TOPICS]
        self.queue_url = self.sqs.create_queue(QueueName=self.name)["QueueUrl"]
        queue_arn = allow_topics(self.sqs, self.queue_url, topics, sid="ResultTopics")
        attributes = {"RawMessageDelivery": "true"}
        if self.filter_policy:
            attributes |= {"FilterPolicyScope": "MessageBody", "FilterPolicy": json.dumps(self.filter_policy)}
        for topic in topics:
            response = self.sns.subscribe(
                TopicArn=topic, Protocol="sqs", Endpoint=queue_arn, Attributes=attributes, ReturnSubscriptionArn=True
            )
            self.subscriptions.append(response["SubscriptionArn"])

    def messages(self, wait_seconds: int = 5) -> Iterator[dict[str, Any]]:
        """The messages received in one long poll (each deleted once handed out)."""
        response = self.sqs.receive_message(
            QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=wait_seconds
        )
        for message in response.get("Messages", []):
            try:
                body = json.loads(message["Body"])
                if isinstance(body, dict) and body.get("Type") == "Notification" and "Message" in body:
                    body = json.loads(body["Message"])  # delivered in SNS's envelope after all
            except ValueError:
                body = {"unparsed": message["Body"]}
            self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
            yield body if isinstance(body, dict) else {"unparsed": body}

    def close(self) -> None:
        """Unsubscribe, then delete the queue; each step is tried even if an earlier one failed."""
        for arn in self.subscriptions:
            try:
                self.sns.unsubscribe(SubscriptionArn=arn)
            except Exception as exc:  # noqa: BLE001 - keep cleaning up, report at the end
                self.cleanup_errors.append(f"unsubscribe {arn}: {exc}")
        self.subscriptions = []
        if self.queue_url:
            try:
                self.sqs.delete_queue(QueueUrl=self.queue_url)
            except Exception as exc:  # noqa: BLE001
                self.cleanup_errors.append(f"delete queue {self.queue_url}: {exc}")
            self.queue_url = ""
        with contextlib.suppress(ValueError, AttributeError, TypeError):
            signal.signal(signal.SIGTERM, self._previous_sigterm)


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def summarize(message: dict[str, Any]) -> dict[str, Any]:
    """The fields a person reads: time, status, input, mode, output or reason."""
    request = message.get("requestParameters") or {}
    response = message.get("responseParameters") or {}
    return {
        "time": message.get("eventTime"),
        "status": message.get("invocationStatus"),
        "input": request.get("inputLocation"),
        "mode": message.get("mode") or ("async" if message.get("eventSource") == "aws:sagemaker" else None),
        "result": response.get("outputLocation") or message.get("failureReason"),
        "request_id": message.get("inferenceId"),
    }


def run(
    watcher: Watcher,
    emit: Callable[[dict[str, Any]], None],
    *,
    count: int | None,
    timeout: float | None,
    clock: Callable[[], float],
) -> int:
    """Hand each message to ``emit`` until ``count`` messages or ``timeout`` seconds; the number seen."""
    seen = 0
    started = clock()
    while count is None or seen < count:
        left = None if timeout is None else timeout - (clock() - started)
        if left is not None and left <= 0:
            break
        wait = 5 if left is None else max(0, min(5, int(left)))
        for message in watcher.messages(wait_seconds=wait):
            emit(message)
            seen += 1
            if count is not None and seen >= count:
                break
    return seen
