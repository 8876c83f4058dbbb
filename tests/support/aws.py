"""The AWS side of the stack, created in moto with the names and schema of the README."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from typing import Any

import boto3
from orchestrator.aws import tracker_reads

REGION = "us-east-1"
ACCOUNT = "123456789012"
# The bucket the events/ samples name.
INPUT_BUCKET = f"sagemaker-inference-orchestrator-input-{ACCOUNT}-{REGION}"
ENDPOINT_NAME = "demo-async-endpoint"


@dataclass(frozen=True)
class Stack:
    table: str
    bucket: str
    success_topic_arn: str
    error_topic_arn: str
    tracker_queue_url: str
    # A user's subscriptions: one queue per topic, so a test can tell which topic a message was on.
    success_watch_url: str
    error_watch_url: str

    def router_env(self) -> dict[str, str]:
        return {
            "TRACKER_TABLE": self.table,
            "SUCCESS_TOPIC_ARN": self.success_topic_arn,
            "ERROR_TOPIC_ARN": self.error_topic_arn,
            "ASYNC_ENDPOINT_NAME": ENDPOINT_NAME,
            "INPUT_BUCKET": self.bucket,  # template.yaml's Globals give it to every function
        }


@functools.cache
def tracker_table_properties() -> dict[str, Any]:
    """The tracker table as template.yaml declares it (its keys, indexes and TTL are plain values)."""
    from local.aws.template import load_yaml

    properties: dict[str, Any] = load_yaml()["Resources"]["TrackerTable"]["Properties"]
    return properties


def create_tracker_table(dynamodb: Any, name: str) -> None:
    """The template's tracker table: key ``request_id``, its GSIs (``ByObject``, ``InFlight``,
    ``ByOutcome``) and TTL, on demand."""
    properties = tracker_table_properties()
    dynamodb.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=properties["AttributeDefinitions"],
        KeySchema=properties["KeySchema"],
        GlobalSecondaryIndexes=properties["GlobalSecondaryIndexes"],
    )
    ttl = properties["TimeToLiveSpecification"]
    dynamodb.update_time_to_live(
        TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl["AttributeName"]}
    )


@functools.cache
def tracker_subscription_attributes(topic: str) -> dict[str, str]:
    """The tracker queue's subscription to ``topic`` (``SuccessTopic``, ``ErrorTopic``) as template.yaml
    declares it: raw delivery, and the filter that keeps the product's own successes out."""
    from local.aws.template import load_yaml

    properties = load_yaml()["Resources"][f"{topic}TrackerSubscription"]["Properties"]
    attributes = {"RawMessageDelivery": str(properties["RawMessageDelivery"]).lower()}
    if "FilterPolicy" in properties:
        attributes["FilterPolicyScope"] = properties["FilterPolicyScope"]
        attributes["FilterPolicy"] = json.dumps(properties["FilterPolicy"])
    return attributes


def subscribe_queue(sns: Any, sqs: Any, name: str, subscriptions: dict[str, dict[str, str]]) -> str:
    """A queue subscribed to each topic ARN of ``subscriptions`` with that subscription's attributes."""
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    for topic_arn, attributes in subscriptions.items():
        sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=arn, Attributes=attributes)
    return url


RAW = {"RawMessageDelivery": "true"}  # a user's subscription


def create_stack(session: boto3.Session) -> Stack:
    dynamodb, sns, sqs, s3 = (session.client(name) for name in ("dynamodb", "sns", "sqs", "s3"))
    table = "sagemaker-inference-orchestrator-TrackerTable"
    create_tracker_table(dynamodb, table)
    success = sns.create_topic(Name="sagemaker-inference-orchestrator-SuccessTopic")["TopicArn"]
    error = sns.create_topic(Name="sagemaker-inference-orchestrator-ErrorTopic")["TopicArn"]
    s3.create_bucket(Bucket=INPUT_BUCKET)
    s3.put_bucket_versioning(Bucket=INPUT_BUCKET, VersioningConfiguration={"Status": "Enabled"})
    return Stack(
        table=table,
        bucket=INPUT_BUCKET,
        success_topic_arn=success,
        error_topic_arn=error,
        tracker_queue_url=subscribe_queue(
            sns,
            sqs,
            "sagemaker-inference-orchestrator-TrackerQueue",
            {  # as the template wires it
                success: tracker_subscription_attributes("SuccessTopic"),
                error: tracker_subscription_attributes("ErrorTopic"),
            },
        ),
        success_watch_url=subscribe_queue(sns, sqs, "user-success-subscription", {success: RAW}),
        error_watch_url=subscribe_queue(sns, sqs, "user-error-subscription", {error: RAW}),
    )


def drain(sqs: Any, queue_url: str) -> list[dict[str, Any]]:
    """Receive (and delete) every message waiting in a queue."""
    messages: list[dict[str, Any]] = []
    while batch := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", []):
        messages.extend(batch)
        sqs.delete_message_batch(
            QueueUrl=queue_url,
            Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)],
        )
    return messages


def bodies(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [json.loads(m["Body"]) for m in messages]


def get_item(dynamodb: Any, table: str, request_id: str) -> dict[str, Any] | None:
    return tracker_reads.get_item(dynamodb, table, request_id)


def all_items(dynamodb: Any, table: str) -> list[dict[str, Any]]:
    return list(tracker_reads.scan_items(dynamodb, table))
