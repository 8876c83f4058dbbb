"""`sio submit` and `sio status` against a moto server (a process of its own, on loopback).

- 1,000 small files (1 KB) and one 200 MB file uploaded by `sio submit` (boto3's managed transfers,
  one transfer manager, progress bar on), against the same files uploaded with plain boto3 the way
  `aws s3 cp --recursive` does (``upload_file`` per file on 10 threads); the best of 5 rounds each,
  alternating (the best, not the median: on a shared 2-core machine the noise only ever slows a
  round down). Target: sio ≥ 0.9x the plain throughput (a timing target: MISS, not a failure).
- `sio status KEY` for a key with 10,000 versions in the tracker: the number of AWS calls, checked
  against its bound ⌈items / 1,000⌉ + 1 Query calls (pages of 1,000 items; on DynamoDB a page also
  stops at 1 MB, which at ~600 B an item is not reached).

The files live in a temporary directory, removed at the end (the 200 MB file too).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3

from local.loopback import free_port, wait_for_http
from tests.bench.common import ROOT, Row
from tests.support.aws import create_tracker_table
from tests.support.sio_moto import sio as run_sio
from tests.support.sio_moto import sio_calls

SECTION = "sio"
SMALL_FILES = 1000
SMALL_SIZE = 1024
BIG_SIZE = 200 * 1024 * 1024
STATUS_ITEMS = 10_000
ROUNDS = 5
TARGET = 0.9
BUCKET = "bench-sio"
TABLE = "bench-sio-tracker"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing"}


def run(options: argparse.Namespace) -> list[Row]:
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    server = subprocess.Popen(
        [sys.executable, "-m", "local.aws", "--port", str(port)],
        cwd=ROOT,
        env={**env, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_http(f"{endpoint}/moto-api/", 30, server)
        with tempfile.TemporaryDirectory(prefix="bench-sio-") as scratch:
            return _measure(endpoint, Path(scratch))
    finally:
        server.terminate()
        server.wait(10)


def _environment(endpoint: str) -> dict[str, str]:
    return {
        **CREDENTIALS,
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": endpoint,
        "SIO_INPUT_BUCKET_NAME": BUCKET,
        "SIO_INPUT_PREFIX": "incoming/",
        "SIO_TRACKER_TABLE_NAME": TABLE,
    }


def _measure(endpoint: str, scratch: Path) -> list[Row]:
    env = _environment(endpoint)
    os.environ.update(env)
    session = boto3.Session(region_name="us-east-1")
    s3 = session.client("s3", endpoint_url=endpoint)
    s3.create_bucket(Bucket=BUCKET)
    small = scratch / "small"
    small.mkdir()
    payload = os.urandom(SMALL_SIZE)
    for n in range(SMALL_FILES):
        (small / f"f{n:04d}.csv").write_bytes(payload)
    big = scratch / "big"
    big.mkdir()
    with (big / "large.csv").open("wb") as handle:
        chunk = os.urandom(1024 * 1024)
        for _ in range(BIG_SIZE // len(chunk)):
            handle.write(chunk)

    rows: list[Row] = []
    for label, folder, count, size in (
        ("1,000 x 1 KB", small, SMALL_FILES, SMALL_SIZE),
        ("1 x 200 MB", big, 1, BIG_SIZE),
    ):
        sio_times, plain_times = [], []
        for n in range(ROUNDS):
            plain_times.append(_timed(lambda n=n, folder=folder: _plain_upload(endpoint, folder, f"plain/{n}/")))
            _empty(s3)
            sio_times.append(_timed(lambda n=n, folder=folder: _sio_submit(env, folder, f"sio/{n}/")))
            _empty(s3)
        sio_s, plain_s = min(sio_times), min(plain_times)
        ratio = plain_s / sio_s
        unit = (count / sio_s, "files/s") if count > 1 else (size / sio_s / 1024**2, "MB/s")
        plain_unit = count / plain_s if count > 1 else size / plain_s / 1024**2
        rows.append(
            Row(
                SECTION,
                f"sio submit {label}",
                f"{unit[0]:,.0f} {unit[1]} vs plain boto3 {plain_unit:,.0f} ({ratio:.2f}x)",
                f"≥ {TARGET}x plain; best of {ROUNDS}",
                ratio >= TARGET,
            )
        )
    rows.append(_status_calls(session, endpoint, env))
    return rows


def _timed(action: Callable[[], None]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def _plain_upload(endpoint: str, folder: Path, prefix: str) -> None:
    """What `aws s3 cp --recursive` does with boto3: a client of its own (timed, as sio's is), then
    upload_file per file, 10 at a time."""
    s3 = boto3.Session(region_name="us-east-1").client("s3", endpoint_url=endpoint)
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    with ThreadPoolExecutor(max_workers=10) as pool:
        list(pool.map(lambda p: s3.upload_file(str(p), BUCKET, f"incoming/{prefix}{p.name}"), files))


def _sio_submit(env: dict[str, str], folder: Path, prefix: str) -> None:
    result = run_sio("-o", "json", "submit", str(folder), "--prefix", prefix, "--progress", env=env)
    if result.exit_code != 0:
        raise RuntimeError(f"sio submit failed ({result.exit_code}): {result.stderr or result.exception}")


def _empty(s3: Any) -> None:
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET):
        keys = [{"Key": o["Key"]} for o in page.get("Contents", [])]
        for start in range(0, len(keys), 1000):
            s3.delete_objects(Bucket=BUCKET, Delete={"Objects": keys[start : start + 1000]})


def _status_calls(session: Any, endpoint: str, env: dict[str, str]) -> Row:
    """`sio status KEY` for a key with 10,000 versions: AWS calls made, against the bound."""
    dynamodb = session.client("dynamodb", endpoint_url=endpoint)
    create_tracker_table(dynamodb, TABLE)  # the template's keys and indexes (ByObject is KEYS_ONLY)
    key = "incoming/bench/hot.csv"
    uri = f"s3://{BUCKET}/{key}"
    items = []
    for n in range(STATUS_ITEMS):
        stamp = f"2026-12-{1 + n // 2880:02d}T{(n // 120) % 24:02d}:{(n // 2) % 60:02d}:{n % 2 * 30:02d}.000Z"
        items.append(
            {
                "request_id": {"S": f"{n:032x}"},
                "object_uri": {"S": uri},
                "created_at": {"S": stamp},
                "bucket": {"S": BUCKET},
                "key": {"S": key},
                "version_id": {"S": f"v{n:030d}"},
                "status": {"S": "SUCCEEDED"},
                "mode": {"S": "async"},
                "size": {"N": "1024"},
                "output_location": {"S": f"s3://{BUCKET}/results/async/{n:032x}.out"},
                "status_since": {"S": stamp},
                "completed_at": {"S": stamp},
            }
        )
    for start in range(0, len(items), 25):
        dynamodb.batch_write_item(
            RequestItems={TABLE: [{"PutRequest": {"Item": i}} for i in items[start : start + 25]]}
        )

    with sio_calls() as calls:
        started = time.perf_counter()
        result = run_sio("-o", "json", "status", key, env=env)
        seconds = time.perf_counter() - started
    found = len(json.loads(result.stdout)["items"]) if result.exit_code == 0 else 0
    # Pages of 1,000 keys, then the items 100 at a time (BatchGetItem).
    bound = math.ceil(STATUS_ITEMS / 1000) + 1 + math.ceil(STATUS_ITEMS / 100)
    queries = sum(1 for call in calls if call.endswith(".Query"))
    return Row(
        SECTION,
        f"sio status KEY, {STATUS_ITEMS:,} versions",
        f"{len(calls)} AWS calls ({queries} Query), {found:,} items, {seconds:.1f} s on moto",
        f"≤ ⌈n / 1,000⌉ + 1 Query + ⌈n / 100⌉ BatchGetItem = {bound} calls",
        found == STATUS_ITEMS and len(calls) <= bound,
        check=True,
    )
