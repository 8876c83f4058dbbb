"""SQS partial batch responses: only the records that fail go back to the queue.

The contract Powertools' ``BatchProcessor`` implements for SQS, kept here in a few lines because
importing ``aws_lambda_powertools.utilities.batch`` costs ~18 ms of every cold start (it pulls in
``asyncio`` and every event data class), about 40 % of the router's time over the boto3 floor
(``make bench``). Behaviour is the same: ``{"batchItemFailures": [{"itemIdentifier": …}]}`` for
the failed records, Powertools' ``BatchProcessingError`` when every record failed (so the
invocation errors) and ``UnexpectedBatchTypeError`` for an event without records. Those two
exceptions are imported only when raised.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from orchestrator.errors import OrchestratorError
from orchestrator.observability import logger


def process_sqs(
    event: dict[str, Any], context: Any, handle_body: Callable[[str], None], *, min_remaining_ms: int = 0
) -> dict[str, Any]:
    """Each record through ``handle_body``; a record is started only while the invocation has at
    least ``min_remaining_ms`` left: the rest go back to the queue unstarted (not an error), so a
    slow AWS never gets a record killed halfway by the function's timeout."""
    records = event.get("Records", [])
    if not records or not isinstance(records, list):
        from aws_lambda_powertools.utilities.batch.exceptions import UnexpectedBatchTypeError

        raise UnexpectedBatchTypeError("Unexpected batch event type: an SQS event has a non-empty 'Records' list")
    failures: list[dict[str, str]] = []
    exceptions: list[Any] = []
    deferred = 0
    for record in records:
        if min_remaining_ms and context.get_remaining_time_in_millis() < min_remaining_ms:
            failures.append({"itemIdentifier": record.get("messageId", "")})
            deferred += 1
            continue
        try:
            _handle_record(record, handle_body)
        except Exception:  # noqa: BLE001 - any failure sends the record back to the queue (logged in _handle_record)
            failures.append({"itemIdentifier": record.get("messageId", "")})
            exceptions.append(sys.exc_info())
    if deferred:
        logger.warning(
            "too little time left to start more records: handed back to the queue",
            extra={"deferred": deferred, "min_remaining_ms": min_remaining_ms},
        )
    if exceptions and len(exceptions) == len(records):
        from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

        raise BatchProcessingError(
            msg=f"All records failed processing. {len(exceptions)} individual errors logged separately below.",
            child_exceptions=exceptions,
        )
    return {"batchItemFailures": failures}


def _handle_record(record: dict[str, Any], handle_body: Callable[[str], None]) -> None:
    logger.append_keys(message_id=record.get("messageId"))
    try:
        handle_body(record["body"])
    except OrchestratorError as exc:
        logger.error("record failed", extra={"reason": exc.message, "error": type(exc).__name__, **exc.details})
        raise
    except Exception:
        logger.exception("record failed unexpectedly")
        raise
    finally:
        logger.set_correlation_id(None)
