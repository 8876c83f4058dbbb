"""``--from-tracker --days N``: the real workload, from the tracker's items of the last N days.
Pure: items in, a :class:`~sio.costs.Workload` out (the Scan that reads them is in sio.tracker)."""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sio.costs import Traffic, Workload
from sio.errors import SioError

ATTRIBUTES = ("size", "s3_event_time", "sagemaker_received_at", "submitted_at", "completed_at", "mode", "status")


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def workload_from_items(
    items: Iterable[dict[str, Any]], days: float, instance_type: str
) -> tuple[Workload, dict[str, Any]]:
    """Requests a day, mean payload, median processing time, and the traffic shape (bursts a day:
    runs of consecutive hours with arrivals; their mean length) of the items seen in ``days``."""
    sizes: list[float] = []
    processing: list[float] = []
    hours: dict[str, set[int]] = {}
    for item in items:
        sizes.append(float(item.get("size") or 0))
        arrived = _time(item.get("s3_event_time")) or _time(item.get("created_at"))
        if arrived is not None:
            hours.setdefault(arrived.date().isoformat(), set()).add(arrived.hour)
        done = _time(item.get("completed_at"))
        started = _time(item.get("sagemaker_received_at")) or _time(item.get("submitted_at"))
        if done is not None and started is not None and done >= started:
            processing.append((done - started).total_seconds())
    if not sizes:
        raise SioError(f"the tracker has no items from the last {days:g} days: give the workload instead")
    if not processing:
        raise SioError("no finished item has processing times (completed_at, sagemaker_received_at): pass --processing")
    runs, active = [], []
    for day_hours in hours.values():
        ordered = sorted(day_hours)
        runs.append(1 + sum(1 for a, b in itertools.pairwise(ordered) if b != a + 1))
        active.append(len(ordered))
    bursts = statistics.mean(runs) if runs else 1.0
    burst_hours = (statistics.mean(active) / bursts) if active else 24.0
    traffic = Traffic(f"from the tracker ({bursts:.1f} bursts of {burst_hours:.1f} h a day)", bursts, burst_hours)
    workload = Workload(
        requests_per_day=len(sizes) / days,
        payload_bytes=statistics.mean(sizes),
        processing_seconds=max(0.001, statistics.median(processing)),
        traffic=traffic,
        instance_type=instance_type,
    )
    summary = {
        "items": len(sizes),
        "days": days,
        "with_processing_time": len(processing),
        "active_days": len(hours),
    }
    return workload, summary
