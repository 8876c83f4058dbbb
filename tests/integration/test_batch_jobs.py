"""Per-file batch transform: the router starts one job per file, the batch-result function records and
announces its end. moto plays S3, DynamoDB, SNS and SQS; SageMaker is the stand-in of
``tests/support/sagemaker.py`` (moto accepts duplicate job names and emits no state changes)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

from tests.support.environment import set_variables
from tests.support.events import load_event, s3_put_record, sqs_event
from tests.support.hooks import SimulatedCrash
from tests.support.lambda_runtime import failed_ids, invoker
from tests.support.sagemaker import SageMakerStandIn, transform_jobs
from tests.support.transform import read_manifest

BIG_KEY = "incoming/exports/2026-11-28-full.csv"
# events/s3-put-over-1gb.json names this request; its state-change samples name its job.
BIG_REQUEST = "1c54b662b65b18b120a299c6bbf58f8e"
BIG_JOB = f"sio-{BIG_REQUEST}"

pytestmark = pytest.mark.usefixtures("batch_configured")


@pytest.fixture
def transform(interceptor) -> SageMakerStandIn:
    return transform_jobs().attach(interceptor)


@pytest.fixture
def finish(stack, transform, calls, clock, sagemaker) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """One invocation of the batch-result function with a state-change event."""
    return invoker("batch_result")


@pytest.fixture
def s3(aws) -> Any:
    return aws.client("s3")


def big_file() -> dict[str, Any]:
    return load_event("s3-put-over-1gb")


# ---------------------------------------------------------------- the router starts one job per file


def test_file_over_the_async_limit_gets_a_transform_job_of_its_own(route, transform, item, calls, s3, stack):
    """Given a 2 GiB file, When the router runs, Then one job named from the request id reads a manifest
    naming exactly that object, and the item is SUBMITTED with the job name and its output location."""
    response = route(big_file())

    assert failed_ids(response) == []
    [job] = transform.jobs.values()
    assert job.name == BIG_JOB
    assert read_manifest(s3, job.manifest_uri) == [{"prefix": f"s3://{stack.bucket}/"}, BIG_KEY]
    assert job.request["TransformInput"]["DataSource"]["S3DataSource"]["S3DataType"] == "ManifestFile"
    assert job.request["TransformInput"]["ContentType"] == "text/csv"
    assert job.output_path == f"s3://{stack.bucket}/results/batch/{BIG_JOB}/output"
    record = item(BIG_REQUEST)
    assert (record["status"], record["mode"], record["job_name"]) == ("SUBMITTED", "batch", BIG_JOB)
    assert record["output_location"] == f"{job.output_path}/{BIG_KEY}.out"
    assert "over the async limit" in record["route_reason"]
    assert calls.calls == ["dynamodb.PutItem", "s3.PutObject", "sagemaker.CreateTransformJob", "dynamodb.UpdateItem"]


def test_job_carries_the_configured_transform_options(route, transform, monkeypatch):
    options = {
        "TRANSFORM_INSTANCE_TYPE": "ml.c5.xlarge",
        "TRANSFORM_INSTANCE_COUNT": "2",
        "TRANSFORM_MAX_PAYLOAD_MB": "20",
        "TRANSFORM_MAX_CONCURRENT_TRANSFORMS": "4",
        "TRANSFORM_BATCH_STRATEGY": "MultiRecord",
        "TRANSFORM_ACCEPT": "text/csv",
        "TRANSFORM_JOIN_SOURCE": "Input",
        "TRANSFORM_OUTPUT_FILTER": "$[-1]",
    }
    set_variables(monkeypatch, options)
    route(big_file())

    [job] = transform.jobs.values()
    request = job.request
    assert request["ModelName"] == "demo-model"
    assert request["TransformResources"] == {"InstanceType": "ml.c5.xlarge", "InstanceCount": 2}
    assert (request["MaxPayloadInMB"], request["MaxConcurrentTransforms"]) == (20, 4)
    assert request["BatchStrategy"] == "MultiRecord"
    assert request["TransformInput"]["SplitType"] == "Line"
    assert request["TransformOutput"] == {"S3OutputPath": job.output_path, "AssembleWith": "Line", "Accept": "text/csv"}
    assert request["DataProcessing"] == {"JoinSource": "Input", "OutputFilter": "$[-1]"}


def test_small_file_under_the_batch_prefix_gets_a_job_too(route, upload, transform, item_for_key):
    route(sqs_event(upload("incoming/batch/week-48.csv")))

    item = item_for_key("incoming/batch/week-48.csv")
    [job] = transform.jobs.values()
    assert (item["status"], item["mode"], item["job_name"]) == ("SUBMITTED", "batch", job.name)
    assert "batch prefix" in item["route_reason"]


def test_redelivered_notification_stops_at_the_claim(route, transform, calls):
    route(big_file())
    calls.reset()
    route(big_file())

    assert len(transform.jobs) == 1
    assert calls.calls == ["dynamodb.PutItem"]


def test_retry_after_a_crash_between_start_and_confirm_confirms_the_running_job(
    route, transform, interceptor, clock, item, calls
):
    """Given the router died after CreateTransformJob, When the retry takes over the expired claim,
    Then ResourceInUse → DescribeTransformJob → SUBMITTED: one job, never FAILED."""
    interceptor.fail("dynamodb.UpdateItem", raises=SimulatedCrash(), times=1)
    with pytest.raises(SimulatedCrash):
        route(big_file())
    clock.advance(151)  # past CLAIM_TIMEOUT_SECONDS (150)
    calls.reset()
    response = route(big_file())

    assert failed_ids(response) == []
    assert len(transform.jobs) == 1
    assert transform.create_attempts == 2
    assert (item(BIG_REQUEST)["status"], item(BIG_REQUEST)["job_name"]) == ("SUBMITTED", BIG_JOB)
    assert calls.calls == [
        "dynamodb.PutItem",
        "s3.PutObject",
        "sagemaker.CreateTransformJob",
        "sagemaker.DescribeTransformJob",
        "dynamodb.UpdateItem",
    ]


@pytest.mark.parametrize(("code", "status"), [("ThrottlingException", 400), ("ResourceLimitExceeded", 400)])
def test_throttling_and_resource_limits_send_the_record_back_to_the_queue(
    route, transform, interceptor, item, published, clock, code, status
):
    """Given SageMaker throttles or the account's job quota is full, Then the record fails (back to the
    queue), nothing is announced, and the redelivery starts the job once the claim has expired."""
    interceptor.fail("sagemaker.CreateTransformJob", status=status, code=code, message="slow down")
    event = big_file()
    with pytest.raises(BatchProcessingError):  # the only record failed: the whole batch goes back
        route(event)
    assert item(BIG_REQUEST)["status"] == "RECEIVED"
    assert published("error") == []

    interceptor.clear_faults()
    clock.advance(151)
    assert failed_ids(route(event)) == []
    assert item(BIG_REQUEST)["status"] == "SUBMITTED"
    assert len(transform.jobs) == 1


def test_rejected_job_is_failed_and_announced_with_sagemakers_message(route, transform, interceptor, item, published):
    interceptor.fail(
        "sagemaker.CreateTransformJob", code="ValidationException", message="Could not find model demo-model"
    )
    response = route(big_file())

    assert failed_ids(response) == []
    record = item(BIG_REQUEST)
    [message] = published("error")
    assert record["status"] == "FAILED"
    assert "Could not find model demo-model" in record["failure_reason"]
    assert (message["invocationStatus"], message["mode"]) == ("Failed", "batch")
    assert message["failureReason"] == record["failure_reason"]
    assert transform.jobs == {}


def test_unsplit_file_larger_than_the_payload_limit_is_failed_before_any_job(
    route, transform, item, published, monkeypatch
):
    monkeypatch.setenv("TRANSFORM_SPLIT_TYPE", "None")
    monkeypatch.setenv("TRANSFORM_ASSEMBLE_WITH", "None")
    route(big_file())

    record = item(BIG_REQUEST)
    assert record["status"] == "FAILED"
    assert "MaxPayloadInMB" in record["failure_reason"] and "TransformSplitType" in record["failure_reason"]
    assert [m["inferenceId"] for m in published("error")] == [BIG_REQUEST]
    assert transform.jobs == {}


def test_without_a_transform_model_big_files_are_skipped_saying_batch_is_not_configured(
    route, transform, item, monkeypatch
):
    monkeypatch.delenv("TRANSFORM_MODEL_NAME")
    route(big_file())

    record = item(BIG_REQUEST)
    assert record["status"] == "SKIPPED"
    assert "mode 'batch' is not configured" in record["failure_reason"]
    assert transform.jobs == {}


# ---------------------------------------------------------------- the batch-result function


def test_completed_job_announces_the_file_with_its_output_location(route, transform, finish, item, published, calls):
    route(big_file())
    calls.reset()
    summary = finish(transform.finish(BIG_JOB, "Completed"))

    record = item(BIG_REQUEST)
    [message] = published("success")
    output = f"{transform.jobs[BIG_JOB].output_path}/{BIG_KEY}.out"
    assert record["status"] == "SUCCEEDED"
    assert record["output_location"] == output
    assert message["invocationStatus"] == "Completed"
    assert message["responseParameters"] == {"outputLocation": output}
    assert (message["inferenceId"], message["mode"], message["jobName"]) == (BIG_REQUEST, "batch", BIG_JOB)
    assert message["eventSource"] == "sagemaker-inference-orchestrator"
    assert message["requestParameters"]["inputLocation"] == record["object_uri"]
    assert summary["recorded"] == 1
    assert calls.calls == ["dynamodb.BatchGetItem", "sns.PublishBatch", "dynamodb.UpdateItem"]


def test_stopped_job_is_stopped_with_a_reason_on_the_error_topic(route, transform, finish, item, published):
    route(big_file())
    finish(load_event("transform-state-stopped"))

    record = item(BIG_REQUEST)
    [message] = published("error")
    assert record["status"] == "STOPPED"
    assert record["failure_reason"] == f"transform job {BIG_JOB} was stopped"
    assert (message["invocationStatus"], message["jobName"]) == ("Stopped", BIG_JOB)
    assert message["receivedTime"] == "2026-11-28T21:25:02.446Z"
    assert message["eventTime"] == "2026-11-28T22:03:17.902Z"


def test_in_progress_moves_the_file_to_in_progress_without_a_message(route, transform, finish, item, published):
    route(big_file())
    finish(load_event("transform-state-inprogress"))

    record = item(BIG_REQUEST)
    assert record["status"] == "IN_PROGRESS"
    assert record["sagemaker_received_at"] == "2026-11-28T21:20:43.118Z"  # CreationTime in epoch millis
    assert published("success") == published("error") == []


def test_duplicate_and_late_events_change_nothing(route, transform, finish, item, published, calls):
    """Given the job's Stopped event was handled, When it arrives again and a late InProgress follows,
    Then no message is published and the item keeps its terminal status."""
    route(big_file())
    event = load_event("transform-state-stopped")
    finish(event)
    published("error")
    calls.reset()

    finish(event)
    finish(load_event("transform-state-inprogress"))

    assert item(BIG_REQUEST)["status"] == "STOPPED"
    assert published("error") == []
    assert calls.calls == ["dynamodb.BatchGetItem", "dynamodb.UpdateItem"]  # the second: the late InProgress


def test_state_change_overtaking_the_confirmation_is_kept(route, transform, finish, interceptor, clock, item):
    """Given the router died after starting the job and the job stopped before the retry,
    When the retry confirms, Then the item keeps STOPPED."""
    interceptor.fail("dynamodb.UpdateItem", raises=SimulatedCrash(), times=1)
    with pytest.raises(SimulatedCrash):
        route(big_file())
    finish(transform.finish(BIG_JOB, "Stopped"))
    clock.advance(151)
    route(big_file())

    assert item(BIG_REQUEST)["status"] == "STOPPED"


def test_events_of_other_jobs_are_ignored(finish, calls):
    event = load_event("transform-state-stopped")
    event["detail"]["TransformJobName"] = "someone-elses-job"
    assert finish(event) == {"jobName": "someone-elses-job", "ignored": True}
    assert calls.calls == []


def test_per_file_request_with_an_unusual_key_is_scored_exactly(route, transform, s3, stack, item):
    key = "incoming/batch/Q4 résumé+final (2).csv"
    s3.put_object(Bucket=stack.bucket, Key=key, Body=b"a\n")
    record = s3_put_record(key, size=2, version_id="v1")
    route(sqs_event(record))

    [job] = transform.jobs.values()
    assert read_manifest(s3, job.manifest_uri)[1] == key
