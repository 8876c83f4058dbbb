"""The nightly batch at scale: 10,000 and 100,000 SCHEDULED files, then the night's Completed event.

moto runs as a separate server process on loopback (``python -m moto.server``), so the bench
process holds only what the functions hold: ``tracemalloc`` measures the functions' own Python
allocations, not moto's copy of the table. The real handlers (``functions/nightly``,
``functions/batch_result``) run in this process, warm (a 10-file night first loads every client
and operation model once), with ``AWS_ENDPOINT_URL`` pointing at the server. The table is seeded
with BatchWriteItem from a separate, uncounted session. Calls are counted with botocore's
``before-call`` event on the session the functions use.

Checks: the nightly function's peak at 100,000 files is at most 1.3 x its peak at 10,000 (memory
does not grow with the night); each run starts exactly one job and marks every file. Wall times
are moto's (local HTTP, ~1 ms per call), not DynamoDB's; the README turns the per-file call counts
into AWS figures.
"""

from __future__ import annotations

import argparse
import contextlib
import socket
import subprocess
import sys
import time
import tracemalloc
from collections import Counter
from collections.abc import Iterator
from typing import Any

import boto3

from tests.bench import common
from tests.bench.common import ACCOUNT, REGION, LambdaContext, Row

SECTION = "nightly"
SIZES = (10_000, 100_000)
MEMORY_RATIO_MAX = 1.3
BUCKET = f"bench-input-{ACCOUNT}-{REGION}"
TABLE = "bench-tracker"
LAMBDA_TIMEOUT_MS = 900_000
LAMBDA_ASYNC_ATTEMPTS = 3  # the first invocation and Lambda's 2 retries
_SERVER = "import gc, sys; gc.set_threshold(10_000, 50, 10**9); from moto.server import main; main(sys.argv[1:])"


class Clock:
    """A Lambda context whose remaining time counts down from 15 minutes, as Lambda's does."""

    def __init__(self) -> None:
        self.started = time.monotonic()

    def get_remaining_time_in_millis(self) -> int:
        return int(LAMBDA_TIMEOUT_MS - (time.monotonic() - self.started) * 1000)


class Context(LambdaContext):
    def __init__(self) -> None:
        self._clock = Clock()

    def get_remaining_time_in_millis(self) -> int:  # type: ignore[override]
        return self._clock.get_remaining_time_in_millis()


class Calls:
    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.ordered: list[str] = []

    def __call__(self, event_name: str, **_: Any) -> None:
        self.counts[event_name.split(".", 1)[1]] += 1
        self.ordered.append(event_name.split(".", 1)[1])

    def take(self) -> Counter[str]:
        counts, self.counts, self.ordered = self.counts, Counter(), []
        return counts


