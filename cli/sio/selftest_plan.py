"""What ``sio selftest`` will do on a stack, decided before anything is created. Pure: the stack's
parameters in, a :class:`Plan` out.

- **Which modes the stack has**: a mode is configured when its template parameter is set
  (``MODE_PARAMETERS``, the router's own table).
- **Where each sample goes**: the router's own routing (``orchestrator.core.routing``, shipped with
  sio: the ``RoutingRules`` parameter, then the default table, decided by ``decide``), tried on the
  places sio can put a file: under the prefix of every
  rule that names the mode, under the input prefix, with a size just inside a rule's bounds (up to
  :data:`SAMPLE_MAX_BYTES`), and with ``x-amz-meta-inference-mode`` when the stack reads metadata.
  The first place the rules send to the mode is used; a mode no place reaches is *not testable*,
  with the reason and the rule that would make it testable.
- **The nightly run**: the nightly function is invoked with an event shaped like the schedule's
  (:func:`night_event`). A night's job is named from its scheduled time (``<prefix>-nightly-<date>``)
  and a job name is never free again, so the event's time is a far-future date of this run's own:
  it can never take the name of a real night.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import PurePosixPath

from orchestrator.core import routing as product_routing
from orchestrator.core.routing import MODE_PARAMETERS, FileFacts, Mode, RoutingPolicy, Rule
from orchestrator.errors import ConfigError

from sio.errors import SioError
from sio.product import MODES, parse_content_types

# The template parameter that switches each mode on (the router's table), by mode name.
PARAMETER_OF = {mode.value: name for mode, name in MODE_PARAMETERS.items()}

METADATA_KEY = "inference-mode"  # x-amz-meta-inference-mode
FOLDER = "sio-selftest/"  # samples go to <prefix>sio-selftest/<run id>/<mode>.<ext>
# A sample may be padded up to this size to fall inside a rule's size bounds (e.g. just over the
# real-time limit, to reach async in a stack whose default rules send small files to real-time).
SAMPLE_MAX_BYTES = 8 * 1024 * 1024
# Four numeric columns: what the demo model (and any model taking numeric CSV) scores.
BUILTIN_NAME = "sample.csv"
BUILTIN_SAMPLE = b"0.5,1.0,-1.5,2.0\n1.0,0.0,0.25,-0.5\n-2.0,1.5,0.0,1.0\n"
# The nightly run's scheduled time: a day of its own between these years (no real night is named so).
NIGHT_FIRST_DAY = date(2100, 1, 1)
NIGHT_DAYS = (date(2999, 12, 31) - NIGHT_FIRST_DAY).days + 1
NIGHT_EVENT_SOURCE = "sio-selftest"  # the event's scheduleArn: who sent it, in the function's log


@dataclass(frozen=True)
class Routing:
    """The stack's routing (the router's own ``RoutingPolicy``), and which keys reach the router."""

    input_prefix: str
    policy: RoutingPolicy
    reads_metadata: bool = False

    @property
    def configured(self) -> frozenset[str]:
        return frozenset(mode.value for mode in self.policy.available_modes)

    @property
    def rules(self) -> tuple[Rule, ...]:
        return self.policy.rules

    @property
    def requestable(self) -> frozenset[str]:
        return frozenset(mode.value for mode in self.policy.requestable_modes)

    def all_rules(self) -> tuple[Rule, ...]:
        return self.policy.all_rules()

    def route(self, key: str, size: int, requested: str | None = None) -> tuple[str | None, str]:
        """The mode the router gives this file (None: SKIPPED) and the rule, or why it skips. A spill
        rule's file is placed by its own mode: it spills only while the scorer queue is backlogged."""
        asked = requested if self.reads_metadata else None
        decision = product_routing.decide(FileFacts(key, size, requested_mode=asked), self.policy)
        if decision.mode is None:
            return None, decision.reason
        return decision.mode.value, decision.rule


def configured_modes(parameters: Mapping[str, str]) -> frozenset[Mode]:
    return frozenset(mode for mode, name in MODE_PARAMETERS.items() if parameters.get(name, "").strip())


