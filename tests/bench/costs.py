"""What one file costs the product, measured, and the cost model fed with it.

- **Write units per file, by path**: the real handlers (router, scorer, tracker, nightly, batch
  result) on moto in process with the integration tier's SageMaker and transform stand-ins, what
  reaches the tracker's queue through the template's subscriptions delivered to it (and counted:
  ``tracker_messages``), every table write read back from the table's
  stream (item before and after), priced by DynamoDB's rules (``tests/support/index_units.py``: the
  table ⌈larger image / 1 KB⌉, each index entry put, deleted or moved at its projected size + 100 B)
  against the indexes template.yaml declares; a conditional write that fails (no stream record) is
  counted from the call's answer at ⌈item / 1 KB⌉; reads ⌈4 KB⌉ units (halved when eventually
  consistent), and every AWS call counted.
- **Log bytes per file**: the lines (and EMF metric documents) the handlers really print, counted.
- The figures are written to ``cli/sio/measured.json`` (with the date) with ``--write``, the file
  ``sio cost`` reads, then **cost per million files by mode** is printed from that model, so the
  README, ``sio cost`` and this table come from the same code.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import math
import os
import warnings
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.bench.common import REGION, ROOT, Row, function_env, patched_environ

SECTION = "costs"
MEASURED = ROOT / "cli" / "sio" / "measured.json"
# Paths the model prices, and the scenario each is measured with.
PATHS = {
    "async": "async SUCCEEDED",
    "async_failed": "async FAILED (SageMaker's reason)",
    "realtime": "realtime SUCCEEDED",
    "realtime_failed": "realtime FAILED (model 4xx)",
    "skipped": "SKIPPED (empty file)",
    "batch": "batch SUCCEEDED (a job of its own)",
    "nightly": "nightly SUCCEEDED (a night of one file)",
}
# Measured too, not kept: its log lines less a night of one file's are what one more file adds; the
# rest is the night's own (its job started, its run finished, its result recorded), once a night.
NIGHT_OF_TWO = "nightly SUCCEEDED (a night of two files)"


class _Counting(io.TextIOBase):
    """A text stream that counts the UTF-8 bytes written to it."""

    def __init__(self) -> None:
        self.bytes = 0

    def write(self, text: str) -> int:
        self.bytes += len(text.encode("utf-8"))
        return len(text)


@contextlib.contextmanager
def _counted_logs(counter: _Counting) -> Iterator[None]:
    """Powertools' log lines and EMF documents (stdout) counted instead of printed. The logger starts
    as a fresh container's does: keys another function appended in this process (a night's job name)
    would not be in the lines of a function that has a container of its own on AWS."""
    from orchestrator.observability import logger

    logger.clear_state()
    handler = logger.registered_handler
    with contextlib.redirect_stdout(counter):
        previous = handler.setStream(counter)  # type: ignore[attr-defined]
        try:
            yield
        finally:
            handler.setStream(previous)  # type: ignore[attr-defined]


def measure() -> dict[str, Any]:
    """Per path: table writes, write units by table/index, failed conditional writes, log bytes."""
    import boto3
    import pytest
    from moto import mock_aws
    from orchestrator.workflows.tracker import OutcomeRecorder
    from sio import product

    from tests.bench.outcomes import _async_scenarios, _realtime_scenarios
    from tests.support import aws as stack_support
    from tests.support.aws import drain
    from tests.support.events import sqs_event, tracker_record
    from tests.support.hooks import Interceptor
    from tests.support.index_units import ENTRY_OVERHEAD, WRITE_UNIT, WriteLog, indexes, item_size, write_units
    from tests.support.lambda_runtime import invoker
    from tests.support.sagemaker import async_endpoint, sync_endpoints, transform_jobs
    from tests.support.transform import batch_env
    from tests.support.wiring import reset_wiring

    track = invoker("tracker")

    declared = indexes(stack_support.tracker_table_properties())
    [in_flight] = [index for index in declared if index.name == product.IN_FLIGHT_INDEX]
    measured: dict[str, Any] = {}
    wanted = {scenario: path for path, scenario in PATHS.items()} | {NIGHT_OF_TWO: "night_of_two"}
    with patched_environ(function_env()), mock_aws():
        setup = boto3.Session(region_name=REGION)
        stack = stack_support.create_stack(setup)
        table_client = setup.client("dynamodb")
        log = WriteLog(table_client, setup.client("dynamodbstreams"), stack.table)
        scorer_queue = setup.client("sqs").create_queue(QueueName="bench-scorer")["QueueUrl"]
        env = {**function_env(), **stack.router_env(), "INPUT_BUCKET": stack.bucket, "OUTPUT_PREFIX": "results/"}
        realtime = {"SCORER_QUEUE_URL": scorer_queue, "REALTIME_ENDPOINT_NAME": "demo-realtime-endpoint"}
        phases = (
            (env, _async_scenarios),
            ({**env, **realtime}, _realtime_scenarios),
            ({**env, **batch_env(stack.bucket)}, _job_scenarios),
        )
        for phase_env, scenarios in phases:
            with patched_environ(phase_env):
                boto3.setup_default_session()
                assert boto3.DEFAULT_SESSION is not None
                probe = _Probe().attach(boto3.DEFAULT_SESSION.events)
                interceptor = Interceptor().attach(boto3.DEFAULT_SESSION.events)
                async_endpoint(stack.bucket).attach(interceptor)
                sync_endpoint = sync_endpoints().attach(interceptor)
                transform = transform_jobs().attach(interceptor)
                reset_wiring()
                try:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore", UserWarning)
                        for scenario, _, drive in scenarios(setup, stack, sync_endpoint, scorer_queue, transform):
                            if scenario not in wanted:
                                continue
                            log.take()
                            probe.clear()
                            counter = _Counting()
                            with _counted_logs(counter), pytest.MonkeyPatch.context() as patch:
                                # Every message the tracker is handed (SageMaker's notifications are
                                # handed by the scenario), kept.
                                handed = _handed_to_tracker(patch, OutcomeRecorder)
                                request_id = drive()
                                # What reaches the tracker's queue through its subscriptions (the
                                # template's filter keeps the product's own successes out): delivered as
                                # Lambda would.
                                while messages := drain(setup.client("sqs"), stack.tracker_queue_url):
                                    track(sqs_event(*(tracker_record(m["Body"]) for m in messages)))
                            # The success topic's messages (a user's subscription gets the product's;
                            # SageMaker's were handed to the tracker): what the success subscription's
                            # body filter scans.
                            published = [m["Body"] for m in drain(setup.client("sqs"), stack.success_watch_url)]
                            successes = published + [b for b in handed if _sagemakers_success(b)]
                            writes = [w for w in log.take() if w.request_id == request_id]
                            units: dict[str, int] = {}
                            for write in writes:
                                for name, n in write_units(declared, write).items():
                                    units[name] = units.get(name, 0) + n
                            final = writes[-1].new or {}
                            # A failed condition still costs the item's size in units (no stream record).
                            refused = probe.refused * max(1, -(-item_size(final) // WRITE_UNIT))
                            measured[wanted[scenario]] = {
                                "scenario": scenario,
                                "table_writes": len(writes),
                                "failed_conditional_writes": probe.refused,
                                "write_units": {**units, "failed conditions": refused},
                                "write_units_total": sum(units.values()) + refused,
                                "largest_item_bytes": max(item_size(w.new or w.old or {}) for w in writes),
                                # What a Query of the in-flight index reads for this file (the sweeper's
                                # gauges read every lane each run): its largest entry, with DynamoDB's
                                # per-entry overhead.
                                "in_flight_entry_bytes": max(
                                    item_size(entry) + ENTRY_OVERHEAD
                                    for w in writes
                                    if (entry := in_flight.entry(w.new)) is not None
                                ),
                                "log_bytes": counter.bytes,
                                "tracker_messages": len(handed),
                                "success_message_bytes": sum(len(b.encode("utf-8")) for b in successes),
                                "read_units": dict(sorted(probe.reads.items())),
                                "calls": dict(sorted(probe.calls.items())),
                            }
                finally:
                    reset_wiring()
                    boto3.DEFAULT_SESSION = None
    # A night's lines are the night's, not each file's: split by a night of one and of two files.
    one, pair = measured["nightly"], measured.pop("night_of_two")
    per_file = pair["log_bytes"] - one["log_bytes"]
    if not 0 < per_file < one["log_bytes"]:  # a line logged once per process would land in one night only
        raise AssertionError(f"a night of two files logged {pair['log_bytes']} B, of one {one['log_bytes']} B")
    one["night_log_bytes"], one["log_bytes"] = one["log_bytes"] - per_file, per_file
    one["scenario"] = "nightly SUCCEEDED (nights of one and of two files)"
    projections = {index.name: index.projection for index in declared}
    return {"paths": measured, "indexes": projections}


def _handed_to_tracker(patch: Any, recorder: type) -> list[str]:
    """The bodies of the messages the tracker handles (``OutcomeRecorder.handle_body``), kept as it runs."""
    handed: list[str] = []
    original = recorder.handle_body

    def handle_body(self: Any, body: str) -> None:
        handed.append(body)
        original(self, body)

    patch.setattr(recorder, "handle_body", handle_body)
    return handed


def _sagemakers_success(body: str) -> bool:
    from orchestrator.core.messages import EVENT_SOURCE

    message = json.loads(body)
    return message.get("eventSource") != EVENT_SOURCE and message.get("invocationStatus") == "Completed"


class _Probe:
    """The functions' AWS calls as botocore makes them: each call counted, each DynamoDB read priced,
    each conditional write refused counted (it writes no stream record, yet costs units)."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.reads: Counter[str] = Counter()
        self.refused = 0
        self._consistent: dict[str, bool] = {}

    def attach(self, events: Any) -> _Probe:
        events.register("provide-client-params", self._called)
        events.register("after-call.dynamodb", self._answered)
        return self

    def clear(self) -> None:
        self.calls.clear()
        self.reads.clear()
        self.refused = 0

    def _called(self, event_name: str, params: dict[str, Any], **_: Any) -> None:
        _, service, operation = event_name.split(".", 2)
        self.calls[f"{service}.{operation}"] += 1
        if operation in ("GetItem", "Query"):
            self._consistent[operation] = bool(params.get("ConsistentRead"))
        elif operation == "BatchGetItem":
            self._consistent[operation] = any(t.get("ConsistentRead") for t in params["RequestItems"].values())

    def _answered(self, event_name: str, parsed: dict[str, Any], **_: Any) -> None:
        operation = event_name.rsplit(".", 1)[1]
        if parsed.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
            self.refused += 1
            return
        units = read_units(operation, parsed, self._consistent)
        if units:
            self.reads[operation] += units


