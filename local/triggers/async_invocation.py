"""Lambda's asynchronous invocation, as EventBridge rules and Scheduler make it."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from local.aws.state import FunctionSpec
from local.triggers.context import Reporter


def invoke_async(
    runner: Reporter, spec: FunctionSpec, event: Any, invoke: Any, retry_delay: float = 0.5
) -> dict[str, Any]:
    """Lambda's asynchronous invocation: retries, then the on-failure destination. Returns the last
    attempt's response (``{"ok": true, "result": …}`` or ``{"ok": false, "errorType": …}``)."""
    attempts = 1 + spec.max_retry_attempts
    response: dict[str, Any] = {}
    for attempt in range(1, attempts + 1):
        response = invoke(event)
        if response.get("ok"):
            runner.count(spec.logical_id, 1, 0)
            return response
        runner.log(
            f"{spec.logical_id}: attempt {attempt}/{attempts} failed: {response.get('errorType')}: "
            f"{response.get('errorMessage')}"
        )
        if attempt < attempts:
            time.sleep(retry_delay * attempt)
    runner.count(spec.logical_id, 0, 1)
    if spec.on_failure_arn and ":sqs:" in spec.on_failure_arn:
        record = {
            "version": "1.0",
            "timestamp": datetime.now(UTC).isoformat(),
            "requestContext": {
                "requestId": str(uuid.uuid4()),
                "functionArn": f"{spec.arn}:$LATEST",
                "condition": "RetriesExhausted",
                "approximateInvokeCount": attempts,
            },
            "requestPayload": event,
            "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
            "responsePayload": {"errorType": response.get("errorType"), "errorMessage": response.get("errorMessage")},
        }
        sqs = runner.client("sqs")
        url = sqs.get_queue_url(QueueName=spec.on_failure_arn.rsplit(":", 1)[1])["QueueUrl"]
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps(record))
    return response
