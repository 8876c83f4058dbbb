"""`sio` end to end on the local stack: every command as a user runs it, `--output json` parsed back.

The CLI runs in-process (click's runner) except `sio watch`, which runs as its own process so that
it can be interrupted like a person would (SIGINT) and its clean-up checked from outside.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result
from orchestrator.aws.tracker_table import TrackerTable
from orchestrator.core.status import Status
from sio.cli import cli

from local.model.demo_model import predict
from local.stack import LocalStack
from tests.e2e.flow import WAIT, Flow, csv_rows


def _interruptible() -> None:
    """In the child: Ctrl-C's default, even when the suite was started in the background with SIGINT
    ignored (a shell's `cmd &`), which Python would inherit and never raise KeyboardInterrupt."""
    signal.signal(signal.SIGINT, signal.default_int_handler)


def sio(stack: LocalStack, *args: str | Path) -> Result:
    return CliRunner(mix_stderr=False).invoke(cli, ["--state-dir", str(stack.directory), *map(str, args)])


def as_json(result: Result) -> Any:
    assert result.stdout, f"no output (exit {result.exit_code}): {result.stderr}"
    return json.loads(result.stdout)


def test_submit_a_folder_waits_until_terminal_and_results_fetch_the_models_output(
    stack: LocalStack, flow: Flow, tmp_path: Path
) -> None:
    # Given a folder with a file and a sub-folder
    folder = tmp_path / "customers"
    (folder / "east").mkdir(parents=True)
    bodies = {"a.csv": csv_rows(3), "east/b.csv": csv_rows(5, width=3)}
    for name, body in bodies.items():
        (folder / name).write_text(body)
    # When it is submitted with --wait
    result = sio(stack, "-o", "json", "submit", folder, "--prefix", f"e2e/{flow.tag}/", "--wait", "--timeout", WAIT)
    # Then every file is SUCCEEDED (exit 0), under the prefix, keeping the folder's name
    assert result.exit_code == 0, result.stderr
    report = as_json(result)
    assert report["all_terminal"] and report["counts"] == {"SUCCEEDED": 2}
    keys = {f"{flow.prefix}e2e/{flow.tag}/customers/{name}": name for name in bodies}
    assert {f["key"] for f in report["files"]} == set(keys)
    # And each result downloaded is what the model produced for that file
    for key, name in keys.items():
        fetched = sio(stack, "-o", "json", "results", key, "--download", tmp_path / "out")
        assert fetched.exit_code == 0, fetched.stderr
        row = as_json(fetched)["results"][0]
        assert row["status"] == "SUCCEEDED" and row["mode"] == "async"
        expected, _ = predict(bodies[name].encode(), "text/csv", "text/csv")
        assert Path(row["downloaded"]).read_bytes() == expected


def test_status_by_key_after_two_uploads_shows_two_versions(stack: LocalStack, flow: Flow, tmp_path: Path) -> None:
    # Given one key uploaded twice (two S3 versions: two requests)
    file = tmp_path / "twice.csv"
    ids = []
    for rows in (2, 4):
        file.write_text(csv_rows(rows))
        result = sio(stack, "-o", "json", "submit", file, "--prefix", f"e2e/{flow.tag}/", "--wait", "--timeout", WAIT)
        assert result.exit_code == 0, result.stderr
        ids.append(as_json(result)["files"][0]["request_id"])
    key = f"e2e/{flow.tag}/twice.csv"  # relative to the input prefix, as a user types it
    # When its status is asked by key / Then both versions, newest first, through ByObject
    history = as_json(sio(stack, "-o", "json", "status", key))
    assert history["query"]["by"].startswith("object (ByObject")
    assert [item["request_id"] for item in history["items"]] == ids[::-1]
    assert len({item["version_id"] for item in history["items"]}) == 2
    # And by request id: that one request (GetItem)
    one = as_json(sio(stack, "-o", "json", "status", ids[0]))
    assert [item["request_id"] for item in one["items"]] == [ids[0]]
    # And an in-flight status lists through the InFlight shards; SUCCEEDED says there is no index
    listing = sio(stack, "-o", "json", "status", "--status", "SUBMITTED", "--since", "1h")
    assert listing.exit_code == 0 and "InFlight" in as_json(listing)["query"]["by"]
    terminal = sio(stack, "status", "--status", "SUCCEEDED")
    assert terminal.exit_code == 2 and "no index lists SUCCEEDED items" in terminal.stderr
    # And the cost model can take this workload from the tracker
    measured = as_json(sio(stack, "-o", "json", "cost", "--from-tracker", "--days", "1"))
    assert measured["from_tracker"]["items"] >= 2 and measured["workload"]["requests_per_day"] >= 2


def test_status_of_an_outcome_lists_the_last_hours_files_and_not_older_ones(stack: LocalStack, flow: Flow) -> None:
    # Given a file the model refuses (FAILED) and an empty one (SKIPPED), through the stack
    failed = flow.put("broken.csv", "1,2,3\n1,two,3\n")
    skipped = flow.put("empty.csv", b"")
    assert (flow.wait_status(failed)["status"], flow.wait_status(skipped)["status"]) == ("FAILED", "SKIPPED")
    # And a failure of this test's folder recorded two hours ago (the tracker's own writes, at that time)
    two_hours_ago = datetime.now(UTC) - timedelta(hours=2)
    tracker = TrackerTable(stack.table, stack.client("dynamodb"), clock=lambda: two_hours_ago)
    older, request_id = flow.key("two-hours-ago.csv"), uuid.uuid4().hex
    assert tracker.claim(request_id, {"key": older, "object_uri": f"s3://{stack.bucket}/{older}", "mode": "async"}, 60)
    assert tracker.confirm(request_id, Status.FAILED, {"failure_reason": "an older failure"})

    def listed(status: str, since: str) -> list[str]:
        result = sio(stack, "-o", "json", "status", "--status", status, "--since", since)
        assert result.exit_code == 0, result.stderr
        assert as_json(result)["query"]["by"].startswith("outcome (ByOutcome index")
        return [item["key"] for item in as_json(result)["items"] if f"/{flow.tag}/" in item["key"]]

    # When the last hour's failures are listed / Then exactly this test's failed file, not the older one
    assert listed("FAILED", "1h") == [failed]
    assert listed("SKIPPED", "1h") == [skipped]
    # And a longer window reaches the older one too, newest first
    assert listed("FAILED", "3h") == [failed, older]
    # And a bad window is a usage error
    bad = sio(stack, "status", "--status", "FAILED", "--since", "1x")
    assert bad.exit_code == 2 and "bad --since: '1x'" in bad.stderr


def test_redrive_moves_a_planted_router_dlq_message_and_the_file_succeeds_once(stack: LocalStack, flow: Flow) -> None:
    # Given a file whose S3 notification never reached the router and sits in its DLQ
    s3, sqs = flow.s3, flow.sqs
    key = flow.key("lost.csv")
    config = s3.get_bucket_notification_configuration(Bucket=stack.bucket)
    config.pop("ResponseMetadata", None)
    s3.put_bucket_notification_configuration(Bucket=stack.bucket, NotificationConfiguration={})
    try:
        put = s3.put_object(Bucket=stack.bucket, Key=key, Body=csv_rows(2).encode())
    finally:
        s3.put_bucket_notification_configuration(Bucket=stack.bucket, NotificationConfiguration=config)
    notification = {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": stack.config.region,
        "eventTime": "2026-12-03T09:00:00.000Z",
        "eventName": "ObjectCreated:Put",
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": "planted",
            "bucket": {"name": stack.bucket, "arn": f"arn:aws:s3:::{stack.bucket}"},
            "object": {"key": key, "size": 16, "eTag": put["ETag"].strip('"'), "versionId": put["VersionId"]},
        },
    }
    sqs.send_message(QueueUrl=flow.queue_url("RouterDLQ"), MessageBody=json.dumps({"Records": [notification]}))
    assert flow.items(key) == []
    # When the router DLQ is redriven
    result = sio(stack, "-o", "json", "redrive", "router")
    # Then the message is moved (moto has no message-move task: the fallback says so), and why it is safe
    assert result.exit_code == 0, result.stderr
    report = as_json(result)
    assert (report["moved"], report["failed"], report["left"]) == (1, 0, 0)
    assert report["method"] == "receive-send-delete" and "StartMessageMoveTask" in report["notes"][0]
    assert "stops at its claim" in report["why_safe"]
    # And the file SUCCEEDS once: one item, one invocation, one announcement
    item = flow.wait_status(key, "SUCCEEDED")
    assert len(flow.history(item["request_id"])) == 1
    assert len(flow.messages(item["request_id"])) == 1


