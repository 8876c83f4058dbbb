"""What `make demo` prints and decides from a stack's state: the tracker table, the messages on
each topic, the latency per mode, and the exit status (0 only when every file ended as it should).

``Demo.run`` itself drives a running local stack (moto server, stand-in, runner): only `make demo`
reaches it. These tests give the report a stack state and the items and messages it would read.
"""

from __future__ import annotations

import io
from typing import Any

import pytest

from local import demo
from local.aws.state import ScheduleSpec
from local.demo import FILES, Demo, DemoFile, latency_lines
from local.observe import Received
from tests.support.local_state import BUCKET, stack


class Messages:
    """The subscriber's view: what arrived on which topic."""

    def __init__(self, received: list[Received]) -> None:
        self.received = received
        self.topics = {"arn:success": "SuccessTopic", "arn:error": "ErrorTopic"}

    def messages(self, request_id: str | None = None, topic: str | None = None) -> list[Received]:
        return [
            r
            for r in self.received
            if (request_id is None or r.message.get("inferenceId") == request_id) and (topic in (None, r.topic))
        ]


def item(key: str, mode: str | None, status: str, **extra: Any) -> dict[str, Any]:
    return {
        "key": key,
        "request_id": f"rid-{key}",
        "mode": mode,
        "status": status,
        "s3_event_time": "2026-12-06T10:00:00Z",
        "completed_at": "2026-12-06T10:00:02.5Z",
        **extra,
    }


def announced(it: dict[str, Any], topic: str = "SuccessTopic", **extra: Any) -> Received:
    message = {
        "inferenceId": it["request_id"],
        "invocationStatus": "Completed" if topic == "SuccessTopic" else "Failed",
        "eventSource": "aws:sagemaker",
        "mode": it["mode"],
        "requestParameters": {"inputLocation": f"s3://{BUCKET}/{it['key']}"},
        "responseParameters": {"outputLocation": f"s3://{BUCKET}/results/{it['key']}.out"},
        **extra,
    }
    return Received(topic, message, {})


def as_expected(keys: dict[str, DemoFile]) -> tuple[dict[str, dict[str, Any]], list[Received]]:
    """Every demo file at the outcome it should reach, announced once (the lost one by the sweeper)."""
    items, received = {}, []
    for key, f in keys.items():
        extra = {"resolved_by": "sweeper"} if f.lost else {}
        if f.outcome == "SUCCEEDED":
            extra["output_location"] = f"s3://{BUCKET}/results/{key}.out"
        else:
            extra["failure_reason"] = f.why
        items[key] = item(key, f.mode, f.outcome, **extra)
        if f.outcome != "SKIPPED":
            topic = "SuccessTopic" if f.outcome == "SUCCEEDED" else "ErrorTopic"
            received.append(announced(items[key], topic, **({"resolvedBy": "sweeper"} if f.lost else {})))
        else:
            received.append(announced(items[key], "ErrorTopic"))
    return items, received


KEYS = {"incoming/" + f.key: f for f in FILES}


def test_every_file_as_expected_reports_the_counts_and_exits_0():
    out = io.StringIO()
    items, received = as_expected(KEYS)

    code = Demo(stack(), out=out).report(items, KEYS, Messages(received))

    text = out.getvalue()
    assert code == 0
    assert "demo: 8 succeeded (1 resolved by the sweeper), 2 failed, 1 skipped" in text
    assert "not as expected" not in text
    assert "[resolved by the sweeper] results/incoming/sensors.csv.out" in text  # the bucket is not repeated
    assert "Messages the demo subscriber received on SuccessTopic (8)" in text
    assert "resolvedBy sweeper: results/incoming/sensors.csv.out" in text
    assert "latency async      2.5 s" in text


def test_a_file_at_the_wrong_outcome_is_marked_and_the_demo_exits_1():
    out = io.StringIO()
    items, received = as_expected(KEYS)
    items["incoming/customers.csv"]["status"] = "FAILED"

    code = Demo(stack(), out=out).report(items, KEYS, Messages(received))

    assert code == 1
    assert "✗ expected SUCCEEDED" in out.getvalue()
    assert "not as expected: incoming/customers.csv" in out.getvalue()


def lost_file() -> DemoFile:
    return next(f for f in FILES if f.lost)


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"resolved_by": None}, "expected the sweeper to resolve it"),
        ({"announcements": 2}, "announced 2 times, expected once"),
        ({"announcements": 0}, "announced 0 times, expected once"),
    ],
)
def test_the_lost_notification_must_be_resolved_by_the_sweeper_and_announced_once(change, problem):
    f = lost_file()
    it = item("incoming/sensors.csv", "async", "SUCCEEDED", resolved_by=change.get("resolved_by", "sweeper"))
    received = [announced(it, resolvedBy="sweeper")] * change.get("announcements", 1)

    assert Demo(stack(), out=io.StringIO())._problem(it, f, Messages(received)) == problem


def test_a_file_resolved_by_the_sweeper_that_should_not_have_been_is_a_missing_notification():
    f = FILES[0]
    it = item("incoming/customers.csv", "async", "SUCCEEDED", resolved_by="sweeper")

    problem = Demo(stack(), out=io.StringIO())._problem(it, f, Messages([announced(it)]))

    assert problem == "resolved by the sweeper: a notification went missing"