def read_units(operation: str, parsed: dict[str, Any], consistent: dict[str, bool]) -> float:
    """A read's units by DynamoDB's rules: ⌈size / 4 KB⌉ per item (GetItem, BatchGetItem) or per page
    (Query: the items' total), half for an eventually consistent read."""
    from sio.costs import EVENTUALLY_CONSISTENT, READ_UNIT_BYTES  # the model prices reads by the same rule

    from tests.support.index_units import item_size

    def units(size: int) -> int:
        return max(1, math.ceil(size / READ_UNIT_BYTES))

    factor = 1.0 if consistent.get(operation) else EVENTUALLY_CONSISTENT
    if operation == "GetItem":
        return factor * units(item_size(parsed.get("Item", {})))
    if operation == "BatchGetItem":
        items = [i for found in parsed.get("Responses", {}).values() for i in found]
        return factor * sum(units(item_size(i)) for i in items)
    if operation == "Query":
        return factor * units(sum(item_size(i) for i in parsed.get("Items", [])))
    return 0.0


def write(measurement: dict[str, Any], path: Path = MEASURED) -> None:
    data = {
        "note": "Generated by `python -m tests.bench costs --write` (do not edit): measured on the real "
        "handlers in process (moto), write units by DynamoDB's rules from every write's item before and "
        "after, log bytes from the lines the handlers print.",
        "measured_on": datetime.now(UTC).date().isoformat(),
        **measurement,
    }
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def run(options: argparse.Namespace) -> list[Row]:
    measurement = measure()
    if getattr(options, "write", False) or os.environ.get("SIO_BENCH_WRITE") == "1":
        write(measurement)
    rows = [_path_row(path, data) for path, data in measurement["paths"].items()]
    stored = json.loads(MEASURED.read_text(encoding="utf-8")) if MEASURED.is_file() else {}
    same = _same(stored, measurement)
    rows.append(
        Row(
            SECTION,
            "cli/sio/measured.json (what sio cost reads)",
            f"measured {stored.get('measured_on', 'never')}",
            "equal to this run (else: python -m tests.bench costs --write)",
            same,
            check=True,
        )
    )
    return rows + _model_rows()


