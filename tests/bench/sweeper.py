"""The sweeper: AWS calls per overdue item by case, one run over 10,000 and 100,000 in-flight items,
and how a 100,000-file night's writes spread over the in-flight index's partitions.

moto runs as a server process on loopback (as in the ``nightly`` section), so ``tracemalloc`` in
this process measures the sweeper's own allocations. The table is seeded with BatchWriteItem from a
separate, uncounted session: every item SUBMITTED to the async endpoint, a few of them overdue (the
notifications AWS "lost"), the rest in flight with a later deadline. One run resolves at most
``MAX_ITEMS_PER_RUN`` items and counts the in-flight items per status (the ``InFlightItems`` metric).

Checks: the sweeper's peak memory at 100,000 in-flight items is at most 1.3 x its peak at 10,000;
every overdue item is resolved in one run; the per-case call sequences are exactly as documented.
"""

from __future__ import annotations

import argparse
import time
import tracemalloc
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.bench.common import Row, load_handler
from tests.bench.nightly import BUCKET, TABLE, Calls, Context, counted_functions, moto_server

SECTION = "sweeper"
SIZES = (10_000, 100_000)
OVERDUE = 200  # per size: lost notifications the run resolves
NIGHT = 100_000
MEMORY_RATIO_MAX = 1.3
ENDPOINT = "bench-async-endpoint"


def _item(n: int, prefix: str, deadline: str, **extra: Any) -> dict[str, Any]:
    from orchestrator.aws.tracker_table import _to_item
    from orchestrator.core import deadlines

    request_id = f"{prefix}{n:024x}"
    key = f"incoming/{prefix}/part-{n:06d}.csv"
    return {
        "PutRequest": {
            "Item": _to_item(
                {
                    "request_id": request_id,
                    "bucket": BUCKET,
                    "key": key,
                    "object_uri": f"s3://{BUCKET}/{key}",
                    "content_type": "text/csv",
                    "mode": "async",
                    "endpoint_name": ENDPOINT,
                    "status": "SUBMITTED",
                    "status_rank": 2,
                    "inflight": deadlines.partition("SUBMITTED", request_id),
                    "deadline_at": deadline,
                    "output_location": f"s3://{BUCKET}/results/async/{request_id}.out",
                    "failure_location": f"s3://{BUCKET}/results/async-failures/{request_id}-error.out",
                    "created_at": "2026-11-28T01:00:00.000Z",
                    "submitted_at": "2026-11-28T01:00:00.000Z",
                    "expires_at": 1_803_600_000,
                    **extra,
                }
            )
        }
    }


def _seed(dynamodb: Any, count: int, prefix: str, overdue: int, now: datetime) -> None:
    from orchestrator.core import timestamps

    past, later = timestamps.iso(now - timedelta(hours=1)), timestamps.iso(now + timedelta(hours=6))
    for start in range(0, count, 25):
        batch = [_item(n, prefix, past if n < overdue else later) for n in range(start, min(start + 25, count))]
        dynamodb.batch_write_item(RequestItems={TABLE: batch})


def run(options: argparse.Namespace) -> list[Row]:
    rows: list[Row] = [*_partition_spread()]
    with moto_server() as endpoint, counted_functions(endpoint, ASYNC_ENDPOINT_NAME=ENDPOINT) as (setup, calls):
        dynamodb = setup.client("dynamodb", endpoint_url=endpoint)
        s3 = setup.client("s3", endpoint_url=endpoint)
        sweep = load_handler("sweeper").lambda_handler
        now = datetime.now(UTC)
        rows += _cases(dynamodb, s3, sweep, calls, now)
        peaks: dict[int, int] = {}
        for size in SIZES:
            prefix = f"{size:08x}"
            started = time.perf_counter()
            _seed(dynamodb, size, prefix, OVERDUE, now)
            seeded = time.perf_counter() - started
            calls.take()
            tracemalloc.start()
            started = time.perf_counter()
            summary = sweep({}, Context())
            elapsed = time.perf_counter() - started
            peaks[size] = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            counts = calls.take()
            label = f"{size:,} in flight, {OVERDUE} overdue"
            ok = summary["overdue"] == OVERDUE and summary["resolved"].get("EXPIRED") == OVERDUE
            rows += [
                Row(
                    SECTION,
                    f"{label}: one run",
                    f"{elapsed:.1f} s",
                    f"moto over HTTP; seeding {seeded:.0f} s",
                    ok,
                    True,
                ),
                Row(SECTION, f"{label}: peak memory", f"{peaks[size] / 2**20:.2f} MiB", "tracemalloc"),
                Row(SECTION, f"{label}: AWS calls", _calls(counts), "Query pages: overdue + in-flight counts"),
            ]
            _finish(dynamodb, prefix, size)  # the next size measures its own items only
        ratio = peaks[SIZES[-1]] / peaks[SIZES[0]]
        rows.append(
            Row(
                SECTION,
                f"peak memory {SIZES[-1]:,} / {SIZES[0]:,} in flight",
                f"{ratio:.2f}",
                f"<= {MEMORY_RATIO_MAX} (paged: memory must not grow with the backlog)",
                ratio <= MEMORY_RATIO_MAX,
                True,
            )
        )
    return rows