def routing_of(parameters: Mapping[str, str], input_prefix: str) -> Routing:
    """The router's policy from the stack's parameters, parsed by the router's own parsers."""
    try:
        policy = RoutingPolicy(
            content_types=parse_content_types(parameters.get("ContentTypes")),
            available_modes=configured_modes(parameters),
            nightly_prefix=parameters.get("NightlyPrefix", ""),
            batch_prefix=parameters.get("BatchPrefix", ""),
            rules=product_routing.parse_rules(parameters.get("RoutingRules", "")),
            requestable_modes=product_routing.parse_requestable_modes(
                parameters.get("RequestableModes", "async,nightly")
            ),
        )
    except ConfigError as exc:
        raise SioError(f"the stack's {exc}: the router refuses it too") from None
    reads_metadata = parameters.get("ReadObjectMetadata", "false").strip().lower() == "true"
    return Routing(input_prefix, policy, reads_metadata)


# ---------------------------------------------------------------- samples


@dataclass(frozen=True)
class Sample:
    """What is uploaded: the built-in numeric CSV (padded to a size when a rule needs one), or the
    user's own file (``--sample``), as it is."""

    name: str
    body: bytes
    builtin: bool = True

    @property
    def suffix(self) -> str:
        return PurePosixPath(self.name).suffix.lower()

    def sized(self, size: int) -> bytes:
        """The body at exactly ``size`` bytes: whole rows repeated, then blank lines (skipped by a
        CSV reader). The user's own sample is never changed."""
        if not self.builtin or size == len(self.body):
            return self.body
        rows = self.body * max(1, size // len(self.body))
        return rows + b"\n" * (size - len(rows))


BUILTIN = Sample(BUILTIN_NAME, BUILTIN_SAMPLE)


# ---------------------------------------------------------------- the plan


@dataclass(frozen=True)
class Placement:
    mode: str
    key: str
    size: int
    ask: str | None  # the mode the file asks for in its metadata; None: it asks for none
    rule: str  # the rule that will decide
    notes: tuple[str, ...] = ()

    @property
    def metadata(self) -> dict[str, str]:
        """The object metadata the file is uploaded with."""
        return {METADATA_KEY: self.ask} if self.ask else {}


@dataclass(frozen=True)
class Untestable:
    mode: str
    reason: str


@dataclass(frozen=True)
class Plan:
    run_id: str
    configured: tuple[str, ...]  # in MODES order
    not_configured: dict[str, str]  # mode → the empty parameter
    placements: tuple[Placement, ...]
    untestable: tuple[Untestable, ...]
    sample: Sample = field(default=BUILTIN)

    def placement(self, mode: str) -> Placement | None:
        return next((p for p in self.placements if p.mode == mode), None)


def new_run_id() -> str:
    return uuid.uuid4().hex[:12]


def plan(
    parameters: Mapping[str, str],
    input_prefix: str,
    *,
    run_id: str,
    sample: Sample = BUILTIN,
    modes: Sequence[str] = (),
) -> Plan:
    """Where each mode's sample goes. ``modes`` (``--mode``) narrows the run; a mode named there that
    the stack lacks, or that no place reaches, is a usage error (:class:`SioError`, exit 2)."""
    routing = routing_of(parameters, input_prefix)
    content_types = routing.policy.content_types
    if sample.suffix.lstrip(".") not in content_types:
        raise SioError(
            f"the sample {sample.name!r} has an extension the stack does not score (ContentTypes: "
            f"{', '.join(sorted(content_types))}): the router would SKIP it"
        )
    configured = tuple(m for m in MODES if m in routing.configured)
    not_configured = {m: PARAMETER_OF[m] for m in MODES if m not in routing.configured}
    for mode in modes:
        if mode not in routing.configured:
            raise SioError(
                f"the stack has no {mode} mode: its parameter {PARAMETER_OF[mode]} is empty "
                f"(configured: {', '.join(configured)})",
                {"mode": mode, "parameter": PARAMETER_OF[mode]},
            )
    placements: list[Placement] = []
    untestable: list[Untestable] = []
    for mode in [m for m in configured if not modes or m in modes]:
        found = place(routing, mode, run_id, sample)
        if isinstance(found, Placement):
            placements.append(found)
        elif modes:
            raise SioError(f"{mode} cannot be tested on this stack: {found.reason}", {"mode": mode})
        else:
            untestable.append(found)
    return Plan(run_id, configured, not_configured, tuple(placements), tuple(untestable), sample)


def place(routing: Routing, mode: str, run_id: str, sample: Sample) -> Placement | Untestable:
    """The first place (prefix, size, metadata) the stack's rules send to ``mode``."""
    rules = routing.all_rules()
    naming = [r.prefix for r in rules if r.prefix and r.mode == mode]
    others = [r.prefix for r in rules if r.prefix and r.mode != mode]
    prefixes = list(dict.fromkeys(p for p in [*naming, routing.input_prefix, *others] if _under(p, routing)))
    tiny = len(sample.body)
    bounds = {r.min_bytes for r in rules if r.min_bytes} | {r.max_bytes + 1 for r in rules if r.max_bytes is not None}
    larger = sorted(s for s in bounds if tiny < s <= SAMPLE_MAX_BYTES) if sample.builtin else []
    asks = [None, mode] if routing.reads_metadata else [None]
    tries = [(tiny, ask) for ask in asks] + [(size, ask) for ask in asks for size in larger]
    for size, ask in tries:
        for prefix in prefixes:
            key = f"{prefix}{FOLDER}{run_id}/{mode}{sample.suffix}"
            routed, rule = routing.route(key, size, ask)
            if routed == mode:
                return Placement(mode, key, size, ask, rule, _notes(routing, rule))
    return Untestable(mode, _why_not(routing, mode, run_id, sample))


def _under(prefix: str, routing: Routing) -> bool:
    """Only keys under the input prefix reach the router (the bucket notifies for that prefix)."""
    return prefix.startswith(routing.input_prefix)


def _notes(routing: Routing, rule_name: str) -> tuple[str, ...]:
    rule = next((r for r in routing.rules if r.name == rule_name), None)
    if rule is None or rule.spill_to is None:
        return ()
    return (
        f"rule {rule_name!r} spills to {rule.spill_to.value} when its queue is backlogged: then the sample goes there",
    )


def _why_not(routing: Routing, mode: str, run_id: str, sample: Sample) -> str:
    key = f"{routing.input_prefix}{FOLDER}{run_id}/{mode}{sample.suffix}"
    routed, rule = routing.route(key, len(sample.body))
    went = f"goes to {routed} ({rule})" if routed else f"is SKIPPED ({rule})"
    sizes = "sizes up to 8 MB" if sample.builtin else f"the sample's own size ({len(sample.body)} B)"
    tried = f"the prefix of every rule under the input prefix, {sizes}"
    if routing.reads_metadata:
        tried += f", and x-amz-meta-inference-mode: {mode} (RequestableModes: {','.join(sorted(routing.requestable))})"
    else:
        tried += " (ReadObjectMetadata=false: no asking in the metadata)"
    rule_example = json.dumps({"prefix": f"{routing.input_prefix}selftest/{mode}/", "mode": mode})
    return (
        f"no file sio can place reaches {mode} through the stack's rules (a sample at {key} {went}; tried "
        f"{tried}); add a rule such as {rule_example} at the top of RoutingRules to make it testable"
    )


# ---------------------------------------------------------------- the nightly run


def night_event(run_id: str, attempt: int = 0) -> dict[str, str]:
    """The schedule's input (batch/template.yaml, the NightlyFunction's schedule), filled in as EventBridge
    Scheduler fills it, with a scheduled time of this run's own far in the future (module docstring):
    the night takes every file SCHEDULED up to then."""
    number = int(hashlib.sha256(run_id.encode()).hexdigest()[:12], 16)
    day = NIGHT_FIRST_DAY + timedelta(days=(number + attempt * 7919) % NIGHT_DAYS)
    moment = datetime(day.year, day.month, day.day, 12, 0, tzinfo=UTC)
    return {
        "scheduledTime": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "scheduleArn": NIGHT_EVENT_SOURCE,
        "executionId": f"{NIGHT_EVENT_SOURCE}-{run_id}-{attempt + 1}",
        "attemptNumber": "1",
    }
