"""The cost comparison behind the decision framework, as pure functions: a workload and a price
table in, the monthly cost of each inference mode and of the orchestration out. No AWS calls, no
prices in code: every figure comes from the price file (``prices/us-east-1.json``, dated and
sourced; ``--prices FILE`` overrides any of it), including the model's assumptions.

A month is 730 hours (AWS's convention). For each mode, with ``R`` requests a month, ``N`` a day:

- **real-time** (always on): instances for the peak, ``max(min, ⌈peak rate x processing /
  concurrency / target utilization⌉)``, x 730 h; plus data processed in and out.
- **serverless**: ``R x processing x memory (GB)`` GB-seconds (no per-request fee); plus data.
  Not applicable over 4 MB, 60 s, or a peak concurrency above ``MaxConcurrency``.
- **async, scaling to zero**: instance-seconds actually on. Within a burst the instance stays up
  while requests keep coming (a gap shorter than the scale-in wait keeps it warm) and more
  instances run when the work outgrows the burst; after a burst it stays up for the scale-in wait,
  then the next burst pays the start-up again. Requests further apart than the scale-in wait each
  pay start-up + processing + the wait. Plus data.
- **batch** (a transform job per file, the product's ``batch`` mode): ``R x instances x
  (job overhead + processing)``.
- **nightly** (one transform job a night over the day's files): per night ``instances x overhead +
  N x processing / concurrency``.

The orchestration (the product's own AWS bill) is counted per file from the calls the product makes
(README "Performance and cost"): SQS requests, SNS publishes, Lambda requests and GB-seconds, and
DynamoDB write and read units and log bytes as measured on the real handlers (``sio/measured.json``,
written by ``python -m tests.bench costs --write``: every table write's item before and after,
priced by DynamoDB's rules against the template's index projections); plus fixed monthly costs
(alarms, dashboard, KMS key, idle queue polling, the sweeper's runs). Real-time and serverless go
through a scorer function (its own queue) that waits for the endpoint, as the synchronous modes are
built.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from sio.product import (
    ASYNC_MAX_BYTES,
    ASYNC_MAX_SECONDS,
    COUNT_EXACT_UP_TO,
    REALTIME_MAX_BYTES,
    SERVERLESS_MAX_BYTES,
    SHARDS,
    SYNC_MAX_SECONDS,
)

HOURS_PER_MONTH = 730.0
DAYS_PER_MONTH = HOURS_PER_MONTH / 24
GIB = 1024**3
READ_UNIT_BYTES = 4096  # a read unit: up to 4 KB read
EVENTUALLY_CONSISTENT = 0.5  # read units per 4 KB for an eventually consistent read (every index Query)
MODES = ("realtime", "serverless", "async", "batch", "nightly")
# The modes that answer within minutes of an upload: the crossovers that matter are between these
# (the batch modes are cheaper per request at volume, but answer in minutes per job or the next day).
ONLINE = ("realtime", "serverless", "async")
DEFAULT_REGION = "us-east-1"


# ---------------------------------------------------------------- prices


@dataclass(frozen=True)
class Prices:
    """A price table (and the model's assumptions), as loaded from a price file."""

    data: Mapping[str, Any]
    origin: str = ""  # the file(s) it came from

    def __getitem__(self, path: str) -> Any:
        node: Any = self.data
        for part in path.split("."):
            if not isinstance(node, Mapping) or part not in node:
                raise KeyError(f"price file has no {path!r} (origin: {self.origin})")
            node = node[part]
        return node

    def number(self, path: str) -> float:
        value = self[path]
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"price {path!r} must be a number, got {value!r}")
        return float(value)

    def assumption(self, name: str) -> float:
        return self.number(f"assumptions.{name}")

    def hosting_hour(self, instance_type: str) -> float:
        return self._instance("sagemaker.hosting_instance_hour", instance_type)

    def transform_hour(self, instance_type: str) -> float:
        return self._instance("sagemaker.transform_instance_hour", instance_type)

    def _instance(self, table: str, instance_type: str) -> float:
        prices = self[table]
        if instance_type not in prices:
            raise KeyError(
                f"no {table.rsplit('.', 1)[1]} price for {instance_type!r}: known {', '.join(sorted(prices))} "
                "(add it with --prices FILE)"
            )
        return float(prices[instance_type])

    @property
    def as_of(self) -> str:
        return str(self.data.get("as_of", "unknown"))

    @property
    def checked(self) -> bool:
        return bool(self.data.get("checked"))

    @property
    def lambda_gb_second(self) -> float:
        return self.number(f"lambda.gb_second_{self['assumptions.lambda_architecture']}")


def merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """``override`` on top of ``base``, table by table (only the figures given are replaced)."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def load_prices(override: Path | None = None, region: str = DEFAULT_REGION) -> Prices:
    """The shipped price file for ``region``, with ``override`` (a file of the same shape) on top."""
    shipped = resources.files("sio") / "prices" / f"{region}.json"
    if not shipped.is_file():
        raise FileNotFoundError(f"no shipped price file for {region}: pass --prices FILE with every figure")
    data = json.loads(shipped.read_text(encoding="utf-8"))
    # What one file costs the product, measured (not a price: the same in every region).
    data["measured"] = json.loads((resources.files("sio") / "measured.json").read_text(encoding="utf-8"))
    origin = f"sio/prices/{region}.json + sio/measured.json"
    if override is not None:
        data = merge(data, json.loads(Path(override).read_text(encoding="utf-8")))
        origin += f" + {override}"
    return Prices(data, origin)


# ---------------------------------------------------------------- workload


@dataclass(frozen=True)
class Traffic:
    """When the day's requests arrive: ``bursts_per_day`` bursts of ``burst_hours`` each."""

    name: str
    bursts_per_day: float
    burst_hours: float

    def __post_init__(self) -> None:
        if self.bursts_per_day <= 0 or self.burst_hours <= 0 or self.bursts_per_day * self.burst_hours > 24 + 1e-9:
            raise ValueError(f"traffic {self.name!r}: bursts x hours must be within a day")

    @property
    def active_seconds_per_day(self) -> float:
        return self.bursts_per_day * self.burst_hours * 3600


SHAPES = {
    "steady": Traffic("steady", 1, 24),  # spread evenly over the day
    "business": Traffic("business", 1, 9),  # 09:00-18:00 every day
    "bursty": Traffic("bursty", 12, 5 / 60),  # 12 bursts of 5 minutes
    "daily-drop": Traffic("daily-drop", 1, 1 / 60),  # the whole day's files at once (within a minute)
}


@dataclass(frozen=True)
class Workload:
    requests_per_day: float
    payload_bytes: float
    processing_seconds: float  # instance time one request takes
    traffic: Traffic = SHAPES["steady"]
    instance_type: str = "ml.m5.large"
    response_bytes: float | None = None  # default: the payload's size
    concurrency: int = 1  # requests one instance processes at once
    serverless_memory_mb: int | None = None  # default: the price file's assumption

    @property
    def per_month(self) -> float:
        return self.requests_per_day * DAYS_PER_MONTH

    @property
    def peak_rate(self) -> float:
        """Requests per second while a burst lasts."""
        return self.requests_per_day / self.traffic.active_seconds_per_day

    @property
    def response(self) -> float:
        return self.payload_bytes if self.response_bytes is None else self.response_bytes

    def with_volume(self, requests_per_day: float) -> Workload:
        return Workload(
            requests_per_day,
            self.payload_bytes,
            self.processing_seconds,
            self.traffic,
            self.instance_type,
            self.response_bytes,
            self.concurrency,
            self.serverless_memory_mb,
        )


# ---------------------------------------------------------------- results


@dataclass(frozen=True)
class ModeCost:
    mode: str
    applicable: bool
    sagemaker: dict[str, float]  # SageMaker's lines: compute, data processing
    orchestration: dict[str, float]  # the product's per-file lines for this mode's files
    sizing: str  # how the compute was sized, or why the mode does not fit
    latency: tuple[float, float]  # (typical, worst) seconds from upload to result

    @property
    def sagemaker_total(self) -> float:
        return sum(self.sagemaker.values())

    @property
    def orchestration_total(self) -> float:
        return sum(self.orchestration.values())

    @property
    def total(self) -> float:
        return self.sagemaker_total + self.orchestration_total

    def as_dict(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "applicable": self.applicable,
            "monthly_total": round(self.total, 2),
            "sagemaker": {k: round(v, 4) for k, v in self.sagemaker.items()},
            "orchestration": {k: round(v, 4) for k, v in self.orchestration.items()},
            "sizing": self.sizing,
            "latency_seconds": {"typical": round(self.latency[0], 3), "worst": round(self.latency[1], 3)},
        }