def _cases(dynamodb: Any, s3: Any, sweep: Any, calls: Calls, now: datetime) -> list[Row]:
    """One overdue item per async case, swept alone: its exact calls (the Query pages aside)."""
    from orchestrator.core import timestamps

    expected = {
        "output found (SUCCEEDED)": ["s3.HeadObject", "dynamodb.UpdateItem", "sns.Publish", "dynamodb.UpdateItem"],
        "failure body found (FAILED)": [
            "s3.HeadObject",
            "s3.GetObject",
            "dynamodb.UpdateItem",
            "sns.Publish",
            "dynamodb.UpdateItem",
        ],
        "neither (EXPIRED)": [
            "s3.HeadObject",
            "s3.GetObject",
            "dynamodb.UpdateItem",
            "sns.Publish",
            "dynamodb.UpdateItem",
        ],
    }
    rows = []
    for n, (case, sequence) in enumerate(expected.items()):
        prefix = f"c{n:07x}"
        request_id = f"{prefix}{0:024x}"
        dynamodb.batch_write_item(RequestItems={TABLE: [_item(0, prefix, timestamps.iso(now - timedelta(hours=1)))]})
        if n == 0:
            s3.put_object(Bucket=BUCKET, Key=f"results/async/{request_id}.out", Body=b"0.5\n")
        if n == 1:
            s3.put_object(Bucket=BUCKET, Key=f"results/async-failures/{request_id}-error.out", Body=b"bad row")
        calls.take()
        sweep({}, Context())
        seen = [call for call in _sequence(calls) if call != "dynamodb.Query"]
        rows.append(
            Row(
                SECTION,
                f"calls per overdue async item: {case}",
                str(len(seen)),
                ", ".join(seen),
                seen == sequence,
                True,
            )
        )
    return rows


def _sequence(calls: Calls) -> list[str]:
    return list(calls.ordered)


def _calls(counts: Counter[str]) -> str:
    return f"{sum(counts.values())} ({', '.join(f'{k.split(".")[1]} {v}' for k, v in sorted(counts.items()))})"


def _finish(dynamodb: Any, prefix: str, size: int) -> None:
    """Take a size's remaining items out of the index (uncounted), so the next size starts clean."""
    for start in range(0, size, 25):
        keys = [
            {"DeleteRequest": {"Key": {"request_id": {"S": f"{prefix}{n:024x}"}}}}
            for n in range(start, min(start + 25, size))
        ]
        dynamodb.batch_write_item(RequestItems={TABLE: keys})


def _partition_spread() -> list[Row]:
    """A 100,000-file night marked SUBMITTED: writes per in-flight index partition (request ids are
    hashes; the bench derives them as the router does). ByStatus put every one on one partition."""
    from orchestrator.core import deadlines, identity

    writes = Counter(
        deadlines.partition("SUBMITTED", identity.request_id(BUCKET, f"incoming/nightly/f-{n:06d}.csv", "v1", None))
        for n in range(NIGHT)
    )
    busiest = max(writes.values())
    share = busiest / NIGHT
    return [
        Row(
            SECTION,
            f"{NIGHT:,}-file night: writes per index partition",
            f"{min(writes.values()):,}-{busiest:,} over {len(writes)}",
            f"busiest {share:.1%} (ByStatus: 100% on one); ~{int(1000 / share):,} writes/s before throttling",
            len(writes) == deadlines.SHARDS and share < 2 / deadlines.SHARDS,
            True,
        )
    ]
