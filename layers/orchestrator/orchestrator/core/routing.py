"""The decision framework (docs/architecture.md §2): which inference mode a file gets. Pure: plain data in and out.

The framework is data: an ordered list of :class:`Rule`. The first rule that matches a file decides
its mode; a rule marked ``ifConfigured`` is passed over when its mode is not configured in this
stack, any other rule whose mode is not configured skips the file with a reason naming the missing
template parameter (a mode is never chosen silently). Every decision names the rule that matched
(``route_reason`` on the tracker item).

The list is the user's rules (template parameter ``RoutingRules``, a JSON list, validated at cold
start by :func:`parse_rules`) followed by :func:`default_rules`, which reproduce the framework the
product always had: the requested mode (``x-amz-meta-inference-mode``, when metadata is read), the
nightly prefix, the batch prefix, small files to a synchronous endpoint when one is configured,
≤ 1 GB to async, larger to a batch transform job of its own.

Rule syntax (JSON object; every key optional except as noted)::

    {"name": "urgent",            # shown in route_reason; default RoutingRules[<index>]
     "prefix": "incoming/urgent/", # the key starts with it
     "minBytes": 0, "maxBytes": 1048576,   # inclusive size bounds
     "requested": "realtime" | "*",        # x-amz-meta-inference-mode equals it ("*": any value)
     "mode": "realtime" | "serverless" | "async" | "batch" | "nightly",
                                   # required, unless "requested" is given (then: the requested mode)
     "ifConfigured": false,        # true: pass over this rule when its mode is not configured
     "spillTo": "async" | "nightly",   # realtime/serverless rules only: where files go while
     "spillWhenQueued": 500}       # the scorer queue holds at least this many messages

After a mode is chosen, its payload limit still applies (real-time 6,291,456 B, serverless
4,194,304 B, async 1 GB): a file over it is skipped, never sent.

Spillover: a burst handed to a synchronous endpoint waits in the scorer queue, in front of a scorer of
``ScorerMaximumConcurrency``, while the async endpoint (built for bursts) may sit idle. A sync rule with
``spillTo`` sends its file to that mode instead while the scorer queue's backlog (``FileFacts.backlog``:
messages waiting + in flight, read by the router at most once per ``SPILLOVER_CHECK_SECONDS``) is at
least ``spillWhenQueued``. :func:`decide` stays pure: without the fact it answers with
``Decision.backlog_wanted`` and the caller reads the backlog and decides again, so only files a spill
rule matched ever cause a read. A backlog that could not be read, a spill mode that is not configured
or one whose payload limit the file exceeds keep the rule's own mode, and the reason says which.

What an uploader controls through metadata stays within the operator's limits: the object's own
Content-Type must be one of the ``ContentTypes`` values, and a mode taken from
``x-amz-meta-inference-mode`` (a rule without ``mode``) must be in ``RequestableModes``; otherwise
the file is skipped with the reason. A rule with both ``requested`` and ``mode`` is the operator's
own mapping: the request is only its condition, so ``RequestableModes`` does not limit it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from functools import cached_property
from pathlib import PurePosixPath
from typing import Any

from orchestrator.core.limits import (
    ASYNC_MAX_BYTES,
    DEFAULT_REQUESTABLE_MODES,
    REALTIME_MAX_BYTES,
    SERVERLESS_MAX_BYTES,
)
from orchestrator.errors import ConfigError


class Mode(StrEnum):
    REALTIME = "realtime"
    SERVERLESS = "serverless"
    ASYNC = "async"
    BATCH = "batch"
    NIGHTLY = "nightly"


SYNC_MODES = frozenset({Mode.REALTIME, Mode.SERVERLESS})
DEFAULT_REQUESTABLE = frozenset(Mode(name) for name in DEFAULT_REQUESTABLE_MODES.split(","))
ANY_REQUESTED = "*"

# The template parameter that switches each mode on: named when a file is skipped for want of it.
MODE_PARAMETERS = {
    Mode.REALTIME: "RealtimeEndpointName",
    Mode.SERVERLESS: "ServerlessEndpointName",
    Mode.ASYNC: "AsyncEndpointName",
    Mode.BATCH: "TransformModelName",
    Mode.NIGHTLY: "TransformModelName",
}


@dataclass(frozen=True)
class Rule:
    """One routing rule: which files it matches and the mode it sends them to."""

    mode: Mode | None = None  # None only with ``requested``: the mode the object asks for
    prefix: str = ""
    min_bytes: int | None = None
    max_bytes: int | None = None
    requested: str | None = None
    if_configured: bool = False
    name: str = ""
    # Why it matched, with ``{size}`` and ``{limit}`` (the mode's payload limit) filled in; the
    # default rules say it in words, a user's rule by its conditions.
    because: str = ""
    # Spillover (sync rules only): the mode a file goes to while the scorer queue holds at least
    # ``spill_when_queued`` messages.
    spill_to: Mode | None = None
    spill_when_queued: int | None = None

    def matches(self, facts: FileFacts) -> bool:
        if self.prefix and not facts.key.startswith(self.prefix):
            return False
        if self.min_bytes is not None and facts.size < self.min_bytes:
            return False
        if self.max_bytes is not None and facts.size > self.max_bytes:
            return False
        if self.requested is not None:
            asked = (facts.requested_mode or "").strip().lower()
            if not asked or (self.requested != ANY_REQUESTED and asked != self.requested):
                return False
        return True


@dataclass(frozen=True)
class RoutingPolicy:
    """The routing rules and the limits they are decided against (the user's, then the defaults)."""

    content_types: dict[str, str]
    available_modes: frozenset[Mode] = frozenset({Mode.ASYNC})
    nightly_prefix: str = ""
    batch_prefix: str = ""
    async_max_bytes: int = ASYNC_MAX_BYTES
    realtime_max_bytes: int = REALTIME_MAX_BYTES
    # Which synchronous mode the default rules try first when both endpoints are configured.
    sync_mode: Mode = Mode.REALTIME
    serverless_max_bytes: int = SERVERLESS_MAX_BYTES
    # The user's rules (RoutingRules), tried before the default rules.
    rules: tuple[Rule, ...] = ()
    # The modes an uploader may ask for with x-amz-meta-inference-mode (RequestableModes).
    requestable_modes: frozenset[Mode] = DEFAULT_REQUESTABLE

    def limit(self, mode: Mode) -> int | None:
        return {
            Mode.REALTIME: self.realtime_max_bytes,
            Mode.SERVERLESS: self.serverless_max_bytes,
            Mode.ASYNC: self.async_max_bytes,
        }.get(mode)

    def all_rules(self) -> tuple[Rule, ...]:
        return self._ordered

    @cached_property
    def _ordered(self) -> tuple[Rule, ...]:  # built once per policy (per cold start), not per file
        return self.rules + default_rules(self)


@dataclass(frozen=True)
class Backlog:
    """The scorer queue as the router last read it: messages waiting + in flight, or why unknown."""

    queued: int | None
    problem: str = ""  # why ``queued`` is None (the read failed)


@dataclass(frozen=True)
class FileFacts:
    """What routing knows of a file: its key and size, and what was read about it."""

    key: str
    size: int
    content_type: str | None = None  # the object's own Content-Type, when metadata is read
    requested_mode: str | None = None  # x-amz-meta-inference-mode, when metadata is read
    backlog: Backlog | None = None  # the scorer queue's backlog; None: not read (only spill rules need it)


@dataclass(frozen=True)
class Decision:
    """Routing's answer for one file: the mode (None: skipped), the content type and why."""

    mode: Mode | None  # None: the file is skipped
    content_type: str | None
    reason: str
    rule: str = ""  # the rule that matched (also at the start of ``reason``)
    # A spill rule matched and FileFacts.backlog was not given: decide again with it (the mode is the
    # rule's own until then, so a caller that cannot read the backlog may keep this decision).
    backlog_wanted: bool = False
    spilled_from: Mode | None = None  # the rule's own mode, when the file was spilled
    # A spill rule's two modes (its own, spillTo): which of them a file gets follows the backlog.
    spill_modes: tuple[Mode, Mode] | None = None

    @property
    def skipped(self) -> bool:
        return self.mode is None


def default_rules(policy: RoutingPolicy) -> tuple[Rule, ...]:
    """The seed's framework, as rules (README "Which mode a file gets" shows this table)."""
    first, second = (Mode.SERVERLESS, Mode.REALTIME) if policy.sync_mode is Mode.SERVERLESS else SYNC_ORDER
    rules = [Rule(requested=ANY_REQUESTED, name="default: requested")]
    if policy.nightly_prefix:
        why = f"under the nightly prefix {policy.nightly_prefix!r}"
        rules.append(Rule(Mode.NIGHTLY, prefix=policy.nightly_prefix, name="default: nightly prefix", because=why))
    if policy.batch_prefix:
        why = f"under the batch prefix {policy.batch_prefix!r}"
        rules.append(Rule(Mode.BATCH, prefix=policy.batch_prefix, name="default: batch prefix", because=why))
    for mode in (first, second):
        why = "{size} B fits the " + mode.value + " limit ({limit} B)"
        rules.append(
            Rule(mode, max_bytes=policy.limit(mode), if_configured=True, name=f"default: {mode.value}", because=why)
        )
    why = "{size} B fits the async limit ({limit} B)"
    rules.append(Rule(Mode.ASYNC, max_bytes=policy.async_max_bytes, name="default: async", because=why))
    why = "{size} B is over the async limit (" + str(policy.async_max_bytes) + " B)"
    rules.append(Rule(Mode.BATCH, name="default: batch", because=why))
    return tuple(rules)


SYNC_ORDER = (Mode.REALTIME, Mode.SERVERLESS)

# A stored Content-Type this generic says nothing; the extension mapping decides instead.
_GENERIC_CONTENT_TYPES = frozenset({"", "binary/octet-stream", "application/octet-stream"})


def stored_content_type(facts: FileFacts) -> str | None:
    """The object's own Content-Type when it says something (metadata read and not generic)."""
    if facts.content_type and facts.content_type.strip().lower() not in _GENERIC_CONTENT_TYPES:
        return facts.content_type
    return None


def content_type_for(facts: FileFacts, content_types: dict[str, str]) -> str | None:
    stored = stored_content_type(facts)
    if stored is not None:
        return stored
    suffix = PurePosixPath(facts.key).suffix.lower().lstrip(".")
    return content_types.get(suffix)


def decide(facts: FileFacts, policy: RoutingPolicy) -> Decision:
    if facts.size <= 0:
        return Decision(None, None, "empty object (0 bytes): nothing to score", "empty object")
    stored = stored_content_type(facts)
    # The uploader sets the stored Content-Type: it reaches the model only if ContentTypes lists it
    # (compared whole, case-insensitively: a parameter such as charset must be listed too).
    if stored is not None and stored.strip().lower() not in {t.lower() for t in policy.content_types.values()}:
        allowed = ", ".join(sorted(set(policy.content_types.values())))
        reason = f"the object's Content-Type {stored!r} is not one of the ContentTypes: {allowed}"
        return Decision(None, None, reason, "content type")
    content_type = content_type_for(facts, policy.content_types)
    if content_type is None:
        suffix = PurePosixPath(facts.key).suffix or "(none)"
        supported = ", ".join(sorted(policy.content_types))
        reason = f"unsupported file extension {suffix!r}; supported: {supported}"
        return Decision(None, None, reason, "content type")

    for rule in policy.all_rules():
        if not rule.matches(facts):
            continue
        mode, why = _mode_of(rule, facts, policy)
        label = rule.name
        if mode is not None and mode not in policy.available_modes and rule.if_configured:
            continue
        if mode is None:
            return Decision(None, content_type, f"[{label}] {why}", label)
        if mode not in policy.available_modes:
            why = (
                f"{why}, but mode {mode.value!r} is not configured in this stack "
                f"(template parameter {MODE_PARAMETERS[mode]} is empty)"
            )
            return Decision(None, content_type, f"[{label}] {why}", label)
        limit = policy.limit(mode)
        if limit is not None and facts.size > limit:
            noun = "the async limit" if mode is Mode.ASYNC else f"the {limit} B limit"
            why = f"{why}, but {facts.size} B exceeds {noun} of {mode.value}"
            return Decision(None, content_type, f"[{label}] {why}", label)
        decision = Decision(mode, content_type, f"[{label}] {why}", label)
        return decision if rule.spill_to is None else _spill(rule, decision, facts, policy)
    # Unreachable with the default rules (the last one matches everything); kept for custom policies.
    return Decision(None, content_type, "no routing rule matched", "none")


def _spill(rule: Rule, own: Decision, facts: FileFacts, policy: RoutingPolicy) -> Decision:
    """A spill rule's decision given the scorer queue's backlog: its own mode below the bound, else
    ``spillTo`` (if configured and the file fits it); the reason says the backlog seen."""
    mode = own.mode
    assert mode is not None and rule.spill_to is not None and rule.spill_when_queued is not None
    own = replace(own, spill_modes=(mode, rule.spill_to))
    if facts.backlog is None:
        return replace(own, backlog_wanted=True)
    target, bound, queued = rule.spill_to, rule.spill_when_queued, facts.backlog.queued
    if queued is None:
        return _noted(own, f"scorer queue backlog unknown ({facts.backlog.problem}): not spilled")
    seen = f"scorer queue holds {queued}"
    if queued < bound:
        return _noted(own, f"{seen} < {bound}: not spilled")
    if target not in policy.available_modes:
        return _noted(
            own,
            f"{seen} ≥ {bound}, but spillTo {target.value!r} is not configured in this stack (template "
            f"parameter {MODE_PARAMETERS[target]} is empty): kept {mode.value}",
        )
    limit = policy.limit(target)
    if limit is not None and facts.size > limit:
        over = f"{facts.size} B exceeds the {target.value} limit ({limit} B)"
        return _noted(own, f"{seen} ≥ {bound}, but {over}: kept {mode.value}")
    reason = f"{own.reason}; {seen} ≥ {bound} → spilled to {target.value}"
    return replace(own, mode=target, reason=reason, spilled_from=mode)


def _noted(decision: Decision, note: str) -> Decision:
    return replace(decision, reason=f"{decision.reason}; {note}")


def _mode_of(rule: Rule, facts: FileFacts, policy: RoutingPolicy) -> tuple[Mode | None, str]:
    if rule.mode is None:  # the requested mode
        try:
            mode = Mode((facts.requested_mode or "").strip().lower())
        except ValueError:
            valid = ", ".join(m.value for m in Mode)
            return None, f"x-amz-meta-inference-mode {facts.requested_mode!r} is not one of: {valid}"
        if mode not in policy.requestable_modes:
            allowed = ", ".join(m.value for m in Mode if m in policy.requestable_modes) or "none"
            return None, (
                f"x-amz-meta-inference-mode {facts.requested_mode!r} asks for a mode uploaders may not choose "
                f"(RequestableModes: {allowed})"
            )
        return mode, "requested by x-amz-meta-inference-mode"
    if rule.because:
        return rule.mode, rule.because.format(size=facts.size, limit=policy.limit(rule.mode))
    if rule.requested is not None:
        return rule.mode, f"x-amz-meta-inference-mode {facts.requested_mode!r} → {rule.mode.value}"
    return rule.mode, _describe(rule, facts)


def _describe(rule: Rule, facts: FileFacts) -> str:
    parts = []
    if rule.prefix:
        parts.append(f"under {rule.prefix!r}")
    if rule.min_bytes is not None:
        parts.append(f"{facts.size} B ≥ {rule.min_bytes} B")
    if rule.max_bytes is not None:
        parts.append(f"{facts.size} B ≤ {rule.max_bytes} B")
    return (", ".join(parts) or "matches every file") + f" → {rule.mode.value if rule.mode else 'requested'}"


# ---------------------------------------------------------------- parsing (cold start)

_KEYS = {"name", "prefix", "minBytes", "maxBytes", "requested", "mode", "ifConfigured", "spillTo", "spillWhenQueued"}
# Where a sync rule may spill: away from the scorer queue, and never one transform job per file.
SPILL_MODES = (Mode.ASYNC, Mode.NIGHTLY)
_SETTING = "ROUTING_RULES (template parameter RoutingRules)"


def parse_rules(raw: str) -> tuple[Rule, ...]:
    """The ``RoutingRules`` JSON list → rules; a :class:`ConfigError` names the bad rule and field."""
    if not raw.strip():
        return ()
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{_SETTING} is not valid JSON: {exc}", {"variable": "ROUTING_RULES"}) from None
    if not isinstance(data, list):
        raise ConfigError(f"{_SETTING} must be a JSON list of rules", {"variable": "ROUTING_RULES"})
    return tuple(_rule(index, entry) for index, entry in enumerate(data))


def _bad(index: int, field: str, problem: str) -> ConfigError:
    where = f"RoutingRules[{index}]" + (f".{field}" if field else "")
    gap = "" if problem.startswith("=") else " "
    return ConfigError(
        f"{_SETTING}: {where}{gap}{problem}", {"variable": "ROUTING_RULES", "rule": index, "field": field or None}
    )


def _rule(index: int, entry: Any) -> Rule:
    if not isinstance(entry, dict):
        raise _bad(index, "", "must be a JSON object")
    unknown = sorted(set(entry) - _KEYS)
    if unknown:
        raise _bad(index, unknown[0], f"is not a rule field; fields: {', '.join(sorted(_KEYS))}")
    modes = ", ".join(m.value for m in Mode)
    mode = entry.get("mode")
    if mode is not None:
        if not isinstance(mode, str) or mode not in {m.value for m in Mode}:
            raise _bad(index, "mode", f"={mode!r} is not one of: {modes}")
        mode = Mode(mode)
    requested = entry.get("requested")
    if requested is not None and (
        not isinstance(requested, str) or requested not in {ANY_REQUESTED, *(m.value for m in Mode)}
    ):
        raise _bad(index, "requested", f"={requested!r} must be '*' or one of: {modes}")
    if mode is None and requested is None:
        raise _bad(index, "mode", "is required (or give 'requested' to use the mode the object asks for)")
    prefix = entry.get("prefix", "")
    if not isinstance(prefix, str):
        raise _bad(index, "prefix", f"={prefix!r} must be a string")
    bounds = {}
    for field in ("minBytes", "maxBytes"):
        value = entry.get(field)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
            raise _bad(index, field, f"={value!r} must be a whole number of bytes ≥ 0")
        bounds[field] = value
    low, high = bounds["minBytes"], bounds["maxBytes"]
    if low is not None and high is not None and low > high:
        raise _bad(index, "maxBytes", f"={high} is below minBytes={low}: the rule can never match")
    limits = {Mode.REALTIME: REALTIME_MAX_BYTES, Mode.SERVERLESS: SERVERLESS_MAX_BYTES, Mode.ASYNC: ASYNC_MAX_BYTES}
    if mode in limits and high is not None and high > limits[mode]:
        raise _bad(index, "maxBytes", f"={high} exceeds the {mode.value} payload limit ({limits[mode]} B)")
    if_configured = entry.get("ifConfigured", False)
    if not isinstance(if_configured, bool):
        raise _bad(index, "ifConfigured", f"={if_configured!r} must be true or false")
    name = entry.get("name") or f"RoutingRules[{index}]"
    if not isinstance(name, str):
        raise _bad(index, "name", f"={name!r} must be a string")
    spill_to, bound = _spill_fields(index, entry, mode)
    return Rule(mode, prefix, low, high, requested, if_configured, name, spill_to=spill_to, spill_when_queued=bound)


def _spill_fields(index: int, entry: dict[str, Any], mode: Mode | None) -> tuple[Mode | None, int | None]:
    spill_to, bound = entry.get("spillTo"), entry.get("spillWhenQueued")
    if spill_to is None:
        if bound is not None:
            raise _bad(index, "spillWhenQueued", "is given without spillTo: name the mode files spill to")
        return None, None
    targets = ", ".join(m.value for m in SPILL_MODES)
    if not isinstance(spill_to, str) or spill_to not in {m.value for m in Mode}:
        raise _bad(index, "spillTo", f"={spill_to!r} is not one of: {targets}")
    if mode not in SYNC_MODES:
        own = f"mode {mode.value!r}" if mode else "the requested mode"
        raise _bad(
            index,
            "spillTo",
            f"is only for a realtime or serverless rule (this rule has {own}): the backlog it bounds is the "
            "scorer queue's, the only one the router can read",
        )
    target = Mode(spill_to)
    if target is mode:
        raise _bad(index, "spillTo", f"={spill_to!r} is the rule's own mode: spill to one of {targets}")
    if target in SYNC_MODES:
        raise _bad(index, "spillTo", f"={spill_to!r} waits in the same scorer queue: spill to one of {targets}")
    if target is Mode.BATCH:
        raise _bad(index, "spillTo", f"='batch' would start a transform job per spilled file: spill to {targets}")
    if bound is None:
        raise _bad(index, "spillWhenQueued", "is required with spillTo: the scorer queue depth (messages) to spill at")
    if isinstance(bound, bool) or not isinstance(bound, int) or bound < 1:
        raise _bad(index, "spillWhenQueued", f"={bound!r} must be a whole number of messages ≥ 1")
    return target, bound


def parse_content_types(raw: str, name: str = "CONTENT_TYPES") -> dict[str, str]:
    """CONTENT_TYPES (template parameter ContentTypes): ``"csv=text/csv,json=application/json"`` →
    ``{"csv": "text/csv", ...}`` (extensions lower-case)."""
    mapping: dict[str, str] = {}
    for entry in filter(None, (part.strip() for part in raw.split(","))):
        ext, sep, content_type = entry.partition("=")
        ext = ext.strip().lower().lstrip(".")
        content_type = content_type.strip()
        if not sep or not ext or "/" not in content_type:
            raise ConfigError(
                f"{name} entry {entry!r} must look like 'csv=text/csv'", {"variable": name, "entry": entry}
            )
        mapping[ext] = content_type
    if not mapping:
        raise ConfigError(f"{name} maps no extension to a content type", {"variable": name})
    return mapping


def parse_requestable_modes(raw: str) -> frozenset[Mode]:
    """REQUESTABLE_MODES: ``"async,nightly"`` → those modes; empty → none may be requested."""
    names = [part.strip().lower() for part in raw.split(",") if part.strip()]
    known = [mode.value for mode in Mode]
    for name in names:
        if name not in known:
            raise ConfigError(
                f"REQUESTABLE_MODES (template parameter RequestableModes) names {name!r}, which is not a mode; "
                f"modes: {', '.join(known)}",
                {"variable": "REQUESTABLE_MODES", "parameter": "RequestableModes"},
            )
    return frozenset(Mode(name) for name in names)


def check_requestable(rules: Sequence[Rule], requestable: frozenset[Mode]) -> None:
    """A rule honouring requests for one mode (``requested`` without ``mode``) that RequestableModes
    leaves out could only skip files: refused at cold start, naming both settings."""
    for index, rule in enumerate(rules):
        if rule.mode is None and rule.requested not in (None, ANY_REQUESTED) and rule.requested not in requestable:
            raise _bad(
                index,
                "requested",
                f"={rule.requested!r} honours a mode that REQUESTABLE_MODES (template parameter RequestableModes) "
                "leaves out: add it there, or give the rule a mode of its own",
            )


def describe_rules(rules: Sequence[Rule]) -> list[str]:
    """One line per rule (logged at cold start, so the log says which table decided)."""
    lines = []
    for rule in rules:
        what = _describe(rule, FileFacts(rule.prefix, 0)) if rule.mode else "the requested mode"
        if rule.spill_to is not None:
            what += f", {rule.spill_to.value} while the scorer queue holds ≥ {rule.spill_when_queued}"
        lines.append(f"{rule.name}: {what}{' (if configured)' if rule.if_configured else ''}")
    return lines
