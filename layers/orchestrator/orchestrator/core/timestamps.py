"""Timestamps as the tracker stores them: ISO-8601 UTC with milliseconds, which sort as strings."""

from __future__ import annotations

from datetime import UTC, datetime


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def now() -> datetime:
    return datetime.now(UTC)


def parse(value: str | int | float) -> datetime:
    """ISO-8601 (with ``Z`` or an offset) or epoch milliseconds, as AWS events use both."""
    if isinstance(value, int | float) or (isinstance(value, str) and value.isdigit()):
        return datetime.fromtimestamp(int(value) / 1000, UTC)
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def millis_between(start: str | None, end: str | None) -> float | None:
    if not start or not end:
        return None
    try:
        return (parse(end) - parse(start)).total_seconds() * 1000
    except ValueError:
        return None
