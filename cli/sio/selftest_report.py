"""What ``sio selftest`` found: a row per mode (its checks), what the clean-up did, the exit status."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

PASSED, FAILED, TIMED_OUT, NOT_TESTED = "PASSED", "FAILED", "TIMED OUT", "NOT TESTED"
# A terminal status and the invocationStatus of its message (README "What subscribers receive").
INVOCATION_STATUS = {
    "SUCCEEDED": "Completed",
    "FAILED": "Failed",
    "EXPIRED": "Expired",
    "SKIPPED": "Skipped",
    "STOPPED": "Stopped",
}


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str = ""


@dataclass
class Row:
    mode: str
    status: str
    checks: list[Check] = field(default_factory=list)
    latency_seconds: float | None = None
    key: str | None = None
    request_id: str | None = None
    reason: str = ""  # why NOT TESTED, FAILED or TIMED OUT
    notes: list[str] = field(default_factory=list)
    nights: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "mode": self.mode,
            "status": self.status,
            "latency_seconds": None if self.latency_seconds is None else round(self.latency_seconds, 3),
            "key": self.key,
            "request_id": self.request_id,
            "checks": [{"check": c.name, "ok": c.ok, "detail": c.detail} for c in self.checks],
            "reason": self.reason or None,
            "notes": self.notes,
        }
        if self.nights:
            data["nightly_invocations"] = self.nights
        return data


@dataclass
class Cleanup:
    removed: list[str] = field(default_factory=list)
    left: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


@dataclass
class Report:
    run_id: str
    rows: list[Row]
    cleanup: Cleanup
    not_configured: dict[str, str]
    requested: tuple[str, ...] = ()

    @property
    def exit_code(self) -> int:
        """1: a check failed, something could not be removed, a mode asked for was not tested, or
        nothing was; 3: only timeouts; 0: every tested mode passed."""
        statuses = {row.status for row in self.rows}
        asked_untested = any(r.status == NOT_TESTED and r.mode in self.requested for r in self.rows)
        if FAILED in statuses or self.cleanup.errors or asked_untested or statuses <= {NOT_TESTED}:
            return 1
        return 3 if TIMED_OUT in statuses else 0


def verdict(row: Row, timed_out: bool = False) -> Row:
    failed = [c for c in row.checks if not c.ok]
    if failed:
        row.status = TIMED_OUT if timed_out else FAILED
        row.reason = "; ".join(f"{c.name}: {c.detail}" for c in failed)
    return row
