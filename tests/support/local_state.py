"""A local stack's state as plain data (local.aws.state.StackState), for the parts of local/ that
only read it: what `make stack` and `make demo` print, the scaling player."""

from __future__ import annotations

from typing import Any

from local.aws.state import StackState
from local.stack import LocalStack, StackConfig

BUCKET = "demo-bucket"


def state(**changes: Any) -> StackState:
    base = StackState(
        stack_name="orchestrator-demo",
        region="us-east-1",
        account_id="123456789012",
        aws_endpoint="http://127.0.0.1:1",
        sagemaker_endpoint="http://127.0.0.1:2",
        model_url="http://127.0.0.1:3",
        parameters={"InputPrefix": "incoming/", "RequestTTLSeconds": "60", "InvocationTimeoutSeconds": "5"},
        resources={"Bucket": {"type": "AWS::S3::Bucket", "ref": BUCKET}},
        functions={},
        event_source_mappings=[],
        rule_targets=[],
        schedules={},
        notification_queues=[],
        outputs={},
        not_created={},
    )
    for name, value in changes.items():
        setattr(base, name, value)
    return base


def stack(**changes: Any) -> LocalStack:
    """A stack that was never started, holding ``state(**changes)``: nothing listens on its ports."""
    local = LocalStack(StackConfig(rate_schedule_seconds=3.0))
    local._state = state(**changes)
    return local
