"""The stack in moto (in-process), the real handlers, and hooks on the clients the functions build.

The functions build their clients from boto3's default session (``orchestrator.aws.clients``); each
test gives them a fresh one carrying a call counter and an interceptor (faults, a SageMaker
stand-in). The test's own clients come from a separate session, so they are never counted.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

import boto3
import pytest
from botocore.retries.standard import ExponentialBackoff
from moto import mock_aws
from orchestrator import wiring
from orchestrator.aws import sagemaker_runtime as sagemaker_adapter
from orchestrator.aws.tracker_table import TrackerTable

from tests.support import aws as stack_support
from tests.support.clock import FakeClock
from tests.support.environment import set_variables
from tests.support.events import s3_put_record
from tests.support.hooks import CallCounter, Interceptor
from tests.support.lambda_runtime import invoker
from tests.support.sagemaker import SageMakerStandIn, async_endpoint
from tests.support.transform import batch_env
from tests.support.wiring import reset_wiring


@pytest.fixture(autouse=True)
def _fresh_functions(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A cold start per test: no cached workflow, no endpoint override, no retry backoff."""
    for name in [n for n in os.environ if n.startswith("AWS_ENDPOINT_URL")]:
        monkeypatch.delenv(name)
    # Standard-mode retries still happen (and are counted); only their sleeps are skipped.
    monkeypatch.setattr(ExponentialBackoff, "delay_amount", lambda self, context: 0)
    monkeypatch.setattr(sagemaker_adapter, "pause", lambda seconds: None)  # the invokers' own backoff
    reset_wiring()
    yield
    reset_wiring()


@pytest.fixture
def aws() -> Iterator[boto3.Session]:
    """The test's own session (setup and inspection), inside moto."""
    with mock_aws():
        yield boto3.Session(region_name=stack_support.REGION)


@pytest.fixture
def stack(aws: boto3.Session, monkeypatch: pytest.MonkeyPatch) -> stack_support.Stack:
    created = stack_support.create_stack(aws)
    set_variables(monkeypatch, created.router_env())
    return created


@pytest.fixture
def batch_configured(stack: stack_support.Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    """Batch transform configured, as the template sets it when a transform model is given; the
    workflows built afresh from it (the cold start of this tier's autouse fixture undoes it)."""
    set_variables(monkeypatch, batch_env(stack.bucket))
    reset_wiring()


@pytest.fixture
def function_session(aws: boto3.Session, monkeypatch: pytest.MonkeyPatch) -> boto3.Session:
    """The default session, from which the functions create their clients."""
    session = boto3.Session(region_name=stack_support.REGION)
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", session)
    return session


@pytest.fixture
def calls(function_session: boto3.Session) -> CallCounter:
    return CallCounter().attach(function_session.events)


@pytest.fixture
def interceptor(function_session: boto3.Session) -> Interceptor:
    return Interceptor().attach(function_session.events)


@pytest.fixture
def sagemaker(interceptor: Interceptor, stack: stack_support.Stack) -> SageMakerStandIn:
    topics = {"success_topic": stack.success_topic_arn, "error_topic": stack.error_topic_arn}
    return async_endpoint(stack.bucket, stack_support.ENDPOINT_NAME, **topics).attach(interceptor)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    """The tracker's clock (claims and their expiry), moved by hand."""
    fake = FakeClock()
    monkeypatch.setattr(wiring, "TrackerTable", partial(TrackerTable, clock=fake))
    return fake


@pytest.fixture
def route(stack, sagemaker, calls, clock) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """One invocation of the router function."""
    return invoker("router")


@pytest.fixture
def track(stack, calls, clock) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """One invocation of the tracker function."""
    return invoker("tracker")


@pytest.fixture
def dynamodb(aws: boto3.Session) -> Any:
    return aws.client("dynamodb")


@pytest.fixture
def sqs(aws: boto3.Session) -> Any:
    return aws.client("sqs")


@pytest.fixture
def item(dynamodb, stack) -> Callable[[str], dict[str, Any] | None]:
    """The tracker item of a request, read consistently."""
    return lambda request_id: stack_support.get_item(dynamodb, stack.table, request_id)


@pytest.fixture
def item_for_key(dynamodb, stack) -> Callable[[str], dict[str, Any]]:
    """ "What is the status of this S3 object?": the ByObject index, as a user asks it."""

    def lookup(key: str) -> dict[str, Any]:
        found = dynamodb.query(
            TableName=stack.table,
            IndexName="ByObject",
            KeyConditionExpression="object_uri = :uri",
            ExpressionAttributeValues={":uri": {"S": f"s3://{stack.bucket}/{key}"}},
        )["Items"]
        assert len(found) == 1, f"expected one item for {key!r}, found {len(found)}"
        item = stack_support.get_item(dynamodb, stack.table, found[0]["request_id"]["S"])
        assert item is not None
        return item

    return lookup


@pytest.fixture
def items(dynamodb, stack) -> Callable[[], list[dict[str, Any]]]:
    return lambda: stack_support.all_items(dynamodb, stack.table)


@pytest.fixture
def upload(aws: boto3.Session, stack) -> Callable[..., dict[str, Any]]:
    """Put an object in the input bucket; return the SQS record of its S3 notification."""
    s3 = aws.client("s3")

    def put(key: str, body: bytes = b"age,income\n42,1000\n", message_id: str | None = None, **extra: Any):
        version = s3.put_object(Bucket=stack.bucket, Key=key, Body=body, **extra)["VersionId"]
        return s3_put_record(key, size=len(body), version_id=version, message_id=message_id)

    return put


@pytest.fixture
def published(sqs, stack) -> Callable[[str], list[dict[str, Any]]]:
    """Messages a user subscribed to one topic ("success" or "error") has received so far."""
    urls = {"success": stack.success_watch_url, "error": stack.error_watch_url}
    return lambda topic: stack_support.bodies(stack_support.drain(sqs, urls[topic]))
