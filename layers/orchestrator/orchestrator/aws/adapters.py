"""The adapters every function's workflow talks to, bundled once per container by the composition root
(orchestrator.wiring): the tracker table, the result topics, S3 and the metrics."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from orchestrator.aws.announce import Announcer
from orchestrator.aws.notifications import Publisher
from orchestrator.aws.tracker_table import TrackerTable
from orchestrator.observability import MetricsEmitter


@dataclass(frozen=True)
class Adapters:
    tracker: TrackerTable
    s3: Any  # a boto3 S3 client, or one made on first use where most invocations never read S3
    publisher: Publisher
    region: str  # named in every result message
    recorder: MetricsEmitter = field(default_factory=MetricsEmitter)

    @cached_property
    def announcer(self) -> Announcer:
        """Announce, then record (orchestrator.aws.announce), on these topics and this table."""
        return Announcer(self.publisher, self.tracker, region=self.region, recorder=self.recorder)


class UsesAdapters:
    """A workflow or mode built on :class:`Adapters`, reading them as its own attributes; whatever else it
    needs (an invoker, transform jobs, a hand-off) is a field or argument of its own. The modes and most
    workflows are dataclasses whose ``adapters`` field this reads (``eq=False``: compared and hashed by
    identity, as plain objects are); the others call this constructor."""

    adapters: Adapters

    def __init__(self, adapters: Adapters) -> None:
        self.adapters = adapters

    @property
    def tracker(self) -> TrackerTable:
        return self.adapters.tracker

    @property
    def s3(self) -> Any:
        return self.adapters.s3

    @property
    def publisher(self) -> Publisher:
        return self.adapters.publisher

    @property
    def announcer(self) -> Announcer:
        return self.adapters.announcer

    @property
    def recorder(self) -> MetricsEmitter:
        return self.adapters.recorder
