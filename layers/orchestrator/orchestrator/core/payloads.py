"""Incoming JSON payloads (an SQS body, an SNS message): parsed, or refused naming what they were.

Its own module so that the router's S3 events read it without loading the result message shape
(``core/messages``), which the async happy path never builds.
"""

from __future__ import annotations

import json
from typing import Any

from orchestrator.errors import BadEventError


def json_object(text: Any, what: str) -> dict[str, Any]:
    """``text`` parsed as a JSON object; ``BadEventError`` naming ``what`` (an SQS body, a message) otherwise."""
    try:
        payload = json.loads(text)
    except (TypeError, ValueError) as exc:
        raise BadEventError(f"{what} is not JSON: {exc}") from exc
    if not isinstance(payload, dict):
        raise BadEventError(f"{what} is not a JSON object")
    return payload
