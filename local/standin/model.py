"""The model, over SageMaker's container contract (``POST /invocations``).

``Model`` is what the stand-in calls: ``call_model`` over HTTP in the local stack; the integration tests
and benches give it a function of their own (deterministic answers, injected model errors)."""

from __future__ import annotations

import http.client
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass

from local.loopback import HOST


@dataclass
class ModelResponse:
    status: int
    body: bytes
    content_type: str


# (model URL, body, content type, accept, timeout in seconds) → the container's answer; OSError: none.
Model = Callable[[str, bytes, str | None, str | None, float], ModelResponse]


def call_model(url: str, body: bytes, content_type: str | None, accept: str | None, timeout: float) -> ModelResponse:
    """``POST {url}/invocations``; a connection failure or timeout raises ``OSError``."""
    parsed = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parsed.hostname or HOST, parsed.port or 80, timeout=timeout)
    headers = {"Content-Type": content_type or "application/octet-stream"}
    if accept:
        headers["Accept"] = accept
    try:
        connection.request("POST", parsed.path.rstrip("/") + "/invocations", body=body, headers=headers)
        response = connection.getresponse()
        return ModelResponse(response.status, response.read(), response.getheader("Content-Type") or "")
    finally:
        connection.close()
