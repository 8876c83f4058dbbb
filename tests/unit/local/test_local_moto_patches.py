"""The local AWS's fixes to moto answer exactly as moto does, without moto's whole-queue passes."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.sqs.models import Message, Queue, SQSBackend, sqs_backends

from local.aws import moto_patches
from tests.support.spy import count_calls

ACCOUNT = "123456789012"
REGION = "us-east-1"


@pytest.fixture
def sqs() -> Iterator[Any]:
    with mock_aws():
        yield boto3.client("sqs", region_name=REGION)
    moto_patches.restore()


@pytest.mark.parametrize("age_seconds", [0, 59, 61, 3600])
def test_retention_check_answers_as_moto_does(sqs: Any, age_seconds: int) -> None:
    url = sqs.create_queue(QueueName="q", Attributes={"MessageRetentionPeriod": "60"})["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="m")
    backend: SQSBackend = sqs_backends[ACCOUNT][REGION]
    message = backend.get_queue("q")._messages[0]
    message.sent_timestamp = int((time.time() - age_seconds) * 1000)  # type: ignore[assignment]
    expected = backend.is_message_valid_based_on_retention_period("q", message)
    moto_patches.apply()
    assert backend.is_message_valid_based_on_retention_period("q", message) is expected
    assert expected is (age_seconds < 60)


def test_receive_no_longer_computes_the_queue_attributes_per_message(sqs: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    url = sqs.create_queue(QueueName="q")["QueueUrl"]
    for n in range(30):
        sqs.send_message(QueueUrl=url, MessageBody=f"m{n}")
    calls = count_calls(monkeypatch, Queue, "attributes")  # a whole queue's counts
    before = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    unpatched = calls.n
    moto_patches.apply()
    calls.n = 0
    after = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert unpatched >= len(before) == 10  # moto: the whole queue's counts for every message returned
    assert calls.n == 0 and len(after) == 10
    assert {m["Body"] for m in before}.isdisjoint(m["Body"] for m in after)


def test_expired_messages_are_still_dropped_on_receive(sqs: Any) -> None:
    moto_patches.apply()
    url = sqs.create_queue(QueueName="q", Attributes={"MessageRetentionPeriod": "60"})["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="new")
    sqs.send_message(QueueUrl=url, MessageBody="old")
    old = sqs_backends[ACCOUNT][REGION].get_queue("q")._messages[1]
    old.sent_timestamp = int((time.time() - 120) * 1000)  # type: ignore[assignment]
    bodies = [m["Body"] for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]]
    assert bodies == ["new"]


def _queue_of_every_kind(sqs: Any) -> Queue:
    """A queue holding visible, in-flight and delayed messages."""
    url = sqs.create_queue(QueueName="q", Attributes={"VisibilityTimeout": "60"})["QueueUrl"]
    for n in range(7):
        sqs.send_message(QueueUrl=url, MessageBody=f"m{n}")
    sqs.send_message(QueueUrl=url, MessageBody="later", DelaySeconds=60)
    sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=3)
    return sqs_backends[ACCOUNT][REGION].get_queue("q")


@pytest.mark.parametrize("fifo", [False, True])
def test_queue_attributes_are_moto_s_own(sqs: Any, fifo: bool) -> None:
    if fifo:
        sqs.create_queue(QueueName="q.fifo", Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"})
        queue = sqs_backends[ACCOUNT][REGION].get_queue("q.fifo")
    else:
        queue = _queue_of_every_kind(sqs)
    expected = queue.attributes
    moto_patches.apply()
    assert queue.attributes == expected
    if not fifo:
        assert (expected["ApproximateNumberOfMessages"], expected["ApproximateNumberOfMessagesNotVisible"]) == (4, 3)
        assert expected["ApproximateNumberOfMessagesDelayed"] == 1
        assert queue.approximate_number_of_messages == 4  # read on its own, as moto counts it


def test_queue_attributes_read_each_message_once(sqs: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    queue = _queue_of_every_kind(sqs)
    reads = {"visible": 0, "delayed": 0}
    for name in reads:
        original = getattr(Message, name)

        def counted(message: Message, name: str = name, original: Any = original) -> Any:
            reads[name] += 1
            return original.fget(message)

        monkeypatch.setattr(Message, name, property(counted))
    queue.attributes  # noqa: B018 - the property is what is measured
    messages = len(queue._messages)
    assert sum(reads.values()) >= 3 * messages == 24  # moto: three passes, at least one clock reading each
    reads.update(visible=0, delayed=0)
    moto_patches.apply()
    queue.attributes  # noqa: B018
    assert reads == {"visible": 0, "delayed": 0}  # one pass over the fields, one clock reading


def test_module_list_is_read_once_and_unchanged() -> None:
    from moto import backends

    listed = list(backends.list_of_moto_modules())
    moto_patches.apply()
    try:
        assert list(backends.list_of_moto_modules()) == listed
        assert list(backends.list_of_moto_modules()) == listed  # a fresh iterator each call
        assert "sqs" in listed and "dynamodb" in listed
    finally:
        moto_patches.restore()


def _delete_scenario(sqs: Any) -> list[Any]:
    """Deletes of every kind on a queue with a dead-letter queue: what each answers, what stays where."""
    from botocore.exceptions import ClientError

    dlq = sqs.create_queue(QueueName="dlq")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    policy = f'{{"deadLetterTargetArn": "{arn}", "maxReceiveCount": "2"}}'
    url = sqs.create_queue(QueueName="q", Attributes={"VisibilityTimeout": "0", "RedrivePolicy": policy})["QueueUrl"]
    for n in range(6):
        sqs.send_message(QueueUrl=url, MessageBody=f"m{n}")
    outcomes: list[Any] = []

    def delete(handle: str) -> None:
        try:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=handle)
            outcomes.append("deleted")
        except ClientError as exc:
            outcomes.append(exc.response["Error"]["Code"])

    first = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=3)["Messages"]
    delete(first[0]["ReceiptHandle"])  # the current handle
    delete(first[0]["ReceiptHandle"])  # again: ignored
    again = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]  # visibility 0: all again
    delete(first[1]["ReceiptHandle"])  # an older handle of a message received since
    delete("not-a-handle")
    entries = [{"Id": "a", "ReceiptHandle": again[-1]["ReceiptHandle"]}, {"Id": "b", "ReceiptHandle": "x"}]
    batch = sqs.delete_message_batch(QueueUrl=url, Entries=entries)
    outcomes.append(([s["Id"] for s in batch["Successful"]], [f["Code"] for f in batch["Failed"]]))
    moved = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]  # third receive: to the DLQ
    outcomes.append(sorted(m["Body"] for m in moved))
    delete(again[2]["ReceiptHandle"])  # a message now in the dead-letter queue: not this queue's any more
    bodies = sorted(m["Body"] for m in sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10)["Messages"])
    outcomes.append(bodies)
    return outcomes


def test_deletes_answer_as_moto_does() -> None:
    with mock_aws():
        expected = _delete_scenario(boto3.client("sqs", region_name=REGION))
    moto_patches.apply()
    try:
        with mock_aws():
            patched = _delete_scenario(boto3.client("sqs", region_name=REGION))
    finally:
        moto_patches.restore()
    assert patched == expected
    assert expected[:3] == ["deleted", "deleted", "deleted"] and expected[3] == "ReceiptHandleIsInvalid"


def test_a_delete_builds_no_message_s_handle_list(sqs: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    url = sqs.create_queue(QueueName="q")["QueueUrl"]
    for n in range(50):
        sqs.send_message(QueueUrl=url, MessageBody=f"m{n}")
    handles = [m["ReceiptHandle"] for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]]
    built = count_calls(monkeypatch, Message, "all_receipt_handles")
    sqs.delete_message(QueueUrl=url, ReceiptHandle=handles[-1])
    assert built.n >= 50  # moto: each message's handles, to find the one
    built.n = 0
    moto_patches.apply()
    sqs.delete_message(QueueUrl=url, ReceiptHandle=handles[-2])
    assert built.n == 1  # the deleted message's, to record them as deleted
    assert len(sqs_backends[ACCOUNT][REGION].get_queue("q")._messages) == 48


def test_visible_messages_and_the_long_poll_are_moto_s(sqs: Any) -> None:
    queue = _queue_of_every_kind(sqs)
    expected = [m.body for m in queue.messages]
    moto_patches.apply()
    assert [m.body for m in queue.messages] == expected and len(expected) == 4
    url = sqs.get_queue_url(QueueName="q")["QueueUrl"]
    sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)  # nothing visible now
    began = time.monotonic()
    assert sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1).get("Messages") is None
    assert time.monotonic() - began >= 0.9  # it waited for one, as moto's long poll does
