"""The SageMaker stand-in keeps to the real contracts: the documented message and event formats
(checked field by field against the samples in events/), transform job semantics, error codes."""

from __future__ import annotations

import json
import re
import time
import urllib.error
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from local.aws.resources import EVENT_ENVELOPE_TRANSFORMER
from local.observe import wait_for
from local.stack import LocalStack
from tests.e2e.flow import WAIT, Flow, csv_rows

EVENTS = Path(__file__).resolve().parents[2] / "events"
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?Z$")


def sample(name: str) -> dict[str, Any]:
    document = json.loads((EVENTS / name).read_text())
    return json.loads(document["Records"][0]["body"]) if "Records" in document else document


def shape(value: Any) -> Any:
    """What a value looks like, field by field: keys in order, and the kind of every leaf."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(item) for item in value[:1]]
    if isinstance(value, bool) or value is None:
        return repr(value)
    if isinstance(value, int) and value > 10**12:
        return "timestamp"  # epoch milliseconds, as some events carry them
    if isinstance(value, int | float):
        return "number"
    if ISO.match(value):
        return "timestamp"
    for kind, pattern in (("s3-uri", r"^s3://"), ("arn", r"^arn:aws:"), ("uuid-like", r"^[0-9a-f-]{32,36}$")):
        if re.match(pattern, value):
            return kind
    return "text"


def assert_same_shape(actual: dict[str, Any], documented: dict[str, Any]) -> None:
    assert list(actual) == list(documented), f"fields differ: {list(actual)} != {list(documented)}"
    assert shape(actual) == shape(documented)


# ---------------------------------------------------------------- async notifications (docs/architecture.md §7.2)


@pytest.mark.parametrize(
    ("sample_file", "body", "status"),
    [
        ("sns-async-success.json", csv_rows(3), "SUCCEEDED"),
        ("sns-async-error.json", "1,x\n", "FAILED"),
    ],
    ids=["success", "error"],
)
def test_async_notifications_have_the_documented_format(flow: Flow, sample_file: str, body: str, status: str) -> None:
    key = flow.put(f"format-{status.lower()}.csv", body)
    item = flow.wait_status(key, status)
    message = flow.messages(item["request_id"])[0].message
    documented = sample(sample_file)

    assert_same_shape(message, documented)
    for constant in ("eventVersion", "eventSource", "eventName", "invocationStatus"):
        assert message[constant] == documented[constant]
    assert message["awsRegion"] == flow.stack.config.region
    assert message["inferenceId"] == item["request_id"]


def test_an_expired_notification_has_the_documented_format(flow: Flow) -> None:
    endpoint = flow.stack.state.parameters["AsyncEndpointName"]
    flow.stack.standin(f"/_local/endpoints/{endpoint}/pause", {})
    try:
        key = flow.put("format-expired.csv", csv_rows(1))
        flow.wait_status(key, "SUBMITTED")
        flow.stack.standin(f"/_local/endpoints/{endpoint}/age", {"seconds": 10**6})
        item = flow.wait_status(key, "EXPIRED")
    finally:
        flow.stack.standin(f"/_local/endpoints/{endpoint}/resume", {})
    message = flow.messages(item["request_id"])[0].message

    assert_same_shape(message, sample("sns-async-expired.json"))


def test_the_fault_switch_loses_the_next_matching_notification_only(flow: Flow) -> None:
    endpoint = flow.stack.state.parameters["AsyncEndpointName"]
    # Given a switch that loses the next Expired notification (and a rule it refuses)
    with pytest.raises(urllib.error.HTTPError) as refused:
        flow.stack.standin("/_local/notifications/drop", {"status": "Lost"})
    assert refused.value.code == 400
    flow.stack.standin("/_local/notifications/drop", {"status": "Expired", "count": 1})
    expiry_rule = {"count": 1, "status": "Expired"}
    assert expiry_rule in flow.stack.standin("/_local/notifications/drop")

    # When a request expires in the endpoint's queue
    flow.stack.standin(f"/_local/endpoints/{endpoint}/pause", {})
    try:
        key = flow.put("lost-expiry.csv", csv_rows(1))
        item = flow.wait_status(key, "SUBMITTED")
        flow.stack.standin(f"/_local/endpoints/{endpoint}/age", {"seconds": 10**6})
        [run] = wait_for(lambda: flow.history(item["request_id"]), WAIT, what="the expiry")
    finally:
        flow.stack.standin(f"/_local/endpoints/{endpoint}/resume", {})

    # Then its notification was not published (the switch is used up); the request waits for the sweeper
    assert (run["status"], run["dropped"]) == ("Expired", True)
    assert expiry_rule not in flow.stack.standin("/_local/notifications/drop")
    time.sleep(1.0)
    assert flow.subscriber.messages(item["request_id"]) == []
    assert flow.item(key)["status"] == "SUBMITTED"


def test_invoke_endpoint_async_answers_like_sagemaker(flow: Flow) -> None:
    stack = flow.stack
    runtime = stack.client("sagemaker-runtime")
    endpoint = stack.state.parameters["AsyncEndpointName"]
    # A request for a file already scored: its notification is a duplicate the tracker ignores.
    key = flow.put("wire.csv", csv_rows(1))
    item = flow.wait_status(key, "SUCCEEDED")

    response = runtime.invoke_endpoint_async(
        EndpointName=endpoint, InputLocation=item["object_uri"], InferenceId=item["request_id"], ContentType="text/csv"
    )

    assert response["ResponseMetadata"]["HTTPStatusCode"] == 202
    assert response["InferenceId"] == item["request_id"]
    config = stack.state.standin_config["endpoints"][endpoint]
    assert response["OutputLocation"].startswith(config["output_path"])
    assert response["OutputLocation"].endswith(".out")
    assert response["FailureLocation"].startswith(config["failure_path"])
    assert response["FailureLocation"].endswith("-error.out")


def test_invoke_endpoint_async_rejects_bad_requests_with_validation_error(stack: LocalStack) -> None:
    # Server-side checks: the client's own parameter validation is off, as another SDK's might be.
    runtime = stack.client("sagemaker-runtime-unvalidated")
    endpoint = stack.state.parameters["AsyncEndpointName"]
    location = f"s3://{stack.bucket}/x.csv"
    for request in (
        {"EndpointName": "no-such-endpoint", "InputLocation": location},
        {"EndpointName": endpoint, "InputLocation": location, "RequestTTLSeconds": 30},
        {"EndpointName": endpoint, "InputLocation": location, "InvocationTimeoutSeconds": 3601},
        {"EndpointName": endpoint, "InputLocation": location, "InferenceId": "x" * 65},
        {"EndpointName": endpoint, "InputLocation": "not-an-s3-uri"},
    ):
        with pytest.raises(ClientError) as rejected:
            runtime.invoke_endpoint_async(**request)
        assert rejected.value.response["Error"]["Code"] == "ValidationError", request
        assert rejected.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_invoke_endpoint_answers_with_the_model_or_a_model_error(stack: LocalStack) -> None:
    runtime = stack.client("sagemaker-runtime")
    endpoint = stack.state.parameters["AsyncEndpointName"]
    scored = runtime.invoke_endpoint(EndpointName=endpoint, Body=b"1,2\n3,4\n", ContentType="text/csv")
    assert len(scored["Body"].read().splitlines()) == 2
    assert scored["ContentType"].startswith("text/csv")

    with pytest.raises(ClientError) as error:
        runtime.invoke_endpoint(EndpointName=endpoint, Body=b"1,x\n", ContentType="text/csv")
    assert error.value.response["Error"]["Code"] == "ModelError"
    assert dict(error.value.response)["OriginalStatusCode"] == 400


# ---------------------------------------------------------------- transform jobs (docs/architecture.md §7.3)


@pytest.fixture
def captured_events(stack: LocalStack, flow: Flow) -> Iterator[Any]:
    """A rule of the test's own sending the stand-in's state-change events to a queue."""
    events, sqs = stack.client("events"), stack.client("sqs")
    name = f"capture-{flow.tag}"[:64]
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(
        Name=name,
        EventPattern=json.dumps({"source": ["aws.sagemaker"], "detail-type": ["SageMaker Transform Job State Change"]}),
    )
    events.put_targets(Rule=name, Targets=[{"Id": "queue", "Arn": arn, "InputTransformer": EVENT_ENVELOPE_TRANSFORMER}])
    seen: list[dict[str, Any]] = []

    def for_job(job: str, status: str, timeout: float = WAIT) -> dict[str, Any]:
        def find() -> dict[str, Any] | None:
            for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get(
                "Messages", []
            ):
                seen.append(json.loads(message["Body"]))
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            return next(
                (
                    e
                    for e in seen
                    if e["detail"]["TransformJobName"] == job and e["detail"]["TransformJobStatus"] == status
                ),
                None,
            )

        return wait_for(find, timeout, what=f"{job} {status} event")

    yield for_job
    events.remove_targets(Rule=name, Ids=["queue"])
    events.delete_rule(Name=name)
    sqs.delete_queue(QueueUrl=url)


def job_request(flow: Flow, name: str, manifest_uri: str) -> dict[str, Any]:
    """A request shaped as the product's (docs/architecture.md §7.4): a manifest, split by line."""
    return {
        "TransformJobName": name,
        "ModelName": "demo-model",
        "TransformInput": {
            "DataSource": {"S3DataSource": {"S3DataType": "ManifestFile", "S3Uri": manifest_uri}},
            "ContentType": "text/csv",
            "CompressionType": "None",
            "SplitType": "Line",
        },
        "TransformOutput": {
            "S3OutputPath": f"s3://{flow.stack.bucket}/results/e2e/{flow.tag}/output",
            "AssembleWith": "Line",
        },
        "TransformResources": {"InstanceType": "ml.m5.large", "InstanceCount": 1},
    }


