"""The batch adapters' error translation, with botocore's Stubber (no network, no retries)."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.exceptions import EndpointConnectionError
from botocore.stub import Stubber
from orchestrator.aws import manifest, tracker_table
from orchestrator.aws.notifications import Publisher
from orchestrator.aws.tracker_table import TrackerTable
from orchestrator.aws.transform_jobs import TransformJobs
from orchestrator.core.status import Status
from orchestrator.errors import BadEventError, RetryableError


def stubbed(service: str) -> tuple[Any, Stubber]:
    client = boto3.client(service, region_name="us-east-1")
    return client, Stubber(client)


def test_describe_answers_none_for_an_unknown_job_and_retries_throttling():
    client, stub = stubbed("sagemaker")
    stub.add_client_error("describe_transform_job", "ResourceNotFound", "no such job")
    stub.add_client_error("describe_transform_job", "ThrottlingException", "slow down")
    with stub:
        jobs = TransformJobs(client)
        assert jobs.describe("sio-nightly-2026-11-28") is None
        with pytest.raises(RetryableError, match="ThrottlingException"):
            jobs.describe("sio-nightly-2026-11-28")


def test_transport_errors_are_retryable(monkeypatch):
    client = boto3.client("sagemaker", region_name="us-east-1")

    def unreachable(*_: Any, **__: Any) -> None:
        raise EndpointConnectionError(endpoint_url="https://api.sagemaker")

    monkeypatch.setattr(client, "describe_transform_job", unreachable)
    monkeypatch.setattr(client, "create_transform_job", unreachable)
    jobs = TransformJobs(client)
    with pytest.raises(RetryableError, match="DescribeTransformJob did not complete"):
        jobs.describe("sio-x")
    request = {"TransformJobName": "sio-x", "TransformInput": {"DataSource": {"S3DataSource": {"S3Uri": "s3://b/m"}}}}
    with pytest.raises(RetryableError, match="CreateTransformJob did not complete"):
        jobs.start(request)


def test_publish_batch_fails_when_sns_refuses_an_entry():
    client, stub = stubbed("sns")
    topic = "arn:aws:sns:us-east-1:123456789012:success"
    stub.add_response(
        "publish_batch",
        {"Successful": [], "Failed": [{"Id": "0", "Code": "InternalError", "SenderFault": False}]},
    )
    stub.add_client_error("publish_batch", "Throttled", "slow down")
    with stub:
        publisher = Publisher(client, success_topic_arn=topic, error_topic_arn=topic)
        with pytest.raises(RetryableError, match="SNS refused 1 of 1 messages: InternalError"):
            publisher.publish_batch([{"inferenceId": "a"}], success=True)
        with pytest.raises(RetryableError, match="publish batch"):
            publisher.publish_batch([{"inferenceId": "a"}], success=False)
        publisher.publish_batch([], success=True)  # nothing to say: no call


def test_missing_roster_is_a_bad_event_and_other_errors_are_retryable():
    client, stub = stubbed("s3")
    stub.add_client_error("get_object", "NoSuchKey", "gone", http_status_code=404)
    stub.add_client_error("get_object", "SlowDown", "slow down", http_status_code=503)
    with stub:
        with pytest.raises(BadEventError, match="does not exist"):
            list(manifest.read_roster(client, "s3://b/results/batch/j/r/requests.txt"))
        with pytest.raises(RetryableError, match="GetObject"):
            list(manifest.read_roster(client, "s3://b/results/batch/j/r/requests.txt"))


def test_put_object_errors_are_retryable():
    client, stub = stubbed("s3")
    stub.add_client_error("put_object", "SlowDown", "slow down", http_status_code=503)
    with stub, pytest.raises(RetryableError, match="PutObject"):
        manifest.put_object(client, "b", "k", b"[]", "application/json")


def test_get_many_asks_again_for_unprocessed_keys(monkeypatch):
    monkeypatch.setattr(tracker_table.time, "sleep", lambda _: None)
    client, stub = stubbed("dynamodb")
    item = {"request_id": {"S": "a"}, "status": {"S": "SCHEDULED"}}
    keys = {"t": {"Keys": [{"request_id": {"S": "b"}}]}}
    stub.add_response("batch_get_item", {"Responses": {"t": [item]}, "UnprocessedKeys": keys})
    stub.add_response("batch_get_item", {"Responses": {"t": [{**item, "request_id": {"S": "b"}}]}})
    with stub:
        found = TrackerTable("t", client).get_many(["a", "b", "a"], ["status"])
    assert sorted(i["request_id"] for i in found) == ["a", "b"]


def test_get_many_gives_up_after_repeated_unprocessed_keys(monkeypatch):
    monkeypatch.setattr(tracker_table.time, "sleep", lambda _: None)
    client, stub = stubbed("dynamodb")
    keys = {"t": {"Keys": [{"request_id": {"S": "a"}}]}}
    for _ in range(tracker_table._UNPROCESSED_ATTEMPTS):
        stub.add_response("batch_get_item", {"Responses": {"t": []}, "UnprocessedKeys": keys})
    with stub, pytest.raises(RetryableError, match="unprocessed"):
        TrackerTable("t", client).get_many(["a"], ["status"])
    with pytest.raises(ValueError, match="at most 100"):
        TrackerTable("t", client).get_many([str(n) for n in range(101)], ["status"])


@pytest.mark.parametrize("call", ["query", "batch_get", "update"])
def test_tracker_batch_calls_translate_throttling(call):
    client, stub = stubbed("dynamodb")
    operation = {"query": "query", "batch_get": "batch_get_item", "update": "update_item"}[call]
    stub.add_client_error(operation, "ProvisionedThroughputExceededException", "slow down")
    table = TrackerTable("t", client)
    with stub, pytest.raises(RetryableError, match="ProvisionedThroughputExceededException"):
        if call == "query":
            list(table.in_status(Status.SCHEDULED, until="2026-11-28T02:00:00.000Z", attributes=["key"]))
        elif call == "batch_get":
            table.get_many(["a"], ["status"])
        else:
            table.apply_job_outcome("a", "sio-x", Status.SUCCEEDED, {})
