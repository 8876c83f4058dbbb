"""Drops of 200 / 1,000 / 5,000 files through the local stack: files per second and p50/p95 end-to-end latency.

The whole offline product on this machine (moto, the SageMaker stand-in, the demo model, the real
handlers in their own processes), started on free loopback ports. Each file is a small CSV put
with ``PutObject``; its latency is the tracker's ``completed_at`` minus the S3 event time (what the
product's ``EndToEndLatency`` metric measures). Throughput is files over the time from the first
put to the last completion. This measures the local stack, not AWS: reported for regressions.
Each drop (200, 1,000 and 5,000 files) runs on a fresh stack.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

from local.observe import tracker_items, wait_for
from local.stack import LocalStack, StackConfig
from tests.bench.common import Row

SECTION = "local_stack"
DROPS = (200, 1000, 5000)
UPLOADERS = 8
CONCURRENCY = 8  # execution environments per function: 1 leaves moto idle while a router waits on it
# The sweeper's rate(5 minutes), 10x faster (the demo's 3 s is 100x): a drop of seconds still sees
# sweeps, and each sweep's ~130 queries of the in-flight lanes do not weigh on the local DynamoDB ten
# times as often as on AWS.
SWEEP_SECONDS = 30.0
# Requests the async endpoint's model runs at once (the stand-in's default is 2): the pipeline is what is
# measured, not a small model's queue.
MODEL_CONCURRENCY = 8
TERMINAL = ("SUCCEEDED", "FAILED", "EXPIRED", "SKIPPED")
PREFIX = "incoming/bench/file-"


def _parse(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def run(options: argparse.Namespace, drops: tuple[int, ...] = DROPS) -> list[Row]:
    rows: list[Row] = []
    for files in drops:
        with tempfile.TemporaryDirectory(prefix="bench-local-stack-") as state_dir:
            config = StackConfig.on_free_ports(
                stack_name="orchestrator-bench",
                state_dir=Path(state_dir),
                concurrency=CONCURRENCY,
                rate_schedule_seconds=SWEEP_SECONDS,
                standin={"async_concurrency": MODEL_CONCURRENCY},
            )
            with LocalStack(config) as stack:
                rows += _measure(stack, files, first=not rows)
    return rows


def _single_file_latency(stack: LocalStack, body: bytes, runs: int = 5) -> float:
    """Median end-to-end latency of one file at a time on an idle stack (warm functions)."""
    latencies = []
    for n in range(runs):
        key = f"incoming/bench/single-{n}.csv"
        stack.client("s3").put_object(Bucket=stack.bucket, Key=key, Body=body)

        def done(key: str = key) -> dict | None:
            return next((i for i in tracker_items(stack) if i["key"] == key and i["status"] == "SUCCEEDED"), None)

        item = wait_for(done, 60, interval=0.05, what=key)
        latencies.append((_parse(item["completed_at"]) - _parse(item["s3_event_time"])).total_seconds())
    return statistics.median(latencies)


def _announcement_counter(stack: LocalStack) -> Callable[[], int]:
    """A queue subscribed to both result topics, as a user subscribes, and a count of what reached it.
    Every terminal status is announced there first, so the drop is nearly done once the count reaches
    its size; counting costs moto one pass over this queue, where counting the tracker's terminal items
    was a scan of the whole table holding the local DynamoDB's lock (a fifth of moto's CPU at 2,000 files)."""
    sqs, sns = stack.client("sqs"), stack.client("sns")
    url = sqs.create_queue(QueueName="bench-announcements")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    for output in ("SuccessTopicArn", "ErrorTopicArn"):
        topic = stack.state.outputs[output]
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "true"})

    def count() -> int:
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
        return int(attributes["Attributes"]["ApproximateNumberOfMessages"])

    return count


def _terminal_count(stack: LocalStack) -> int:
    """Tracker items of the drop in a terminal status (``Select=COUNT``: nothing but the number comes back)."""
    dynamodb = stack.client("dynamodb")
    statuses = {f":s{n}": {"S": status} for n, status in enumerate(TERMINAL)}
    kwargs: dict[str, Any] = {
        "TableName": stack.table,
        "Select": "COUNT",
        "ConsistentRead": True,
        "FilterExpression": f"begins_with(#k, :prefix) AND #s IN ({', '.join(statuses)})",
        "ExpressionAttributeNames": {"#k": "key", "#s": "status"},
        "ExpressionAttributeValues": {":prefix": {"S": PREFIX}, **statuses},
    }
    count = 0
    while True:
        page = dynamodb.scan(**kwargs)
        count += page["Count"]
        if "LastEvaluatedKey" not in page:
            return count
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _measure(stack: LocalStack, files: int, first: bool) -> list[Row]:
    body = b"".join(f"{i % 5 - 2}.5,{i % 3}.0,-1.25,{i % 7}.75\n".encode() for i in range(20))
    single = _single_file_latency(stack, body) if first else None
    announced = _announcement_counter(stack)
    keys = [f"{PREFIX}{n:05d}.csv" for n in range(files)]

    def put(key: str) -> None:
        stack.client("s3").put_object(Bucket=stack.bucket, Key=key, Body=body)

    began = time.monotonic()
    first_put = datetime.now().astimezone()
    with ThreadPoolExecutor(UPLOADERS) as pool:
        list(pool.map(put, keys))
    put_seconds = time.monotonic() - began

    # Announcements first (cheap to count), then the tracker's records, which follow them by up to a
    # minute at 5,000 files (its queue's backlog): each look a scan of the whole table under the local
    # DynamoDB's one-at-a-time lock (a count, not the items), so one every 2 s per 1,000 files, or the
    # looks hold the tracker's writes back. The items are read once, at the end. The figures come from
    # the items' timestamps, not from when the bench looked.
    wait_for(lambda: announced() >= files, 60 + files, interval=1.0, what=f"{files} files announced")
    interval = max(2.0, files / 500)
    wait_for(lambda: _terminal_count(stack) >= files, 120, interval=interval, what=f"{files} files recorded")
    items = [i for i in tracker_items(stack) if str(i["key"]).startswith(PREFIX)]
    succeeded = [i for i in items if i["status"] == "SUCCEEDED"]
    latencies = [
        (_parse(i["completed_at"]) - _parse(i.get("s3_event_time") or i["created_at"])).total_seconds() for i in items
    ]
    last = max(_parse(i["completed_at"]) for i in items)
    span = (last - first_put).total_seconds()
    header = [
        Row(SECTION, "stack start (moto, resources, stand-in, model, runner)", f"{stack.started_in:.1f} s"),
        Row(SECTION, "execution environments per function", str(CONCURRENCY), "StackConfig.concurrency"),
    ]
    if single is not None:
        header.append(
            Row(
                SECTION, "one file at a time, end-to-end latency (median of 5)", f"{single * 1000:.0f} ms", "idle stack"
            )
        )
    return [
        *(header if first else []),
        Row(SECTION, f"{files} files put at once ({UPLOADERS} uploaders)", f"{put_seconds:.1f} s"),
        Row(
            SECTION,
            f"{files} files: succeeded",
            f"{len(succeeded)}/{files}",
            "all",
            len(succeeded) == files,
            check=True,
        ),
        Row(
            SECTION,
            f"{files} files: throughput (first put → last completion)",
            f"{files / span:.1f} files/s",
            "goal ≥ 50, flat from 200 to 5,000",
            files / span >= 50,
        ),
        Row(
            SECTION,
            f"{files} files: end-to-end latency p50",
            f"{statistics.median(latencies) * 1000:.0f} ms",
            "S3 event → tracker, queueing included",
        ),
        Row(
            SECTION,
            f"{files} files: end-to-end latency p95",
            f"{_percentile(latencies, 0.95) * 1000:.0f} ms",
            "S3 event → tracker, queueing included",
        ),
    ]