@dataclass(frozen=True)
class Comparison:
    workload: Workload
    modes: list[ModeCost]
    fixed: dict[str, float]  # the stack's monthly cost whatever the volume
    per_million: dict[str, float]  # orchestration per million files, per mode
    prices_as_of: str = ""
    notes: list[str] = field(default_factory=list)

    def mode(self, name: str) -> ModeCost:
        return next(m for m in self.modes if m.mode == name)

    def cheapest(self, among: Iterable[str] | None = None) -> ModeCost | None:
        allowed = set(MODES if among is None else among)
        fitting = [m for m in self.modes if m.applicable and m.mode in allowed]
        return min(fitting, key=lambda m: m.total) if fitting else None


# ---------------------------------------------------------------- SageMaker's part


def _data(workload: Workload, prices: Prices) -> dict[str, float]:
    gb_in = workload.per_month * workload.payload_bytes / GIB
    gb_out = workload.per_month * workload.response / GIB
    return {
        "data processed": gb_in * prices.number("sagemaker.data_processed_in_gb")
        + gb_out * prices.number("sagemaker.data_processed_out_gb")
    }


def realtime(workload: Workload, prices: Prices) -> tuple[dict[str, float], str, bool, tuple[float, float]]:
    busy = workload.peak_rate * workload.processing_seconds / workload.concurrency
    instances = max(
        int(prices.assumption("realtime_min_instances")),
        math.ceil(busy / prices.assumption("realtime_target_utilization") - 1e-9),
    )
    compute = instances * prices.hosting_hour(workload.instance_type) * HOURS_PER_MONTH
    fits, why = _sync_limits(workload, REALTIME_MAX_BYTES, "real-time")
    sizing = f"{instances} x {workload.instance_type} always on ({busy:.2f} busy at the peak)" if fits else why
    latency = workload.processing_seconds
    return {"instances": compute, **_data(workload, prices)}, sizing, fits, (latency, latency)


def serverless(workload: Workload, prices: Prices) -> tuple[dict[str, float], str, bool, tuple[float, float]]:
    memory_gb = (workload.serverless_memory_mb or prices.assumption("serverless_memory_mb")) / 1024
    gb_seconds = workload.per_month * workload.processing_seconds * memory_gb
    compute = gb_seconds * prices.number("sagemaker.serverless_gb_second")
    fits, why = _sync_limits(workload, SERVERLESS_MAX_BYTES, "serverless")
    peak_concurrency = workload.peak_rate * workload.processing_seconds
    limit = prices.assumption("serverless_max_concurrency")
    if fits and peak_concurrency > limit:
        fits, why = (
            False,
            f"needs {peak_concurrency:.0f} concurrent requests at the peak (MaxConcurrency ≤ {limit:.0f})",
        )
    sizing = f"{gb_seconds:,.0f} GB-s a month at {memory_gb:g} GB" if fits else why
    cold = prices.assumption("serverless_cold_start_seconds")
    latency = (workload.processing_seconds, workload.processing_seconds + cold)
    return {"compute": compute, **_data(workload, prices)}, sizing, fits, latency


def _sync_limits(workload: Workload, max_bytes: int, name: str) -> tuple[bool, str]:
    if workload.payload_bytes > max_bytes or workload.response > max_bytes:
        return False, f"payload over the {name} limit ({max_bytes:,} B)"
    if workload.processing_seconds > SYNC_MAX_SECONDS:
        return False, f"processing over the {SYNC_MAX_SECONDS} s a synchronous call may take"
    return True, ""


