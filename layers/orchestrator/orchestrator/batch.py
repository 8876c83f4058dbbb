"""SQS partial batch responses with Powertools: only the records that fail go back to the queue."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from orchestrator.errors import OrchestratorError
from orchestrator.observability import logger


def process_sqs(event: dict[str, Any], context: Any, handle_body: Callable[[str], None]) -> dict[str, Any]:
    def record_handler(record: SQSRecord) -> None:
        logger.append_keys(message_id=record.message_id)
        try:
            handle_body(record.body)
        except OrchestratorError as exc:
            logger.error("record failed", extra={"reason": exc.message, "error": type(exc).__name__, **exc.details})
            raise
        except Exception:
            logger.exception("record failed unexpectedly")
            raise
        finally:
            logger.set_correlation_id(None)

    processor = BatchProcessor(event_type=EventType.SQS)
    return dict(
        process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
    )
