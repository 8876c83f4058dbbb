"""``sio recommend``: the decision framework applied to a workload, naming the rule that decided,
the runner-up, and what each costs (from :mod:`sio.costs`).

The framework (docs/architecture.md §2), at the level of a workload, first matching rule wins:

1. ``next-day``: results can wait for the next day → the nightly batch (one job a night);
2. ``interactive``: an answer within seconds, payload ≤ 6 MB (serverless ≤ 4 MB), processing ≤
   60 s → real-time for steady traffic, serverless for intermittent traffic: whichever of the two
   costs less for this workload;
3. ``async``: payload ≤ 1 GB and processing ≤ 1 h → an asynchronous endpoint that scales to zero;
4. ``batch``: anything larger → a batch transform job of its own.

The router applies its own, per-file version of it (``orchestrator/core/routing.py``, :data:`TODAY`);
the change that adds the synchronous modes makes the rules a ``RoutingRules`` parameter, for which
:func:`routing_rules` suggests a value (``{"maxBytes", "mode"}`` entries, first match wins).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sio.costs import Comparison, ModeCost
from sio.product import ASYNC_MAX_BYTES, REALTIME_MAX_BYTES, SERVERLESS_MAX_BYTES

NEEDS = ("seconds", "minutes", "next-day")
# Which modes answer in time for each need.
MEETS = {
    "seconds": ("realtime", "serverless"),
    "minutes": ("realtime", "serverless", "async", "batch"),
    "next-day": ("realtime", "serverless", "async", "batch", "nightly"),
}
RULES = {
    "next-day": "results can wait for the next day → the nightly batch (one transform job a night)",
    "interactive": (
        "an answer within seconds, payload ≤ 6 MB (serverless ≤ 4 MB), processing ≤ 60 s → real-time for "
        "steady traffic, serverless for intermittent traffic (the cheaper of the two for this workload)"
    ),
    "async": "payload ≤ 1 GB and processing ≤ 1 h → an asynchronous endpoint that scales to zero",
    "batch": "anything larger → a batch transform job of its own",
}
TODAY = (
    "zero-byte object or unknown extension → SKIPPED",
    "x-amz-meta-inference-mode (only with ReadObjectMetadata=true, for RequestableModes: async, nightly by default)",
    "under NightlyPrefix → nightly; under BatchPrefix → batch (a job of its own)",
    "≤ 6 MB and a real-time/serverless endpoint configured → that endpoint",
    "≤ 1 GB → async",
    "larger → batch",
)


@dataclass(frozen=True)
class Recommendation:
    mode: str
    rule: str
    why: str
    runner_up: str | None
    runner_up_why: str
    cheapest_meeting_need: str | None
    notes: list[str] = field(default_factory=list)

    def as_dict(self, comparison: Comparison) -> dict[str, Any]:
        def cost(mode: str | None) -> float | None:
            return None if mode is None else round(comparison.mode(mode).total, 2)

        return {
            "mode": self.mode,
            "rule": self.rule,
            "rule_text": RULES[self.rule],
            "why": self.why,
            "monthly": cost(self.mode),
            "runner_up": self.runner_up,
            "runner_up_why": self.runner_up_why,
            "runner_up_monthly": cost(self.runner_up),
            "cheapest_meeting_need": self.cheapest_meeting_need,
            "notes": self.notes,
            "routing_rules": routing_rules(self.mode),
            "today": how_today(self.mode),
            "framework_today": list(TODAY),
        }


def _cheapest(costs: list[ModeCost], allowed: tuple[str, ...], exclude: str | None = None) -> ModeCost | None:
    fitting = [c for c in costs if c.applicable and c.mode in allowed and c.mode != exclude]
    return min(fitting, key=lambda c: c.total) if fitting else None


def recommend(comparison: Comparison, needs: str) -> Recommendation:
    if needs not in NEEDS:
        raise ValueError(f"needs must be one of {', '.join(NEEDS)}")
    costs = comparison.modes
    by_mode = {c.mode: c for c in costs}
    notes: list[str] = []
    mode: str
    if needs == "next-day":
        mode, rule, why = "nightly", "next-day", "the results can wait for the next day"
    else:
        sync = _cheapest(costs, ("realtime", "serverless")) if needs == "seconds" else None
        if sync is not None:
            other = "serverless" if sync.mode == "realtime" else "realtime"
            steady = "steady enough" if sync.mode == "realtime" else "intermittent enough"
            mode, rule = sync.mode, "interactive"
            why = (
                f"an answer is needed within seconds, and the traffic is {steady} that {sync.mode} costs less "
                f"than {other}"
            )
        else:
            if needs == "seconds":
                reasons = "; ".join(f"{m}: {by_mode[m].sizing}" for m in ("realtime", "serverless") if m in by_mode)
                notes.append(f"no synchronous mode fits ({reasons}): the answer will take longer than seconds")
            if by_mode["async"].applicable:
                mode, rule, why = "async", "async", "the payload and processing fit the async limits (≤ 1 GB, ≤ 1 h)"
            else:
                mode, rule, why = "batch", "batch", by_mode["async"].sizing
    allowed = MEETS[needs]
    runner, runner_why = None, ""
    for level in NEEDS[NEEDS.index(needs) :]:  # in time if possible, else the next-slowest need
        runner = _cheapest(costs, MEETS[level], exclude=mode)
        if runner is not None:
            in_time = level == needs
            runner_why = (
                "the cheapest other mode that answers in time" if in_time else f"the cheapest other mode within {level}"
            )
            break
    best = _cheapest(costs, allowed)
    if best is not None and best.mode != mode and best.total < by_mode[mode].total:
        notes.append(
            f"{best.mode} would cost less ({best.total:,.2f} vs {by_mode[mode].total:,.2f} a month) and also answers "
            f"in time: the framework prefers {mode} for {RULES[rule].split(' → ')[0]}"
        )
    return Recommendation(
        mode, rule, why, runner.mode if runner else None, runner_why, best.mode if best else None, notes
    )


def routing_rules(mode: str) -> list[dict[str, Any]]:
    """A value for the upcoming ``RoutingRules`` parameter that routes this workload's files to
    ``mode`` (first match wins; the format is a proposal until that parameter exists)."""
    if mode == "nightly":
        return [{"mode": "nightly"}]
    if mode == "batch":
        return [{"mode": "batch"}]
    rules: list[dict[str, Any]] = []
    if mode in ("realtime", "serverless"):
        limit = REALTIME_MAX_BYTES if mode == "realtime" else SERVERLESS_MAX_BYTES
        rules.append({"maxBytes": limit, "mode": mode})
    rules += [{"maxBytes": ASYNC_MAX_BYTES, "mode": "async"}, {"mode": "batch"}]
    return rules


def how_today(mode: str) -> str:
    """How to get ``mode`` from today's stack (no RoutingRules parameter yet)."""
    return {
        "async": "the default: upload under InputPrefix (sio submit PATH)",
        "nightly": "upload under NightlyPrefix (sio submit --mode nightly PATH)",
        "batch": "upload under BatchPrefix (sio submit --mode batch PATH)",
        "realtime": "needs a real-time endpoint in the stack (RealtimeEndpointName, in stacks that have that "
        "parameter); without one, files ≤ 1 GB go to async",
        "serverless": "needs a serverless endpoint in the stack (ServerlessEndpointName, in stacks that have that "
        "parameter); without one, files ≤ 1 GB go to async",
    }[mode]
