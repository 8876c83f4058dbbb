"""The batch modes end to end: a transform job of its own (batch prefix), and the nightly job the
schedule starts. The job's state change reaches the batch-result function through the template's
EventBridge rule; the schedule is run on demand, as EventBridge Scheduler would run it at night."""

from __future__ import annotations

import json

import pytest

from local.observe import wait_for
from local.stack import LocalStack
from tests.e2e.flow import WAIT, Flow, csv_rows

PRODUCT = "sagemaker-inference-orchestrator"


@pytest.fixture
def batch(stack: LocalStack) -> LocalStack:
    assert stack.state.rule_targets, "template.yaml has no EventBridge rule with a Lambda target"
    return stack


@pytest.fixture
def nightly(batch: LocalStack) -> LocalStack:
    assert batch.state.schedules, "template.yaml has no schedule"
    return batch


def test_a_file_under_the_batch_prefix_gets_a_transform_job_of_its_own(flow: Flow, batch: LocalStack) -> None:
    # Given a file under the batch prefix
    key = flow.put("big.csv", csv_rows(40), under="batch/")

    # When it flows through the stack
    item = flow.wait_status(key, timeout=WAIT)

    # Then one transform job scored it, and its output is <S3OutputPath>/<key>.out
    assert item["status"] == "SUCCEEDED"
    assert item["mode"] == "batch"
    assert item["output_location"].endswith(f"/{key}.out")
    assert len(flow.object(item["output_location"]).splitlines()) == 40
    # (the job may finish before the router confirms it: the item then names no job; the job names the request)
    jobs = [run for run in flow.history(operation="TransformJob") if run["job"].endswith(item["request_id"])]
    assert [job["status"] for job in jobs] == ["Completed"]
    assert item.get("job_name") in (None, jobs[0]["job"])
    # and the product announced the result in the one message shape, on the success topic
    received = flow.messages(item["request_id"])
    assert [
        (r.topic, r.message["invocationStatus"], r.message["eventSource"], r.message["mode"]) for r in received
    ] == [("SuccessTopic", "Completed", PRODUCT, "batch")]
    assert received[0].message["responseParameters"]["outputLocation"] == item["output_location"]


def test_a_transform_job_failing_on_its_object_fails_the_file(flow: Flow, batch: LocalStack) -> None:
    key = flow.put("bad.csv", "1,2,3\n4,five,6\n", under="batch/")

    item = flow.wait_status(key, timeout=WAIT)

    assert item["status"] == "FAILED"
    assert item["mode"] == "batch"
    assert item["failure_reason"].startswith("ClientError:")
    # (the job may fail before the router confirms it: then the item has no output location at all)
    outputs = flow.s3.list_objects_v2(Bucket=flow.stack.bucket, Prefix="results/batch/").get("Contents", [])
    assert not [o for o in outputs if o["Key"].endswith(f"/{key}.out")]
    [job] = [run for run in flow.history(operation="TransformJob") if run["job"].endswith(item["request_id"])]
    assert job["status"] == "Failed"
    received = flow.messages(item["request_id"])
    assert [(r.topic, r.message["invocationStatus"], r.message["eventSource"]) for r in received] == [
        ("ErrorTopic", "Failed", PRODUCT)
    ]


def test_nightly_files_wait_for_the_schedule_then_share_one_job(flow: Flow, nightly: LocalStack) -> None:
    # Given two files under the nightly prefix, waiting
    keys = [flow.put(f"store-{n}.csv", csv_rows(5 + n), under="nightly/") for n in range(2)]
    for key in keys:
        assert flow.wait_status(key, "SCHEDULED")["mode"] == "nightly"
    assert not [k for k in keys if flow.item(k).get("job_name")]

    # When the nightly schedule runs (the job held until the function has marked its files, as a real
    # job's minutes of start-up guarantee: the stand-in's would otherwise finish while it is marking)
    nightly.standin("/_local/transform/pause", {})
    try:
        assert nightly.fire_schedule("NightlyFunction")
    finally:
        nightly.standin("/_local/transform/resume", {})

    # Then one job scored both files, each announced once on the success topic
    items = [flow.wait_status(key, timeout=WAIT) for key in keys]
    assert [i["status"] for i in items] == ["SUCCEEDED", "SUCCEEDED"]
    assert len({i["job_name"] for i in items}) == 1
    for n, item in enumerate(items):
        assert len(flow.object(item["output_location"]).splitlines()) == 5 + n
        received = flow.messages(item["request_id"])
        assert [(r.topic, r.message["eventSource"], r.message["mode"]) for r in received] == [
            ("SuccessTopic", PRODUCT, "nightly")
        ]


