"""Spill rules through the router handler on moto (README "Which mode a file gets"): the scorer queue's
backlog is read with a real GetQueueAttributes, once per SPILLOVER_CHECK_SECONDS window, and only for
files a spill rule matched.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from orchestrator.aws import scorer_backlog as backlog_adapter
from orchestrator.settings import RouterSettings

from tests.support.events import sqs_event
from tests.support.hooks import SimulatedCrash
from tests.support.lambda_runtime import failed_ids

REALTIME = "demo-realtime-endpoint"
BOUND = 3
WINDOW = 5
RULES = [
    {"name": "burst", "prefix": "incoming/burst/", "mode": "realtime", "spillTo": "async", "spillWhenQueued": BOUND},
    {"name": "steady", "prefix": "incoming/steady/", "mode": "realtime"},
    {"name": "others", "mode": "async"},
]
READ = "sqs.GetQueueAttributes"
ASYNC_HAPPY = ["dynamodb.PutItem", "sagemaker-runtime.InvokeEndpointAsync", "dynamodb.UpdateItem"]


class Ticks:
    """The backlog cache's monotonic clock, moved by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def ticks(monkeypatch) -> Ticks:
    clock = Ticks()
    monkeypatch.setattr(backlog_adapter, "monotonic", clock)
    return clock


@pytest.fixture
def scorer_queue(stack, sqs, monkeypatch, ticks) -> str:
    url = sqs.create_queue(QueueName="scorer-queue")["QueueUrl"]
    monkeypatch.setenv("SCORER_QUEUE_URL", url)
    monkeypatch.setenv("REALTIME_ENDPOINT_NAME", REALTIME)
    monkeypatch.setenv("ROUTING_RULES", json.dumps(RULES))
    monkeypatch.setenv("SPILLOVER_CHECK_SECONDS", str(WINDOW))
    return url


def _depth(sqs, url: str) -> int:
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
    return int(attributes["Attributes"]["ApproximateNumberOfMessages"])


def _route_files(route, upload, names: list[str], under: str = "incoming/burst/") -> dict[str, Any]:
    return route(sqs_event(*(upload(f"{under}{name}.csv") for name in names)))


def test_a_burst_spills_to_async_once_the_scorer_queue_holds_the_bound(
    scorer_queue, route, upload, sqs, calls, ticks, item_for_key, sagemaker
):
    """The first window reads an empty queue: its files go real-time and build the backlog. The next
    window's read sees them, and every file of that window spills, saying the backlog it saw."""
    calls.reset()
    _route_files(route, upload, ["a", "b", "c", "d"])
    assert calls.calls.count(READ) == 1  # one read for four files
    assert _depth(sqs, scorer_queue) == 4

    ticks.advance(WINDOW)
    calls.reset()
    _route_files(route, upload, ["e", "f", "g"])
    assert calls.calls.count(READ) == 1

    modes = {name: item_for_key(f"incoming/burst/{name}.csv")["mode"] for name in "abcdefg"}
    assert modes == dict.fromkeys("abcd", "realtime") | dict.fromkeys("efg", "async")
    assert _depth(sqs, scorer_queue) == 4  # nothing more handed to the scorer
    assert sorted(r.input_location.rsplit("/", 1)[1] for r in sagemaker.accepted) == ["e.csv", "f.csv", "g.csv"]
    first, spilled = item_for_key("incoming/burst/a.csv"), item_for_key("incoming/burst/e.csv")
    assert first["route_reason"] == (
        f"[burst] under 'incoming/burst/' → realtime; scorer queue holds 0 < {BOUND}: not spilled"
    )
    assert spilled["route_reason"] == (
        f"[burst] under 'incoming/burst/' → realtime; scorer queue holds 4 ≥ {BOUND} → spilled to async"
    )
    assert (spilled["status"], spilled["endpoint_name"]) == ("SUBMITTED", "demo-async-endpoint")


def test_the_backlog_is_read_once_per_window_whatever_the_number_of_files(scorer_queue, route, upload, calls, ticks):
    calls.reset()
    for at in (0, WINDOW - 0.5, 2 * WINDOW - 0.5):  # seconds since the first file
        ticks.advance(at - (ticks.now - 1000.0))
        for n in range(4):  # four invocations of the same environment at that moment
            _route_files(route, upload, [f"t{at}-{n}"])
    # Read at 0 s, not at 4.5 s (inside the first window), again at 9.5 s: twice for twelve files.
    assert calls.calls.count(READ) == 2


