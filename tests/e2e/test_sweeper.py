"""The sweeper on the local stack: it runs on its schedule by itself (a compressed clock), resolves
files whose notification AWS lost from the result objects in S3, and announces each outcome once,
in the one message shape, with ``resolvedBy: sweeper``.

The lost notifications are the shared scenario of conftest.py (started with the first test, so the
65 s deadline runs out while the other tests run)."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta

from orchestrator.aws.tracker_table import TrackerTable

from local.aws.template import REPO
from local.stack import describe
from tests.e2e.config import E2E_PARAMETERS, SWEEP_SECONDS
from tests.e2e.flow import WAIT, Flow, LostNotifications

PRODUCT = "sagemaker-inference-orchestrator"


def _parse(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def _resolved_by_the_sweeper(flow: Flow, key: str, lost: str, status: str) -> tuple[dict, dict]:
    """The item once terminal and the stand-in's run of it, having checked that the run ended
    ``lost`` with its notification dropped, and that the sweeper closed the item ``status`` at its
    deadline, not before: submitted + RequestTTLSeconds + InvocationTimeoutSeconds +
    DeadlineGraceSeconds (the stack's parameters). Waits for the deadline plus a few sweeps."""
    item = flow.wait_status(key, {"SUBMITTED", "SUCCEEDED", "FAILED", "EXPIRED"})
    deadline = _parse(item["submitted_at"]) + timedelta(seconds=sum(int(v) for v in E2E_PARAMETERS.values()))
    left = max(0.0, (deadline - datetime.now(UTC)).total_seconds())
    item = flow.wait_status(key, timeout=left + 3 * SWEEP_SECONDS + WAIT / 3)
    [run] = flow.history(item["request_id"])
    assert (run["status"], run.get("dropped")) == (lost, True)
    assert (item["status"], item["resolved_by"]) == (status, "sweeper")
    assert _parse(item["completed_at"]) >= deadline
    return item, run


def test_a_lost_success_notification_is_resolved_by_the_sweeper_from_the_output_object(
    lost_notifications: LostNotifications,
) -> None:
    flow = lost_notifications.flow
    # A file that was scored, whose success notification the stand-in lost (the output is written):
    # at its deadline the sweeper found the output object
    item, run = _resolved_by_the_sweeper(flow, lost_notifications.success_key, "Completed", "SUCCEEDED")
    assert item["output_location"] == run["message"]["responseParameters"]["outputLocation"]
    assert len(flow.object(item["output_location"]).splitlines()) == 6
    # and announced it once, on the success topic, in the one message shape
    received = flow.messages(item["request_id"])
    assert [(r.topic, r.message["invocationStatus"], r.message["eventSource"]) for r in received] == [
        ("SuccessTopic", "Completed", PRODUCT)
    ]
    message = received[0].message
    assert message["resolvedBy"] == "sweeper"
    assert message["responseParameters"]["outputLocation"] == item["output_location"]
    assert message["requestParameters"]["inputLocation"] == item["object_uri"]


def test_a_lost_failure_notification_is_resolved_with_the_models_reason_from_the_failure_body(
    lost_notifications: LostNotifications,
) -> None:
    flow = lost_notifications.flow
    # A file the model rejected (400), whose failure notification the stand-in lost: the sweeper
    # read SageMaker's failure object, FAILED with the model's own words
    item, _ = _resolved_by_the_sweeper(flow, lost_notifications.failure_key, "Failed", "FAILED")
    assert "row 2, field 2" in item["failure_reason"]
    assert item["failure_location"] in item["failure_reason"]
    assert not flow.exists(item["output_location"])
    received = flow.messages(item["request_id"])
    assert [(r.topic, r.message["invocationStatus"], r.message.get("resolvedBy")) for r in received] == [
        ("ErrorTopic", "Failed", "sweeper")
    ]
    assert received[0].message["failureReason"] == item["failure_reason"]


def test_the_sweeper_runs_on_its_schedule_by_itself(flow: Flow) -> None:
    # Given an item the router claimed five days ago and never confirmed: past a RECEIVED item's
    # deadline (claim + QueueRetentionSeconds, 4 days by default, + 15 min of grace)
    five_days_ago = datetime.now(UTC) - timedelta(days=5)
    tracker = TrackerTable(flow.stack.table, flow.stack.client("dynamodb"), clock=lambda: five_days_ago)
    key = flow.key("never-routed.csv")
    request_id = uuid.uuid4().hex
    fields = {"bucket": flow.stack.bucket, "key": key, "object_uri": f"s3://{flow.stack.bucket}/{key}", "size": 10}
    assert tracker.claim(request_id, fields, claim_timeout_seconds=60)

    # When nobody runs the schedule: the runner plays it every SWEEP_SECONDS
    item = flow.wait_status(key, "FAILED", timeout=4 * SWEEP_SECONDS + 10)

    # Then the sweeper closed it as not routed, and announced it on the error topic
    assert item["failure_reason"].startswith("not routed:")
    assert item["resolved_by"] == "sweeper"
    received = flow.messages(request_id)
    assert [(r.topic, r.message["invocationStatus"], r.message["resolvedBy"]) for r in received] == [
        ("ErrorTopic", "Failed", "sweeper")
    ]
    runs = [json.loads(line) for line in flow.stack.log_path("schedules").read_text().splitlines()]
    mine = [run for run in runs if run["schedule"] == "SweeperFunctionSweep" and run["how"].startswith("every")]
    assert mine and all(run["ok"] for run in mine)
    assert any(run["result"]["resolved"].get("FAILED") for run in mine)


def test_the_printed_command_runs_the_sweeper_now_and_prints_its_response(flow: Flow) -> None:
    # Given the command `make stack` prints for the sweeper's schedule
    [command] = [line for line in describe(flow.stack).splitlines() if "--fire-schedule SweeperFunctionSweep" in line]
    args = shlex.split(command.split("#", 1)[0])
    assert args[0] == ".venv/bin/python" or args[0].endswith("python"), args

    # When a user runs it as printed, from the repository root
    done = subprocess.run(args, cwd=REPO, capture_output=True, text=True, timeout=120, check=False)

    # Then it ran the sweeper once and printed the function's response
    assert done.returncode == 0, done.stderr
    response = json.loads(done.stdout)
    assert set(response) >= {"now", "overdue", "resolved", "errors"}
    assert response["errors"] == 0
    assert "SweeperFunctionSweep (rate(5 minutes)) → SweeperFunction" in done.stderr


def test_an_unknown_schedule_is_refused_with_the_names_to_use(flow: Flow) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "local.runner", "--state", str(flow.stack.directory), "--fire-schedule", "Nope"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "NightlyFunctionNightly" in done.stderr and "SweeperFunctionSweep" in done.stderr
    assert "Traceback" not in done.stderr


def test_make_stack_prints_every_topic_and_queue_and_how_to_subscribe(flow: Flow) -> None:
    """A new user needs the topic ARNs, the DLQ URLs and a ready subscription command (issue 11)."""
    printed = describe(flow.stack)
    outputs = flow.stack.state.outputs
    for name in ("SuccessTopicArn", "ErrorTopicArn", "RouterDeadLetterQueueUrl", "TrackerDeadLetterQueueUrl"):
        assert outputs[name] in printed, name
    assert ".venv/bin/sio --local watch" in printed
    assert f"sns subscribe --topic-arn {outputs['SuccessTopicArn']}" in printed