def put_manifest(flow: Flow, files: dict[str, str]) -> str:
    base = f"results/e2e/{flow.tag}/in/"
    for relative, body in files.items():
        flow.s3.put_object(Bucket=flow.stack.bucket, Key=base + relative, Body=body.encode())
    manifest = [{"prefix": f"s3://{flow.stack.bucket}/{base}"}, *files]
    key = f"results/e2e/{flow.tag}/manifest.json"
    flow.s3.put_object(Bucket=flow.stack.bucket, Key=key, Body=json.dumps(manifest).encode())
    return f"s3://{flow.stack.bucket}/{key}"


def test_a_transform_job_writes_one_output_per_object_and_announces_each_state(
    flow: Flow, captured_events: Any
) -> None:
    sagemaker = flow.stack.client("sagemaker")
    manifest = put_manifest(flow, {"a.csv": csv_rows(3), "day/b.csv": csv_rows(5)})
    name = f"e2e-{flow.tag}"[:63]

    sagemaker.create_transform_job(**job_request(flow, name, manifest))

    started, completed = captured_events(name, "InProgress"), captured_events(name, "Completed")
    assert_same_shape(started, sample("transform-state-inprogress.json"))
    assert_same_shape(completed, sample("transform-state-completed.json"))
    assert completed["source"] == "aws.sagemaker"
    assert completed["resources"] == [completed["detail"]["TransformJobArn"]]
    output = f"s3://{flow.stack.bucket}/results/e2e/{flow.tag}/output"
    assert len(flow.object(f"{output}/a.csv.out").splitlines()) == 3
    assert len(flow.object(f"{output}/day/b.csv.out").splitlines()) == 5
    described = sagemaker.describe_transform_job(TransformJobName=name)
    assert described["TransformJobStatus"] == "Completed"
    assert described["TransformEndTime"] >= described["TransformStartTime"] >= described["CreationTime"]

    with pytest.raises(ClientError) as again:
        sagemaker.create_transform_job(**job_request(flow, name, manifest))
    assert again.value.response["Error"]["Code"] == "ResourceInUse"


