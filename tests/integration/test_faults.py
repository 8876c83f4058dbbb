"""Faults and redeliveries: nothing is lost, nothing is done twice, one bad record fails alone."""

from __future__ import annotations

import json

import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from botocore.exceptions import ConnectTimeoutError, EndpointConnectionError, ReadTimeoutError
from orchestrator.settings import RouterSettings

from tests.support import aws as stack_support
from tests.support.events import load_event, sqs_event, tracker_event_from, with_body
from tests.support.hooks import SimulatedCrash
from tests.support.lambda_runtime import failed_ids
from tests.support.sagemaker import AsyncRequest, input_location

KEY = "incoming/customers/2026-11-28.csv"
INVOKE = "sagemaker-runtime.InvokeEndpointAsync"


def _claim_timeout() -> int:
    return RouterSettings.from_env().claim_timeout_seconds


def _only_for(key: str):
    """Fault predicate: the InvokeEndpointAsync request for this key."""
    return lambda request: input_location(request).endswith("/" + key)


def test_same_event_delivered_three_times_invokes_once(route, upload, items, sagemaker):
    record = upload(KEY)
    responses = [route(sqs_event(record)) for _ in range(3)]

    assert [failed_ids(r) for r in responses] == [[], [], []]
    assert len(sagemaker.accepted) == 1
    assert [i["status"] for i in items()] == ["SUBMITTED"]


def test_reupload_of_the_same_key_is_a_new_request(route, upload, items, sagemaker):
    route(sqs_event(upload(KEY, b"a\n")))
    route(sqs_event(upload(KEY, b"b\n")))

    assert len({r.inference_id for r in sagemaker.accepted}) == 2
    assert len(items()) == 2


def test_poison_record_fails_alone(route, upload, items):
    """Given a batch with one malformed body, only that message id goes back to the queue."""
    good = upload(KEY, message_id="good-1")
    poison = with_body(good, "this is not an S3 notification", message_id="poison")
    other = upload("incoming/other.csv", message_id="good-2")

    response = route(sqs_event(good, poison, other))

    assert failed_ids(response) == ["poison"]
    assert sorted(i["status"] for i in items()) == ["SUBMITTED", "SUBMITTED"]


@pytest.mark.parametrize(
    "body",
    [
        pytest.param('{"Records": [{"eventVersion": "1.0"}]}', id="wrong-event-version"),
        pytest.param('{"Records": [{"eventVersion": "2.1", "eventName": "ObjectRemoved:Delete"}]}', id="not-created"),
        pytest.param('{"Message": "hello"}', id="no-records"),
    ],
)
def test_bad_s3_bodies_fail_alone(body, route, upload):
    good = upload(KEY, message_id="good")
    assert failed_ids(route(sqs_event(good, with_body(good, body, message_id="bad")))) == ["bad"]


class TestThrottledInvoke:
    """ThrottlingException on every attempt: the client retries, then the record goes back to the queue."""

    @pytest.fixture
    def throttled(self, interceptor, route, upload):
        interceptor.fail(INVOKE, code="ThrottlingException", message="Rate exceeded", when=_only_for(KEY))
        record = upload(KEY, message_id="throttled")
        other = upload("incoming/other.csv", message_id="other")
        response = route(sqs_event(record, other))
        return record, response

    def test_only_the_throttled_record_fails(self, throttled):
        _, response = throttled
        assert failed_ids(response) == ["throttled"]

    def test_client_retried_before_giving_up(self, throttled, interceptor, sagemaker):
        """Standard mode, total_max_attempts=3: three attempts for the throttled file, one for the other."""
        assert interceptor.attempts[INVOKE] == 3 + 1
        assert len(sagemaker.accepted) == 1

    def test_item_stays_received_holding_its_claim(self, throttled, item_for_key):
        item = item_for_key(KEY)
        assert item["status"] == "RECEIVED"
        assert "claim_expires_at" in item

    def test_retry_after_the_claim_expires_submits_it(self, throttled, route, clock, interceptor, item_for_key):
        record, _ = throttled
        interceptor.clear_faults()
        interceptor.attempts.clear()
        clock.advance(_claim_timeout() + 1)

        assert failed_ids(route(sqs_event(record))) == []
        assert interceptor.attempts[INVOKE] == 1
        assert item_for_key(KEY)["status"] == "SUBMITTED"


