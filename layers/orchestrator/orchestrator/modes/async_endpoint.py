"""The asynchronous mode: ``InvokeEndpointAsync`` on the stack's endpoint, then the claim confirmed SUBMITTED
with where SageMaker will write the result; the endpoint's notification (or the sweeper) records it."""

from __future__ import annotations

from dataclasses import KW_ONLY, dataclass

from orchestrator.aws.adapters import Adapters, UsesAdapters
from orchestrator.aws.sagemaker_runtime import AsyncInvoker
from orchestrator.core import timestamps
from orchestrator.core.routing import Mode
from orchestrator.core.status import Status
from orchestrator.errors import AmbiguousInvocationError, InvocationRejectedError, RetryableError
from orchestrator.modes.interface import ClaimedFile, close, confirm_submitted
from orchestrator.observability import logger
from orchestrator.settings import RouterSettings


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
        now = confirm_submitted(self.tracker, file, fields, overtaken="result arrived before confirmation; keeping it")
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