def _same(stored: dict[str, Any], measurement: dict[str, Any]) -> bool:
    """Units, writes and calls equal; log bytes within 5 % (durations and ids vary in width)."""
    if stored.get("indexes") != measurement["indexes"] or set(stored.get("paths", {})) != set(measurement["paths"]):
        return False
    for path, now in measurement["paths"].items():
        then = stored["paths"][path]
        if any(then[k] != now[k] for k in ("write_units", "read_units", "table_writes", "calls")):
            return False
        for logged in ("log_bytes", "night_log_bytes"):
            if abs(then.get(logged, 0) - now.get(logged, 0)) > 0.05 * now.get(logged, 0):
                return False
    return True


def _path_row(path: str, data: dict[str, Any]) -> Row:
    parts = ", ".join(f"{name} {n}" for name, n in data["write_units"].items() if n)
    return Row(
        SECTION,
        f"write units per file, {data['scenario']}",
        f"{data['write_units_total']} ({parts}); {data['table_writes']} writes, item ≤ {data['largest_item_bytes']} B",
        f"log {data['log_bytes']:,} B per file"
        + (f", {data['night_log_bytes']:,} B per night" if "night_log_bytes" in data else ""),
    )


def _model_rows(requests_per_day: float = 100_000, payload: float = 100 * 1024) -> list[Row]:
    from sio import costs

    prices = costs.load_prices()
    workload = costs.Workload(requests_per_day, payload, 0.2)
    rows: list[Row] = []
    for mode in costs.MODES:
        lines = costs.orchestration(mode, 1e6, workload, prices)
        total = sum(lines.values())
        goal = 4.0 if mode == "async" else 5.0
        detail = ", ".join(f"{name} {value:.2f}" for name, value in lines.items())
        least = costs.floor(mode, 1e6, prices)
        least_detail = ", ".join(f"{name} {value:.2f}" for name, value in least.items())
        rows.append(
            Row(
                SECTION,
                f"orchestration per million files, {mode}",
                f"${total:.2f} ({detail})",
                f"≤ ${goal:.2f}; the design's floor ${sum(least.values()):.2f} ({least_detail})",
                total <= goal,
            )
        )
    fixed = costs.fixed_monthly(prices)
    detail = ", ".join(f"{name} {value:.2f}" for name, value in fixed.items())
    rows.append(Row(SECTION, "fixed monthly", f"${sum(fixed.values()):.2f} ({detail})", "with no files at all"))
    return rows


