"""The synchronous modes (real-time, serverless): router → scorer queue → scorer → result, on moto.

AWS calls per file (README "Calls per file"): router 3 (PutItem, SendMessage, UpdateItem); scorer
happy path 6 (UpdateItem, GetObject, InvokeEndpoint, PutObject, Publish, UpdateItem); a duplicate
delivery 1 (UpdateItem); a model's 4xx 5 (no PutObject).
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from botocore.exceptions import ReadTimeoutError
from orchestrator.core import timestamps
from orchestrator.core.deadlines import DeadlineSettings
from orchestrator.settings import ScorerSettings

from tests.support import aws as stack_support
from tests.support.events import sqs_event
from tests.support.hooks import SimulatedCrash
from tests.support.lambda_runtime import failed_ids, invoker
from tests.support.sagemaker import SageMakerStandIn, sync_endpoints
from tests.support.wiring import reset_wiring

REALTIME = "demo-realtime-endpoint"
SERVERLESS = "demo-serverless-endpoint"

ROUTER_CALLS = ["dynamodb.PutItem", "sqs.SendMessage", "dynamodb.UpdateItem"]
SCORER_HAPPY = [
    "dynamodb.UpdateItem",
    "s3.GetObject",
    "sagemaker-runtime.InvokeEndpoint",
    "s3.PutObject",
    "sns.Publish",
    "dynamodb.UpdateItem",
]
SCORER_MODEL_ERROR = [
    "dynamodb.UpdateItem",
    "s3.GetObject",
    "sagemaker-runtime.InvokeEndpoint",
    "sns.Publish",
    "dynamodb.UpdateItem",
]


@pytest.fixture(autouse=True)
def _fresh_scorer():
    reset_wiring()
    yield
    reset_wiring()


@pytest.fixture
def scorer_queue(stack, sqs, monkeypatch) -> str:
    url = sqs.create_queue(QueueName="scorer-queue")["QueueUrl"]
    monkeypatch.setenv("SCORER_QUEUE_URL", url)
    monkeypatch.setenv("REALTIME_ENDPOINT_NAME", REALTIME)
    monkeypatch.setenv("SERVERLESS_ENDPOINT_NAME", SERVERLESS)
    return url


@pytest.fixture
def endpoint(interceptor, stack) -> SageMakerStandIn:
    return sync_endpoints().attach(interceptor)


@pytest.fixture
def score(scorer_queue, endpoint, calls, clock):
    return invoker("scorer")


def _handed(sqs, url: str) -> list[dict[str, Any]]:
    """The scorer queue's messages as the event source mapping would deliver them."""
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    return [{"messageId": m["MessageId"], "body": m["Body"], "eventSource": "aws:sqs"} for m in messages]


def _route_one(route, upload, sqs, url, key, body=b"age,income\n42,1000\n", **extra):
    route(sqs_event(upload(key, body, **extra)))
    return _handed(sqs, url)


def _scorer_dies_in_the_model_call(endpoint, score, records) -> None:
    """One delivery of ``records`` whose scorer dies during the model call, after its claim (left held)."""

    def crash() -> None:
        endpoint.on_invoke = None
        raise SimulatedCrash

    endpoint.on_invoke = crash
    with pytest.raises(SimulatedCrash):
        score(sqs_event(*records))


@pytest.fixture
def score_one(scorer_queue, route, score, upload, sqs, calls, item_for_key):
    """Route ``incoming/a.csv`` to the scorer's queue and score it (nothing sent back): the scorer's
    calls and the item after."""

    def run() -> tuple[list[str], dict]:
        records = _route_one(route, upload, sqs, scorer_queue, "incoming/a.csv")
        calls.reset()
        assert failed_ids(score(sqs_event(*records))) == []
        return list(calls.calls), item_for_key("incoming/a.csv")

    return run


