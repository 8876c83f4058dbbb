"""One interface for every inference mode (docs/architecture.md §2): the router decides and claims, a mode acts.

A mode is a :class:`ModeHandler`: called once per claimed file with a :class:`ClaimedFile`, it
starts the inference (or hands the file on) and confirms the claim with the status it reached, or
closes the file through :func:`close` (announce, then record). The router registers one handler per
configured mode: :class:`AsyncMode` here; ``file_jobs.FileJobs`` (batch), ``nightly.NightlyEnlister``
(nightly) and ``scorer.Handoff`` (real-time, serverless).
"""

from __future__ import annotations

from dataclasses import KW_ONLY, dataclass, field
from datetime import timedelta
from typing import Any, Protocol

from orchestrator.aws.adapters import Adapters, UsesAdapters
from orchestrator.aws.announce import Announcer
from orchestrator.aws.sagemaker_runtime import AsyncInvoker
from orchestrator.aws.tracker_table import Claim, TrackerTable
from orchestrator.core import timestamps
from orchestrator.core.routing import Decision, Mode
from orchestrator.core.s3_events import ObjectCreated
from orchestrator.core.status import Status
from orchestrator.errors import AmbiguousInvocationError, InvocationRejectedError, RetryableError
from orchestrator.observability import logger
from orchestrator.settings import RouterSettings


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
    deadline_seconds: int,
    fields: dict[str, Any],
    *,
    overtaken: str,
    extra: dict[str, Any] | None = None,
) -> str:
    """The claim confirmed SUBMITTED, due ``deadline_seconds`` from now, with the mode's own ``fields``.
    A result that overtook the confirmation keeps its status (``overtaken`` is logged, with ``extra``).
    Returns the submission time, which the router's QueueTime is measured to."""
    moment = tracker.now()
    now = timestamps.iso(moment)
    fields = {
        "submitted_at": now,
        "deadline_at": timestamps.iso(moment + timedelta(seconds=deadline_seconds)),
        **fields,
    }
    if not tracker.confirm(file.request_id, Status.SUBMITTED, fields):
        logger.info(overtaken, extra=extra, stacklevel=2)
    return now


@dataclass(eq=False)
class AsyncMode(UsesAdapters):
    """``InvokeEndpointAsync`` on the configured endpoint, then SUBMITTED with the result locations."""

    settings: RouterSettings
    adapters: Adapters
    _: KW_ONLY
    invoker: AsyncInvoker

    def __call__(self, file: ClaimedFile) -> None:
        if file.claim.may_have_invoked:
            self._confirm_uncertain(file)
            return
        assert file.decision.content_type is not None  # decide() never picks a mode without one
        try:
            submission = self.invoker.invoke(
                endpoint_name=self.settings.async_endpoint_name,
                input_location=file.event.uri,
                inference_id=file.request_id,
                content_type=file.decision.content_type,
                invocation_timeout_seconds=self.settings.invocation_timeout_seconds,
                request_ttl_seconds=self.settings.request_ttl_seconds,
            )
        except InvocationRejectedError as exc:
            close(self.announcer, file, Status.FAILED, exc.message)
            return
        except AmbiguousInvocationError as exc:
            # SageMaker may have it: never sent again; its notification or the sweeper decides.
            self._confirm_uncertain(file, exc.message)
            return
        except RetryableError as exc:
            # SageMaker did not take it: say so on the item, so the retry may send it again.
            self._release(file.request_id, exc)
            raise
        fields = {
            "endpoint_name": self.settings.async_endpoint_name,
            "output_location": submission.output_location,
            "failure_location": submission.failure_location,
        }
        deadline = self.settings.deadlines.submitted_async
        now = confirm_submitted(
            self.tracker, file, deadline, fields, overtaken="result arrived before confirmation; keeping it"
        )
        self.recorder.count("RequestsRouted", mode=Mode.ASYNC.value)
        self.recorder.timing("QueueTime", timestamps.millis_between(file.event.event_time, now), mode=Mode.ASYNC.value)

    def _confirm_uncertain(self, file: ClaimedFile, reason: str | None = None) -> None:
        """SageMaker may have this request: an earlier attempt died after its claim (``reason`` None)
        or this call's outcome was ambiguous. Sending it again could score it twice, so it is
        confirmed as possibly sent: SageMaker's notification records the result, and the sweeper
        resolves it from ground truth by its deadline. The message is then acknowledged."""
        now = self.tracker.now()
        self.tracker.confirm(
            file.request_id,
            Status.SUBMITTED,
            {
                "submitted_at": timestamps.iso(now),
                "endpoint_name": self.settings.async_endpoint_name,
                "submission_uncertain": True,
                "last_error": reason,
                "deadline_at": self.settings.deadlines.after(now, self.settings.deadlines.submitted_async),
            },
        )
        why = reason or "an earlier attempt may have invoked the endpoint"
        logger.warning("possibly sent: confirmed without invoking again", extra={"reason": why})
        self.recorder.count("InvocationsUncertain", mode=Mode.ASYNC.value)
        self.recorder.count("RequestsRouted", mode=Mode.ASYNC.value)

    def _release(self, request_id: str, exc: RetryableError) -> None:
        try:
            self.tracker.release(request_id, exc.message)
        except RetryableError as release_failed:  # the retry then treats the request as possibly sent
            logger.warning("could not release the claim", extra={"reason": release_failed.message})