def async_instance_seconds_per_day(workload: Workload, prices: Prices) -> tuple[float, str, bool]:
    """Instance-seconds an async endpoint that scales to zero is on in a day, how it runs, and
    whether it is ever at zero (then the first request of a burst waits for an instance)."""
    startup = prices.assumption("endpoint_startup_seconds")
    tail = prices.assumption("async_scale_in_seconds")
    most = prices.assumption("async_max_instances")
    traffic = workload.traffic
    n_burst = workload.requests_per_day / traffic.bursts_per_day
    if n_burst <= 0:
        return 0.0, "idle: no requests", True
    burst = traffic.burst_hours * 3600
    between = max(0.0, 86400 / traffic.bursts_per_day - burst)
    if burst / n_burst > tail:  # requests further apart than the scale-in wait: each starts from zero
        per_request = startup + workload.processing_seconds + tail
        return workload.requests_per_day * per_request, "scales to zero between requests", True
    busy = n_burst * workload.processing_seconds / workload.concurrency
    instances = min(most, max(1, math.ceil(busy / burst - 1e-9)))
    on = max(busy, burst)  # one instance through the burst; more only for the work (or the backlog drains)
    if between > tail:
        on += instances * (startup + tail)
        how = f"up to {int(instances)} instance(s) per burst, at zero between bursts"
        cold = True
    else:
        on += instances * between
        how = f"{int(instances)} instance(s), never at zero"
        cold = False
    return on * traffic.bursts_per_day, how, cold


def asynchronous(workload: Workload, prices: Prices) -> tuple[dict[str, float], str, bool, tuple[float, float]]:
    seconds, how, cold = async_instance_seconds_per_day(workload, prices)
    compute = seconds * DAYS_PER_MONTH / 3600 * prices.hosting_hour(workload.instance_type)
    fits = workload.payload_bytes <= ASYNC_MAX_BYTES and workload.processing_seconds <= ASYNC_MAX_SECONDS
    sizing = f"{seconds * DAYS_PER_MONTH / 3600:,.1f} instance-hours a month; {how}"
    if not fits:
        sizing = "payload over 1 GB or processing over 1 h (InvocationTimeoutSeconds ≤ 3600)"
    from_zero = prices.assumption("async_scale_out_seconds") + prices.assumption("endpoint_startup_seconds")
    worst = workload.processing_seconds + (from_zero if cold else 0.0)
    typical = worst if how.startswith("scales to zero between requests") else workload.processing_seconds
    return {"instances": compute, **_data(workload, prices)}, sizing, fits, (typical, worst)


def batch(workload: Workload, prices: Prices) -> tuple[dict[str, float], str, bool, tuple[float, float]]:
    overhead = prices.assumption("transform_job_overhead_seconds")
    count = prices.assumption("transform_instance_count")
    seconds = workload.per_month * count * (overhead + workload.processing_seconds)
    compute = seconds / 3600 * prices.transform_hour(workload.instance_type)
    latency = overhead + workload.processing_seconds
    sizing = f"a job per file: {count:g} x {workload.instance_type} for {latency:,.0f} s each"
    return {"instances": compute}, sizing, True, (latency, latency)


def nightly(workload: Workload, prices: Prices) -> tuple[dict[str, float], str, bool, tuple[float, float]]:
    overhead = prices.assumption("transform_job_overhead_seconds")
    work = workload.requests_per_day * workload.processing_seconds / workload.concurrency
    # Enough instances for the night's work to finish within the window (before the morning).
    window = prices.assumption("nightly_window_hours") * 3600
    count = max(prices.assumption("transform_instance_count"), math.ceil(work / window - 1e-9))
    per_night = count * overhead + work if workload.requests_per_day > 0 else 0.0
    compute = per_night * DAYS_PER_MONTH / 3600 * prices.transform_hour(workload.instance_type)
    duration = overhead + work / count
    sizing = f"one job a night: {count:g} x {workload.instance_type} for {duration / 3600:,.2f} h"
    return {"instances": compute}, sizing, True, (43200 + duration, 86400 + duration)


SAGEMAKER: dict[str, Callable[[Workload, Prices], tuple[dict[str, float], str, bool, tuple[float, float]]]] = {
    "realtime": realtime,
    "serverless": serverless,
    "async": asynchronous,
    "batch": batch,
    "nightly": nightly,
}


# ---------------------------------------------------------------- the orchestration's part

