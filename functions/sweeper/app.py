"""Sweeper: on its schedule, resolves requests past their deadline from ground truth and announces them."""

from __future__ import annotations

from typing import Any

from orchestrator import wiring
from orchestrator.observability import observed


@observed(clear_state=True)
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return wiring.sweeper().run(remaining_ms=context.get_remaining_time_in_millis)
