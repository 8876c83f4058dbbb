"""Tracker: result messages from the success and error topics (via SQS) → the tracker table."""

from __future__ import annotations

from typing import Any

from orchestrator import wiring
from orchestrator.aws.sqs_records import process_sqs
from orchestrator.observability import observed


@observed
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return process_sqs(event, context, wiring.outcome_recorder().handle_body)
