"""Router: S3 ObjectCreated notifications (via SQS) → the right SageMaker inference mode."""

from __future__ import annotations

from typing import Any

from orchestrator import wiring
from orchestrator.aws.sqs_records import process_sqs
from orchestrator.observability import observed


@observed
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    # A record is started only if the worst case of its AWS calls still fits in the time left.
    router = wiring.router()
    return process_sqs(event, context, router.handle_body, min_remaining_ms=router.settings.record_budget_ms)
