"""The model, over SageMaker's container contract (``POST /invocations``)."""

from __future__ import annotations

import http.client
import urllib.parse
from dataclasses import dataclass

from local.loopback import HOST


@dataclass
class ModelResponse:
    status: int
    body: bytes
    content_type: str


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
