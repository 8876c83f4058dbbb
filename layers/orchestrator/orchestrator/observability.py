"""Powertools logger and metrics (CloudWatch EMF). No X-Ray SDK here: Lambda's active tracing
records each invocation and its AWS calls' segments without adding the SDK's import time."""

from __future__ import annotations

import functools
import os
import threading
import warnings
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.logging import Logger
from aws_lambda_powertools.metrics import EphemeralMetrics, Metrics, MetricUnit

logger = Logger()
metrics = Metrics()

# Per-mode metrics go out in sets of their own, so an invocation that only skipped files (or acknowledged
# S3's test event) has nothing in the shared set; Powertools would warn about that on every such call.
warnings.filterwarnings("ignore", message="No application metrics to publish", category=UserWarning)

# One EMF document per dimension set per invocation, each metric's values in one array, instead of one
# document per value: a batch of 10 files logs 1 document where it logged 20-30 (log bytes are billed).
_sets: dict[tuple[tuple[str, str], ...], EphemeralMetrics] = {}
_lock = threading.Lock()


def _metric_set(dimensions: dict[str, str]) -> EphemeralMetrics:
    key = tuple(sorted(dimensions.items()))
    with _lock:
        found = _sets.get(key)
        if found is None:
            namespace = os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or "SageMakerInferenceOrchestrator"
            found = _sets[key] = EphemeralMetrics(namespace=namespace)
            for name, value in key:
                found.add_dimension(name=name, value=value)
        return found


def flush_metric_sets() -> None:
    """Print the invocation's per-dimension metric sets (Powertools prints a set early at 100 values)."""
    with _lock:
        pending = list(_sets.values())
        _sets.clear()
    for metric_set in pending:
        metric_set.flush_metrics()


def discard_metric_sets() -> None:
    """Forget what was emitted and not yet printed (a new container starts without it)."""
    with _lock:
        _sets.clear()


def log_metrics[H: Callable[..., Any]](handler: H) -> H:
    """The functions' metrics decorator: Powertools' shared set, then the per-dimension sets, also when
    the handler raises."""
    shared = metrics.log_metrics(handler)

    @functools.wraps(handler)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        try:
            return shared(*args, **kwargs)
        finally:
            flush_metric_sets()

    return wrapped  # type: ignore[return-value]


# Keys Powertools puts in every line that the log group already says (one group per function):
# about 130 of a line's 600 bytes, and log bytes are billed.
REDUNDANT_LOG_KEYS = ("function_arn", "function_memory_size")


def observed[H: Callable[..., Any]](handler: H | None = None, *, clear_state: bool = False) -> Any:
    """The functions' one decorator: the Lambda context and correlation id in every log line (less
    :data:`REDUNDANT_LOG_KEYS`), the invocation's metrics printed at its end (:func:`log_metrics`).
    ``clear_state``: keys a previous invocation appended (a night's) are dropped first."""
    if handler is None:
        return functools.partial(observed, clear_state=clear_state)

    @functools.wraps(handler)
    def lean(event: Any, context: Any) -> Any:
        logger.remove_keys(list(REDUNDANT_LOG_KEYS))
        return handler(event, context)

    return logger.inject_lambda_context(log_metrics(lean), clear_state=clear_state)


class MetricsEmitter:
    """The metrics the workflows emit. Per-mode counts carry a ``Mode`` dimension of their own."""

    def count(self, name: str, mode: str | None = None, value: int = 1) -> None:
        if mode is None:
            metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
            return
        _metric_set({"Mode": mode}).add_metric(name=name, unit=MetricUnit.Count, value=value)

    def level(self, name: str, value: float, **dimensions: str) -> None:
        """A gauge-like count (e.g. items in flight per status), with its own dimensions."""
        named = {dimension.title(): dimension_value for dimension, dimension_value in dimensions.items()}
        _metric_set(named).add_metric(name=name, unit=MetricUnit.Count, value=value)

    def timing(self, name: str, milliseconds: float | None, mode: str | None = None) -> None:
        """A latency in ms, with a ``Mode`` dimension (``none`` when unknown) so dashboards can show
        p50 / p95 per inference mode."""
        if milliseconds is None or milliseconds < 0:
            return
        _metric_set({"Mode": mode or "none"}).add_metric(name=name, unit=MetricUnit.Milliseconds, value=milliseconds)