def test_a_transform_job_fails_when_one_object_fails(flow: Flow, captured_events: Any) -> None:
    sagemaker = flow.stack.client("sagemaker")
    manifest = put_manifest(flow, {"good.csv": csv_rows(2), "bad.csv": "1,2\nnot,numbers\n", "fine.csv": csv_rows(1)})
    name = f"e2e-{flow.tag}"[:63]

    sagemaker.create_transform_job(**job_request(flow, name, manifest))

    failed = captured_events(name, "Failed")
    assert_same_shape(failed, sample("transform-state-failed.json"))
    assert failed["detail"]["FailureReason"].startswith("ClientError:")
    assert "bad.csv" in failed["detail"]["FailureReason"]
    output = f"s3://{flow.stack.bucket}/results/e2e/{flow.tag}/output"
    assert flow.exists(f"{output}/good.csv.out")
    assert flow.exists(f"{output}/fine.csv.out")
    assert not flow.exists(f"{output}/bad.csv.out")


def test_a_stopped_transform_job_announces_stopped(flow: Flow, captured_events: Any, model: LocalStack) -> None:
    # 6 s of work at least: the stop arrives while the job runs, even on a slow machine
    flow.stack.model("/_local/faults", {"delay": 1.0})
    sagemaker = flow.stack.client("sagemaker")
    manifest = put_manifest(flow, {f"part-{n}.csv": csv_rows(1) for n in range(6)})
    name = f"e2e-{flow.tag}"[:63]
    sagemaker.create_transform_job(**job_request(flow, name, manifest))
    time.sleep(0.3)

    sagemaker.stop_transform_job(TransformJobName=name)

    stopped = captured_events(name, "Stopped")
    assert_same_shape(stopped, sample("transform-state-stopped.json"))


