"""Batch result: a "SageMaker Transform Job State Change" event → one result message per file, tracker updated."""

from __future__ import annotations

from typing import Any

from orchestrator import wiring
from orchestrator.observability import observed


@observed(clear_state=True)
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return wiring.batch_results().handle(event, remaining_ms=context.get_remaining_time_in_millis)
