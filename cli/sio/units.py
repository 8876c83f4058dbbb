"""Parsing what people type: sizes (``200KB``), durations (``500ms``), moments (``2h`` ago or an
ISO date). KB, MB and GB are 1024-based, as SageMaker's limits are (6 MB = 6,291,456 B)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

_SIZE = re.compile(r"^\s*([0-9]*\.?[0-9]+)\s*(b|kb|kib|k|mb|mib|m|gb|gib|g|tb|tib|t)?\s*$", re.IGNORECASE)
_SCALE = {"b": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}
_DURATION = re.compile(r"^\s*([0-9]*\.?[0-9]+)\s*(ms|s|sec|m|min|h|d)?\s*$", re.IGNORECASE)
_SECONDS = {"ms": 0.001, "s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "d": 86400}


def size(text: str) -> float:
    match = _SIZE.match(text)
    if not match:
        raise ValueError(f"{text!r} is not a size (e.g. 512, 200KB, 5MB, 1.5GB)")
    number, unit = float(match.group(1)), (match.group(2) or "b").lower()
    return number * _SCALE[unit[0]]


def duration(text: str) -> float:
    match = _DURATION.match(text)
    if not match:
        raise ValueError(f"{text!r} is not a duration (e.g. 250ms, 2s, 5m, 1h)")
    return float(match.group(1)) * _SECONDS[(match.group(2) or "s").lower()]


def iso(moment: datetime) -> str:
    """As the tracker stores times: ISO-8601 UTC with milliseconds (they sort as strings)."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def since(text: str, now: datetime | None = None) -> str:
    """``30m``, ``2h``, ``1d`` ago, or an ISO date/time (UTC unless it says otherwise); never a
    moment in the future (nothing could be listed: a typo, not a question)."""
    now = now or datetime.now(UTC)
    if text.strip().startswith("-"):
        raise ValueError(f"{text!r}: a time ago is positive ({text.strip()[1:]} means {text.strip()[1:]} ago)")
    try:
        return iso(now - timedelta(seconds=duration(text)))
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{text!r} is neither a time ago (30m, 2h, 1d) nor an ISO date/time") from None
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    if moment > now:
        raise ValueError(f"{text!r} is in the future (now is {iso(now)})")
    return iso(moment)


def human_size(value: float) -> str:
    for unit, scale in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if value >= scale:
            return f"{value / scale:.1f} {unit}"
    return f"{value:.0f} B"


def human_seconds(value: float) -> str:
    if value < 1:
        return f"{value * 1000:.0f} ms"
    if value < 120:
        return f"{value:.1f} s"
    if value < 7200:
        return f"{value / 60:.0f} min"
    return f"{value / 3600:.1f} h"