def test_transform_job_validation_uses_the_services_codes(flow: Flow) -> None:
    sagemaker = flow.stack.client("sagemaker")
    request = job_request(flow, "bad_name", f"s3://{flow.stack.bucket}/results/e2e/{flow.tag}/missing.json")
    with pytest.raises(ClientError) as bad_name:
        sagemaker.create_transform_job(**request)
    assert bad_name.value.response["Error"]["Code"] == "ValidationException"

    request = job_request(flow, f"e2e-{flow.tag}"[:63], "s3://x")
    request["TransformInput"]["DataSource"]["S3DataSource"] = {
        "S3DataType": "S3Prefix",
        "S3Uri": f"s3://{flow.stack.bucket}/results/e2e/{flow.tag}/empty/",
    }
    with pytest.raises(ClientError) as no_input:
        sagemaker.create_transform_job(**request)
    assert no_input.value.response["Error"]["Code"] == "ValidationException"
    assert "No S3 objects found" in no_input.value.response["Error"]["Message"]

    with pytest.raises(ClientError) as missing:
        sagemaker.describe_transform_job(TransformJobName=f"never-{flow.tag}")
    assert missing.value.response["Error"]["Code"] == "ValidationException"


def test_an_s3_prefix_input_keeps_relative_paths_in_the_output(flow: Flow) -> None:
    sagemaker = flow.stack.client("sagemaker")
    base = f"results/e2e/{flow.tag}/prefix/"
    for relative in ("x.csv", "sub/y.csv"):
        flow.s3.put_object(Bucket=flow.stack.bucket, Key=base + relative, Body=csv_rows(2).encode())
    request = job_request(flow, f"e2e-{flow.tag}"[:63], "s3://x")
    request["TransformInput"]["DataSource"]["S3DataSource"] = {
        "S3DataType": "S3Prefix",
        "S3Uri": f"s3://{flow.stack.bucket}/{base}",
    }
    sagemaker.create_transform_job(**request)

    wait_for(
        lambda: (
            sagemaker.describe_transform_job(TransformJobName=request["TransformJobName"])["TransformJobStatus"]
            == "Completed"
        ),
        WAIT,
    )
    output = request["TransformOutput"]["S3OutputPath"]
    assert flow.exists(f"{output}/x.csv.out")
    assert flow.exists(f"{output}/sub/y.csv.out")