def test_small_file_is_handed_to_the_scorer_and_submitted(stack, scorer_queue, route, upload, sqs, item_for_key, calls):
    calls.reset()
    [record] = _route_one(route, upload, sqs, scorer_queue, "incoming/a.csv")
    assert calls.calls == ROUTER_CALLS
    item = item_for_key("incoming/a.csv")
    assert (item["status"], item["mode"], item["endpoint_name"]) == ("SUBMITTED", "realtime", REALTIME)
    assert item["route_reason"].startswith("[default: realtime] ")
    assert json.loads(record["body"]) == {
        "requestId": item["request_id"],
        "bucket": stack.bucket,
        "key": "incoming/a.csv",
        "versionId": item["version_id"],
        "contentType": "text/csv",
        "mode": "realtime",
    }
    # deadline = the scorer queue's retention + grace: waiting in a queue is not being lost
    waited = (timestamps.parse(item["deadline_at"]) - timestamps.parse(item["submitted_at"])).total_seconds()
    assert round(waited) == DeadlineSettings().submitted_sync == 345600 + 900


@pytest.mark.parametrize(
    ("rules", "mode", "endpoint_name"),
    [("", "realtime", REALTIME), ('[{"mode":"serverless"}]', "serverless", SERVERLESS)],
)
def test_the_scorer_writes_the_result_and_announces_success(
    rules,
    mode,
    endpoint_name,
    monkeypatch,
    score_one,
    endpoint,
    published,
    aws,
    stack,
):
    monkeypatch.setenv("ROUTING_RULES", rules)
    scorer_calls, item = score_one()

    assert scorer_calls == SCORER_HAPPY
    location = f"s3://{stack.bucket}/results/{mode}/{item['request_id']}.out"
    assert (item["status"], item["mode"], item["output_location"]) == ("SUCCEEDED", mode, location)
    assert "inflight" not in item and "claim_expires_at" not in item
    [(called, body, content_type)] = endpoint.calls
    assert (called, body, content_type) == (endpoint_name, b"age,income\n42,1000\n", "text/csv")
    result = aws.client("s3").get_object(Bucket=stack.bucket, Key=f"results/{mode}/{item['request_id']}.out")
    assert (result["Body"].read(), result["ContentType"]) == (b"0.97\n", "text/csv")
    [message] = published("success")
    assert (message["mode"], message["invocationStatus"]) == (mode, "Completed")
    assert message["responseParameters"]["outputLocation"] == location
    assert isinstance(message["processingTimeMs"], int)


def test_a_duplicate_delivery_stops_at_the_claim(scorer_queue, route, score, upload, sqs, calls, endpoint):
    records = _route_one(route, upload, sqs, scorer_queue, "incoming/a.csv")
    score(sqs_event(*records))
    calls.reset()
    response = score(sqs_event(*records))
    assert failed_ids(response) == []
    assert calls.calls == ["dynamodb.UpdateItem"]
    assert len(endpoint.calls) == 1


def test_a_model_4xx_fails_the_file_with_the_models_reason(score_one, endpoint, published):
    endpoint.model_error = (400, "feature 'age' must be a number")
    scorer_calls, item = score_one()

    assert scorer_calls == SCORER_MODEL_ERROR
    assert item["status"] == "FAILED"
    assert "answered 400" in item["failure_reason"]
    assert "feature 'age' must be a number" in item["failure_reason"]
    assert "log-group:/aws/sagemaker/Endpoints/" + REALTIME in item["failure_reason"]
    [message] = published("error")
    assert message["failureReason"] == item["failure_reason"]


@pytest.mark.parametrize(
    ("code", "status"),
    [("ModelError", 424), ("ModelNotReadyException", 429), ("ThrottlingException", 400)],
)
def test_transient_errors_send_the_record_back_never_failed(
    code, status, scorer_queue, route, score, upload, sqs, interceptor, endpoint, item_for_key, calls
):
    if code == "ModelError":
        endpoint.model_error = (503, "worker died")
    else:
        interceptor.fail("sagemaker-runtime.InvokeEndpoint", status=status, code=code, message="not now")
    records = _route_one(route, upload, sqs, scorer_queue, "incoming/a.csv")
    # The one record failed: the invocation errors, and the record goes back to the queue
    with pytest.raises(BatchProcessingError):
        score(sqs_event(*records))

    item = item_for_key("incoming/a.csv")
    assert item["status"] == "IN_PROGRESS"
    assert item["claim_expires_at"] == 0  # released: the redelivery takes it over at once
    assert item["last_error"]

    # When the endpoint recovers, the redelivery scores it
    interceptor.clear_faults()
    endpoint.model_error = None
    assert failed_ids(score(sqs_event(*records))) == []
    assert item_for_key("incoming/a.csv")["status"] == "SUCCEEDED"


