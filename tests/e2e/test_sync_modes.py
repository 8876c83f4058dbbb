"""The synchronous modes end to end: S3 → router → scorer queue → scorer → InvokeEndpoint on the
stand-in's real-time / serverless endpoint → result object → topics → tracker, with the real handlers.

The local stack's RoutingRules (local/stack.py) send ``incoming/realtime/`` and ``incoming/serverless/``
to the two endpoints its parameters configure.
"""

from __future__ import annotations

import pytest

from tests.e2e.flow import Flow, csv_rows


@pytest.mark.parametrize(
    ("mode", "parameter"), [("realtime", "RealtimeEndpointName"), ("serverless", "ServerlessEndpointName")]
)
def test_a_file_is_scored_by_the_synchronous_endpoint(flow: Flow, mode: str, parameter: str) -> None:
    # Given a CSV file of 5 rows under the mode's prefix
    key = flow.put("scores.csv", csv_rows(5), under=f"{mode}/")

    # When it flows through the stack
    item = flow.wait_status(key)

    # Then it SUCCEEDED in that mode, on that endpoint, with the rule that chose it recorded
    assert (item["status"], item["mode"]) == ("SUCCEEDED", mode)
    assert item["endpoint_name"] == flow.stack.state.parameters[parameter]
    assert item["route_reason"].startswith(f"[local: {mode} prefix] ")
    # and its output is at <OutputPrefix><mode>/<request id>.out, one score per row
    assert item["output_location"] == f"s3://{flow.stack.bucket}/results/{mode}/{item['request_id']}.out"
    scores = flow.object(item["output_location"]).decode().splitlines()
    assert len(scores) == 5
    # and exactly one message, the product's own, in the one shape
    [received] = flow.messages(item["request_id"])
    assert (received.topic, received.message["invocationStatus"], received.message["mode"]) == (
        "SuccessTopic",
        "Completed",
        mode,
    )
    assert received.message["responseParameters"]["outputLocation"] == item["output_location"]


@pytest.mark.parametrize("mode", ["realtime", "serverless"])
def test_a_malformed_file_fails_with_the_models_reason(flow: Flow, mode: str) -> None:
    # Given a CSV file whose second row is not numeric
    key = flow.put("broken.csv", "1,2,3\n1,two,3\n", under=f"{mode}/")

    # Then the model's 400 fails it, keeping the container's status, message and log stream
    item = flow.wait_status(key)
    assert (item["status"], item["mode"]) == ("FAILED", mode)
    assert "ModelError: the model answered 400" in item["failure_reason"]
    assert "/aws/sagemaker/Endpoints/" in item["failure_reason"]
    [received] = flow.messages(item["request_id"])
    assert (received.topic, received.message["failureReason"]) == ("ErrorTopic", item["failure_reason"])
