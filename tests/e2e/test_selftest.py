"""`sio selftest --local` as CI runs it, against the e2e stack (every mode configured: both
synchronous endpoints by their prefixes, async, batch, nightly): each mode's sample is scored, checked
and removed; a sample the model refuses fails the run naming the mode and the model's words.

The command runs as its own process, as a user types it (`SIO_LOCAL_STATE` points `--local` at this
stack's state directory)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from local.stack import LocalStack
from tests.e2e.flow import WAIT

MODES = ("realtime", "serverless", "async", "batch", "nightly")


def selftest(stack: LocalStack, *args: str | Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SIO_LOCAL_STATE": str(stack.directory)}
    command = [sys.executable, "-m", "sio", "selftest", "--local", "--timeout", str(WAIT), "--interval", "0.5"]
    return subprocess.run(
        [*command, *map(str, args)], capture_output=True, text=True, env=env, timeout=WAIT * 3, check=False
    )


def leftovers(stack: LocalStack, run_id: str, locations: list[str], jobs: list[str]) -> dict[str, list[str]]:
    """What is still there of one run: S3 versions (samples, results, job folders), queues, subscriptions."""
    s3, sqs, sns = stack.client("s3"), stack.client("sqs"), stack.client("sns")
    results = {location.removeprefix(f"s3://{stack.bucket}/") for location in locations}
    folders = tuple(f"results/batch/{job}/" for job in jobs)
    keys = [
        entry["Key"]
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=stack.bucket)
        for entry in page.get("Versions", []) + page.get("DeleteMarkers", [])
    ]
    return {
        "objects": [k for k in keys if f"sio-selftest/{run_id}/" in k or k in results or k.startswith(folders)],
        "queues": sqs.list_queues(QueueNamePrefix=f"sio-selftest-{run_id}").get("QueueUrls", []),
        "subscriptions": [
            s["SubscriptionArn"]
            for s in sns.list_subscriptions()["Subscriptions"]
            if f"sio-selftest-{run_id}" in s["Endpoint"]
        ],
    }


def _check(row: dict[str, Any], name: str) -> dict[str, Any]:
    [check] = [c for c in row["checks"] if c["check"] == name]
    return check


def test_every_configured_mode_passes_and_everything_the_run_created_is_removed(stack: LocalStack) -> None:
    # When the selftest runs on a stack with every mode configured
    done = selftest(stack, "-o", "json")

    # Then it exits 0, with one PASSED row per mode, each checked end to end
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout)
    assert [(row["mode"], row["status"]) for row in report["modes"]] == [(mode, "PASSED") for mode in MODES]
    assert report["not_configured"] == {}
    for row in report["modes"]:
        assert [c["check"] for c in row["checks"] if c["ok"]] == [
            "routed",
            *(["night"] if row["mode"] == "nightly" else []),
            "succeeded",
            "result",
            "message",
        ]
        assert _check(row, "message")["detail"] == "Completed message on the success topic"
        assert row["latency_seconds"] is not None and row["latency_seconds"] >= 0
    # the nightly one by an invocation of the nightly function with a schedule-shaped event of its own
    nightly = report["modes"][-1]
    [invocation] = nightly["nightly_invocations"]
    assert invocation["event"]["scheduleArn"] == "sio-selftest"
    assert invocation["response"]["jobCreated"] and invocation["response"]["files"] == 1
    assert invocation["response"]["jobName"] in _check(nightly, "result")["detail"]

    # And the tracker items stay, for their TTL
    dynamodb = stack.client("dynamodb")
    items = [
        dynamodb.get_item(TableName=stack.table, Key={"request_id": {"S": row["request_id"]}})["Item"]
        for row in report["modes"]
    ]
    assert [(i["status"]["S"], i["mode"]["S"]) for i in items] == [("SUCCEEDED", mode) for mode in MODES]
    # but nothing else it created is left: samples, results, the job folders, queues, subscriptions
    results = [_check(row, "result")["detail"].removeprefix("result at ") for row in report["modes"]]
    # (the batch sample's job is <prefix>-<request id>: its item may not name it, when the job finished first)
    jobs = [f"sio-{report['modes'][3]['request_id']}", invocation["response"]["jobName"]]
    assert leftovers(stack, report["run_id"], results, jobs) == {"objects": [], "queues": [], "subscriptions": []}
    assert report["cleanup"]["errors"] == [] and report["cleanup"]["left"] == []


def test_a_sample_the_model_refuses_fails_the_run_naming_each_mode_and_the_models_reason(
    stack: LocalStack, tmp_path: Path
) -> None:
    # Given a sample whose second row is not numbers (the demo model answers 400)
    sample = tmp_path / "refused.csv"
    sample.write_text("1,2,3\n1,two,3\n")

    # When the selftest runs with it on two modes
    done = selftest(stack, "--sample", sample, "--mode", "realtime", "--mode", "async")

    # Then it exits 1, and the table names each mode FAILED with the model's words
    assert done.returncode == 1, done.stdout + done.stderr
    rows = {line.split("│")[1].strip(): line for line in done.stdout.splitlines() if line.startswith("│ ")}
    assert set(rows) >= {"realtime", "async"}
    for mode in ("realtime", "async"):
        assert "FAILED" in rows[mode] and "succeeded: FAILED:" in rows[mode]
    table = " ".join(done.stdout.replace("│", " ").split())  # a long reason wraps inside its cell
    assert table.count("'two' is not a number") >= 2
    run_id = done.stderr.split("run ", 1)[1].split()[0].rstrip(":")
    assert leftovers(stack, run_id, [], []) == {"objects": [], "queues": [], "subscriptions": []}
