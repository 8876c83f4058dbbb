"""A cold start for the composition root: every cached builder of ``orchestrator.wiring`` forgotten, so
the next call builds its workflow from the environment and clients as they are now, and no metric
value is left over from before."""

from __future__ import annotations

from typing import Any

from orchestrator import observability, wiring


def cached_builders() -> dict[str, Any]:
    """The module's cached functions, found by looking rather than listed, so a new one is never missed."""
    return {
        name: value
        for name, value in vars(wiring).items()
        if callable(value) and callable(getattr(value, "cache_clear", None))
    }


def reset_wiring() -> None:
    for builder in cached_builders().values():
        builder.cache_clear()
    # Metric values a test emitted outside a handler would otherwise be printed by the next handler.
    observability.discard_metric_sets()