# Which measured path (``measured.json``, written by ``python -m tests.bench costs --write``) prices
# each mode's files: the real handlers' writes, priced by DynamoDB's rules against the template's
# indexes. Serverless takes the real-time path (the same scorer and writes).
MEASURED_PATH = {
    "realtime": "realtime",
    "serverless": "realtime",
    "async": "async",
    "batch": "batch",
    "nightly": "nightly",
}


def measured(prices: Prices, mode: str) -> Mapping[str, Any]:
    """The measurement of one mode's happy path: write and read units, log bytes per file."""
    path: Mapping[str, Any] = prices[f"measured.paths.{MEASURED_PATH[mode]}"]
    return path


def write_units(prices: Prices, mode: str) -> float:
    return float(measured(prices, mode)["write_units_total"])


def read_units(prices: Prices, mode: str) -> float:
    """Read units per file; a night's index pages (``Query``) are per night, not per file."""
    reads = measured(prices, mode).get("read_units", {})
    return float(sum(units for operation, units in reads.items() if operation != "Query"))


def count_reads(mode: str, workload: Workload, prices: Prices) -> float:
    """Read units a file costs the sweeper's in-flight gauges: every run (``sweeper_runs_per_month``)
    Queries each lane, reading its shards until ``COUNT_EXACT_UP_TO`` entries, then scaling. A file is
    read by the runs while it is in flight (the mode's typical latency: a nightly file waits for its
    night), in a lane holding a day's share of files that long, at its measured entry size."""
    in_flight = SAGEMAKER[mode](workload, prices)[3][0]  # seconds from upload to result, typically
    runs = in_flight / (DAYS_PER_MONTH * 86400 / prices.assumption("sweeper_runs_per_month"))
    per_shard = max(workload.requests_per_day * in_flight / 86400 / SHARDS, 1e-9)
    fraction = min(1.0, math.ceil(COUNT_EXACT_UP_TO / per_shard) / SHARDS)  # of a lane's shards read
    entry = measured(prices, mode).get("in_flight_entry_bytes", 0)
    return runs * fraction * entry / READ_UNIT_BYTES * EVENTUALLY_CONSISTENT


def records_per_batch(workload: Workload, batch_size: float, window_seconds: float = 0.0) -> float:
    """Records an SQS-triggered invocation gets: the arrivals at the peak within the mapping's batching
    window (a second's without one), 1 to the batch size."""
    return min(batch_size, max(1.0, workload.peak_rate * max(1.0, window_seconds)))


def orchestration(mode: str, files: float, workload: Workload, prices: Prices) -> dict[str, float]:
    """The product's own cost for ``files`` files of ``workload`` scored in ``mode``."""
    a = prices.assumption
    overhead = a("lambda_ms_per_invocation")
    router_b = records_per_batch(workload, a("router_batch_size"))
    tracker_b = records_per_batch(workload, a("tracker_batch_size"), a("tracker_batching_window_seconds"))
    path = measured(prices, mode)
    # Messages a file sends the tracker's queue (measured: SageMaker's notification for async; none for
    # a success the product announces itself, which the success subscription's filter keeps out; one
    # for a failure).
    tracked = float(path["tracker_messages"])
    # SQS: S3 → router queue (1 send; receive + delete per batch), SNS → tracker queue (the same).
    sqs = 1 + 2 / router_b + tracked * (1 + 2 / tracker_b)
    invocations = 1 / router_b + tracked / tracker_b
    gb_ms = a("router_memory_mb") / 1024 * (overhead / router_b + a("router_ms_per_record"))
    gb_ms += tracked * a("tracker_memory_mb") / 1024 * (overhead / tracker_b + a("tracker_ms_per_record"))
    if mode in ("realtime", "serverless"):  # router → scorer queue → scorer, which waits for the endpoint
        scorer_b = records_per_batch(workload, a("scorer_batch_size"))
        sqs += 1 + 2 / scorer_b
        invocations += 1 / scorer_b
        per_record = a("scorer_ms_per_record") + workload.processing_seconds * 1000
        gb_ms += a("scorer_memory_mb") / 1024 * (overhead / scorer_b + per_record)
    elif mode == "batch":  # two state-change events per job invoke the batch-result function
        invocations += 2
        gb_ms += a("batch_result_memory_mb") / 1024 * (2 * overhead + a("batch_result_ms_per_file"))
    elif mode == "nightly":
        gb_ms += a("nightly_memory_mb") / 1024 * a("nightly_ms_per_file")
        gb_ms += a("batch_result_memory_mb") / 1024 * a("batch_result_ms_per_file")
    logs = path["log_bytes"] + invocations * a("lambda_platform_log_bytes_per_invocation")
    # A night's own lines (its job started, its run finished, its result recorded; measured), shared by
    # the night's files: one night a day.
    logs += path.get("night_log_bytes", 0) / max(1.0, workload.requests_per_day)
    return {
        "lambda requests": files * invocations * prices.number("lambda.request"),
        "lambda compute": files * gb_ms / 1000 * prices.lambda_gb_second,
        "sqs": files * sqs * prices.number("sqs.request"),
        # One result message per file; a success is also scanned by the tracker's success subscription,
        # whose filter reads the body (SNS bills payload-based filtering by the bytes scanned).
        "sns": files
        * (
            prices.number("sns.publish")
            + path["success_message_bytes"] / GIB * prices.number("sns.payload_filtering_gb")
        ),
        "dynamodb": files
        * (
            write_units(prices, mode) * prices.number("dynamodb.write_request_unit")
            + (read_units(prices, mode) + count_reads(mode, workload, prices))
            * prices.number("dynamodb.read_request_unit")
        ),
        "logs": files * logs / GIB * prices.number("cloudwatch.logs_ingested_gb"),
    }


