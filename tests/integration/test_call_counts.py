"""AWS API calls per file and per result, counted on the clients the functions built (issue 2:
async happy path 3, duplicate delivery 1, tracker notification 1)."""

from __future__ import annotations

from orchestrator import wiring

from tests.support.events import load_event, sagemaker_notification, sqs_event, tracker_record


def test_async_happy_path_is_claim_invoke_confirm(route, upload, calls):
    route(sqs_event(upload("incoming/a.csv")))
    assert calls.calls == ["dynamodb.PutItem", "sagemaker-runtime.InvokeEndpointAsync", "dynamodb.UpdateItem"]


def test_the_async_happy_path_makes_no_client_and_builds_nothing_it_does_not_call(route, upload, function_session):
    made: list[str] = []
    function_session.events.register(
        "creating-client-class", lambda class_attributes, **kw: made.append(kw["event_name"])
    )
    route(sqs_event(upload("incoming/a.csv")))  # the cold start and the first invocation
    services = sorted(name.removeprefix("creating-client-class.") for name in made)
    assert services == ["dynamodb", "sagemaker-runtime"]  # SNS only to announce a file it cannot score
    assert "announcer" not in vars(wiring.router().adapters)  # announce, then record: never needed here

    route(load_event("s3-put-zero-byte"))  # a file skipped: announced, so SNS is made now
    assert sorted(name.removeprefix("creating-client-class.") for name in made) == [*services, "sns"]


def test_duplicate_delivery_is_one_claim_attempt(route, upload, calls):
    record = upload("incoming/a.csv")
    route(sqs_event(record))
    calls.reset()

    route(sqs_event(record))
    assert calls.calls == ["dynamodb.PutItem"]


def test_tracker_notification_is_one_write(route, upload, track, calls, item_for_key):
    route(sqs_event(upload("incoming/a.csv")))
    request_id = item_for_key("incoming/a.csv")["request_id"]
    calls.reset()

    track(sqs_event(tracker_record(sagemaker_notification("success", request_id))))
    assert calls.calls == ["dynamodb.UpdateItem"]


def test_stale_notification_is_also_one_write_attempt(route, upload, track, calls, item_for_key):
    route(sqs_event(upload("incoming/a.csv")))
    request_id = item_for_key("incoming/a.csv")["request_id"]
    track(sqs_event(tracker_record(sagemaker_notification("success", request_id))))
    calls.reset()

    track(sqs_event(tracker_record(sagemaker_notification("success", request_id))))
    assert calls.calls == ["dynamodb.UpdateItem"]


def test_skipped_file_is_claim_announce_record(route, calls):
    route(load_event("s3-put-zero-byte"))
    assert calls.calls == ["dynamodb.PutItem", "sns.Publish", "dynamodb.UpdateItem"]


def test_s3_test_event_makes_no_call(route, calls):
    route(load_event("s3-test-event"))
    assert calls.calls == []


def test_metadata_lookup_adds_one_head_object(route, upload, calls, monkeypatch):
    monkeypatch.setenv("READ_OBJECT_METADATA", "true")
    route(sqs_event(upload("incoming/a.csv")))
    assert calls.calls == [
        "s3.HeadObject",
        "dynamodb.PutItem",
        "sagemaker-runtime.InvokeEndpointAsync",
        "dynamodb.UpdateItem",
    ]
