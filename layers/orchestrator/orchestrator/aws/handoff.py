"""Handing a finished nightly job to the batch-result function: one EventBridge event.

The sweeper never records a night inline (a night can take longer than a whole sweeper run), and
the batch-result function hands a night it could not finish in one invocation on to its next one.
Both put the same small event on the default bus; the batch-result rule matches it next to
SageMaker's own state changes (template.yaml). The event names the job only: the batch-result
function reads the job's state from ``DescribeTransformJob``, never from the event, so a forged
event can at most make it look at a real job again.
"""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from orchestrator.errors import RetryableError

# PutEvents may not use an "aws." source; template.yaml's rule pattern and IAM condition name these.
SOURCE = "sagemaker-inference-orchestrator"
DETAIL_TYPE = "Transform Job Result Requested"


def is_handoff(event: Any) -> bool:
    """Any event of the product's source, whatever its detail-type: EventBridge lets any principal of
    the account with ``events:PutEvents`` use this source (only ``aws.*`` sources are reserved), so its
    detail is never trusted: the job's state is read from SageMaker."""
    return isinstance(event, dict) and event.get("source") == SOURCE


class JobHandOff:
    """EventBridge adapter: ``request`` puts one hand-off event on the default bus."""

    def __init__(self, events: Any) -> None:
        self._events = events

    def request(self, job_name: str, job_status: str, *, requested_by: str) -> None:
        """Ask the batch-result function to record job ``job_name``; RetryableError if not accepted."""
        # TransformJobStatus only so that the rule's pattern (shared with SageMaker's events) matches.
        detail = {"TransformJobName": job_name, "TransformJobStatus": job_status, "requestedBy": requested_by}
        entry = {"Source": SOURCE, "DetailType": DETAIL_TYPE, "Detail": json.dumps(detail)}
        try:
            response = self._events.put_events(Entries=[entry])
        except (ClientError, BotoCoreError) as exc:
            raise RetryableError(f"handing {job_name} to the batch-result function failed: {exc}", detail) from exc
        if response.get("FailedEntryCount"):
            failed = response.get("Entries", [{}])[0]
            why = f"{failed.get('ErrorCode')}: {failed.get('ErrorMessage')}"
            raise RetryableError(f"EventBridge refused the hand-off of {job_name}: {why}", detail)
