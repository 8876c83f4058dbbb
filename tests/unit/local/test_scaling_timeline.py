"""The scaling timeline the demo prints and the bench measures, from the stand-in's view and the
autoscaler's journal, on the compressed clock."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from local.scaling.timeline import ScalingWatch


class FakeStack:
    """What ScalingWatch reads of a running local stack: the stand-in's endpoints view and the journal."""

    def __init__(self, directory: Path, factor: float = 60) -> None:
        self.directory = directory
        self.state = SimpleNamespace(scaling_clock_factor=factor)
        self.endpoint: dict[str, Any] = {"CurrentInstanceCount": 0, "backlog": 0, "instanceSeconds": 0.0, "events": []}

    def standin(self, path: str) -> dict[str, Any]:
        assert path == "/_local/endpoints"
        return {"ep": self.endpoint}

    def journal(self, **entry: Any) -> None:
        entry.setdefault("time", datetime.now(UTC).isoformat())
        with (self.directory / "scaling.jsonl").open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(entry) + "\n")


def test_the_timeline_converts_real_seconds_to_what_aws_would_take(tmp_path):
    """Given files 10 s ago, a scale-out decision 2 s after them, an instance serving 5 s after them, the
    backlog drained now and a scale-in (clock 60x), then the figures are the virtual seconds between those
    moments and the instance-minutes are the billed instance-seconds times the factor."""
    stack = FakeStack(tmp_path)
    watch = ScalingWatch(stack, "ep")
    watch.mark("files arrive")
    watch.moments[0].at -= 10  # the files arrived 10 s ago; what follows happened since
    t0 = watch.moments[0].at
    stack.journal(
        kind="alarm", alarm="s-Endpoints-Alarm", new="ALARM", time=datetime.fromtimestamp(t0 + 2, UTC).isoformat()
    )
    stack.journal(
        kind="scale", endpoint="ep", previous=0, desired=1, policy="Step", cause="+1",
        time=datetime.fromtimestamp(t0 + 2, UTC).isoformat(),
    )  # fmt: skip
    stack.endpoint.update(backlog=3)
    watch.poll()
    now = time.time()
    serving = {"event": "instance in service", "instances": 1, "ago": now - (t0 + 5)}
    stack.endpoint.update(
        CurrentInstanceCount=1, backlog=0, instanceSeconds=10.0, events=[{"event": "desired 1", "ago": 0}, serving]
    )
    new = watch.poll()
    assert [m.kind for m in new] == ["instance", "drained"]
    three_seconds_after_the_drain = datetime.fromtimestamp(new[-1].at + 3, UTC).isoformat()
    stack.journal(
        kind="scale", endpoint="ep", previous=1, desired=0, policy="Tracking", cause="ceil(1 x 0 / 5) = 0",
        time=three_seconds_after_the_drain,
    )  # fmt: skip
    stack.endpoint.update(CurrentInstanceCount=0)
    watch.poll()

    figures = watch.figures()
    assert figures["first_instance_s"] == pytest.approx(5 * 60, abs=1)
    assert figures["instance_minutes"] == pytest.approx(10.0)  # 10 real instance-seconds x 60 / 60
    assert figures["scale_in_s"] == pytest.approx(3 * 60)
    kinds = [m.kind for m in watch.moments]
    assert kinds == ["files", "alarm", "scale", "instance", "drained", "scale"]
    assert "1,440" in watch.lines()[-1]


def test_another_endpoints_decisions_and_target_tracking_alarms_stay_out(tmp_path):
    """Given journal entries for another endpoint and target tracking's own alarms, then the timeline
    shows neither."""
    stack = FakeStack(tmp_path)
    watch = ScalingWatch(stack, "ep")
    stack.journal(kind="scale", endpoint="other", previous=0, desired=1, policy="Step", cause="+1")
    stack.journal(kind="alarm", alarm="TargetTracking-X-AlarmLow", new="ALARM")

    assert watch.poll() == []
