"""The async path end to end: S3 → router → SageMaker stand-in → topics → tracker, with the real handlers."""

from __future__ import annotations

import json

from tests.e2e.flow import Flow, csv_rows


def test_a_csv_file_is_scored_by_the_async_endpoint(flow: Flow) -> None:
    # Given a CSV file of 12 rows
    key = flow.put("scores.csv", csv_rows(12))

    # When it flows through the stack
    item = flow.wait_status(key)

    # Then the tracker has it succeeded, in async mode, with every time recorded
    assert item["status"] == "SUCCEEDED"
    assert item["mode"] == "async"
    assert item["endpoint_name"] == flow.stack.state.parameters["AsyncEndpointName"]
    for stamp in ("created_at", "submitted_at", "sagemaker_received_at", "completed_at"):
        assert item.get(stamp), stamp
    # and the output object holds one score per row
    scores = flow.object(item["output_location"]).decode().splitlines()
    assert len(scores) == 12
    assert all(0.0 < float(score) < 1.0 for score in scores)
    # and exactly one message, SageMaker's own, arrived on the success topic
    received = flow.messages(item["request_id"])
    assert [(r.topic, r.message["invocationStatus"], r.message["eventSource"]) for r in received] == [
        ("SuccessTopic", "Completed", "aws:sagemaker")
    ]
    assert received[0].message["responseParameters"]["outputLocation"] == item["output_location"]
    assert received[0].message["requestParameters"]["inputLocation"] == f"s3://{flow.stack.bucket}/{key}"


def test_a_key_with_spaces_and_symbols_is_routed_by_its_decoded_name(flow: Flow) -> None:
    # Given a key that S3 must URL-encode in its notification
    key = flow.put("q4 results/a+b 100% é=1.csv", csv_rows(2))

    # Then the file is tracked and scored under its real name
    item = flow.wait_status(key)
    assert item["status"] == "SUCCEEDED"
    assert item["object_uri"] == f"s3://{flow.stack.bucket}/{key}"
    assert flow.messages(item["request_id"])[0].message["requestParameters"]["inputLocation"] == item["object_uri"]


def test_a_malformed_file_fails_with_the_models_client_error(flow: Flow) -> None:
    # Given a CSV file whose second row is not numeric
    key = flow.put("broken.csv", "1,2,3\n1,two,3\n")

    # When the model answers 400
    item = flow.wait_status(key)

    # Then the request failed with SageMaker's reason, and the model's answer is in the failure object
    assert item["status"] == "FAILED"
    assert item["failure_reason"].startswith("ClientError: Received client error (400) from model.")
    failure = json.loads(flow.object(item["failure_location"]))
    assert "row 2, field 2" in failure["error"]
    assert not flow.exists(item["output_location"])
    received = flow.messages(item["request_id"])
    assert [(r.topic, r.message["invocationStatus"]) for r in received] == [("ErrorTopic", "Failed")]
    assert received[0].message["responseParameters"]["failureLocation"] == item["failure_location"]


def test_a_model_server_error_fails_the_request(flow: Flow, model: object) -> None:
    # Given a model that answers its next invocation with a 500
    flow.stack.model("/_local/faults", {"status": 500, "count": 1})

    # When a file is scored
    key = flow.put("unlucky.csv", csv_rows(3))
    item = flow.wait_status(key)

    # Then the request failed with SageMaker's server-error reason
    assert item["status"] == "FAILED"
    assert item["failure_reason"].startswith("ServerError: Received server error (500) from model.")
    assert flow.exists(item["failure_location"])
    assert not flow.exists(item["output_location"])
    received = flow.messages(item["request_id"])
    assert [(r.topic, r.message["invocationStatus"]) for r in received] == [("ErrorTopic", "Failed")]


def test_a_request_that_waits_past_its_ttl_expires(flow: Flow) -> None:
    endpoint = flow.stack.state.parameters["AsyncEndpointName"]
    # Given an endpoint with no capacity (scaled to zero): requests stay queued
    flow.stack.standin(f"/_local/endpoints/{endpoint}/pause", {})
    try:
        key = flow.put("late.csv", csv_rows(2))
        item = flow.wait_status(key, "SUBMITTED")
        # When the request has waited longer than RequestTTLSeconds
        ttl = int(flow.stack.state.parameters["RequestTTLSeconds"])
        flow.stack.standin(f"/_local/endpoints/{endpoint}/age", {"seconds": ttl + 1})
        item = flow.wait_status(key)
    finally:
        flow.stack.standin(f"/_local/endpoints/{endpoint}/resume", {})

    # Then it expired without reaching the model: no output, an Expired message on the error topic
    assert item["status"] == "EXPIRED"
    assert "RequestTTLSeconds" in item["failure_reason"]
    assert not flow.exists(item["output_location"])
    received = flow.messages(item["request_id"])
    assert [(r.topic, r.message["invocationStatus"]) for r in received] == [("ErrorTopic", "Expired")]


def test_a_file_type_without_a_content_type_is_skipped(flow: Flow) -> None:
    key = flow.put("notes.md", "# not data\n")

    item = flow.wait_status(key)

    assert item["status"] == "SKIPPED"
    assert "unsupported file extension '.md'" in item["failure_reason"]
    assert flow.history(item["request_id"]) == []
    received = flow.messages(item["request_id"])
    assert [(r.topic, r.message["invocationStatus"], r.message["eventSource"]) for r in received] == [
        ("ErrorTopic", "Skipped", "sagemaker-inference-orchestrator")
    ]
