"""The adapters every function's workflow talks to, bundled once per container by the composition root
(orchestrator.wiring): the tracker table, the result topics, S3 and the metrics."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, overload

from orchestrator.aws.notifications import Publisher
from orchestrator.aws.tracker_table import TrackerTable
from orchestrator.observability import MetricsEmitter

if TYPE_CHECKING:
    from typing import Never, Self

    from orchestrator.aws.announce import Announcer


@dataclass(frozen=True)
class Adapters:
    """What a function's workflow and its modes share: the table, S3, the topics, the metrics."""

    tracker: TrackerTable
    s3: Any  # a boto3 S3 client, or one made on first use where most invocations never read S3
    publisher: Publisher
    region: str  # named in every result message
    recorder: MetricsEmitter = field(default_factory=MetricsEmitter)

    @cached_property
    def announcer(self) -> Announcer:
        """Announce, then record (orchestrator.aws.announce), on these topics and this table. Imported on
        first use: the async happy path never announces (SageMaker does), so its cold start skips it."""
        from orchestrator.aws.announce import Announcer

        return Announcer(self.publisher, self.tracker, region=self.region, recorder=self.recorder)


class _Adapter[T]:
    """The adapter of the same name, read as the workflow's own read-only attribute: ``self.adapters.<name>``."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, instance: None, owner: type) -> Self: ...
    @overload
    def __get__(self, instance: UsesAdapters, owner: type) -> T: ...
    def __get__(self, instance: UsesAdapters | None, owner: type) -> Self | T:
        return self if instance is None else getattr(instance.adapters, self.name)

    def __set__(self, instance: UsesAdapters, value: Never) -> None:
        raise AttributeError(f"{self.name} is read from the adapters, not set")


class UsesAdapters:
    """A workflow or mode built on :class:`Adapters`, reading them as its own attributes; whatever else it
    needs (an invoker, transform jobs, a hand-off) is a field or argument of its own. The modes and most
    workflows are dataclasses whose ``adapters`` field this reads (``eq=False``: compared and hashed by
    identity, as plain objects are); the others call this constructor."""

    adapters: Adapters

    tracker: _Adapter[TrackerTable] = _Adapter()
    s3: _Adapter[Any] = _Adapter()
    publisher: _Adapter[Publisher] = _Adapter()
    announcer: _Adapter[Announcer] = _Adapter()
    recorder: _Adapter[MetricsEmitter] = _Adapter()

    def __init__(self, adapters: Adapters) -> None:
        self.adapters = adapters
