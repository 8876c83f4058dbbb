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
    """A workflow or mode built on :class:`Adapters`, read as its own attributes; whatever else it
    needs (an invoker, transform jobs, a hand-off) stays an explicit argument of its constructor."""

    def __init__(self, adapters: Adapters) -> None:
        self.adapters = adapters
        self.tracker = adapters.tracker
        self.s3 = adapters.s3
        self.publisher = adapters.publisher
        self.announcer = adapters.announcer
        self.recorder = adapters.recorder
