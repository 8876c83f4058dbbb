"""The demo model: a fixed logistic regression over the numeric fields of each CSV row.

Pure scoring, no I/O: ``local/model/server.py`` serves it over SageMaker's container contract.
Malformed input raises ``BadInput``, which the server answers with a 400, so the error path of the
product is exercised by a real model response.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable

WEIGHTS = (0.8, -0.5, 0.3, 0.1)
BIAS = -0.2
CSV = "text/csv"
JSON = "application/json"
JSON_LINES = "application/jsonlines"
SUPPORTED_INPUT = (CSV, JSON, JSON_LINES)


class BadInput(ValueError):
    """The request cannot be scored; the message says which row and why."""


def score(features: Iterable[float]) -> float:
    total = BIAS + sum(WEIGHTS[i % len(WEIGHTS)] * x for i, x in enumerate(features))
    return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, total))))


def parse_rows(body: bytes, content_type: str) -> list[list[float]]:
    media = content_type.split(";", 1)[0].strip().lower() or CSV
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadInput(f"body is not UTF-8 text: {exc}") from exc
    if media == CSV:
        return [_csv_row(line, number) for number, line in _lines(text)]
    if media == JSON_LINES:
        return [_json_row(json_line, number) for number, json_line in _lines(text)]
    if media == JSON:
        try:
            document = json.loads(text)
        except ValueError as exc:
            raise BadInput(f"body is not JSON: {exc}") from exc
        instances = document.get("instances") if isinstance(document, dict) else document
        if not isinstance(instances, list):
            raise BadInput('JSON body must be a list of rows or {"instances": [...]}')
        return [_numbers(row, number) for number, row in enumerate(instances, 1)]
    raise BadInput(f"unsupported content type {content_type!r}; supported: {', '.join(SUPPORTED_INPUT)}")


def predict(body: bytes, content_type: str, accept: str) -> tuple[bytes, str]:
    """Scores for every row: one per line (text/csv) or ``{"predictions": [...]}`` (JSON)."""
    scores = [score(row) for row in parse_rows(body, content_type)]
    if not scores:
        raise BadInput("no rows to score")
    media = (accept or CSV).split(",", 1)[0].split(";", 1)[0].strip().lower()
    if media in (JSON, JSON_LINES):
        return json.dumps({"predictions": [round(s, 6) for s in scores]}).encode(), JSON
    return "".join(f"{s:.6f}\n" for s in scores).encode(), "text/csv; charset=utf-8"


def _lines(text: str) -> list[tuple[int, str]]:
    return [(number, line) for number, line in enumerate(text.splitlines(), 1) if line.strip()]


def _csv_row(line: str, number: int) -> list[float]:
    return _numbers(line.split(","), number)


def _json_row(line: str, number: int) -> list[float]:
    try:
        row = json.loads(line)
    except ValueError as exc:
        raise BadInput(f"row {number}: not JSON ({exc})") from exc
    return _numbers(row if isinstance(row, list) else [row], number)


def _numbers(fields: object, number: int) -> list[float]:
    if not isinstance(fields, list) or not fields:
        raise BadInput(f"row {number}: expected a non-empty list of numbers")
    values = []
    for position, field in enumerate(fields, 1):
        try:
            value = float(field.strip() if isinstance(field, str) else field)
        except (TypeError, ValueError):
            raise BadInput(f"row {number}, field {position}: {field!r} is not a number") from None
        if math.isnan(value) or math.isinf(value):
            raise BadInput(f"row {number}, field {position}: {field!r} is not a finite number")
        values.append(value)
    return values
