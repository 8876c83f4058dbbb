"""200 files through the local stack: files per second and p50/p95 end-to-end latency.

The whole offline product on this machine (moto, the SageMaker stand-in, the demo model, the real
handlers in their own processes), started on free loopback ports. Each file is a small CSV put
with ``PutObject``; its latency is the tracker's ``completed_at`` minus the S3 event time (what the
product's ``EndToEndLatency`` metric measures). Throughput is files over the time from the first
put to the last completion. This measures the local stack, not AWS: reported for regressions.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

from local.observe import tracker_items, wait_for
from local.stack import LocalStack, StackConfig
from tests.bench.common import Row

SECTION = "local_stack"
FILES = 200
UPLOADERS = 8
CONCURRENCY = 1  # execution environments per function (2 gains little: moto is the bottleneck)


def _parse(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def run(options: argparse.Namespace) -> list[Row]:
    with tempfile.TemporaryDirectory(prefix="bench-local-stack-") as state_dir:
        config = StackConfig.on_free_ports(
            stack_name="orchestrator-bench",
            state_dir=Path(state_dir),
            concurrency=CONCURRENCY,
        )
        with LocalStack(config) as stack:
            return _measure(stack)


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


def _measure(stack: LocalStack) -> list[Row]:
    body = b"".join(f"{i % 5 - 2}.5,{i % 3}.0,-1.25,{i % 7}.75\n".encode() for i in range(20))
    single = _single_file_latency(stack, body)
    keys = [f"incoming/bench/file-{n:04d}.csv" for n in range(FILES)]

    def put(key: str) -> None:
        stack.client("s3").put_object(Bucket=stack.bucket, Key=key, Body=body)

    began = time.monotonic()
    first_put = datetime.now().astimezone()
    with ThreadPoolExecutor(UPLOADERS) as pool:
        list(pool.map(put, keys))
    put_seconds = time.monotonic() - began

    def finished() -> list[dict] | None:
        items = [i for i in tracker_items(stack) if str(i["key"]).startswith("incoming/bench/file-")]
        done = [i for i in items if i.get("status") in ("SUCCEEDED", "FAILED", "EXPIRED", "SKIPPED")]
        return items if len(done) >= FILES else None

    items = wait_for(finished, 300, interval=0.5, what=f"{FILES} files scored")
    succeeded = [i for i in items if i["status"] == "SUCCEEDED"]
    latencies = [
        (_parse(i["completed_at"]) - _parse(i.get("s3_event_time") or i["created_at"])).total_seconds() for i in items
    ]
    last = max(_parse(i["completed_at"]) for i in items)
    span = (last - first_put).total_seconds()
    return [
        Row(SECTION, "stack start (moto, resources, stand-in, model, runner)", f"{stack.started_in:.1f} s"),
        Row(SECTION, "execution environments per function", str(CONCURRENCY), "StackConfig.concurrency"),
        Row(SECTION, "one file at a time, end-to-end latency (median of 5)", f"{single * 1000:.0f} ms", "idle stack"),
        Row(SECTION, f"{FILES} files put at once ({UPLOADERS} uploaders)", f"{put_seconds:.1f} s"),
        Row(SECTION, "files succeeded", f"{len(succeeded)}/{FILES}", "all", len(succeeded) == FILES, check=True),
        Row(SECTION, "throughput (first put → last completion)", f"{FILES / span:.1f} files/s", "local stack, not AWS"),
        Row(
            SECTION,
            f"{FILES} files: end-to-end latency p50",
            f"{statistics.median(latencies) * 1000:.0f} ms",
            "S3 event → tracker, queueing included",
        ),
        Row(
            SECTION,
            f"{FILES} files: end-to-end latency p95",
            f"{_percentile(latencies, 0.95) * 1000:.0f} ms",
            "S3 event → tracker, queueing included",
        ),
    ]
