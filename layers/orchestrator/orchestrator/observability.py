"""Powertools logger and metrics (CloudWatch EMF). No X-Ray SDK here: Lambda's active tracing
records each invocation and its AWS calls' segments without adding the SDK's import time."""

from __future__ import annotations

import os
import warnings

from aws_lambda_powertools.logging import Logger
from aws_lambda_powertools.metrics import Metrics, MetricUnit, single_metric

logger = Logger()
metrics = Metrics()

# Per-mode counts go out as single metrics, so an invocation that only skipped files (or acknowledged
# S3's test event) has nothing in the shared set; Powertools would warn about that on every such call.
warnings.filterwarnings("ignore", message="No application metrics to publish", category=UserWarning)


class MetricsEmitter:
    """The metrics the workflows emit. Per-mode counts carry a ``Mode`` dimension of their own."""

    def count(self, name: str, mode: str | None = None, value: int = 1) -> None:
        if mode is None:
            metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
            return
        namespace = os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or "SageMakerInferenceOrchestrator"
        with single_metric(name=name, unit=MetricUnit.Count, value=value, namespace=namespace) as metric:
            metric.add_dimension(name="Mode", value=mode)

    def level(self, name: str, value: float, **dimensions: str) -> None:
        """A gauge-like count (e.g. items in flight per status), with its own dimensions."""
        namespace = os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or "SageMakerInferenceOrchestrator"
        with single_metric(name=name, unit=MetricUnit.Count, value=value, namespace=namespace) as metric:
            for dimension, dimension_value in dimensions.items():
                metric.add_dimension(name=dimension.title(), value=dimension_value)

    def timing(self, name: str, milliseconds: float | None, mode: str | None = None) -> None:
        """A latency in ms, with a ``Mode`` dimension (``none`` when unknown) so dashboards can show
        p50 / p95 per inference mode."""
        if milliseconds is None or milliseconds < 0:
            return
        namespace = os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or "SageMakerInferenceOrchestrator"
        with single_metric(name=name, unit=MetricUnit.Milliseconds, value=milliseconds, namespace=namespace) as metric:
            metric.add_dimension(name="Mode", value=mode or "none")
