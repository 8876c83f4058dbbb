"""A template the local stack cannot play is refused with an error naming the resource and why
(local/aws/resources.py), before any function runs; what it plays without creating (an e-mail
subscription) is listed as not created, with the reason. Resources go to moto in-process."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from moto import mock_aws

from local.aws.resources import Builder, Overrides, ResourceError
from local.aws.template import Template


@pytest.fixture
def aws() -> Iterator[Any]:
    with mock_aws():
        yield lambda service, **_: boto3.client(service, region_name="us-east-1")


def build(tmp_path: Path, client: Any, resources: dict[str, Any]) -> Builder:
    path = tmp_path / "template.yaml"
    path.write_text(yaml.safe_dump({"AWSTemplateFormatVersion": "2010-09-09", "Resources": resources}))
    template = Template.load(stack_name="t", region="us-east-1", parameters={}, path=path)
    builder = Builder(template, client, Overrides())
    builder.create_all()
    return builder


QUEUE = {"Type": "AWS::SQS::Queue"}


@pytest.mark.parametrize(
    ("resources", "message"),
    [
        (
            {"Thing": {"Type": "AWS::Foo::Bar"}, "Other": {"Type": "AWS::Baz::Qux"}},
            "template.yaml has resource types the local stack neither creates nor declares out of scope: "
            "AWS::Baz::Qux, AWS::Foo::Bar (add them to local/aws/resources.py)",
        ),
        (
            {
                "Bucket": {
                    "Type": "AWS::S3::Bucket",
                    "Properties": {
                        "NotificationConfiguration": {
                            "LambdaConfigurations": [
                                {"Event": "s3:ObjectCreated:*", "Function": "arn:aws:lambda:us-east-1:1:function:f"}
                            ]
                        }
                    },
                }
            },
            "Bucket: S3 → Lambda notifications are not supported locally (route them through SQS)",
        ),
        (
            {
                "Queue": QUEUE,
                "Nightly": {
                    "Type": "AWS::Scheduler::Schedule",
                    "Properties": {
                        "ScheduleExpression": "cron(0 2 * * ? *)",
                        "FlexibleTimeWindow": {"Mode": "OFF"},
                        "Target": {"Arn": {"Fn::GetAtt": ["Queue", "Arn"]}, "RoleArn": "arn:aws:iam::1:role/r"},
                    },
                },
            },
            "Nightly: only Lambda targets are run locally (arn:aws:sqs:us-east-1:",
        ),
        (
            {"Board": {"Type": "AWS::CloudWatch::Dashboard", "Properties": {"DashboardBody": "{not json"}}},
            "Board: DashboardBody is not JSON once resolved",
        ),
        (
            {
                "Fn": {
                    "Type": "AWS::Lambda::Function",
                    "Properties": {
                        "Handler": "app.handler",
                        "Runtime": "python3.12",
                        "Role": "arn:aws:iam::1:role/r",
                        "Code": {"S3Bucket": "artifacts", "S3Key": "fn.zip"},
                    },
                }
            },
            "Fn: only local CodeUri paths can run locally",
        ),
    ],
    ids=["unknown types", "s3 to lambda", "schedule target", "dashboard body", "code in s3"],
)
def test_what_the_local_stack_cannot_play_is_named_with_the_resource(aws, tmp_path, resources, message):
    with pytest.raises(ResourceError) as raised:
        build(tmp_path, aws, resources)

    assert message in str(raised.value)


def test_email_subscriptions_are_listed_as_not_created_with_the_reason(aws, tmp_path):
    builder = build(
        tmp_path,
        aws,
        {
            "Topic": {
                "Type": "AWS::SNS::Topic",
                "Properties": {"Subscription": [{"Protocol": "email", "Endpoint": "ops@example.com"}]},
            },
            "Pager": {
                "Type": "AWS::SNS::Subscription",
                "Properties": {"Protocol": "sms", "Endpoint": "+15550100", "TopicArn": {"Ref": "Topic"}},
            },
        },
    )

    assert builder.not_created == {
        "Topic.Subscription.ops@example.com": "email subscription: nothing delivers email offline",
        "Pager": "AWS::SNS::Subscription (sms to +15550100): nothing delivers sms offline; subscribe a queue to "
        "the topic to read its messages",
    }
    topic = builder.info["Topic"]["ref"]
    assert aws("sns").list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"] == []
