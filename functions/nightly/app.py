"""Nightly: the schedule's event (its scheduled time) → one transform job over the night's SCHEDULED files.

Also invoked by hand to re-run a failed night: ``{"rerun": 1, "date": "2026-11-28"}``.
"""

from __future__ import annotations

from typing import Any

from orchestrator import wiring
from orchestrator.observability import observed


@observed(clear_state=True)
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return wiring.nightly().run(event, remaining_ms=context.get_remaining_time_in_millis)