@pytest.mark.parametrize("lost", ["read-timeout", "503"])
def test_an_ambiguous_model_call_is_never_repeated_and_the_file_fails_saying_why(
    lost, scorer_queue, route, score, upload, sqs, endpoint, interceptor, item_for_key, published, clock
):
    """The endpoint took the request, then its answer was lost (a read timeout through the real botocore
    client after the stand-in answered), or SageMaker answered 503 after the request was sent: the
    model may have scored it and the answer cannot be fetched again, so the file is FAILED once,
    announced with the reason, and no delivery invokes it a second time."""
    if lost == "read-timeout":

        def lose_the_answer() -> None:
            raise ReadTimeoutError(endpoint_url="https://runtime.sagemaker.us-east-1.amazonaws.com")

        endpoint.on_invoke = lose_the_answer
    else:
        interceptor.fail("sagemaker-runtime.InvokeEndpoint", status=503, code="ServiceUnavailable")
    records = _route_one(route, upload, sqs, scorer_queue, "incoming/a.csv")
    assert failed_ids(score(sqs_event(*records))) == []  # acknowledged: nothing comes back to invoke again

    endpoint.on_invoke = None
    interceptor.clear_faults()
    clock.advance(3600)
    assert failed_ids(score(sqs_event(*records))) == []  # a duplicate delivery stops at the claim

    assert interceptor.attempts["sagemaker-runtime.InvokeEndpoint"] == 1
    item = item_for_key("incoming/a.csv")
    assert (item["status"], item["submission_uncertain"]) == ("FAILED", True)
    assert "may have reached the endpoint" in item["failure_reason"]
    assert "upload the file again" in item["failure_reason"]
    [message] = published("error")
    assert message["failureReason"] == item["failure_reason"]


def test_a_crash_after_the_model_call_is_never_followed_by_a_second_call(
    scorer_queue, route, score, upload, sqs, endpoint, item_for_key, clock, published
):
    """The scorer dies during the model call (its claim expires unreleased): the redelivery before the
    expiry stops at the claim; after it, the file is closed FAILED saying why, without calling the
    model again (the answer died with the first scorer)."""
    records = _route_one(route, upload, sqs, scorer_queue, "incoming/a.csv")

    _scorer_dies_in_the_model_call(endpoint, score, records)
    score(sqs_event(*records))
    assert item_for_key("incoming/a.csv")["status"] == "IN_PROGRESS"
    clock.advance(ScorerSettings.claim_timeout_seconds + 1)
    assert failed_ids(score(sqs_event(*records))) == []
    assert failed_ids(score(sqs_event(*records))) == []

    assert len(endpoint.calls) == 1
    item = item_for_key("incoming/a.csv")
    assert (item["status"], item["submission_uncertain"]) == ("FAILED", True)
    assert "not invoked again" in item["failure_reason"]
    assert [m["failureReason"] for m in published("error")] == [item["failure_reason"]]


def test_a_crash_after_the_result_was_written_ends_succeeded_without_a_second_call(
    scorer_queue, route, score, upload, sqs, endpoint, item_for_key, clock, published, interceptor
):
    """The scorer wrote the result and died before announcing it: the takeover finds the object."""
    records = _route_one(route, upload, sqs, scorer_queue, "incoming/a.csv")
    interceptor.fail("sns.Publish", raises=SimulatedCrash(), times=1)
    with pytest.raises(SimulatedCrash):
        score(sqs_event(*records))
    clock.advance(ScorerSettings.claim_timeout_seconds + 1)
    assert failed_ids(score(sqs_event(*records))) == []

    assert len(endpoint.calls) == 1
    item = item_for_key("incoming/a.csv")
    assert item["status"] == "SUCCEEDED" and item["output_location"].endswith(f"{item['request_id']}.out")
    assert len(published("success")) == 1