def floor(mode: str, files: float, prices: Prices) -> dict[str, float]:
    """The least ``files`` files of ``mode`` can cost in this design with every promise kept: the
    messages it sends (S3 → the router's queue; the real-time hand-off to the scorer's queue; SNS → the
    tracker's queue, measured; one result published a file), the table writes claim → act → confirm
    makes (measured), and the in-flight entry the sweeper finds a late file by (a put at the claim, a
    delete at the outcome; a night's marking moves it to its job's deadline: a delete and a put).
    Nothing else: no receive or delete, no Lambda, no log line, no ``ByObject`` entry, no rewrite."""
    path = measured(prices, mode)
    sends = 1 + float(path["tracker_messages"]) + (1 if mode in ("realtime", "serverless") else 0)
    entry_units = 2 + (2 if mode == "nightly" else 0)
    return {
        "sqs sends": files * sends * prices.number("sqs.request"),
        "sns publish": files * prices.number("sns.publish"),
        "table writes": files * path["table_writes"] * prices.number("dynamodb.write_request_unit"),
        "in-flight entry": files * entry_units * prices.number("dynamodb.write_request_unit"),
    }


# The fixed lines a template parameter removes ("false"): the model's assumption of the same name is 1
# (the parameter's default) or 0.
OPTIONAL_FIXED = {"dashboard": "CreateDashboard", "kms key (alarm topic)": "AlarmTopicEncryption"}


def fixed_monthly(prices: Prices) -> dict[str, float]:
    """What the stack costs a month with no files at all."""
    a = prices.assumption
    runs = a("sweeper_runs_per_month")
    sweeper = runs * (
        prices.number("lambda.request")
        + a("sweeper_memory_mb") / 1024 * a("sweeper_ms_per_run") / 1000 * prices.lambda_gb_second
        + a("sweeper_read_units_per_run") * prices.number("dynamodb.read_request_unit")
    )
    return {
        "alarms": a("alarm_metrics") * prices.number("cloudwatch.alarm_metric_month"),
        "dashboard": a("create_dashboard") * prices.number("cloudwatch.dashboard_month"),
        "kms key (alarm topic)": a("alarm_topic_encryption") * prices.number("kms.key_month"),
        "idle queue polling": a("sqs_polled_queues")
        * a("sqs_idle_receives_per_queue_month")
        * prices.number("sqs.request"),
        "sweeper": sweeper,
        "schedules": (runs + DAYS_PER_MONTH) * prices.number("scheduler.invocation"),
    }


# ---------------------------------------------------------------- the comparison


