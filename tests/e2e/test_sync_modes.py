"""The synchronous modes end to end: S3 → router → scorer queue → scorer → InvokeEndpoint on the
stand-in's real-time / serverless endpoint → result object → topics → tracker, with the real handlers.

The local stack's RoutingRules (local/stack.py) send ``incoming/realtime/`` and ``incoming/serverless/``
to the two endpoints its parameters configure.
"""

from __future__ import annotations

import re

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


def test_the_scorer_scores_a_file_near_the_real_time_limit_within_its_memory_size(flow: Flow) -> None:
    """The scorer holds the whole input and the model's answer (real-time takes up to 6 MB): its
    execution environment's peak, as the REPORT line gives it (Max Memory Used, the process's peak
    resident memory), must leave room within the function's MemorySize, which is chosen from it."""
    # Given a CSV file of 5.5 MB under the real-time prefix
    body = csv_rows(300_000)
    assert 5_000_000 < len(body) < 6_000_000
    key = flow.put("large.csv", body, under="realtime/")

    # When it is scored
    item = flow.wait_status(key, timeout=120)
    assert item["status"] == "SUCCEEDED", item.get("failure_reason")
    assert len(flow.object(item["output_location"]).splitlines()) == 300_000

    # Then every scorer environment's peak left at least a third of its memory free
    log = flow.stack.directory / "logs" / "ScorerFunction.log"
    reports = [line for line in log.read_text(encoding="utf-8").splitlines() if line.startswith("REPORT ")]
    sizes = {int(re.search(r"Memory Size: (\d+) MB", line).group(1)) for line in reports}  # type: ignore[union-attr]
    peak = max(int(re.search(r"Max Memory Used: (\d+) MB", line).group(1)) for line in reports)  # type: ignore[union-attr]
    [memory_size] = sizes
    print(f"scorer peak {peak} MB of {memory_size} MB")
    assert peak <= memory_size * 2 / 3