def test_a_crash_between_announcing_a_success_and_recording_it_ends_succeeded_by_the_retry(
    scorer_queue, route, score, upload, sqs, endpoint, item_for_key, clock, published, interceptor, stack
):
    """The scorer announced its success and died before its write: the tracker never gets the product's
    own successes (its subscription's filter), so the retry derives the same success from the result
    object (announced again, subscribers key on inferenceId), without a second model call."""
    records = _route_one(route, upload, sqs, scorer_queue, "incoming/a.csv")
    interceptor.fail(
        "dynamodb.UpdateItem", raises=SimulatedCrash(), times=1, when=lambda request: b"SUCCEEDED" in request.body
    )
    with pytest.raises(SimulatedCrash):
        score(sqs_event(*records))
    assert len(published("success")) == 1
    assert item_for_key("incoming/a.csv")["status"] == "IN_PROGRESS"
    assert stack_support.drain(sqs, stack.tracker_queue_url) == []  # nothing for the tracker to record

    clock.advance(ScorerSettings.claim_timeout_seconds + 1)
    assert failed_ids(score(sqs_event(*records))) == []

    assert len(endpoint.calls) == 1
    item = item_for_key("incoming/a.csv")
    assert item["status"] == "SUCCEEDED" and item["output_location"].endswith(f"{item['request_id']}.out")
    assert "submission_uncertain" not in item
    assert len(published("success")) == 1  # the retry's announcement


def test_a_result_over_256_kb_is_written_to_s3_and_only_its_location_announced(
    scorer_queue, route, score, upload, sqs, endpoint, item_for_key, published, aws, stack
):
    endpoint.answer = b"9" * 300_000
    records = _route_one(route, upload, sqs, scorer_queue, "incoming/a.csv")
    score(sqs_event(*records))
    item = item_for_key("incoming/a.csv")
    [message] = published("success")
    assert len(json.dumps(message)) < 4_096
    body = aws.client("s3").get_object(Bucket=stack.bucket, Key=f"results/realtime/{item['request_id']}.out")["Body"]
    assert len(body.read()) == 300_000


def test_a_sync_mode_without_its_endpoint_is_skipped_naming_the_parameter(
    scorer_queue, route, upload, item_for_key, monkeypatch
):
    monkeypatch.delenv("SERVERLESS_ENDPOINT_NAME")
    monkeypatch.setenv("ROUTING_RULES", '[{"prefix":"incoming/spiky/","mode":"serverless"}]')
    route(sqs_event(upload("incoming/spiky/a.csv")))
    item = item_for_key("incoming/spiky/a.csv")
    assert item["status"] == "SKIPPED"
    assert "ServerlessEndpointName" in item["failure_reason"]


def test_a_bad_routing_rule_stops_the_cold_start_naming_it(scorer_queue, route, upload, monkeypatch):
    from orchestrator.errors import ConfigError

    monkeypatch.setenv("ROUTING_RULES", '[{"mode":"async"},{"mode":"realtime","maxBytes":7000000}]')
    with pytest.raises(ConfigError, match=r"RoutingRules\[1\]\.maxBytes"):
        route(sqs_event(upload("incoming/a.csv")))


def test_the_sweeper_resolves_an_overdue_sync_file_from_its_result_object(
    scorer_queue, route, upload, sqs, item_for_key, clock, stack, aws, published, monkeypatch
):
    monkeypatch.setenv("INPUT_BUCKET", stack.bucket)
    _route_one(route, upload, sqs, scorer_queue, "incoming/done.csv")
    _route_one(route, upload, sqs, scorer_queue, "incoming/lost.csv")
    done = item_for_key("incoming/done.csv")
    # The scorer wrote the result and died before announcing it
    aws.client("s3").put_object(Bucket=stack.bucket, Key=f"results/realtime/{done['request_id']}.out", Body=b"1\n")
    clock.advance(DeadlineSettings().confirmed("realtime") + 1)
    invoker("sweeper")({"scheduledTime": "2026-12-03T10:00:00Z"})

    assert item_for_key("incoming/done.csv")["status"] == "SUCCEEDED"
    lost = item_for_key("incoming/lost.csv")
    assert lost["status"] == "FAILED"
    assert lost["failure_reason"].startswith("not scored: ")
    assert [m["resolvedBy"] for m in published("success")] == ["sweeper"]