def mode_cost(mode: str, workload: Workload, prices: Prices) -> ModeCost:
    sagemaker, sizing, applicable, latency = SAGEMAKER[mode](workload, prices)
    return ModeCost(
        mode, applicable, sagemaker, orchestration(mode, workload.per_month, workload, prices), sizing, latency
    )


def compare(workload: Workload, prices: Prices, modes: Sequence[str] = MODES) -> Comparison:
    results = [mode_cost(mode, workload, prices) for mode in modes]
    per_million = {mode: sum(orchestration(mode, 1e6, workload, prices).values()) for mode in modes}
    notes = [] if prices.checked else [f"prices as of {prices.as_of}, not re-checked: see the price file's note"]
    return Comparison(workload, results, fixed_monthly(prices), per_million, prices.as_of, notes)


# ---------------------------------------------------------------- crossovers

# The questions a crossover answers: which mode is cheapest for an answer within minutes (real-time,
# serverless, async), and within seconds (real-time or serverless).
CROSSOVER_SETS = {"within minutes": ONLINE, "within seconds": ("realtime", "serverless")}
# A change of the cheapest mode that reverts within this factor of volume is a step of the real-time
# staircase (one more instance), not a crossover: both are dropped.
FLIP_SPAN = 2.0


@dataclass(frozen=True)
class Crossover:
    requests_per_day: float
    below: str  # cheapest mode just below
    above: str  # cheapest mode just above
    monthly: float  # the cost where they meet
    settled: float | None = None  # from here on for good (real-time's staircase may flip back before)


def _cheapest(workload: Workload, prices: Prices, modes: Sequence[str]) -> tuple[str, float] | None:
    found = [mode_cost(m, workload, prices) for m in modes]
    fitting = [c for c in found if c.applicable]
    if not fitting:
        return None
    best = min(fitting, key=lambda c: c.total)
    return best.mode, best.total


def volumes(low: float, high: float, points: int) -> list[float]:
    step = (math.log10(high) - math.log10(low)) / (points - 1)
    return [10 ** (math.log10(low) + i * step) for i in range(points)]


def crossovers(
    workload: Workload,
    prices: Prices,
    *,
    low: float = 10,
    high: float = 10_000_000,
    modes: Sequence[str] = ONLINE,
    points: int = 200,
) -> list[Crossover]:
    """Daily volumes where the cheapest of ``modes`` changes, between ``low`` and ``high``
    (log-spaced samples, then bisection to 0.1 %)."""
    found: list[Crossover] = []
    previous: tuple[float, str] | None = None
    for volume in volumes(low, high, points):
        best = _cheapest(workload.with_volume(volume), prices, modes)
        if best is None:
            previous = None
            continue
        if previous is not None and previous[1] != best[0]:
            lo, hi = previous[0], volume
            while hi / lo > 1.001:
                mid = math.sqrt(lo * hi)
                middle = _cheapest(workload.with_volume(mid), prices, modes)
                if middle is not None and middle[0] == previous[1]:
                    lo = mid
                else:
                    hi = mid
            at = _cheapest(workload.with_volume(hi), prices, modes)
            above, cost = at if at is not None else (best[0], float("nan"))
            found.append(Crossover(hi, previous[1], above, cost))
        previous = (volume, best[0])
    return collapse(found)


def collapse(found: list[Crossover], span: float = FLIP_SPAN) -> list[Crossover]:
    """Real-time's staircase (one more instance) can flip the cheaper mode back and forth: a change
    undone within ``span`` x the volume and made again is one crossover with a ``settled`` volume;
    one undone and never made again is dropped."""
    changed = True
    while changed:
        changed = False
        for i in range(len(found) - 1):
            first, second = found[i], found[i + 1]
            if second.above != first.below or second.requests_per_day / first.requests_per_day >= span:
                continue
            third = found[i + 2] if i + 2 < len(found) else None
            if third is not None and (third.below, third.above) == (first.below, first.above):
                merged = Crossover(
                    first.requests_per_day,
                    first.below,
                    first.above,
                    first.monthly,
                    third.settled or third.requests_per_day,
                )
                found = [*found[:i], merged, *found[i + 3 :]]
            else:
                found = found[:i] + found[i + 2 :]
            changed = True
            break
    return found
