"""What the functions print: Powertools JSON log lines and CloudWatch EMF metric documents."""

from __future__ import annotations

import json
from typing import Any


def documents(output: str) -> list[dict[str, Any]]:
    documents = []
    for line in output.splitlines():
        if line.startswith("{"):
            try:
                documents.append(json.loads(line))
            except ValueError:
                continue
    return documents


def metrics(output: str) -> list[tuple[str, dict[str, str]]]:
    """``(metric name, dimensions)`` for every metric value published, in order."""
    found = []
    for doc in documents(output):
        if "_aws" not in doc:
            continue
        for directive in doc["_aws"]["CloudWatchMetrics"]:
            dimensions = {name: doc[name] for group in directive["Dimensions"] for name in group}
            found.extend((m["Name"], dimensions) for m in directive["Metrics"])
    return found


def metric_names(output: str) -> list[str]:
    return [name for name, _ in metrics(output)]


def log_lines(output: str) -> list[dict[str, Any]]:
    return [doc for doc in documents(output) if "level" in doc and "message" in doc]