class TestCrashBetweenClaimAndInvoke:
    """The function dies after the claim, before SageMaker accepted the request."""

    @pytest.fixture
    def crashed(self, interceptor, route, upload, item_for_key, sagemaker):
        interceptor.fail(INVOKE, raises=SimulatedCrash(), times=1)
        record = upload(KEY)
        with pytest.raises(SimulatedCrash):
            route(sqs_event(record))
        assert item_for_key(KEY)["status"] == "RECEIVED"
        assert sagemaker.accepted == []
        return record

    def test_redelivery_before_the_claim_expires_does_not_invoke(self, crashed, route, clock, item_for_key, sagemaker):
        """The claim may still belong to a running delivery: the redelivery leaves it alone."""
        clock.advance(_claim_timeout() - 1)
        route(sqs_event(crashed))

        assert sagemaker.accepted == []
        assert item_for_key(KEY)["status"] == "RECEIVED"

    def test_redelivery_after_the_claim_expires_does_not_risk_a_second_invocation(
        self, crashed, route, clock, item_for_key, sagemaker
    ):
        """The retry cannot tell a crash before the call from one after it (SageMaker has no lookup by
        InferenceId), so it never sends the request again: it confirms it as possibly sent, with the
        usual deadline. SageMaker's notification records it if it was sent; otherwise the sweeper
        closes it EXPIRED by its deadline and announces it (tests/integration/test_sweeper.py)."""
        clock.advance(_claim_timeout() + 1)

        assert failed_ids(route(sqs_event(crashed))) == []
        assert sagemaker.accepted == []
        item = item_for_key(KEY)
        assert (item["status"], item["submission_uncertain"]) == ("SUBMITTED", True)
        assert item["inflight"].startswith("SUBMITTED#") and item["deadline_at"] > item["submitted_at"]

    def test_recovered_request_is_invoked_at_most_once(self, crashed, route, clock, sagemaker):
        clock.advance(_claim_timeout() + 1)
        for _ in range(3):
            route(sqs_event(crashed))
        assert len(sagemaker.accepted) <= 1


def test_confirmation_failing_after_the_invoke_is_recovered_without_a_second_invocation(
    interceptor, route, upload, clock, item_for_key, sagemaker
):
    """SageMaker accepted the request, then every attempt of the confirmation failed: the record goes
    back to the queue. Its redelivery after the claim expired takes the claim over and, since the
    attempt never said its call failed, confirms the file as possibly sent: exactly one invocation."""
    interceptor.fail("dynamodb.UpdateItem", status=500, code="InternalServerError", times=3)
    record = upload(KEY)
    with pytest.raises(BatchProcessingError):
        route(sqs_event(record))
    assert len(sagemaker.accepted) == 1
    assert item_for_key(KEY)["status"] == "RECEIVED"

    clock.advance(_claim_timeout() + 1)
    for _ in range(3):
        assert failed_ids(route(sqs_event(record))) == []

    assert len(sagemaker.accepted) == 1
    item = item_for_key(KEY)
    assert (item["status"], item["submission_uncertain"]) == ("SUBMITTED", True)


class TestReadTimeoutAfterTheRequestWasAccepted:
    """SageMaker took the request, then the answer never reached the router (a read timeout through the
    real botocore client): the client does not retry it, the router does not release it, and no
    redelivery invokes it again. SageMaker's own notification then records the result."""

    @pytest.fixture
    def timed_out(self, route, upload, sagemaker):
        def lose_the_answer(_: AsyncRequest) -> None:
            raise ReadTimeoutError(endpoint_url="https://runtime.sagemaker.us-east-1.amazonaws.com")

        sagemaker.on_accept = lose_the_answer
        record = upload(KEY)
        assert failed_ids(route(sqs_event(record))) == []  # acknowledged: nothing comes back to invoke again
        sagemaker.on_accept = None
        return record

    def test_exactly_one_invocation_whatever_the_redeliveries(self, timed_out, route, clock, sagemaker, interceptor):
        for _ in range(3):
            clock.advance(_claim_timeout() + 1)
            assert failed_ids(route(sqs_event(timed_out))) == []
        assert len(sagemaker.accepted) == 1
        assert interceptor.attempts[INVOKE] == 1

    def test_the_file_is_possibly_sent_with_the_reason(self, timed_out, item_for_key):
        item = item_for_key(KEY)
        assert (item["status"], item["submission_uncertain"]) == ("SUBMITTED", True)
        assert "Read timeout" in item["last_error"] and "not sent again" in item["last_error"]
        assert item["inflight"].startswith("SUBMITTED#")


class TestValidationError:
    """SageMaker rejects the request itself: FAILED at once, announced, not retried. (A missing
    endpoint comes with the same code but is the stack's fault, not the file's: test_error_table.py.)"""

    MESSAGE = "1 validation error detected: Value 'text/x-bogus' at 'contentType' failed to satisfy constraint"

    @pytest.fixture
    def rejected(self, interceptor, route, upload):
        interceptor.fail(INVOKE, code="ValidationError", message=self.MESSAGE)
        return route(sqs_event(upload(KEY)))

    def test_record_is_acknowledged(self, rejected, interceptor):
        assert failed_ids(rejected) == []
        assert interceptor.attempts[INVOKE] == 1  # a 400 that is not throttling is not retried

    def test_item_is_failed_with_sagemakers_reason(self, rejected, item_for_key):
        item = item_for_key(KEY)
        assert item["status"] == "FAILED"
        assert self.MESSAGE in item["failure_reason"]

    def test_failure_is_announced_on_the_error_topic(self, rejected, item_for_key, published):
        item = item_for_key(KEY)
        [message] = published("error")
        assert (message["invocationStatus"], message["inferenceId"]) == ("Failed", item["request_id"])
        assert message["failureReason"] == item["failure_reason"]
        assert message["mode"] == "async"
        assert published("success") == []