def test_a_backlog_longer_than_every_redelivery_is_scored_not_failed(
    scorer_queue, route, score, upload, sqs, endpoint, item_for_key, clock, stack, published, monkeypatch
):
    """A burst waits in the scorer queue longer than its visibility timeout x max receives (the old
    deadline): the file is not overdue, the sweeper leaves it alone, and when its message is finally
    delivered it is scored once: no false FAILED, nothing acknowledged as a duplicate."""
    monkeypatch.setenv("INPUT_BUCKET", stack.bucket)
    records = _route_one(route, upload, sqs, scorer_queue, "incoming/queued.csv")
    clock.advance(1440 * 5 + 900 + 1)  # the former deadline: visibility x max receives + grace
    invoker("sweeper")({"scheduledTime": "2026-12-03T10:00:00Z"})
    assert item_for_key("incoming/queued.csv")["status"] == "SUBMITTED"

    assert failed_ids(score(sqs_event(*records))) == []
    assert item_for_key("incoming/queued.csv")["status"] == "SUCCEEDED"
    assert len(endpoint.calls) == 1 and published("error") == []


def test_the_scorers_claim_keeps_the_in_flight_entry_the_router_wrote_and_a_reopened_verdict_reenters_it(
    scorer_queue, route, score, upload, sqs, endpoint, item_for_key, clock, stack, monkeypatch
):
    """The router's claim put the file in SUBMITTED's lane, due by the claim + the queues' retention;
    its confirmation and the scorer's claim keep both keys of that entry (rewritten in place, not
    moved). A file the sweeper closed "not scored" left the index: a late message's claim puts it back,
    due from that claim."""
    monkeypatch.setenv("INPUT_BUCKET", stack.bucket)
    key = "incoming/lane.csv"
    records = _route_one(route, upload, sqs, scorer_queue, key)
    handed = item_for_key(key)
    assert handed["inflight"].startswith("SUBMITTED#")
    assert handed["deadline_at"] == timestamps.iso(
        timestamps.parse(handed["created_at"]) + timedelta(seconds=DeadlineSettings().submitted_sync)
    )

    clock.advance(60)
    _scorer_dies_in_the_model_call(endpoint, score, records)
    scoring = item_for_key(key)
    assert scoring["status"] == "IN_PROGRESS"
    assert (scoring["inflight"], scoring["deadline_at"]) == (handed["inflight"], handed["deadline_at"])

    clock.advance(DeadlineSettings().confirmed("realtime"))
    invoker("sweeper")({"scheduledTime": "2026-12-03T10:00:00Z"})
    closed = item_for_key(key)
    assert closed["status"] == "FAILED" and "inflight" not in closed and "deadline_at" not in closed

    _scorer_dies_in_the_model_call(endpoint, score, records)  # a redriven message: the verdict is reopened
    reopened = item_for_key(key)
    assert (reopened["status"], reopened["inflight"]) == ("IN_PROGRESS", handed["inflight"])
    assert reopened["deadline_at"] == timestamps.iso(
        timestamps.parse(reopened["status_since"]) + timedelta(seconds=DeadlineSettings().submitted_sync)
    )


