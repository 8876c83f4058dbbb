"""At-least-once delivery on the local stack: duplicates, redeliveries, poison messages, a crashed runner."""

from __future__ import annotations

import json
import time

from local.observe import wait_for
from tests.e2e.flow import WAIT, Flow, csv_rows


def test_duplicate_s3_notifications_score_the_file_once(flow: Flow) -> None:
    # Given a file that was scored
    key = flow.put("twice.csv", csv_rows(4))
    item = flow.wait_status(key, "SUCCEEDED")

    # When S3 delivers its notification again, in moto's form and in the complete form
    flow.send("RouterQueue", flow.s3_notification(item, complete=False))
    flow.send("RouterQueue", flow.s3_notification(item, complete=True))
    flow.queue_idle("RouterQueue")

    # Then both are acknowledged as the same request: one item, one invocation, one message
    again = flow.item(key)
    assert again == item  # not written again
    assert len(flow.history(item["request_id"])) == 1
    assert len(flow.messages(item["request_id"])) == 1


def test_a_new_version_of_the_same_key_is_a_new_request(flow: Flow) -> None:
    key = flow.put("daily.csv", csv_rows(2))
    first = flow.wait_status(key, "SUCCEEDED")

    flow.put("daily.csv", csv_rows(3))
    wait_for(lambda: len(flow.items(key)) == 2 and all(i["status"] == "SUCCEEDED" for i in flow.items(key)), WAIT)

    items = flow.items(key)
    assert len({i["version_id"] for i in items}) == 2
    second = next(i for i in items if i["request_id"] != first["request_id"])
    assert len(flow.object(second["output_location"]).splitlines()) == 3


def test_a_redelivered_result_message_is_acknowledged_and_ignored(flow: Flow) -> None:
    # Given a file whose success was recorded
    key = flow.put("once.csv", csv_rows(2))
    item = flow.wait_status(key, "SUCCEEDED")
    message = flow.messages(item["request_id"])[0].envelope["Message"]

    # When SNS delivers the same result to the tracker queue again, and a late Expired after it
    flow.send("TrackerQueue", message)
    late = json.loads(message) | {"invocationStatus": "Expired", "responseParameters": {}}
    flow.send("TrackerQueue", json.dumps(late))
    flow.queue_idle("TrackerQueue")

    # Then the item is unchanged and nothing went to the dead-letter queue
    assert flow.item(key) == item
    assert item["status"] == "SUCCEEDED"
    dlq = flow.sqs.receive_message(
        QueueUrl=flow.queue_url("TrackerDLQ"), MaxNumberOfMessages=10, VisibilityTimeout=0, WaitTimeSeconds=0
    )
    assert not [m for m in dlq.get("Messages", []) if item["request_id"] in m["Body"]]


def _result(flow: Flow, status: str, endpoint: str) -> str:
    return json.dumps(
        {
            "awsRegion": "us-east-1",
            "eventTime": "2026-11-28T21:14:09.873Z",
            "receivedTime": "2026-11-28T21:14:06.012Z",
            "invocationStatus": status,
            "requestParameters": {"endpointName": endpoint, "inputLocation": "s3://elsewhere/x.csv"},
            "responseParameters": {"outputLocation": "s3://elsewhere/x.out"},
            "inferenceId": f"unknown-{flow.tag}",
            "eventVersion": "1.0",
            "eventSource": "aws:sagemaker",
            "eventName": "InferenceResult",
        }
    )


def _in_dlq(flow: Flow, body: str) -> list[dict]:
    response = flow.sqs.receive_message(
        QueueUrl=flow.queue_url("TrackerDLQ"), MaxNumberOfMessages=10, VisibilityTimeout=0, WaitTimeSeconds=0
    )
    return [m for m in response.get("Messages", []) if m["Body"] == body]


def test_a_result_that_is_not_this_stacks_is_acknowledged_not_retried(flow: Flow) -> None:
    # Given results the tracker cannot record: another endpoint's, and one for a request it never saw
    endpoint = flow.stack.state.parameters["AsyncEndpointName"]
    bodies = [_result(flow, "Completed", "someone-elses-endpoint"), _result(flow, "Completed", endpoint)]

    # When they reach the tracker queue
    for body in bodies:
        flow.send("TrackerQueue", body)
    flow.queue_idle("TrackerQueue")

    # Then both are acknowledged at once (counted as UnknownNotifications), nothing written, nothing in the DLQ
    assert not flow.items(f"unknown-{flow.tag}")
    assert not [m for body in bodies for m in _in_dlq(flow, body)]


def test_a_poison_message_reaches_the_dlq_after_max_receive_count_tries(flow: Flow) -> None:
    # Given a result message that cannot be read (an invocationStatus SageMaker never sends)
    body = _result(flow, "Exploded", flow.stack.state.parameters["AsyncEndpointName"])
    redrive = json.loads(
        flow.sqs.get_queue_attributes(QueueUrl=flow.queue_url("TrackerQueue"), AttributeNames=["RedrivePolicy"])[
            "Attributes"
        ]["RedrivePolicy"]
    )

    # When it is sent to the tracker queue
    flow.send("TrackerQueue", body)

    # Then after maxReceiveCount failed tries it is in the tracker's DLQ, with that receive count
    def in_dlq() -> dict | None:
        response = flow.sqs.receive_message(
            QueueUrl=flow.queue_url("TrackerDLQ"), AttributeNames=["All"], WaitTimeSeconds=1, VisibilityTimeout=30
        )
        return next((m for m in response.get("Messages", []) if m["Body"] == body), None)

    dead = wait_for(in_dlq, WAIT, what="poison message in TrackerDLQ")
    # (the count carries over to the DLQ; this test's own receive is the one more)
    assert int(dead["Attributes"]["ApproximateReceiveCount"]) == int(redrive["maxReceiveCount"]) + 1
    flow.sqs.delete_message(QueueUrl=flow.queue_url("TrackerDLQ"), ReceiptHandle=dead["ReceiptHandle"])
    assert not [i for i in flow.items(f"unknown-{flow.tag}")]


def test_a_runner_killed_mid_run_loses_and_double_scores_nothing(flow: Flow, model: object) -> None:
    # Given a slow model, and files in flight at SageMaker
    flow.stack.model("/_local/faults", {"delay": 0.7})
    first = [flow.put(f"inflight-{n}.csv", csv_rows(2)) for n in range(3)]
    for key in first:
        flow.wait_status(key, {"SUBMITTED", "SUCCEEDED"})

    # When the runner (and its function processes) die at once
    flow.stack.kill_runner()
    try:
        # while results keep arriving and more files are dropped
        later = [flow.put(f"while-down-{n}.csv", csv_rows(2)) for n in range(2)]
        time.sleep(1.0)
    finally:
        # and the runner is started again
        flow.stack.start_runner()
    flow.stack.model("/_local/faults", {"delay": 0})

    # Then every file is scored exactly once
    for key in first + later:
        item = flow.wait_status(key, timeout=WAIT)
        assert item["status"] == "SUCCEEDED", key
        assert len(flow.items(key)) == 1
        runs = flow.history(item["request_id"])
        assert [run["status"] for run in runs] == ["Completed"], key
        assert flow.exists(item["output_location"])
        assert [r.message["invocationStatus"] for r in flow.messages(item["request_id"])] == ["Completed"]
