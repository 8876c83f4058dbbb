"""One interface for every inference mode (docs/architecture.md §2): the router decides and claims, a mode acts.

A mode is a :class:`ModeHandler`: called once per claimed file with a :class:`ClaimedFile`, it
starts the inference (or hands the file on) and confirms the claim with the status it reached, or
closes the file through :func:`close` (announce, then record). The router registers one handler per
configured mode: ``async_endpoint.AsyncMode``, ``file_jobs.FileJobs`` (batch), ``nightly.NightlyEnlister``
(nightly) and ``scorer.Handoff`` (real-time, serverless).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from orchestrator.aws.tracker_table import Claim, TrackerTable
from orchestrator.core import timestamps
from orchestrator.core.routing import Decision
from orchestrator.core.s3_events import ObjectCreated
from orchestrator.core.status import Status
from orchestrator.observability import logger

if TYPE_CHECKING:
    from orchestrator.aws.announce import Announcer


@dataclass(frozen=True)
class ClaimedFile:
    """A file the router has claimed: what it is, what was decided, and what the claim replaced."""

    request_id: str
    event: ObjectCreated
    decision: Decision
    claim: Claim = field(default_factory=lambda: Claim(True))

    @property
    def mode(self) -> str | None:
        return self.decision.mode.value if self.decision.mode else None

    def as_item(self) -> dict[str, Any]:
        """The fields a result message is built from, as the tracker item holds them."""
        return {
            "request_id": self.request_id,
            "object_uri": self.event.uri,
            "content_type": self.decision.content_type,
            "mode": self.mode,
            "s3_event_time": self.event.event_time or None,
        }


class ModeHandler(Protocol):
    def __call__(self, file: ClaimedFile) -> None: ...


def close(announcer: Announcer, file: ClaimedFile, status: Status, reason: str) -> None:
    """A claimed file that will not be scored (SKIPPED, or FAILED for the request's own fault):
    announced on the error topic, then recorded in the claim's confirmation."""
    announcer.announce(file.as_item(), status, reason=reason, confirm_claim=True)
    logger.warning("file not scored", extra={"key": file.event.key, "status": status.value, "reason": reason})


def confirm_submitted(
    tracker: TrackerTable,
    file: ClaimedFile,
    fields: dict[str, Any],
    *,
    overtaken: str,
    extra: dict[str, Any] | None = None,
) -> str:
    """The claim confirmed SUBMITTED with the mode's own ``fields``; it keeps the deadline the claim
    wrote for it (core/deadlines.py). A result that overtook the confirmation keeps its status
    (``overtaken`` is logged, with ``extra``). Returns the submission time, which the router's
    QueueTime is measured to."""
    now = timestamps.iso(tracker.now())
    fields = {"submitted_at": now, **fields}
    if not tracker.confirm(file.request_id, Status.SUBMITTED, fields):
        logger.info(overtaken, extra=extra, stacklevel=2)
    return now
