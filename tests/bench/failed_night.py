"""A failed 1,000,000-file night, on paper, from the per-file costs of a small failed night measured here.

A 2,000-file night runs in this process against a moto server (as in the ``nightly`` section), SageMaker's
transform jobs answered in process by the local stack's stand-in (tests/support/sagemaker.py; its own
reads and writes go to the server uncounted): the nightly handler starts its job and marks its files,
every output but two is written (two poison files, at roster positions 10 and 1,500), the stand-in
ends the job Failed and the batch-result handler gets its event, with ``NIGHT_SEGMENT_FILES=500``.
Measured: the AWS calls per verified file by operation, moto's time per file, and how many output
lookups came before the first retry job was created.

On paper: the measured calls per file times typical in-region latencies (assumed, not measured:
:data:`LATENCY_MS`), the lookups, publishes and writes on the function's 8 threads, give the time
per verified file on AWS; a 15-minute invocation verifies for 900 s less its 120 s margin. Check:
the first retry jobs of a 1,000,000-file night start in its first invocation (the segment that holds
a file without output is finished, its retry jobs started, within one segment's time).
"""

from __future__ import annotations

import argparse
import math
import time
from collections import Counter
from typing import Any

import boto3

from tests.bench.common import Row, load_handler
from tests.bench.nightly import (
    LAMBDA_ASYNC_ATTEMPTS,
    LAMBDA_TIMEOUT_MS,
    Calls,
    Context,
    _seed,
    counted_functions,
    moto_server,
)

SECTION = "failed_night"
FILES = 2_000
BAD_POSITIONS = (10, 1_500)
SEGMENT = 500
NIGHT = "2026-11-28"
PAPER_FILES = 1_000_000
# Typical in-region latencies (ms), assumed: the README's figures, and S3/SageMaker control calls.
LATENCY_MS = {
    "s3.HeadObject": 15,
    "s3.GetObject": 20,
    "s3.PutObject": 30,
    "dynamodb.BatchGetItem": 15,
    "dynamodb.UpdateItem": 5,
    "sns.PublishBatch": 20,
    "sagemaker.CreateTransformJob": 150,
    "sagemaker.DescribeTransformJob": 50,
    "eventbridge.PutEvents": 20,
}
# The batch-result function runs these on its thread pool (orchestrator.workflows.batch_results.WORKERS).
PARALLEL = frozenset({"s3.HeadObject", "sns.PublishBatch", "dynamodb.UpdateItem"})


def run(options: argparse.Namespace) -> list[Row]:
    from orchestrator.settings import NIGHT_SEGMENT_FILES
    from orchestrator.workflows.batch_results import WORKERS
    from orchestrator.workflows.failed_nights import VERIFY_MARGIN_MS

    with (
        moto_server() as endpoint,
        counted_functions(
            endpoint,
            TRANSFORM_MODEL_NAME="bench-model",
            TRANSFORM_SPLIT_TYPE="Line",
            NIGHT_SEGMENT_FILES=str(SEGMENT),
        ) as (setup, calls),
    ):
        measured = _measure(setup, endpoint, calls, _transform_jobs(setup, endpoint))
    counts, elapsed, summary, first_job_after = measured
    per_file = {name: count / FILES for name, count in counts.items()}
    aws_ms = sum(
        rate * LATENCY_MS.get(name, 20) / (WORKERS if name in PARALLEL else 1) for name, rate in per_file.items()
    )
    budget_s = (LAMBDA_TIMEOUT_MS - VERIFY_MARGIN_MS) / 1000
    segment_s = NIGHT_SEGMENT_FILES * aws_ms / 1000
    whole_s = PAPER_FILES * aws_ms / 1000
    invocations = math.ceil(whole_s / budget_s)
    detail = ", ".join(f"{name.split('.')[1]} {count}" for name, count in sorted(counts.items()))
    ok = summary.get("retryJobs") == len(BAD_POSITIONS) and summary.get("files") == FILES
    before = (
        f"invocation {invocations}"
        if invocations <= LAMBDA_ASYNC_ATTEMPTS
        else f"never: {invocations} invocations > Lambda's {LAMBDA_ASYNC_ATTEMPTS} attempts (BatchResultDLQ)"
    )
    return [
        Row(
            SECTION,
            f"{FILES:,}-file failed night: batch-result",
            f"{elapsed:.1f} s",
            f"moto over HTTP; {summary.get('retryJobs')} retry jobs, {summary.get('withOutput')} outputs",
            ok,
            True,
        ),
        Row(
            SECTION,
            "AWS calls per verified file",
            f"{sum(per_file.values()):.4f}",
            f"({sum(counts.values())}: {detail})",
        ),
        Row(SECTION, "moto time per verified file", f"{elapsed * 1000 / FILES:.2f} ms", "local HTTP, not AWS"),
        Row(
            SECTION,
            f"first retry job after (segment {SEGMENT})",
            f"{first_job_after:,} of {FILES:,} lookups",
            f"<= one segment: retry jobs start segment by segment (poison at {BAD_POSITIONS[0]})",
            first_job_after <= SEGMENT,
            True,
        ),
        Row(
            SECTION,
            "per verified file on AWS",
            f"{aws_ms:.2f} ms",
            f"measured calls x assumed latencies ({WORKERS} threads for lookups, publishes, writes)",
        ),
        Row(
            SECTION,
            f"{PAPER_FILES:,} files: first retry jobs start",
            f"invocation 1, ≤ {segment_s:.0f} s into it",
            f"goal: invocation 1 (one segment of {NIGHT_SEGMENT_FILES:,} files; {budget_s:.0f} s per invocation)",
            segment_s < budget_s,
            True,
        ),
        Row(
            SECTION,
            f"{PAPER_FILES:,} files: invocations to verify",
            f"{invocations} ({whole_s:,.0f} s / {budget_s:.0f} s)",
            "chained by hand-offs, each resuming at the recorded position",
        ),
        Row(SECTION, f"{PAPER_FILES:,} files: before, first retry job", before, "all files looked up first"),
    ]


