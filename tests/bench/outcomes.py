"""The outcome index (``ByOutcome``): what it adds to each file's writes, and what listing it costs.

- **Write units per file** the index adds, by DynamoDB's rules (``tests/support/index_units.py``: an
  entry put, deleted or moved is ⌈(projected size + 100 B) / 1 KB⌉ units) applied to the items the
  product really writes: the real handlers (router, tracker, scorer) on moto in process, with the
  integration tier's SageMaker stand-ins, every write read back from the table's stream with the item
  before and after it. Goal: 0 for a success (a check row); an unsuccessful outcome is one put.
- **`sio status --status FAILED --since 1h` over 10,000 failures** of the last hour, beside 1,000
  older failures and 1,000 successes (written by the tracker adapter, each at its moment): the AWS
  calls it makes, checked against one Query per shard and page of 1,000 (the bound is computed from
  the keys the tracker wrote), and that it lists exactly the window's 10,000.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.bench.common import REGION, Row, function_env, patched_environ, quiet_handlers
from tests.support.index_units import ENTRY_OVERHEAD, Index, Write, WriteLog, changes, item_size, units

SECTION = "outcomes"
FAILURES = 10_000
OLDER_FAILURES = 1_000
SUCCESSES = 1_000
PAGE = 1_000  # sio's Query page (items)
TABLE = "bench-outcomes"
MODEL_BODY = 2_048  # the most of a model's failure body the tracker copies into the reason


def run(options: argparse.Namespace) -> list[Row]:
    return [*_write_units(), _listing_calls()]


# ---------------------------------------------------------------- write units per file


def _write_units() -> list[Row]:
    import boto3
    from moto import mock_aws
    from orchestrator.core import deadlines

    from tests.support import aws as stack_support
    from tests.support.hooks import Interceptor
    from tests.support.sagemaker import async_endpoint, sync_endpoints
    from tests.support.wiring import reset_wiring

    outcomes = Index.declared(stack_support.tracker_table_properties(), deadlines.OUTCOME_INDEX)
    with patched_environ(function_env()), mock_aws():
        setup = boto3.Session(region_name=REGION)
        stack = stack_support.create_stack(setup)
        log = WriteLog(setup.client("dynamodb"), setup.client("dynamodbstreams"), stack.table)
        scorer_queue = setup.client("sqs").create_queue(QueueName="bench-scorer")["QueueUrl"]
        env = {**function_env(), **stack.router_env(), "INPUT_BUCKET": stack.bucket, "OUTPUT_PREFIX": "results/"}
        realtime = {"SCORER_QUEUE_URL": scorer_queue, "REALTIME_ENDPOINT_NAME": "demo-realtime-endpoint"}
        rows: list[Row] = []
        for phase_env, scenarios in ((env, _async_scenarios), ({**env, **realtime}, _realtime_scenarios)):
            with patched_environ(phase_env):
                boto3.setup_default_session()  # the functions' clients come from this session
                assert boto3.DEFAULT_SESSION is not None
                interceptor = Interceptor().attach(boto3.DEFAULT_SESSION.events)
                async_endpoint(stack.bucket).attach(interceptor)
                sync_endpoint = sync_endpoints().attach(interceptor)
                reset_wiring()
                try:
                    with quiet_handlers():
                        for scenario, succeeds, drive in scenarios(setup, stack, sync_endpoint, scorer_queue):
                            log.take()
                            request_id = drive()
                            writes = log.take()
                            rows.append(_units_row(scenario, succeeds, outcomes, writes, request_id))
                finally:
                    reset_wiring()
                    boto3.DEFAULT_SESSION = None
    return rows


def _units_row(scenario: str, succeeds: bool, index: Index, writes: list[Write], request_id: str) -> Row:
    cost, done = units(index, writes, request_id), changes(index, writes, request_id)
    final = [w.new for w in writes if w.request_id == request_id][-1]
    entry = index.entry(final)
    size = "" if entry is None else f"; entry {item_size(entry)} B + {ENTRY_OVERHEAD} B overhead"
    value = f"{cost} unit(s) ({', '.join(done) or 'not written'}) over {len(writes)} table writes{size}"
    metric = f"ByOutcome write units, {scenario}"
    if succeeds:
        return Row(SECTION, metric, value, "0 (goal)", cost == 0 and not done, check=True)
    return Row(SECTION, metric, value, "one entry put", done == ["put"], check=True)


Scenario = tuple[str, bool, Callable[[], str]]


def _upload(setup: Any, stack: Any, key: str, body: bytes) -> tuple[dict[str, Any], str]:
    from orchestrator.core import identity

    from tests.support.events import s3_put_record

    version = setup.client("s3").put_object(Bucket=stack.bucket, Key=key, Body=body)["VersionId"]
    record = s3_put_record(key, size=len(body), version_id=version)
    return record, identity.request_id(stack.bucket, key, version, None)


def _async_scenarios(setup: Any, stack: Any, _: Any, __: str, *___: Any) -> list[Scenario]:
    from tests.support.events import sagemaker_notification, sqs_event, tracker_record
    from tests.support.lambda_runtime import invoker

    route, track = invoker("router"), invoker("tracker")

    def notified(name: str, kind: str, model_body: bytes | None = None) -> Callable[[], str]:
        def drive() -> str:
            record, request_id = _upload(setup, stack, f"incoming/bench/{name}.csv", b"age,income\n42,1000\n")
            route(sqs_event(record))
            changes: dict[str, Any] = {}
            if model_body is not None:  # the model's own words, read into the reason (up to 2 KB)
                item = _item(setup, stack, request_id)
                bucket, key = item["failure_location"].removeprefix("s3://").split("/", 1)
                setup.client("s3").put_object(Bucket=bucket, Key=key, Body=model_body)
                changes["responseParameters"] = {"failureLocation": item["failure_location"]}
            track(sqs_event(tracker_record(sagemaker_notification(kind, request_id, **changes))))
            return request_id

        return drive

    def empty() -> str:
        record, request_id = _upload(setup, stack, "incoming/bench/empty.csv", b"")
        route(sqs_event(record))
        return request_id

    return [
        ("async SUCCEEDED", True, notified("ok", "success")),
        ("async FAILED (SageMaker's reason)", False, notified("failed", "error")),
        ("async EXPIRED", False, notified("expired", "expired")),
        (
            "async FAILED, the model's 2 KB failure body in the reason",
            False,
            notified("wordy", "error", b"x" * MODEL_BODY * 2),
        ),
        ("SKIPPED (empty file)", False, empty),
    ]


def _realtime_scenarios(setup: Any, stack: Any, endpoint: Any, queue: str, *_: Any) -> list[Scenario]:
    from tests.support.events import sqs_event
    from tests.support.lambda_runtime import invoker

    route, score = invoker("router"), invoker("scorer")
    sqs = setup.client("sqs")

    def scored(name: str, model_error: tuple[int, str] | None) -> Callable[[], str]:
        def drive() -> str:
            record, request_id = _upload(setup, stack, f"incoming/bench/{name}.csv", b"age,income\n42,1000\n")
            route(sqs_event(record))
            messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
            endpoint.model_error = model_error
            score(sqs_event(*({"messageId": m["MessageId"], "body": m["Body"]} for m in messages)))
            for message in messages:
                sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
            return request_id

        return drive

    return [
        ("realtime SUCCEEDED", True, scored("rt-ok", None)),
        ("realtime FAILED (model 4xx)", False, scored("rt-failed", (400, "feature 'age' must be a number"))),
    ]


def _item(setup: Any, stack: Any, request_id: str) -> dict[str, Any]:
    from tests.support.aws import get_item

    item = get_item(setup.client("dynamodb"), stack.table, request_id)
    assert item is not None, f"no item for {request_id}"
    return item


# ---------------------------------------------------------------- listing 10,000 failures


def _listing_calls() -> Row:
    import boto3
    from moto import mock_aws
    from orchestrator.aws.tracker_table import TrackerTable
    from orchestrator.core import deadlines
    from orchestrator.core.status import Status

    from tests.support.aws import create_tracker_table
    from tests.support.clock import FakeClock
    from tests.support.sio_moto import sio as run_sio
    from tests.support.sio_moto import sio_calls

    env = {"SIO_TRACKER_TABLE_NAME": TABLE, "SIO_INPUT_BUCKET_NAME": "bench", "AWS_REGION": REGION}
    with patched_environ(function_env()), mock_aws():
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        create_tracker_table(dynamodb, TABLE)
        now = datetime.now(UTC)
        window: list[str] = []
        clock = FakeClock()
        tracker = TrackerTable(TABLE, dynamodb, clock=clock)
        plan = [(Status.FAILED, FAILURES, 0), (Status.FAILED, OLDER_FAILURES, 7200), (Status.SUCCEEDED, SUCCESSES, 0)]
        for status, count, age in plan:
            for n in range(count):
                request_id = hashlib.sha256(f"{status}{age}{n}".encode()).hexdigest()[:32]
                clock.moment = now - timedelta(seconds=age + 60 + n * 0.15)  # within 26 minutes, or 2 h older
                key = f"incoming/bench/{status.value.lower()}-{age}-{n}.csv"
                tracker.claim(request_id, {"key": key, "mode": "async", "object_uri": f"s3://bench/{key}"}, 150)
                tracker.confirm(request_id, status, {"failure_reason": "bench" if status is Status.FAILED else None})
                if status is Status.FAILED and age == 0:
                    window.append(request_id)
        per_shard: dict[str | None, int] = {}
        for request_id in window:
            shard = deadlines.outcome_key(Status.FAILED, request_id)
            per_shard[shard] = per_shard.get(shard, 0) + 1
        bound = sum(per_shard.get(p, 0) // PAGE + 1 for p in deadlines.partitions("FAILED"))

        with sio_calls() as calls:
            started = time.perf_counter()
            result = run_sio("-o", "json", "status", "--status", "FAILED", "--since", "1h", env=env)
            seconds = time.perf_counter() - started
    listed = [item["request_id"] for item in json.loads(result.stdout)["items"]] if result.exit_code == 0 else []
    queries = sum(1 for call in calls if call.endswith(".Query"))
    return Row(
        SECTION,
        f"sio status --status FAILED --since 1h, {FAILURES:,} failures",
        f"{len(calls)} AWS calls ({queries} Query), {len(listed):,} listed, {seconds:.1f} s on moto",
        f"= Σ shards ⌊n / {PAGE:,}⌋ + 1 = {bound} Query; {OLDER_FAILURES:,} older failures and "
        f"{SUCCESSES:,} successes never read",
        sorted(listed) == sorted(window) and len(calls) == queries == bound,
        check=True,
    )
