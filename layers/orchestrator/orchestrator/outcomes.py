"""The tracker's workflow for one result message: parse, record if it moves forward, measure."""

from __future__ import annotations

from orchestrator import timeutil
from orchestrator.announce import STATUS_METRIC
from orchestrator.messages import parse_result, unwrap_sns
from orchestrator.observability import Recorder, logger
from orchestrator.tracker import Tracker


class OutcomeRecorder:
    def __init__(self, tracker: Tracker, recorder: Recorder | None = None) -> None:
        self.tracker = tracker
        self.recorder = recorder or Recorder()

    def handle_body(self, body: str) -> None:
        """Raises ``BadEventError`` / ``UnknownRequestError`` for a record that belongs in the DLQ."""
        message = parse_result(unwrap_sns(body))
        logger.set_correlation_id(message.request_id)
        result = self.tracker.apply_outcome(
            message.request_id,
            message.status,
            {
                "output_location": message.output_location,
                "failure_location": message.failure_location,
                "failure_reason": message.failure_reason,
                "sagemaker_received_at": message.received_time,
                "completed_at": message.event_time,
                "job_name": message.job_name,  # as the batch-result function would write it
            },
            job_name=message.job_name,
        )
        if not result.applied:
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
            "ProcessingTime", timeutil.millis_between(message.received_time, message.event_time), mode=mode
        )
        start = item.get("s3_event_time") or item.get("created_at")
        self.recorder.timing("EndToEndLatency", timeutil.millis_between(start, message.event_time), mode=mode)