def _lines(stream: Any) -> queue.Queue[str]:
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        for line in stream:
            lines.put(line)

    threading.Thread(target=pump, daemon=True).start()
    return lines


def test_watch_receives_the_messages_and_cleans_up_when_interrupted(stack: LocalStack, flow: Flow) -> None:
    # Given `sio watch` running for this test's prefix
    command = [sys.executable, "-m", "sio", "--state-dir", str(stack.directory), "-o", "json", "watch"]
    command += ["--prefix", f"e2e/{flow.tag}/"]
    watcher = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ.copy(),
        preexec_fn=_interruptible,
    )
    try:
        out, err = _lines(watcher.stdout), _lines(watcher.stderr)
        started = err.get(timeout=30)
        assert started.startswith("watching"), started
        name = started.split("(queue ")[1].split(")")[0]
        # When a file under the prefix is scored, and another outside it
        key = flow.put("watched.csv", csv_rows(2))
        flow.s3.put_object(Bucket=stack.bucket, Key=f"{flow.prefix}e2e/other-{flow.tag}.csv", Body=csv_rows(1))
        # Then its message arrives, exactly as subscribers receive it
        message = json.loads(out.get(timeout=WAIT))
        assert message["invocationStatus"] == "Completed"
        assert message["requestParameters"]["inputLocation"] == f"s3://{stack.bucket}/{key}"
        # When interrupted (Ctrl-C)
        watcher.send_signal(signal.SIGINT)
        assert watcher.wait(30) == 130
    finally:
        if watcher.poll() is None:
            watcher.kill()
    # Then its queue and both subscriptions are gone, and nothing else arrived
    assert out.empty()
    assert not flow.sqs.list_queues(QueueNamePrefix=name).get("QueueUrls")
    subscriptions = stack.client("sns").list_subscriptions()["Subscriptions"]
    assert not [s for s in subscriptions if s["Endpoint"].endswith(f":{name}")]