def _transform_jobs(setup: Any, endpoint: str) -> Any:
    """The stand-in answering the functions' transform-job calls, its own clients on the moto server."""
    from functools import cache

    from tests.support.hooks import Interceptor
    from tests.support.sagemaker import transform_jobs

    assert boto3.DEFAULT_SESSION is not None
    standin = transform_jobs(clients=cache(lambda service: setup.client(service, endpoint_url=endpoint)))
    return standin.attach(Interceptor().attach(boto3.DEFAULT_SESSION.events))


def _measure(
    setup: Any, endpoint: str, calls: Calls, transform: Any
) -> tuple[Counter[str], float, dict[str, Any], int]:
    from orchestrator.aws import manifest

    dynamodb = setup.client("dynamodb", endpoint_url=endpoint)
    s3 = setup.client("s3", endpoint_url=endpoint)
    nightly = load_handler("nightly").lambda_handler
    results = load_handler("batch_result").lambda_handler
    _seed(dynamodb, FILES, NIGHT, f"{NIGHT}T01:00:00.000Z")
    job = nightly({"scheduledTime": f"{NIGHT}T02:00:00Z"}, Context())["jobName"]
    described = transform.jobs[job].description()
    manifest_uri = described["TransformInput"]["DataSource"]["S3DataSource"]["S3Uri"]
    bucket, key = manifest.split_uri(manifest.roster_uri(manifest_uri))
    roster = s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode().split("\n")
    bad = {roster[n].split()[0] for n in BAD_POSITIONS}
    output_path = described["TransformOutput"]["S3OutputPath"]
    for n in range(FILES):  # SageMaker kept going: every output but the poison files' (as _seed names them)
        request_id = f"{NIGHT.replace('-', '')}{n:024x}"
        if request_id not in bad:
            out_bucket, out_key = manifest.split_uri(
                manifest.output_location(output_path, f"incoming/nightly/{NIGHT}/part-{n:06d}.csv")
            )
            s3.put_object(Bucket=out_bucket, Key=out_key, Body=b"0.5\n")
    event = transform.finish(job, "Failed", "ClientError: See job logs for more information")
    calls.take()
    started = time.perf_counter()
    summary = results(event, Context())
    elapsed = time.perf_counter() - started
    ordered = list(calls.ordered)
    counts = calls.take()
    first_create = ordered.index("sagemaker.CreateTransformJob")
    lookups_before = ordered[:first_create].count("s3.HeadObject")
    return counts, elapsed, summary, lookups_before