def test_files_no_spill_rule_decides_make_no_backlog_call(scorer_queue, route, upload, calls):
    """The async happy path, and a real-time file of a rule without spillTo, stay as they were."""
    calls.reset()
    _route_files(route, upload, ["a"], under="incoming/")
    assert calls.calls == ASYNC_HAPPY
    calls.reset()
    _route_files(route, upload, ["a"], under="incoming/steady/")
    assert calls.calls == ["dynamodb.PutItem", "sqs.SendMessage", "dynamodb.UpdateItem"]


def test_a_stack_without_spill_rules_never_reads_the_backlog(scorer_queue, route, upload, calls, monkeypatch):
    monkeypatch.setenv("ROUTING_RULES", '[{"prefix":"incoming/burst/","mode":"realtime"}]')
    calls.reset()
    _route_files(route, upload, ["a", "b"])
    assert READ not in calls.calls
    assert calls.calls.count("sqs.SendMessage") == 2


@pytest.mark.parametrize(("status", "code"), [(403, "AccessDenied"), (400, "AWS.SimpleQueueService.NonExistentQueue")])
def test_a_backlog_read_that_fails_routes_without_spilling_and_says_so(
    scorer_queue, route, upload, sqs, calls, ticks, interceptor, item_for_key, status, code
):
    for _ in range(BOUND):  # deep enough to spill, were the depth known
        sqs.send_message(QueueUrl=scorer_queue, MessageBody="{}")
    interceptor.fail(READ, status=status, code=code)
    calls.reset()
    response = _route_files(route, upload, ["a", "b"])

    assert failed_ids(response) == []  # never a failed file for it
    assert calls.calls.count(READ) == 1  # the failure, too, serves its window
    for name in "ab":
        item = item_for_key(f"incoming/burst/{name}.csv")
        assert (item["status"], item["mode"]) == ("SUBMITTED", "realtime")
        assert item["route_reason"].endswith(
            f"; scorer queue backlog unknown (GetQueueAttributes failed: {code}): not spilled"
        )

    interceptor.clear_faults()
    ticks.advance(WINDOW)
    _route_files(route, upload, ["c"])
    assert item_for_key("incoming/burst/c.csv")["mode"] == "async"  # read again, and deep: spilled


def test_a_retry_after_a_crash_keeps_the_mode_its_earlier_attempt_may_have_sent(
    scorer_queue, route, upload, sqs, calls, ticks, clock, sagemaker, item_for_key
):
    """A spilled file whose router died after InvokeEndpointAsync, before its confirmation: by the
    retry the queue has drained, so the rule alone would hand it to the real-time endpoint and the
    file would be scored twice. The retry keeps async and confirms it as possibly sent."""
    for _ in range(BOUND):
        sqs.send_message(QueueUrl=scorer_queue, MessageBody="{}")

    def crash(_request) -> None:
        sagemaker.on_accept = None
        raise SimulatedCrash()

    sagemaker.on_accept = crash
    record = upload("incoming/burst/a.csv")
    with pytest.raises(SimulatedCrash):
        route(sqs_event(record))
    assert (item_for_key("incoming/burst/a.csv")["mode"], len(sagemaker.accepted)) == ("async", 1)

    sqs.purge_queue(QueueUrl=scorer_queue)
    ticks.advance(WINDOW)
    clock.advance(RouterSettings.from_env().claim_timeout_seconds + 1)
    calls.reset()
    assert failed_ids(route(sqs_event(record))) == []

    assert calls.calls == [READ, "dynamodb.PutItem", "dynamodb.UpdateItem", "dynamodb.UpdateItem"]
    assert len(sagemaker.accepted) == 1 and _depth(sqs, scorer_queue) == 0  # invoked once, never handed off
    item = item_for_key("incoming/burst/a.csv")
    assert (item["status"], item["mode"], item["submission_uncertain"]) == ("SUBMITTED", "async", True)
    assert item["route_reason"] == (
        f"[burst] under 'incoming/burst/' → realtime; scorer queue holds {BOUND} ≥ {BOUND} → spilled to async"
        "; kept on a retry: the earlier attempt may have sent it as async"
    )