def test_night_rerun_passes_the_documented_input_and_shows_the_answer(stack: LocalStack) -> None:
    # When a night that never ran is re-run / Then the nightly function's own answer comes back (exit 1)
    started = time.monotonic()
    result = sio(stack, "-o", "json", "night", "rerun", "2001-01-01")
    assert result.exit_code == 1, result.stderr
    answer = as_json(result)
    assert answer["event"] == {"rerun": 1, "date": "2001-01-01"}
    assert answer["errorType"] == "BadEventError" and "has no transform job" in answer["errorMessage"]
    assert time.monotonic() - started < 30
    # And a date that is not one never reaches the function
    bad = sio(stack, "night", "rerun", "28/11/2026")
    assert bad.exit_code == 2 and "YYYY-MM-DD" in bad.stderr


def test_stack_shows_where_everything_is(stack: LocalStack) -> None:
    found = as_json(sio(stack, "-o", "json", "stack"))
    assert found["source"] == "local" and found["endpoint_url"] == stack.aws_endpoint
    assert found["outputs"]["InputBucketName"] == stack.bucket
    assert {"SuccessTopicArn", "ErrorTopicArn", "RouterDeadLetterQueueUrl", "TrackerTableName"} <= set(found["outputs"])


def test_ctrl_c_during_wait_leaves_files_scoring_and_says_how_to_resume(
    stack: LocalStack, flow: Flow, tmp_path: Path
) -> None:
    # Given the endpoint without capacity (requests stay queued) and `sio submit --wait` running
    endpoint = stack.state.parameters["AsyncEndpointName"]
    file = tmp_path / "paused.csv"
    file.write_text(csv_rows(2))
    command = [sys.executable, "-m", "sio", "--state-dir", str(stack.directory), "submit", str(file)]
    command += ["--prefix", f"e2e/{flow.tag}/", "--wait"]
    env = {**os.environ, "SIO_STATE_DIR": str(tmp_path / "receipts")}
    stack.standin(f"/_local/endpoints/{endpoint}/pause", {})
    try:
        waiting = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, preexec_fn=_interruptible
        )
        out = _lines(waiting.stdout)
        key = flow.key("paused.csv")
        while "SUBMITTED" not in out.get(timeout=WAIT):  # the file reached the endpoint's queue
            pass
        # When interrupted
        waiting.send_signal(signal.SIGINT)
        _, err = waiting.communicate(timeout=30)
        # Then it exits 130 and names the command that resumes watching, with the receipt it saved
        assert waiting.returncode == 130
        assert "keep scoring" in err
        resume = err.strip().splitlines()[-1].split()
        assert resume[:2] == ["sio", "--local"] and resume[-2] == "wait"
        receipt = Path(resume[-1])
        assert receipt.parent == tmp_path / "receipts"
    finally:
        stack.standin(f"/_local/endpoints/{endpoint}/resume", {})
    # And resuming (this stack by its state directory) waits until the file SUCCEEDED
    resumed = sio(stack, "-o", "json", "wait", receipt, "--timeout", WAIT)
    assert resumed.exit_code == 0, resumed.stderr
    assert [(f["key"], f["status"]) for f in as_json(resumed)["files"]] == [(key, "SUCCEEDED")]
