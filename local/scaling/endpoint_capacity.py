"""The instances of a created asynchronous endpoint's variant, as the SageMaker stand-in plays them.

Application Auto Scaling changes a variant's *desired* instance count (``UpdateEndpointWeightsAndCapacities``);
SageMaker then starts instances, which serve only after a start-up delay, or stops them at once. Each
instance processes ``per_instance`` requests at a time (``MaxConcurrentInvocationsPerInstance``). The
time an instance runs, starting ones included, is what SageMaker bills: ``instance_seconds``.

Pure: the caller passes the time (seconds on the stand-in's monotonic clock) so tests need no sleep.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Capacity:
    variant: str
    instances: int  # serving
    per_instance: int
    startup_seconds: float
    max_capacity: int = 1  # sizes the stand-in's worker pool
    desired: int = -1  # -1: as many as serve now
    starting: list[float] = field(default_factory=list)  # when each starting instance will serve
    billed_seconds: float = 0.0
    since: float = 0.0  # last accounting moment
    events: list[dict[str, Any]] = field(default_factory=list)  # the timeline: what changed, when

    def __post_init__(self) -> None:
        if self.desired < 0:
            self.desired = self.instances

    def advance(self, now: float) -> None:
        """Bill the time since the last call and let started instances serve once their delay is over."""
        for ready_at in sorted(self.starting):
            if ready_at > now:
                break
            self._bill(ready_at)
            self.starting.remove(ready_at)
            self.instances += 1
            self.events.append({"at": ready_at, "event": "instance in service", "instances": self.instances})
        self._bill(now)

    def slots(self, now: float) -> int:
        """Requests the serving instances may process at once."""
        self.advance(now)
        return self.instances * self.per_instance

    def set_desired(self, desired: int, now: float, cause: str = "") -> None:
        """Start instances (they serve after ``startup_seconds``) or stop some at once, newest first."""
        if desired < 0:
            raise ValueError(f"DesiredInstanceCount must be >= 0, not {desired}")
        self.advance(now)
        self.desired = desired
        self.events.append({"at": now, "event": f"desired {desired}", "instances": self.instances, "cause": cause})
        while self.instances + len(self.starting) < desired:
            self.starting.append(now + self.startup_seconds)
        while self.instances + len(self.starting) > desired:
            if self.starting:
                self.starting.pop()
            else:
                self.instances -= 1
                self.events.append({"at": now, "event": "instance stopped", "instances": self.instances})

    def instance_seconds(self, now: float) -> float:
        self.advance(now)
        return self.billed_seconds

    def describe(self, now: float) -> dict[str, Any]:
        """The variant as DescribeEndpoint reports it."""
        self.advance(now)
        return {
            "VariantName": self.variant,
            "CurrentInstanceCount": self.instances,
            "DesiredInstanceCount": self.desired,
            "CurrentWeight": 1.0,
            "DesiredWeight": 1.0,
        }

    def _bill(self, until: float) -> None:
        if until > self.since:
            self.billed_seconds += (until - self.since) * (self.instances + len(self.starting))
            self.since = until
