"""The runner's SQS poller gathers a batch over the mapping's batching window without polling an
empty queue in a tight loop (each receive costs the local AWS a pass over the queue)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from moto import mock_aws

from local.aws.state import EventSourceMapping
from local.triggers.sqs_pollers import POLL_WAIT_SECONDS, WINDOW_RECHECK_SECONDS, QueuePoller, window_wait
from tests.support.hooks import CallCounter

WINDOW = 2.0


@pytest.fixture
def sqs() -> Iterator[tuple[Any, CallCounter]]:
    with mock_aws():
        session = boto3.Session(region_name="us-east-1")
        counter = CallCounter().attach(session.events)
        yield session.client("sqs"), counter


def _poller(queue_url: str, batch_size: int = 10) -> QueuePoller:
    mapping = EventSourceMapping(
        logical_id="TrackerQueueMapping",
        function="TrackerFunction",
        queue_arn="arn:aws:sqs:us-east-1:123456789012:q",
        queue_url=queue_url,
        batch_size=batch_size,
        batching_window=WINDOW,
    )
    runner = SimpleNamespace(stopping=threading.Event(), state=SimpleNamespace(notification_queues=set()))
    return QueuePoller(runner, mapping, pool=None, concurrency=1)  # type: ignore[arg-type]


@pytest.mark.parametrize(("remaining", "wait"), [(5.0, POLL_WAIT_SECONDS), (1.0, 1), (0.99, 0), (0.0, 0), (-0.5, 0)])
def test_window_wait_never_outlasts_the_window(remaining: float, wait: int) -> None:
    assert window_wait(remaining) == wait


def test_a_lone_message_waits_out_the_window_with_few_receives(sqs: tuple[Any, CallCounter]) -> None:
    client, counter = sqs
    url = client.create_queue(QueueName="q")["QueueUrl"]
    client.send_message(QueueUrl=url, MessageBody="first")
    counter.reset()
    began = time.monotonic()
    messages = _poller(url)._receive(client)
    took = time.monotonic() - began
    assert [m["Body"] for m in messages] == ["first"]
    assert took >= WINDOW  # the window is gathered in full, as Lambda's batching window is
    receives = counter.calls.count("sqs.ReceiveMessage")
    # long polls while a second or more is left, then a look every WINDOW_RECHECK_SECONDS
    assert receives <= 2 + WINDOW / POLL_WAIT_SECONDS + 1 / WINDOW_RECHECK_SECONDS


def test_messages_arriving_in_the_window_join_the_batch(sqs: tuple[Any, CallCounter]) -> None:
    client, _ = sqs
    url = client.create_queue(QueueName="q")["QueueUrl"]
    client.send_message(QueueUrl=url, MessageBody="first")
    late = threading.Timer(0.3, lambda: client.send_message(QueueUrl=url, MessageBody="second"))
    late.start()
    messages = _poller(url, batch_size=2)._receive(client)
    late.join()
    assert sorted(m["Body"] for m in messages) == ["first", "second"]  # a full batch returns at once


def test_an_empty_queue_returns_nothing_after_one_long_poll(sqs: tuple[Any, CallCounter]) -> None:
    client, counter = sqs
    url = client.create_queue(QueueName="q")["QueueUrl"]
    counter.reset()
    assert _poller(url)._receive(client) == []
    assert counter.calls.count("sqs.ReceiveMessage") == 1
