"""A created async endpoint's scaling, watched from outside: what the demo prints and the bench measures.

It polls the stand-in's ``/_local/endpoints`` (instances, backlog, billed instance-seconds, the events
of each instance) and the autoscaler's journal (``scaling.jsonl``: alarm changes and decisions with
their causes), and puts both on one timeline. Times are real seconds on the local stack; ``virtual``
converts them to what AWS would take (the scaling clock runs ``scaling_clock_factor`` times faster).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from local.scaling.player import journal

MINUTES_A_DAY = 24 * 60


@dataclass
class Moment:
    at: float  # wall clock (time.time())
    text: str
    kind: str  # "files" | "alarm" | "scale" | "instance" | "drained"


@dataclass
class ScalingWatch:
    stack: Any  # local.stack.LocalStack
    endpoint: str
    moments: list[Moment] = field(default_factory=list)
    instance_seconds: float = 0.0
    instances: int = 0
    backlog: int = 0
    _journal_seen: int = 0
    _events_seen: int = 0

    @property
    def factor(self) -> float:
        return float(self.stack.state.scaling_clock_factor)

    def mark(self, text: str, kind: str = "files") -> None:
        self.moments.append(Moment(time.time(), text, kind))

    def poll(self) -> list[Moment]:
        """New moments since the last poll, in order."""
        new: list[Moment] = []
        endpoint = self.stack.standin("/_local/endpoints").get(self.endpoint, {})
        now = time.time()
        for event in endpoint.get("events", [])[self._events_seen :]:
            if event["event"] != "instance in service":
                continue  # desired counts come from the journal, with their cause
            new.append(Moment(now - event["ago"], f"{event['instances']} instance(s) in service", "instance"))
        self._events_seen = len(endpoint.get("events", []))
        entries = journal(self.stack.directory)
        for entry in entries[self._journal_seen :]:
            at = datetime.fromisoformat(entry["time"]).timestamp()
            if entry["kind"] == "alarm" and not entry["alarm"].startswith("TargetTracking-"):
                new.append(Moment(at, f"alarm {entry['alarm'].rsplit('-', 1)[-1]}: {entry['new']}", "alarm"))
            elif entry["kind"] == "scale" and entry.get("endpoint") == self.endpoint:
                text = f"desired {entry['previous']} → {entry['desired']} by {entry['policy']}: {entry['cause']}"
                new.append(Moment(at, text, "scale"))
        self._journal_seen = len(entries)
        backlog = int(endpoint.get("backlog", 0))
        instances = int(endpoint.get("CurrentInstanceCount", 0))
        if self.backlog and not backlog and instances:
            new.append(Moment(now, "backlog drained", "drained"))
        self.backlog, self.instances = backlog, instances
        self.instance_seconds = float(endpoint.get("instanceSeconds", 0.0))
        new.sort(key=lambda m: m.at)
        self.moments += new
        return new

    def virtual(self, moment: Moment) -> float:
        """Seconds after the first file, as AWS would take them."""
        start = next((m.at for m in self.moments if m.kind == "files"), moment.at)
        return (moment.at - start) * self.factor

    def figures(self) -> dict[str, float | None]:
        """Virtual seconds from the first file to the first instance serving, then to the backlog drained,
        then to scaled in to zero; instance-minutes used against one always-on instance a day."""
        first = self._first("files")
        serving = self._first("instance")
        drained = self._first("drained")
        zero = next((m for m in self.moments if m.kind == "scale" and m.text.split(" → ")[1].startswith("0 ")), None)
        used = self.instance_seconds * self.factor / 60
        return {
            "first_instance_s": self.virtual(serving) if first and serving else None,
            "drain_s": (drained.at - serving.at) * self.factor if serving and drained else None,
            "scale_in_s": (zero.at - drained.at) * self.factor if drained and zero else None,
            "instance_minutes": used,
            "always_on_minutes_a_day": float(MINUTES_A_DAY),
        }

    def lines(self) -> list[str]:
        """The timeline and the cost, for a person."""
        out = [f"Scaling of {self.endpoint} (clock compressed {self.factor:g}x; times as AWS would take them)"]
        for moment in self.moments:
            out.append(f"  +{_clock(self.virtual(moment))}  {moment.text}")
        figures = self.figures()
        used = figures["instance_minutes"] or 0.0
        ratio = f"{MINUTES_A_DAY / used:,.0f}x less" if used else "nothing"
        out.append(
            f"  instance-minutes: {used:.1f} used for these files with scale to zero, against {MINUTES_A_DAY:,} a day "
            f"for one always-on instance ({ratio} if this is the day's only traffic)"
        )
        return out

    def _first(self, kind: str) -> Moment | None:
        return next((m for m in self.moments if m.kind == kind), None)


def _clock(seconds: float) -> str:
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes:3d} min {rest:02d} s"