Scenario = tuple[str, bool, Callable[[], str]]


def _job_scenarios(setup: Any, stack: Any, _: Any, __: str, transform: Any) -> list[Scenario]:
    """A file under the batch prefix (its own transform job), and a night of one file, each to its
    announced result through the batch-result function."""
    from datetime import timedelta

    from tests.bench.outcomes import _upload
    from tests.support.events import sqs_event
    from tests.support.lambda_runtime import invoker

    route, finish, nightly = invoker("router"), invoker("batch_result"), invoker("nightly")

    def batch() -> str:
        record, request_id = _upload(setup, stack, "incoming/batch/bench.csv", b"age,income\n42,1000\n")
        route(sqs_event(record))
        [job] = transform.in_progress()
        finish(transform.run(job))
        return request_id

    def night(files: int, days_ahead: int) -> str:
        ids = []
        for n in range(files):
            key = f"incoming/nightly/night{days_ahead}-{n}.csv"  # a key of its own: no older version
            record, request_id = _upload(setup, stack, key, b"age,income\n42,1000\n")
            route(sqs_event(record))
            ids.append(request_id)
        # Each night its own date: a second run of the same night would take over its job instead.
        tonight = (datetime.now(UTC) + timedelta(days=days_ahead, hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        nightly({"scheduledTime": tonight})
        [job] = transform.in_progress()
        finish(transform.run(job))
        return ids[0]

    return [
        (PATHS["batch"], True, batch),
        (PATHS["nightly"], True, lambda: night(1, 0)),
        (NIGHT_OF_TWO, True, lambda: night(2, 1)),
    ]
