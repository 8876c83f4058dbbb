"""README "Which errors fail a file": one test per row of the router's error table.

Permanent (the request's own fault): the file is FAILED now, with the reason, announced on the error
topic. Ambiguous (the request may have reached SageMaker): never sent again; the file is confirmed
SUBMITTED as possibly sent, for SageMaker's notification or the sweeper to settle. Operational (the
stack's or AWS's trouble): the record goes back to the queue, nothing is announced, the item is never
FAILED by it; if it lasts, the router DLQ alarm pages someone, and the sweeper closes the file "not
routed" once the queues' retention has passed (tests/integration/test_sweeper.py).
"""

from __future__ import annotations

import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from botocore.exceptions import ConnectionClosedError, ReadTimeoutError

from tests.support.events import load_event, sqs_event
from tests.support.lambda_runtime import failed_ids

KEY = "incoming/table.csv"
INVOKE = "sagemaker-runtime.InvokeEndpointAsync"

PERMANENT = [
    pytest.param(INVOKE, 400, "ValidationError", "Invalid content type: text/x-bogus", id="invoke-validation-error"),
]
OPERATIONAL = [
    pytest.param(
        INVOKE,
        400,
        "ValidationError",
        "Endpoint demo-async-endpoint of account 123456789012 not found.",
        id="invoke-endpoint-not-found",
    ),
    pytest.param(INVOKE, 400, "AccessDeniedException", "not authorized", id="invoke-access-denied"),
    pytest.param(INVOKE, 400, "ThrottlingException", "Rate exceeded", id="invoke-throttling"),
    pytest.param("dynamodb.PutItem", 400, "ProvisionedThroughputExceededException", "", id="claim-throttled"),
    pytest.param("dynamodb.PutItem", 500, "InternalServerError", "", id="claim-500"),
    pytest.param("dynamodb.PutItem", 400, "AccessDeniedException", "", id="claim-access-denied"),
    pytest.param("dynamodb.UpdateItem", 500, "InternalServerError", "", id="confirm-500"),
]


@pytest.mark.parametrize(("operation", "status", "code", "message"), PERMANENT)
def test_permanent_error_fails_the_file_now_and_announces_it(
    operation, status, code, message, route, upload, interceptor, item_for_key, published
):
    interceptor.fail(operation, status=status, code=code, message=message)
    response = route(sqs_event(upload(KEY)))

    assert failed_ids(response) == []
    item = item_for_key(KEY)
    assert item["status"] == "FAILED" and message in item["failure_reason"]
    [announced] = published("error")
    assert announced["invocationStatus"] == "Failed" and message in announced["failureReason"]


@pytest.mark.parametrize(("operation", "status", "code", "message"), OPERATIONAL)
def test_operational_error_sends_the_record_back_and_never_fails_the_file(
    operation, status, code, message, route, upload, interceptor, items, published
):
    interceptor.fail(operation, status=status, code=code, message=message)
    with pytest.raises(BatchProcessingError):  # the only record failed: the batch goes back to the queue
        route(sqs_event(upload(KEY)))

    assert [i["status"] for i in items()] in ([], ["RECEIVED"])
    assert published("error") == [] and published("success") == []


AMBIGUOUS = [
    pytest.param({"status": 503, "code": "ServiceUnavailable", "message": "try later"}, id="invoke-503"),
    pytest.param({"status": 500, "code": "InternalFailure", "message": "oops"}, id="invoke-500"),
    pytest.param({"raises": ReadTimeoutError(endpoint_url="https://runtime.sagemaker")}, id="invoke-read-timeout"),
    pytest.param({"raises": ConnectionClosedError(endpoint_url="https://runtime.sagemaker")}, id="invoke-closed"),
]


@pytest.mark.parametrize("fault", AMBIGUOUS)
def test_ambiguous_error_is_never_sent_again_and_the_file_is_confirmed_possibly_sent(
    fault, route, upload, interceptor, item_for_key, published, sagemaker, clock
):
    """An answer that does not prove SageMaker refused the call: one attempt, the record acknowledged
    (no redelivery), the item SUBMITTED as possibly sent with the reason, nothing announced yet."""
    interceptor.fail(INVOKE, **fault)
    record = upload(KEY)
    assert failed_ids(route(sqs_event(record))) == []

    assert interceptor.attempts[INVOKE] == 1
    item = item_for_key(KEY)
    assert (item["status"], item["submission_uncertain"]) == ("SUBMITTED", True)
    assert "may have reached the endpoint" in item["last_error"]
    assert published("error") == [] and published("success") == []
    # A duplicate delivery later stops at the claim: still no second attempt.
    interceptor.clear_faults()
    clock.advance(3600)
    assert failed_ids(route(sqs_event(record))) == []
    assert interceptor.attempts[INVOKE] == 1 and sagemaker.accepted == []


def test_publish_failure_for_a_skipped_file_is_retried_not_lost(route, interceptor, items, published, clock):
    """SNS trouble while announcing a SKIPPED file: announce comes before record, so the retry
    announces it again rather than recording a skip nobody was told about."""
    interceptor.fail("sns.Publish", status=500)
    with pytest.raises(BatchProcessingError):
        route(load_event("s3-put-zero-byte"))
    assert [i["status"] for i in items()] == ["RECEIVED"]

    interceptor.clear_faults()
    clock.advance(151)  # the redelivery comes after the visibility timeout, past the claim
    assert failed_ids(route(load_event("s3-put-zero-byte"))) == []
    assert [i["status"] for i in items()] == ["SKIPPED"]
    assert [m["invocationStatus"] for m in published("error")] == ["Skipped"]


def test_endpoint_not_found_keeps_the_reason_for_the_sweepers_verdict(route, upload, interceptor, items):
    interceptor.fail(
        INVOKE, status=400, code="ValidationError", message="Endpoint demo-async-endpoint of account 1 not found."
    )
    with pytest.raises(BatchProcessingError):
        route(sqs_event(upload(KEY)))
    [item] = items()
    assert item["released"] is True
    assert "does not exist (check AsyncEndpointName)" in item["last_error"]
