"""The one owner of "announce the outcome, then record it" (docs/architecture.md §4).

Every outcome the product decides itself (a skipped or rejected file, a superseded nightly file, a
sweeper verdict) goes out through :class:`Announcer`, in the one message shape. Two orders:

- :meth:`Announcer.announce` — publish, then record. A crash in between repeats the announcement
  rather than losing it; used where the caller holds the request (its claim, its job).
- :meth:`Announcer.verdict` — record, then publish, then leave the outbox. For the sweeper, which
  races with results arriving: the conditional write decides who wins, so a tie ends with one
  terminal status and one announcement; the outbox (the in-flight index's ``ANNOUNCE`` partition)
  makes a crash between write and publish repeat the publish on the next run.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from orchestrator.aws.notifications import Publisher
from orchestrator.aws.tracker_table import TrackerTable
from orchestrator.core import timestamps
from orchestrator.core.messages import build_result
from orchestrator.core.status import Status
from orchestrator.observability import MetricsEmitter, logger

STATUS_METRIC = {
    Status.SUCCEEDED: "RequestsSucceeded",
    Status.FAILED: "RequestsFailed",
    Status.EXPIRED: "RequestsExpired",
    Status.STOPPED: "RequestsStopped",
    Status.SKIPPED: "RequestsSkipped",
}


def message_for(
    item: Mapping[str, Any],
    status: Status,
    *,
    region: str,
    event_time: str,
    reason: str | None = None,
    output_location: str | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The result message of a tracker item (or the same fields of a file being routed)."""
    return build_result(
        request_id=str(item["request_id"]),
        status=status,
        region=region,
        event_time=event_time,
        received_time=item.get("sagemaker_received_at") or item.get("s3_event_time") or event_time,
        input_location=str(item.get("object_uri") or ""),
        content_type=item.get("content_type"),
        mode=item.get("mode"),
        output_location=output_location,
        failure_reason=reason,
        endpoint_name=item.get("endpoint_name"),
        extra={k: v for k, v in (extra or {}).items() if v is not None} or None,
    )


class Announcer:
    def __init__(
        self, publisher: Publisher, tracker: TrackerTable, *, region: str, recorder: MetricsEmitter | None = None
    ):
        self.publisher = publisher
        self.tracker = tracker
        self.region = region
        self.recorder = recorder or MetricsEmitter()

    def announce(
        self,
        item: Mapping[str, Any],
        status: Status,
        *,
        reason: str | None = None,
        output_location: str | None = None,
        extra: dict[str, Any] | None = None,
        record: Mapping[str, Any] | None = None,
        confirm_claim: bool = False,
    ) -> bool:
        """Publish the outcome, then record it (``record``: more fields to write). With
        ``confirm_claim`` the write is the router's confirmation of its own claim (from RECEIVED);
        otherwise a forward-only outcome. Returns whether the write applied."""
        now = timestamps.iso(self.tracker.now())
        message = message_for(
            item,
            status,
            region=self.region,
            event_time=now,
            reason=reason,
            output_location=output_location,
            extra=extra,
        )
        self.publisher.publish(message, success=status is Status.SUCCEEDED)
        fields = {"failure_reason": reason, "output_location": output_location, "completed_at": now, **(record or {})}
        request_id = str(item["request_id"])
        if confirm_claim:
            applied = self.tracker.confirm(request_id, status, fields)
        else:
            applied = self.tracker.apply_outcome(request_id, status, fields).applied
        self.recorder.count(STATUS_METRIC[status], mode=str(item.get("mode") or "none"))
        return applied

    def verdict(
        self,
        item: Mapping[str, Any],
        expected: Status,
        status: Status,
        *,
        reason: str | None = None,
        output_location: str | None = None,
        record: Mapping[str, Any] | None = None,
    ) -> bool:
        """The sweeper's outcome: recorded only if the item is still ``expected`` and overdue, then
        announced (with ``resolvedBy: sweeper``). False: a result overtook it, or a function still
        holds a live claim on it (a later run looks again); nothing published."""
        now = timestamps.iso(self.tracker.now())
        fields = {
            "failure_reason": reason,
            "output_location": output_location,
            "completed_at": now,
            "resolved_by": "sweeper",
            **(record or {}),
        }
        closed = self.tracker.close_overdue(str(item["request_id"]), expected, status, fields, now=now)
        if closed is None:
            logger.info("a result arrived before the sweeper's verdict, or a claim on it is live; nothing announced")
            return False
        self.recorder.count(STATUS_METRIC[status], mode=str(closed.get("mode") or "none"))
        self.flush(closed)
        return True

    def flush(self, item: Mapping[str, Any]) -> None:
        """Publish a recorded verdict waiting in the outbox, then take it out."""
        status = Status(item["status"])
        message = message_for(
            item,
            status,
            region=self.region,
            event_time=str(item.get("completed_at") or timestamps.iso(self.tracker.now())),
            reason=item.get("failure_reason"),
            output_location=item.get("output_location") if status is Status.SUCCEEDED else None,
            extra={
                "resolvedBy": "sweeper",
                "jobName": item.get("job_name"),
                "failureLocation": item.get("failure_location"),
            },
        )
        self.publisher.publish(message, success=status is Status.SUCCEEDED)
        self.tracker.announced(str(item["request_id"]))
