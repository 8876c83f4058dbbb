"""EventBridge's default bus as the product's hand-offs see it (``orchestrator/aws/handoff.py``).

moto accepts ``PutEvents`` but delivers nothing in-process: this stand-in answers ``PutEvents``
through the :class:`~tests.support.hooks.Interceptor` (botocore's serialisation and parsing stay
real), keeps each entry, and hands them out as a rule delivers them to its Lambda target: the
envelope EventBridge builds around ``Source``, ``DetailType`` and ``Detail``. Which events the
batch-result rule matches is the template's (tests/template), played offline by the local stack.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from botocore.awsrequest import AWSPreparedRequest, AWSResponse

from tests.support.hooks import Interceptor, response

REGION = "us-east-1"
ACCOUNT = "123456789012"


class EventBusStandIn:
    def __init__(self) -> None:
        self.entries: list[dict[str, Any]] = []  # every entry put, in order
        self._undelivered: list[dict[str, Any]] = []

    def attach(self, interceptor: Interceptor) -> EventBusStandIn:
        interceptor.respond("eventbridge.PutEvents", self._put)
        return self

    def deliver(self) -> list[dict[str, Any]]:
        """The events put since the last delivery, as their rule's target receives them."""
        events = [self._envelope(entry) for entry in self._undelivered]
        self._undelivered = []
        return events

    def _put(self, request: AWSPreparedRequest) -> AWSResponse:
        entries = json.loads(request.body or b"{}")["Entries"]
        self.entries += entries
        self._undelivered += entries
        body = {"FailedEntryCount": 0, "Entries": [{"EventId": str(uuid.uuid4())} for _ in entries]}
        return response(request.url, 200, {"Content-Type": "application/x-amz-json-1.1"}, json.dumps(body).encode())

    @staticmethod
    def _envelope(entry: dict[str, Any]) -> dict[str, Any]:
        return {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": entry["DetailType"],
            "source": entry["Source"],
            "account": ACCOUNT,
            "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": REGION,
            "resources": entry.get("Resources", []),
            "detail": json.loads(entry["Detail"]),
        }