@contextlib.contextmanager
def moto_server() -> Iterator[str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        # moto keeps the table as Python objects: full passes of the cyclic GC grow with the heap, so
        # the server runs young-generation collections only and a call costs the same at 100,000
        # items as at 10 (wall times are moto's, not DynamoDB's).
        [sys.executable, "-c", _SERVER, "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
                break
            if time.monotonic() > deadline or server.poll() is not None:
                raise RuntimeError("moto server did not start")
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _create_resources(setup: Any, env: dict[str, str]) -> dict[str, str]:
    from tests.support.aws import create_tracker_table

    create_tracker_table(setup.client("dynamodb"), TABLE)
    setup.client("s3").create_bucket(Bucket=BUCKET)
    sns = setup.client("sns")
    env["SUCCESS_TOPIC_ARN"] = sns.create_topic(Name="bench-success")["TopicArn"]
    env["ERROR_TOPIC_ARN"] = sns.create_topic(Name="bench-error")["TopicArn"]
    return env


@contextlib.contextmanager
def counted_functions(endpoint: str, **settings: str) -> Iterator[tuple[Any, Calls]]:
    """The functions' environment against the moto server at ``endpoint`` (``settings`` on top): the
    table, bucket and topics created from an uncounted session, yielded for seeding and reading back;
    every call of the functions' default session counted; the composition root cold on entry and exit."""
    from tests.support.wiring import reset_wiring

    env = common.function_env(TRACKER_TABLE=TABLE, INPUT_BUCKET=BUCKET, AWS_ENDPOINT_URL=endpoint, **settings)
    with common.patched_environ(env):
        setup = boto3.Session(region_name=REGION)
        env = _create_resources(setup, env)
    with common.patched_environ(env), common.quiet_handlers():
        boto3.setup_default_session()
        calls = Calls()
        boto3.DEFAULT_SESSION.events.register("before-call.*.*", calls, unique_id="bench-counted-calls")
        reset_wiring()
        try:
            yield setup, calls
        finally:
            boto3.DEFAULT_SESSION.events.unregister("before-call.*.*", unique_id="bench-counted-calls")
            reset_wiring()
            boto3.DEFAULT_SESSION = None


def _seed(dynamodb: Any, count: int, night: str, scheduled_at: str) -> None:
    """``count`` items as the router leaves a nightly file: SCHEDULED before the night's time."""
    from orchestrator.aws.tracker_table import _to_item
    from orchestrator.core import deadlines

    for start in range(0, count, 25):
        requests = []
        for n in range(start, min(start + 25, count)):
            key = f"incoming/nightly/{night}/part-{n:06d}.csv"
            requests.append(
                {
                    "PutRequest": {
                        "Item": _to_item(
                            {
                                "request_id": (request_id := f"{night.replace('-', '')}{n:024x}"),
                                "inflight": deadlines.partition("SCHEDULED", request_id),
                                "deadline_at": f"{night}T23:59:59.000Z",
                                "bucket": BUCKET,
                                "key": key,
                                "version_id": "3HL4kqtJlcpXroDTDmjVBH40Nrjfkd",
                                "sequencer": "0062E9A9B1D4E8E5C7",
                                "etag": "0123456789abcdef0123456789abcdef",
                                "size": 2048,
                                "object_uri": f"s3://{BUCKET}/{key}",
                                "content_type": "text/csv",
                                "mode": "nightly",
                                "route_reason": "under the nightly prefix 'incoming/nightly/'",
                                "s3_event_time": scheduled_at,
                                "status": "SCHEDULED",
                                "status_rank": 1,
                                "status_since": scheduled_at,
                                "created_at": scheduled_at,
                                "scheduled_at": scheduled_at,
                                "expires_at": 1_803_600_000,
                            }
                        )
                    }
                }
            )
        dynamodb.batch_write_item(RequestItems={TABLE: requests})


def _invoke(handler: Any, event: dict[str, Any]) -> tuple[dict[str, Any], float, int, int]:
    """Run ``handler`` as Lambda runs an asynchronous invocation: a run that stops before the
    timeout (RetryableError) is retried with the same event, up to Lambda's 2 retries.
    Returns the result, the wall time, the peak traced memory and the number of invocations."""
    from orchestrator.errors import RetryableError

    tracemalloc.start()
    started = time.perf_counter()
    try:
        for invocation in range(1, LAMBDA_ASYNC_ATTEMPTS + 1):
            try:
                result = handler(event, Context())
                break
            except RetryableError:
                if invocation == LAMBDA_ASYNC_ATTEMPTS:
                    raise
        return result, time.perf_counter() - started, tracemalloc.get_traced_memory()[1], invocation
    finally:
        tracemalloc.stop()


def _per_file(counts: Counter[str], files: int) -> str:
    total = sum(counts.values())
    detail = ", ".join(f"{name.split('.')[1]} {count}" for name, count in sorted(counts.items()))
    return f"{total / files:.4f} ({total} calls: {detail})"


def run(options: argparse.Namespace) -> list[Row]:
    sizes = SIZES
    rows: list[Row] = []
    with (
        moto_server() as endpoint,
        counted_functions(endpoint, TRANSFORM_MODEL_NAME="bench-model", TRANSFORM_SPLIT_TYPE="Line") as (setup, calls),
    ):
        dynamodb = setup.client("dynamodb", endpoint_url=endpoint)
        nightly = common.load_handler("nightly").lambda_handler
        results = common.load_handler("batch_result").lambda_handler
        # Warm-up: a 10-file night and its result load every client and operation model once.
        _seed(dynamodb, 10, "2026-11-27", "2026-11-27T01:00:00.000Z")
        warm = nightly({"scheduledTime": "2026-11-27T02:00:00Z"}, Context())
        results(_completed(warm["jobName"], setup, endpoint), Context())
        calls.take()
        peaks: dict[int, int] = {}
        for day, size in enumerate(sizes, start=28):
            night = f"2026-11-{day}"
            started = time.perf_counter()
            _seed(dynamodb, size, night, f"{night}T01:00:00.000Z")
            seeded = time.perf_counter() - started
            summary, elapsed, peaks[size], runs = _invoke(nightly, {"scheduledTime": f"{night}T02:00:00Z"})
            counts = calls.take()
            label = f"{size:,} files"
            ok = summary["jobName"] is not None and summary["files"] in (size, None)
            note = f"moto over HTTP, {runs} invocation(s); seeding took {seeded:.0f} s"
            rows += [
                Row(SECTION, f"{label}: nightly run", f"{elapsed:.1f} s", note, ok, True),
                Row(SECTION, f"{label}: nightly peak memory", f"{peaks[size] / 2**20:.2f} MiB", "tracemalloc"),
                Row(SECTION, f"{label}: nightly AWS calls per file", _per_file(counts, size)),
            ]
            event = _completed(summary["jobName"], setup, endpoint)
            _, elapsed, peak, runs = _invoke(results, event)
            counts = calls.take()
            note = f"one message per file, {runs} invocation(s)"
            rows += [
                Row(SECTION, f"{label}: batch-result (Completed)", f"{elapsed:.1f} s", note, runs == 1 or None),
                Row(SECTION, f"{label}: batch-result peak memory", f"{peak / 2**20:.2f} MiB", "tracemalloc"),
                Row(SECTION, f"{label}: batch-result AWS calls per file", _per_file(counts, size)),
            ]
            rows.append(_tracker_check(dynamodb, night, size))
        small, large = peaks[sizes[0]], peaks[sizes[-1]]
        ratio = large / small
        rows.append(
            Row(
                SECTION,
                f"nightly peak memory {sizes[-1]:,} / {sizes[0]:,} files",
                f"{ratio:.2f}",
                f"<= {MEMORY_RATIO_MAX} (memory must not grow with the night)",
                ratio <= MEMORY_RATIO_MAX,
                True,
            )
        )
    return rows


def _tracker_check(dynamodb: Any, night: str, size: int) -> Row:
    """Every file of the night ended SUCCEEDED (read back uncounted: terminal items are in no index)."""
    paginator = dynamodb.get_paginator("scan")
    pages = paginator.paginate(
        TableName=TABLE,
        FilterExpression="#s = :s AND begins_with(request_id, :night)",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":s": {"S": "SUCCEEDED"}, ":night": {"S": night.replace("-", "")}},
        Select="COUNT",
    )
    done = sum(page["Count"] for page in pages)
    return Row(
        SECTION, f"{size:,} files: SUCCEEDED in the tracker", f"{done:,}", f"expect {size:,}", done == size, True
    )


def _completed(job_name: str, setup: Any, endpoint: str) -> dict[str, Any]:
    """The Completed state-change event of ``job_name``, as SageMaker would send it (moto sends none)."""
    described = setup.client("sagemaker", endpoint_url=endpoint).describe_transform_job(TransformJobName=job_name)
    event = common.load_event("transform-state-completed.json")
    event["detail"].update(
        {
            "TransformJobName": job_name,
            "TransformJobArn": described["TransformJobArn"],
            "TransformInput": described["TransformInput"],
            "TransformOutput": described["TransformOutput"],
        }
    )
    return event