def test_a_file_the_tracker_never_saw_is_missing():
    out = io.StringIO()
    keys = {"incoming/customers.csv": FILES[0]}

    code = Demo(stack(), out=out).report({}, keys, Messages([]))

    assert code == 1
    assert "MISSING" in out.getvalue() and "demo: 0 succeeded, 0 failed, 0 skipped" in out.getvalue()


def test_latency_per_mode_in_drop_order_skips_unfinished_and_unrouted_files():
    keys = {k: f for k, f in list(KEYS.items())[:3]}
    names = list(keys)
    items = {
        names[0]: item(names[0], "async", "SUCCEEDED"),
        names[1]: item(names[1], "async", "SUBMITTED"),
        names[2]: {**item(names[2], "batch", "SUCCEEDED"), "completed_at": None},
    }

    assert latency_lines(items, keys) == ["latency async      2.5 s", "latency batch      -"]


def test_progress_says_each_status_change_once_with_who_resolved_it(monkeypatch):
    out = io.StringIO()
    shown = Demo(stack(), out=out)
    answers = iter(
        [
            [item("incoming/a.csv", "async", "SUBMITTED")],
            [item("incoming/a.csv", "async", "SUBMITTED")],
            [item("incoming/a.csv", "async", "SUCCEEDED", resolved_by="sweeper")],
        ]
    )
    monkeypatch.setattr(demo, "tracker_items", lambda _: next(answers))

    for _ in range(3):
        shown.progress()

    lines = [line for line in out.getvalue().splitlines() if "incoming/a.csv" in line]
    assert len(lines) == 2
    assert lines[0].endswith("SUBMITTED")
    assert lines[1].endswith("SUBMITTED → SUCCEEDED   (resolved by the sweeper)")


def test_waiting_for_the_sweeper_names_the_deadline_and_its_parts(monkeypatch):
    sweep = ScheduleSpec("SweeperFunctionSweep", "sweep", "rate(5 minutes)", "SweeperFunction", None)
    out = io.StringIO()
    shown = Demo(stack(schedules={"SweeperFunctionSweep": sweep}), out=out)
    open_item = item("incoming/sensors.csv", "async", "SUBMITTED", deadline_at="2020-01-01T00:00:00Z")
    waited: list[float] = []

    def wait(done: Any, limit: float, heartbeat: Any = None) -> dict[str, Any]:
        waited.append(limit)
        heartbeat({})
        finished = {"incoming/sensors.csv": {**open_item, "status": "SUCCEEDED"}}
        assert done(finished) and not done({"incoming/sensors.csv": open_item})
        return finished

    monkeypatch.setattr(shown, "wait", wait)

    items = shown.wait_for_the_sweeper(["incoming/sensors.csv"], {"incoming/sensors.csv": open_item})

    text = out.getvalue()
    assert items["incoming/sensors.csv"]["status"] == "SUCCEEDED"
    assert "stays SUBMITTED: its success notification was lost" in text
    assert "(submitted + RequestTTLSeconds 60 + InvocationTimeoutSeconds 5 s)" in text
    assert "rate(5 minutes) in the template, every 3 s here" in text
    assert "deadline passed; the next sweep" in text
    assert waited == [33.0]  # deadline already passed: one period and the margin


def test_without_a_sweeper_schedule_the_lost_file_stays_submitted_and_the_demo_says_why():
    out = io.StringIO()
    open_item = item("incoming/sensors.csv", "async", "SUBMITTED", deadline_at="2020-01-01T00:00:00Z")

    items = Demo(stack(), out=out).wait_for_the_sweeper(["incoming/sensors.csv"], {"incoming/sensors.csv": open_item})

    assert items["incoming/sensors.csv"]["status"] == "SUBMITTED"
    assert "the sweeper does not run by itself on this stack" in out.getvalue()


def test_nothing_to_wait_for_when_the_lost_file_is_already_terminal():
    out = io.StringIO()
    done = {"incoming/sensors.csv": item("incoming/sensors.csv", "async", "SUCCEEDED")}

    assert Demo(stack(), out=out).wait_for_the_sweeper(["incoming/sensors.csv"], done) is done
    assert Demo(stack(), out=out).wait_for_scale_in(done) is done  # no created endpoint scales here
    assert out.getvalue() == ""


def test_wait_returns_when_done_or_at_its_limit_with_a_heartbeat(monkeypatch):
    shown = Demo(stack(), out=io.StringIO())
    polls = iter(range(100))
    monkeypatch.setattr(shown, "progress", lambda: {"n": next(polls)})
    monkeypatch.setattr(demo.time, "sleep", lambda _: None)

    assert shown.wait(lambda items: items["n"] == 3, 60) == {"n": 3}
    beats: list[Any] = []
    now = [0.0]
    monkeypatch.setattr(demo.time, "monotonic", lambda: now[0])
    monkeypatch.setattr(demo.time, "sleep", lambda seconds: now.__setitem__(0, now[0] + 10))
    shown.wait(lambda items: False, 50, heartbeat=beats.append)  # beats at 20, 30 and 50 s; gives up past 50 s
    assert len(beats) == 3


def test_main_names_a_malformed_parameter_override_and_exits_1(monkeypatch, capsys):
    monkeypatch.setenv("LOCAL_PARAMETER_OVERRIDES", "RequestTTLSeconds")

    assert demo.main([]) == 1
    assert "demo: LOCAL_PARAMETER_OVERRIDES: 'RequestTTLSeconds' is not Key=Value" in capsys.readouterr().err