def test_no_verdict_while_a_scorer_holds_a_live_claim_on_the_file(
    scorer_queue, route, score, upload, sqs, endpoint, item_for_key, clock, stack, published, monkeypatch
):
    """A scorer that took the message at the last moment of the queue's retention may still be scoring
    at the file's deadline (the deadline counts from the router's claim): the sweeper's verdict waits
    for its claim to expire, then judges from ground truth."""
    monkeypatch.setenv("INPUT_BUCKET", stack.bucket)
    key = "incoming/last-moment.csv"
    records = _route_one(route, upload, sqs, scorer_queue, key)

    clock.advance(DeadlineSettings().confirmed("realtime") - 60)
    _scorer_dies_in_the_model_call(endpoint, score, records)  # claimed a minute before the deadline, then gone silent
    clock.advance(120)

    summary = invoker("sweeper")({"scheduledTime": "2026-12-03T10:00:00Z"})
    assert item_for_key(key)["status"] == "IN_PROGRESS"
    assert summary["resolved"] == {} and published("error") == []

    clock.advance(ScorerSettings.claim_timeout_seconds)  # the claim expired: the scorer is gone
    invoker("sweeper")({"scheduledTime": "2026-12-03T10:05:00Z"})
    closed = item_for_key(key)
    assert (closed["status"], closed["not_scored"]) == ("FAILED", True)
    assert [m["invocationStatus"] for m in published("error")] == ["Failed"]


def test_a_verdict_still_in_the_sweepers_outbox_is_reopened_with_a_deadline_of_its_own(
    scorer_queue, route, score, upload, sqs, endpoint, item_for_key, clock, stack, interceptor, monkeypatch
):
    """The sweeper recorded "not scored" but its announcement failed (the item waits in its outbox,
    due at the verdict's time). A redriven message reopens the file: it is due from that claim, so
    the next run does not judge it while it is being scored."""
    monkeypatch.setenv("INPUT_BUCKET", stack.bucket)
    key = "incoming/outbox.csv"
    records = _route_one(route, upload, sqs, scorer_queue, key)
    clock.advance(DeadlineSettings().confirmed("realtime") + 1)
    interceptor.fail("sns.Publish", status=500, code="InternalError", times=10)
    invoker("sweeper")({"scheduledTime": "2026-12-03T10:00:00Z"})
    interceptor.clear_faults()
    closed = item_for_key(key)
    assert closed["status"] == "FAILED" and closed["inflight"].startswith("ANNOUNCE#")

    _scorer_dies_in_the_model_call(endpoint, score, records)
    reopened = item_for_key(key)
    assert (reopened["status"], reopened["inflight"]) == (
        "IN_PROGRESS",
        closed["inflight"].replace("ANNOUNCE", "SUBMITTED"),
    )
    assert reopened["deadline_at"] == timestamps.iso(
        timestamps.parse(reopened["status_since"]) + timedelta(seconds=DeadlineSettings().submitted_sync)
    )
    clock.advance(ScorerSettings.claim_timeout_seconds + 1)
    summary = invoker("sweeper")({"scheduledTime": "2026-12-03T10:10:00Z"})
    assert (summary["overdue"], item_for_key(key)["status"]) == (0, "IN_PROGRESS")


def test_a_message_arriving_after_the_not_scored_verdict_is_scored_and_announced_again(
    scorer_queue, route, score, upload, sqs, endpoint, item_for_key, clock, stack, published, monkeypatch
):
    """Past the retention the sweeper closes the file "not scored"; if its message still arrives (a
    redrive reset its age), the file is scored as a redrive would, never acknowledged as a duplicate."""
    monkeypatch.setenv("INPUT_BUCKET", stack.bucket)
    records = _route_one(route, upload, sqs, scorer_queue, "incoming/late.csv")
    clock.advance(DeadlineSettings().confirmed("realtime") + 1)
    invoker("sweeper")({"scheduledTime": "2026-12-03T10:00:00Z"})
    closed = item_for_key("incoming/late.csv")
    assert (closed["status"], closed["not_scored"]) == ("FAILED", True)
    assert "ScorerQueue / ScorerDLQ; upload the file again" in closed["failure_reason"]

    assert failed_ids(score(sqs_event(*records))) == []

    final = item_for_key("incoming/late.csv")
    assert final["status"] == "SUCCEEDED" and "not_scored" not in final and "failure_reason" not in final
    assert len(endpoint.calls) == 1
    assert [m["invocationStatus"] for m in published("error")] == ["Failed"]
    assert [m["invocationStatus"] for m in published("success")] == ["Completed"]