def test_connection_timeout_to_sagemaker_fails_the_record_for_a_retry(interceptor, route, upload, item_for_key):
    interceptor.fail(INVOKE, raises=ConnectTimeoutError(endpoint_url="https://runtime.sagemaker"), when=_only_for(KEY))
    response = route(sqs_event(upload(KEY, message_id="slow"), upload("incoming/other.csv", message_id="ok")))

    assert failed_ids(response) == ["slow"]
    assert interceptor.attempts[INVOKE] == 3 + 1
    assert item_for_key(KEY)["status"] == "RECEIVED"


def test_unexpected_error_fails_only_that_record(interceptor, route, upload, item_for_key):
    interceptor.fail(INVOKE, raises=RuntimeError("bug"), when=_only_for(KEY))
    response = route(sqs_event(upload(KEY, message_id="boom"), upload("incoming/other.csv", message_id="ok")))

    assert failed_ids(response) == ["boom"]
    assert item_for_key("incoming/other.csv")["status"] == "SUBMITTED"


def test_tracker_throttled_on_the_claim_fails_the_record_before_any_invoke(
    interceptor, route, upload, items, sagemaker
):
    interceptor.fail("dynamodb.PutItem", code="ProvisionedThroughputExceededException")
    with pytest.raises(BatchProcessingError):
        route(sqs_event(upload(KEY)))

    assert interceptor.attempts["dynamodb.PutItem"] == 3
    assert items() == []
    assert sagemaker.accepted == []


def test_tracker_failing_on_the_confirm_fails_the_record_then_the_retry_stops_at_the_claim(
    interceptor, route, upload, item_for_key, sagemaker
):
    """The invoke happened but could not be recorded: the retry must not invoke a second time
    while the claim holds (SageMaker would run the file twice)."""
    interceptor.fail("dynamodb.UpdateItem", code="InternalServerError", times=3)
    record = upload(KEY)
    with pytest.raises(BatchProcessingError):
        route(sqs_event(record))
    route(sqs_event(record))

    assert len(sagemaker.accepted) == 1
    assert item_for_key(KEY)["status"] == "RECEIVED"


def test_error_topic_unavailable_keeps_a_skipped_file_for_a_retry(aws, stack, route, item_for_key):
    """Publishing comes before recording: if the announcement fails, the file is retried, not lost."""
    aws.client("sns").delete_topic(TopicArn=stack.error_topic_arn)
    with pytest.raises(BatchProcessingError):
        route(load_event("s3-put-zero-byte"))
    assert item_for_key("incoming/empty.csv")["status"] == "RECEIVED"


class TestMetadataLookupFaults:
    @pytest.fixture(autouse=True)
    def _metadata_on(self, monkeypatch):
        monkeypatch.setenv("READ_OBJECT_METADATA", "true")

    def test_head_object_server_error_fails_the_record_before_the_claim(self, interceptor, route, upload, items):
        interceptor.fail("s3.HeadObject", status=500)
        with pytest.raises(BatchProcessingError):
            route(sqs_event(upload(KEY)))
        assert interceptor.attempts["s3.HeadObject"] == 3
        assert items() == []

    def test_head_object_unreachable_fails_the_record(self, interceptor, route, upload, items):
        interceptor.fail("s3.HeadObject", raises=EndpointConnectionError(endpoint_url="https://s3"))
        with pytest.raises(BatchProcessingError):
            route(sqs_event(upload(KEY)))
        assert items() == []


def test_a_failure_announced_then_lost_before_its_write_is_recorded_by_the_tracker_as_announced(
    interceptor, route, upload, item_for_key, clock, sqs, stack, track, published
):
    """SageMaker rejects the request (FAILED, announced) and the router dies before writing it. Its retry
    would find a claim never released and take the file for possibly sent (docs/architecture.md §3),
    ending it otherwise than announced; the tracker's copy of the announcement (failures are not
    filtered out of its queue, unlike the product's successes) records the failure that was announced."""
    interceptor.fail(INVOKE, code="ValidationError", message=TestValidationError.MESSAGE)
    interceptor.fail("dynamodb.UpdateItem", raises=SimulatedCrash(), times=1, when=lambda r: b"FAILED" in r.body)
    record = upload(KEY)
    with pytest.raises(SimulatedCrash):
        route(sqs_event(record))
    [announced] = published("error")
    assert item_for_key(KEY)["status"] == "RECEIVED"

    messages = stack_support.drain(sqs, stack.tracker_queue_url)
    assert [json.loads(m["Body"])["inferenceId"] for m in messages] == [announced["inferenceId"]]
    assert failed_ids(track(tracker_event_from(messages))) == []
    item = item_for_key(KEY)
    assert (item["status"], item["failure_reason"]) == ("FAILED", announced["failureReason"])

    # The router's retry, once the claim expired, stops at the claim: the file stays as announced.
    clock.advance(_claim_timeout() + 1)
    interceptor.clear_faults()
    assert failed_ids(route(sqs_event(record))) == []
    assert item_for_key(KEY) == item
    assert interceptor.attempts[INVOKE] == 1
