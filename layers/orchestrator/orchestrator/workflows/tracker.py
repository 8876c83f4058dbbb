"""The tracker's workflow for one result message: check it is ours, record it if it moves forward, measure.

Trust boundary: the topics may carry messages that are not this stack's (an endpoint shared with
another application notifies it too; a publisher outside the topic policy). Only an async
notification of the configured endpoint, a product message, and a transform-job message of this
stack's job prefix are recorded; anything else, and a result for a request the tracker has never
seen, is acknowledged, logged and counted (``UnknownNotifications``): no item written, no DLQ flood.
A result naming one of this stack's requests is recorded only if it matches what the request asked
for (orchestrator.workflows.genuine: its mode, its result location, its job); one that does not is
acknowledged, logged with the reason and counted (``MismatchedResultsIgnored``), never recorded.
"""

from __future__ import annotations

from typing import Any

from orchestrator.aws.announce import STATUS_METRIC
from orchestrator.aws.tracker_table import TrackerTable
from orchestrator.core import timestamps
from orchestrator.core.messages import ResultMessage, parse_result, unwrap_sns
from orchestrator.core.status import Status, rank
from orchestrator.errors import RetryableError, UnknownRequestError
from orchestrator.observability import MetricsEmitter, logger
from orchestrator.settings import OutcomeSettings
from orchestrator.workflows import genuine


class OutcomeRecorder:
    def __init__(
        self,
        tracker: TrackerTable,
        recorder: MetricsEmitter | None = None,
        *,
        settings: OutcomeSettings | None = None,
        s3: Any = None,
    ) -> None:
        self.tracker = tracker
        self.recorder = recorder or MetricsEmitter()
        self.settings = settings
        self.s3 = s3  # reads failure bodies (failures only); None: never

    def handle_body(self, body: str) -> None:
        """Raises ``BadEventError`` for a malformed record (it belongs in the DLQ)."""
        message = parse_result(unwrap_sns(body))
        logger.set_correlation_id(message.request_id)
        foreign = self._foreign(message)
        if foreign:
            self._unknown(foreign, message)
            return
        check = genuine.check(message, self.settings) if self.settings is not None else genuine.Check()
        if check.problem:
            self._mismatched(check.problem, message)
            return
        try:
            result = self.tracker.apply_outcome(
                message.request_id,
                message.status,
                {
                    "output_location": message.output_location,
                    "failure_location": message.failure_location,
                    "failure_reason": self._reason(message),
                    "sagemaker_received_at": message.received_time,
                    "completed_at": message.event_time,
                    "job_name": message.job_name,  # as the batch-result function would write it
                },
                job_name=message.job_name,
                must_hold=check.must_hold,
            )
        except UnknownRequestError:
            self._unknown("no tracker item for this inferenceId", message)
            return
        if not result.applied:
            # It would have moved the item forward but does not match it: not the request's result.
            problem = None if _settled(result.item, message) else genuine.mismatch(check.must_hold, result.item)
            if problem:
                self._mismatched(problem, message)
                return
            logger.info(
                "stale or duplicate result acknowledged",
                extra={"status": message.status.value, "current": result.item.get("status")},
            )
            self.recorder.count("StaleResultsIgnored")
            return
        item = result.item
        logger.info("result recorded", extra={"status": message.status.value, "key": item.get("key")})
        mode = str(item.get("mode") or "none")
        self.recorder.count(STATUS_METRIC[message.status], mode=mode)
        self.recorder.timing(
            "ProcessingTime", timestamps.millis_between(message.received_time, message.event_time), mode=mode
        )
        start = item.get("s3_event_time") or item.get("created_at")
        self.recorder.timing("EndToEndLatency", timestamps.millis_between(start, message.event_time), mode=mode)

    def _foreign(self, message: ResultMessage) -> str | None:
        """Why the message is not this stack's, or None."""
        if self.settings is None:
            return None
        if message.job_name is not None:
            if not message.job_name.startswith(f"{self.settings.job_prefix}-"):
                return f"job {message.job_name!r} is not one of this stack's ({self.settings.job_prefix}-…)"
            return None
        if message.from_product:
            return None
        expected = self.settings.async_endpoint_name
        if expected and message.endpoint_name != expected:
            return f"endpoint {message.endpoint_name!r} is not this stack's endpoint {expected!r}"
        return None

    def _unknown(self, why: str, message: ResultMessage) -> None:
        logger.warning(
            "result message not for this stack acknowledged and ignored",
            extra={"why": why, "source": message.event_source, "status": message.status.value},
        )
        self.recorder.count("UnknownNotifications")

    def _mismatched(self, why: str, message: ResultMessage) -> None:
        logger.warning(
            "result not matching its request acknowledged and ignored",
            extra={
                "why": why,
                "source": message.event_source,
                "status": message.status.value,
                "mode": message.mode,
                "job": message.job_name,
                "outputLocation": message.output_location,
                "failureLocation": message.failure_location,
            },
        )
        self.recorder.count("MismatchedResultsIgnored")

    def _reason(self, message: ResultMessage) -> str | None:
        """SageMaker says "Received client error (400) from model"; the model's own words are in the
        failure object: a bounded excerpt of it joins the reason (failures only, this stack's bucket)."""
        reason = message.failure_reason
        location = message.failure_location
        if message.status is not Status.FAILED or not location or self.s3 is None or self.settings is None:
            return reason
        if not location.startswith(f"s3://{self.settings.input_bucket}/{self.settings.output_prefix}"):
            return reason
        from orchestrator.aws import result_objects  # failures only: not on every cold start's path

        try:
            excerpt = result_objects.failure_excerpt(self.s3, location)
        except RetryableError as exc:  # the reason SageMaker gave is still worth recording
            logger.warning("could not read the failure body", extra={"reason": exc.message})
            return reason
        if not excerpt:
            return reason
        return f"{reason} Model said: {excerpt}" if reason else f"Model said: {excerpt}"


def _settled(item: dict[str, Any], message: ResultMessage) -> bool:
    """The item is already where the message would take it, or further: a stale or repeated result."""
    return int(item.get("status_rank", -1)) >= rank(message.status)
