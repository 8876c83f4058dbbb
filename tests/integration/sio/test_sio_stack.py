"""`sio --stack NAME`: the stack's outputs from CloudFormation (moto), and the errors a user meets.

The CLI runs in-process (click's runner) inside ``mock_aws``; each error must say what is wrong in
one line, exit 2, and come back as JSON with ``--output json``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from click.testing import CliRunner, Result
from moto import mock_aws
from sio.cli import cli

TEMPLATE = {
    "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
    "Parameters": {"NightlyPrefix": {"Type": "String", "Default": "incoming/nightly/"}},
    "Outputs": {
        "InputBucketName": {"Value": "the-bucket"},
        "InputPrefix": {"Value": "incoming/"},
        "TrackerTableName": {"Value": "the-table"},
        "SuccessTopicArn": {"Value": {"Ref": "Topic"}},
    },
}


@pytest.fixture
def cloudformation() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("cloudformation", region_name="us-east-1")
        client.create_stack(
            StackName="orchestrator",
            TemplateBody=json.dumps(TEMPLATE),
            Parameters=[{"ParameterKey": "NightlyPrefix", "ParameterValue": "incoming/later/"}],
        )
        yield client


def sio(*args: str) -> Result:
    return CliRunner(mix_stderr=False).invoke(cli, list(args))


def test_outputs_and_parameters_come_from_describe_stacks(cloudformation: Any) -> None:
    # When the stack is resolved by name / Then its outputs and parameters are what sio uses
    result = sio("--stack", "orchestrator", "--region", "us-east-1", "stack", "-o", "json")
    assert result.exit_code == 0, result.stderr
    stack = json.loads(result.stdout)
    assert stack["source"] == "cloudformation"
    assert stack["outputs"]["InputBucketName"] == "the-bucket"
    assert stack["outputs"]["SuccessTopicArn"].startswith("arn:aws:sns:us-east-1:")
    assert stack["parameters"]["NightlyPrefix"] == "incoming/later/"


def test_no_such_stack(cloudformation: Any) -> None:
    result = sio("--stack", "nope", "--region", "us-east-1", "-o", "json", "status", "a.csv")
    assert result.exit_code == 2
    assert "no stack named 'nope' in us-east-1" in json.loads(result.stdout)["error"]
    assert result.stderr.startswith("sio: error: no stack named 'nope'")


def test_stack_not_complete(cloudformation: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given CloudFormation reporting the stack mid-rollback (a botocore hook on the parsed answer)
    session = boto3.Session(region_name="us-east-1")

    def rolling_back(parsed: dict[str, Any], **_: Any) -> None:
        parsed["Stacks"][0]["StackStatus"] = "ROLLBACK_IN_PROGRESS"
        parsed["Stacks"][0]["StackStatusReason"] = "a resource failed"

    session.events.register("after-call.cloudformation.DescribeStacks", rolling_back)
    monkeypatch.setattr(boto3, "Session", lambda **kwargs: session)
    # When sio resolves it / Then it refuses, naming the status
    result = sio("--stack", "orchestrator", "--region", "us-east-1", "-o", "json", "status", "a.csv")
    assert result.exit_code == 2
    error = json.loads(result.stdout)
    assert "is ROLLBACK_IN_PROGRESS, not complete" in error["error"]
    assert error["details"]["reason"] == "a resource failed"


def test_a_missing_output_is_named(cloudformation: Any) -> None:
    # The test stack has no RouterDeadLetterQueueUrl: redrive says which output it needs
    result = sio("--stack", "orchestrator", "--region", "us-east-1", "redrive", "router")
    assert result.exit_code == 2
    assert "no router dead-letter queue (output RouterDeadLetterQueueUrl)" in result.stderr


def test_no_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    # Given no credentials anywhere (environment, files, instance metadata)
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    # When sio looks the stack up / Then it says so, and how to fix it
    result = sio("--stack", "orchestrator", "--region", "us-east-1", "status", "a.csv")
    assert result.exit_code == 2
    assert "no AWS credentials found" in result.stderr