def test_an_event_the_batch_result_function_cannot_handle_ends_at_its_on_failure_destination(
    flow: Flow, batch: LocalStack
) -> None:
    # Given a state change the function rejects (a time that is neither ISO-8601 nor epoch ms)
    [target] = batch.state.rule_targets
    spec = batch.state.functions[target.function]
    assert spec.on_failure_arn, "the function has no on-failure destination (EventInvokeConfig)"
    job = f"sio-unreadable-{flow.tag}"
    detail = {"TransformJobName": job, "TransformJobStatus": "Completed", "CreationTime": "yesterday"}

    # When EventBridge delivers it (an asynchronous invocation: Lambda retries it, then gives up)
    batch.client("events").put_events(
        Entries=[
            {
                "Source": "aws.sagemaker",
                "DetailType": "SageMaker Transform Job State Change",
                "Detail": json.dumps(detail),
                "Resources": [f"arn:aws:sagemaker:us-east-1:123456789012:transform-job/{job}"],
            }
        ]
    )

    # Then the on-failure destination holds Lambda's record of it, after 1 + MaximumRetryAttempts tries
    url = flow.sqs.get_queue_url(QueueName=spec.on_failure_arn.rsplit(":", 1)[1])["QueueUrl"]

    def record() -> dict | None:
        for message in flow.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get(
            "Messages", []
        ):
            body = json.loads(message["Body"])
            if body.get("requestPayload", {}).get("detail", {}).get("TransformJobName") == job:
                flow.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
                return body
        return None

    failure = wait_for(record, WAIT, what="on-failure record")
    assert failure["requestContext"]["condition"] == "RetriesExhausted"
    assert failure["requestContext"]["approximateInvokeCount"] == 1 + spec.max_retry_attempts
    assert failure["requestPayload"]["account"] == batch.state.account_id


def test_a_hand_off_reaches_the_batch_result_function_through_its_rule_and_is_checked_with_sagemaker(
    flow: Flow, batch: LocalStack
) -> None:
    """The product's hand-off of a night (orchestrator/aws/handoff.py), put on the bus as the sweeper and
    the batch-result function put it, matches the template's rule and reaches the function, which asks
    SageMaker (here the stand-in) for the job: a night that never ran is refused, so the asynchronous
    invocation ends at the on-failure destination saying so."""
    from orchestrator.aws.handoff import SOURCE, JobHandOff

    [target] = batch.state.rule_targets
    spec = batch.state.functions[target.function]
    job = "sio-nightly-2099-01-01"

    JobHandOff(batch.client("events")).request(job, "Failed", requested_by=flow.tag)

    url = flow.sqs.get_queue_url(QueueName=(spec.on_failure_arn or "").rsplit(":", 1)[1])["QueueUrl"]

    def record() -> dict | None:
        for message in flow.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get(
            "Messages", []
        ):
            body = json.loads(message["Body"])
            if body.get("requestPayload", {}).get("detail", {}).get("requestedBy") == flow.tag:
                flow.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
                return body
        return None

    failure = wait_for(record, WAIT, what="on-failure record of the hand-off")
    assert failure["requestPayload"]["source"] == SOURCE
    assert failure["requestPayload"]["detail"]["TransformJobName"] == job
    assert f"transform job {job} of a hand-off does not exist" in failure["responsePayload"]["errorMessage"]
