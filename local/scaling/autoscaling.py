"""Application Auto Scaling and the CloudWatch alarms that drive it, evaluated on a virtual clock.

The pure core of the local stack's endpoint scaling: the template's ScalableTargets, ScalingPolicies
(step and target tracking) and alarms go in (intrinsics already resolved), one aggregate per metric
and period goes in at each ``tick``, and the capacity decisions come out with the reason for each.
No I/O, no threads, no clock: time is the float of virtual seconds the caller passes.

What it follows from AWS, and where it simplifies:

- An alarm is ALARM when DatapointsToAlarm of its last EvaluationPeriods datapoints breach, OK when
  enough of them do not that it cannot be, and otherwise keeps its state (INSUFFICIENT_DATA at
  first). Missing points are filled by TreatMissingData (``breaching``/``notBreaching``) or left out
  (``missing``/``ignore``); a window with nothing but missing points goes to INSUFFICIENT_DATA
  (``missing``) or stays as it is (``ignore``). CloudWatch's look-back beyond the window is not
  modelled: keeping the state while the window cannot decide stands in for it.
- An alarm in ALARM invokes its scaling actions at every evaluation; each step policy's Cooldown is
  what spaces them out (AWS's "add the difference during a scale-out cooldown" is not modelled).
- Target tracking is its two alarms (high: > TargetValue for 3 of 3; low: < 0.9 x TargetValue for
  15 of 15, in periods of the plan) and desired = ceil(capacity x metric / TargetValue), so it never
  scales out from 0 and never scales in to 0 while the metric is above 0. Simplified: its scale-outs
  are spaced by ScaleOutCooldown; AWS lets a larger scale-out through within the cooldown (counting the
  capacity the last one added), so under a sharply growing backlog AWS adds capacity sooner than this.
"""

from __future__ import annotations

import math
import operator
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from orchestrator.errors import OrchestratorError

TARGET_TYPE = "AWS::ApplicationAutoScaling::ScalableTarget"
POLICY_TYPE = "AWS::ApplicationAutoScaling::ScalingPolicy"
ALARM_TYPE = "AWS::CloudWatch::Alarm"

# The plan's period when no step alarm sets one: target tracking alarms evaluate one-minute datapoints.
DEFAULT_PERIOD = 60
TRACKING_HIGH_PERIODS = 3
TRACKING_LOW_PERIODS = 15
TRACKING_LOW_RATIO = 0.9

# Application Auto Scaling's cooldown when a policy omits it: 0 for these namespaces, 300 s for the
# others (SageMaker endpoint variants among them).
NO_COOLDOWN_NAMESPACES = frozenset({"dynamodb", "comprehend", "lambda"})
DEFAULT_COOLDOWN = 300.0

ADJUSTMENT_TYPES = frozenset({"ChangeInCapacity", "ExactCapacity", "PercentChangeInCapacity"})
TREAT_MISSING = frozenset({"missing", "notBreaching", "breaching", "ignore"})
STATISTICS = frozenset({"Average", "Minimum", "Maximum", "Sum", "SampleCount"})
COMPARISONS: dict[str, tuple[str, Callable[[float, float], bool]]] = {
    "GreaterThanOrEqualToThreshold": (">=", operator.ge),
    "GreaterThanThreshold": (">", operator.gt),
    "LessThanThreshold": ("<", operator.lt),
    "LessThanOrEqualToThreshold": ("<=", operator.le),
}


class ScalingError(OrchestratorError):
    """A resource cannot be evaluated as declared; the message names its logical id and property."""


class AlarmState(StrEnum):
    OK = "OK"
    ALARM = "ALARM"
    INSUFFICIENT_DATA = "INSUFFICIENT_DATA"


@dataclass(frozen=True)
class ScalingResource:
    """A template resource with its intrinsics resolved; ``ref`` is what ``Ref`` to it gives."""

    logical_id: str
    type: str
    ref: str
    properties: Mapping[str, Any]


@dataclass(frozen=True, order=True)
class MetricKey:
    namespace: str
    name: str
    dimensions: tuple[tuple[str, str], ...]  # sorted by name
    statistic: str


@dataclass(frozen=True)
class ScalableTarget:
    logical_id: str
    ref: str
    resource_id: str
    dimension: str
    namespace: str
    min_capacity: int
    max_capacity: int


@dataclass(frozen=True)
class StepAdjustment:
    lower: float | None  # bounds are relative to the alarm threshold; None: unbounded
    upper: float | None
    adjustment: int


@dataclass(frozen=True)
class StepPolicy:
    logical_id: str
    ref: str
    target: str  # the ScalableTarget's ref
    adjustment_type: str
    cooldown: float
    steps: tuple[StepAdjustment, ...]
    min_adjustment_magnitude: int | None = None


@dataclass(frozen=True)
class TargetTrackingPolicy:
    logical_id: str
    ref: str
    target: str
    metric: MetricKey
    target_value: float
    scale_in_cooldown: float
    scale_out_cooldown: float
    disable_scale_in: bool = False


@dataclass(frozen=True)
class Alarm:
    name: str
    logical_id: str
    metric: MetricKey
    period: int
    evaluation_periods: int
    datapoints_to_alarm: int
    threshold: float
    comparison: str
    treat_missing: str = "missing"
    actions: tuple[str, ...] = ()  # refs of step policies

    @property
    def symbol(self) -> str:
        return COMPARISONS[self.comparison][0]

    def breaches(self, value: float) -> bool:
        return COMPARISONS[self.comparison][1](value, self.threshold)


@dataclass(frozen=True)
class Decision:
    time: float
    target: str
    previous: int
    desired: int
    policy: str  # logical id
    cause: str


@dataclass(frozen=True)
class AlarmChange:
    name: str
    old: AlarmState
    new: AlarmState
    time: float


@dataclass(frozen=True)
class Tick:
    time: float
    decisions: list[Decision] = field(default_factory=list)
    alarms: list[AlarmChange] = field(default_factory=list)


# Parsing ------------------------------------------------------------------------------------------


def _fail(resource: ScalingResource, prop: str, problem: str) -> ScalingError:
    return ScalingError(
        f"{resource.logical_id} ({resource.type}): {prop} {problem}",
        {"logical_id": resource.logical_id, "property": prop},
    )


def _get(resource: ScalingResource, props: Mapping[str, Any], name: str, prefix: str = "") -> Any:
    if props.get(name) in (None, ""):
        raise _fail(resource, prefix + name, "is required")
    return props[name]


def _number(resource: ScalingResource, value: Any, prop: str) -> float:
    # Resolved parameters arrive as strings ("60", "5.0"); booleans are not numbers here.
    if isinstance(value, bool):
        raise _fail(resource, prop, f"must be a number, not {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise _fail(resource, prop, f"must be a number, not {value!r}") from None
    if not math.isfinite(number):
        raise _fail(resource, prop, f"must be finite, not {value!r}")
    return number


def _integer(resource: ScalingResource, value: Any, prop: str, minimum: int | None = None) -> int:
    number = _number(resource, value, prop)
    if not number.is_integer():
        raise _fail(resource, prop, f"must be a whole number, not {value!r}")
    if minimum is not None and number < minimum:
        raise _fail(resource, prop, f"must be at least {minimum}, not {value!r}")
    return int(number)


def _optional_number(resource: ScalingResource, props: Mapping[str, Any], name: str, prefix: str) -> float | None:
    value = props.get(name)
    return None if value in (None, "") else _number(resource, value, prefix + name)


def _boolean(resource: ScalingResource, value: Any, prop: str) -> bool:
    if isinstance(value, bool):
        return value
    if str(value).lower() in ("true", "false"):
        return str(value).lower() == "true"
    raise _fail(resource, prop, f"must be true or false, not {value!r}")


def _dimensions(resource: ScalingResource, value: Any, prop: str) -> tuple[tuple[str, str], ...]:
    if value in (None, ""):
        return ()
    if not isinstance(value, list) or not all(isinstance(d, Mapping) and "Name" in d and "Value" in d for d in value):
        raise _fail(resource, prop, "must be a list of {Name, Value}")
    return tuple(sorted((str(d["Name"]), str(d["Value"])) for d in value))


def _statistic(resource: ScalingResource, props: Mapping[str, Any], prefix: str) -> str:
    statistic = props.get("Statistic")
    if statistic not in STATISTICS:
        raise _fail(resource, prefix + "Statistic", f"must be one of {sorted(STATISTICS)}, not {statistic!r}")
    return str(statistic)


def _cooldown(
    resource: ScalingResource, config: Mapping[str, Any], name: str, prefix: str, target: ScalableTarget
) -> float:
    value = config.get(name)
    if value in (None, ""):
        return 0.0 if target.namespace in NO_COOLDOWN_NAMESPACES else DEFAULT_COOLDOWN
    return float(_integer(resource, value, prefix + name, minimum=0))


def _parse_target(resource: ScalingResource) -> ScalableTarget:
    props = resource.properties
    minimum = _integer(resource, _get(resource, props, "MinCapacity"), "MinCapacity", minimum=0)
    maximum = _integer(resource, _get(resource, props, "MaxCapacity"), "MaxCapacity", minimum=0)
    if minimum > maximum:
        raise _fail(resource, "MinCapacity", f"{minimum} is above MaxCapacity {maximum}")
    return ScalableTarget(
        logical_id=resource.logical_id,
        ref=resource.ref,
        resource_id=str(_get(resource, props, "ResourceId")),
        dimension=str(_get(resource, props, "ScalableDimension")),
        namespace=str(props.get("ServiceNamespace", "")),
        min_capacity=minimum,
        max_capacity=maximum,
    )


def _policy_target(resource: ScalingResource, targets: Sequence[ScalableTarget]) -> ScalableTarget:
    props = resource.properties
    target_id = props.get("ScalingTargetId")
    if target_id not in (None, ""):
        found = [t for t in targets if t.ref == target_id]
        if not found:
            raise _fail(resource, "ScalingTargetId", f"{target_id!r} is no ScalableTarget's ref")
        return found[0]
    # The policy may name its target by ResourceId and ScalableDimension instead.
    resource_id, dimension = props.get("ResourceId"), props.get("ScalableDimension")
    found = [t for t in targets if (t.resource_id, t.dimension) == (resource_id, dimension)]
    if not found:
        raise _fail(resource, "ScalingTargetId", "is required (or a ResourceId and ScalableDimension of a target)")
    return found[0]


def _parse_step_policy(resource: ScalingResource, target: ScalableTarget) -> StepPolicy:
    prefix = "StepScalingPolicyConfiguration."
    config = _get(resource, resource.properties, "StepScalingPolicyConfiguration")
    adjustment_type = config.get("AdjustmentType")
    if adjustment_type not in ADJUSTMENT_TYPES:
        raise _fail(resource, prefix + "AdjustmentType", f"must be one of {sorted(ADJUSTMENT_TYPES)}")
    raw_steps = config.get("StepAdjustments")
    if not isinstance(raw_steps, list) or not raw_steps:
        raise _fail(resource, prefix + "StepAdjustments", "must list at least one step")
    steps = []
    for index, raw in enumerate(raw_steps):
        where = f"{prefix}StepAdjustments[{index}]."
        step = StepAdjustment(
            lower=_optional_number(resource, raw, "MetricIntervalLowerBound", where),
            upper=_optional_number(resource, raw, "MetricIntervalUpperBound", where),
            adjustment=_integer(resource, _get(resource, raw, "ScalingAdjustment", where), where + "ScalingAdjustment"),
        )
        if step.lower is not None and step.upper is not None and step.lower >= step.upper:
            raise _fail(resource, where + "MetricIntervalLowerBound", "must be below MetricIntervalUpperBound")
        steps.append(step)
    magnitude = config.get("MinAdjustmentMagnitude")
    return StepPolicy(
        logical_id=resource.logical_id,
        ref=resource.ref,
        target=target.ref,
        adjustment_type=str(adjustment_type),
        cooldown=_cooldown(resource, config, "Cooldown", prefix, target),
        steps=tuple(steps),
        min_adjustment_magnitude=(
            None
            if magnitude in (None, "")
            else _integer(resource, magnitude, prefix + "MinAdjustmentMagnitude", minimum=1)
        ),
    )


def endpoint_variant(resource_id: str) -> tuple[str, str]:
    """A SageMaker scalable target's ResourceId ``endpoint/<name>/variant/<variant>`` → (name, variant)."""
    parts = resource_id.split("/")
    if len(parts) != 4 or parts[0] != "endpoint" or parts[2] != "variant" or not parts[1] or not parts[3]:
        raise ValueError(f"{resource_id!r} is not endpoint/<name>/variant/<variant>")
    return parts[1], parts[3]


def _variant_metric(resource: ScalingResource, target: ScalableTarget, prop: str) -> MetricKey:
    try:
        endpoint, variant = endpoint_variant(target.resource_id)
    except ValueError:
        raise _fail(
            resource, prop, f"needs an endpoint/<name>/variant/<name> target, not {target.resource_id!r}"
        ) from None
    dimensions = (("EndpointName", endpoint), ("VariantName", variant))
    return MetricKey("AWS/SageMaker", "InvocationsPerInstance", dimensions, "Sum")


def _tracking_metric(resource: ScalingResource, config: Mapping[str, Any], target: ScalableTarget) -> MetricKey:
    prefix = "TargetTrackingScalingPolicyConfiguration."
    custom = config.get("CustomizedMetricSpecification")
    predefined = config.get("PredefinedMetricSpecification")
    if custom:
        where = prefix + "CustomizedMetricSpecification."
        if "Metrics" in custom:
            raise _fail(resource, where + "Metrics", "(metric math) is not supported")
        return MetricKey(
            namespace=str(_get(resource, custom, "Namespace", where)),
            name=str(_get(resource, custom, "MetricName", where)),
            dimensions=_dimensions(resource, custom.get("Dimensions"), where + "Dimensions"),
            statistic=_statistic(resource, custom, where),
        )
    if predefined:
        where = prefix + "PredefinedMetricSpecification.PredefinedMetricType"
        kind = predefined.get("PredefinedMetricType")
        if kind != "SageMakerVariantInvocationsPerInstance":
            raise _fail(resource, where, f"{kind!r} is not supported (only SageMakerVariantInvocationsPerInstance)")
        return _variant_metric(resource, target, where)
    raise _fail(resource, prefix + "CustomizedMetricSpecification", "or PredefinedMetricSpecification is required")


def _parse_tracking_policy(resource: ScalingResource, target: ScalableTarget) -> TargetTrackingPolicy:
    prefix = "TargetTrackingScalingPolicyConfiguration."
    config = _get(resource, resource.properties, "TargetTrackingScalingPolicyConfiguration")
    target_value = _number(resource, _get(resource, config, "TargetValue", prefix), prefix + "TargetValue")
    if target_value <= 0:
        raise _fail(resource, prefix + "TargetValue", f"must be above 0, not {target_value:g}")
    disable = config.get("DisableScaleIn")
    return TargetTrackingPolicy(
        logical_id=resource.logical_id,
        ref=resource.ref,
        target=target.ref,
        metric=_tracking_metric(resource, config, target),
        target_value=target_value,
        scale_in_cooldown=_cooldown(resource, config, "ScaleInCooldown", prefix, target),
        scale_out_cooldown=_cooldown(resource, config, "ScaleOutCooldown", prefix, target),
        disable_scale_in=False if disable in (None, "") else _boolean(resource, disable, prefix + "DisableScaleIn"),
    )


def _parse_alarm(resource: ScalingResource, policy_refs: Mapping[str, str]) -> Alarm | None:
    """The alarm, or None when none of its actions is a scaling policy (nothing here to drive)."""
    props = resource.properties
    actions = props.get("AlarmActions") or []
    if not isinstance(actions, list):
        raise _fail(resource, "AlarmActions", "must be a list")
    scaling = tuple(str(a) for a in actions if a in policy_refs)
    if not scaling:
        return None
    for action in scaling:
        if policy_refs[action] != "StepScaling":
            raise _fail(resource, "AlarmActions", f"names {action!r}, a target tracking policy with its own alarms")
    if "Metrics" in props:
        raise _fail(resource, "Metrics", "(metric math) is not supported on a scaling alarm")
    comparison = props.get("ComparisonOperator")
    if comparison not in COMPARISONS:
        raise _fail(resource, "ComparisonOperator", f"must be one of {sorted(COMPARISONS)}, not {comparison!r}")
    treat = props.get("TreatMissingData") or "missing"
    if treat not in TREAT_MISSING:
        raise _fail(resource, "TreatMissingData", f"must be one of {sorted(TREAT_MISSING)}, not {treat!r}")
    periods = _integer(resource, _get(resource, props, "EvaluationPeriods"), "EvaluationPeriods", minimum=1)
    to_alarm = props.get("DatapointsToAlarm")
    datapoints = periods if to_alarm in (None, "") else _integer(resource, to_alarm, "DatapointsToAlarm", minimum=1)
    if datapoints > periods:
        raise _fail(resource, "DatapointsToAlarm", f"{datapoints} is above EvaluationPeriods {periods}")
    return Alarm(
        name=str(props.get("AlarmName") or resource.logical_id),
        logical_id=resource.logical_id,
        metric=MetricKey(
            namespace=str(_get(resource, props, "Namespace")),
            name=str(_get(resource, props, "MetricName")),
            dimensions=_dimensions(resource, props.get("Dimensions"), "Dimensions"),
            statistic=_statistic(resource, props, ""),
        ),
        period=_integer(resource, _get(resource, props, "Period"), "Period", minimum=1),
        evaluation_periods=periods,
        datapoints_to_alarm=datapoints,
        threshold=_number(resource, _get(resource, props, "Threshold"), "Threshold"),
        comparison=str(comparison),
        treat_missing=str(treat),
        actions=scaling,
    )


@dataclass(frozen=True)
class ScalingPlan:
    """What the template declares for scaling, parsed and checked once."""

    targets: tuple[ScalableTarget, ...]
    step_policies: tuple[StepPolicy, ...]
    tracking_policies: tuple[TargetTrackingPolicy, ...]
    alarms: tuple[Alarm, ...]  # only those with a scaling action
    period: int = DEFAULT_PERIOD

    @classmethod
    def from_resources(cls, resources: Iterable[ScalingResource]) -> ScalingPlan:
        by_type: dict[str, list[ScalingResource]] = {TARGET_TYPE: [], POLICY_TYPE: [], ALARM_TYPE: []}
        for resource in resources:
            by_type.get(resource.type, []).append(resource)
        targets: list[ScalableTarget] = []
        for resource in by_type[TARGET_TYPE]:
            target = _parse_target(resource)
            if any(t.ref == target.ref for t in targets):
                raise _fail(resource, "Ref", f"{target.ref!r} is already another target's")
            targets.append(target)
        steps: list[StepPolicy] = []
        tracking: list[TargetTrackingPolicy] = []
        policy_refs: dict[str, str] = {}
        for resource in by_type[POLICY_TYPE]:
            kind = resource.properties.get("PolicyType")
            target = _policy_target(resource, targets)
            if kind == "StepScaling":
                steps.append(_parse_step_policy(resource, target))
            elif kind == "TargetTrackingScaling":
                tracking.append(_parse_tracking_policy(resource, target))
            else:
                raise _fail(resource, "PolicyType", f"{kind!r} is not supported (StepScaling, TargetTrackingScaling)")
            policy_refs[resource.ref] = str(kind)
        alarms: list[Alarm] = []
        for resource in by_type[ALARM_TYPE]:
            alarm = _parse_alarm(resource, policy_refs)
            if alarm is None:
                continue
            if any(a.name == alarm.name for a in alarms):
                raise _fail(resource, "AlarmName", f"{alarm.name!r} is another alarm's name too")
            # One tick is one period: every scaling alarm has to be evaluated on the same one.
            if alarms and alarm.period != alarms[0].period:
                raise _fail(
                    resource, "Period", f"{alarm.period} differs from {alarms[0].logical_id}'s {alarms[0].period}"
                )
            alarms.append(alarm)
        period = alarms[0].period if alarms else DEFAULT_PERIOD
        return cls(tuple(targets), tuple(steps), tuple(tracking), tuple(alarms), period)

    def metrics(self) -> set[MetricKey]:
        """The metrics the caller supplies at each tick."""
        return {a.metric for a in self.alarms} | {p.metric for p in self.tracking_policies}


def tracking_alarms(policy: TargetTrackingPolicy, period: int) -> tuple[Alarm, Alarm]:
    """The high and low alarms Application Auto Scaling creates for a target tracking policy."""

    def alarm(side: str, periods: int, threshold: float, comparison: str) -> Alarm:
        return Alarm(
            name=f"TargetTracking-{policy.logical_id}-Alarm{side}",
            logical_id=policy.logical_id,
            metric=policy.metric,
            period=period,
            evaluation_periods=periods,
            datapoints_to_alarm=periods,
            threshold=threshold,
            comparison=comparison,
        )

    high = alarm("High", TRACKING_HIGH_PERIODS, policy.target_value, "GreaterThanThreshold")
    low = alarm("Low", TRACKING_LOW_PERIODS, policy.target_value * TRACKING_LOW_RATIO, "LessThanThreshold")
    return high, low


# Evaluation ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Evaluation:
    state: AlarmState
    breaching: int  # datapoints of the window counted as breaching
    latest: float | None  # the most recent real datapoint of the window


def evaluate(alarm: Alarm, window: Sequence[float | None], current: AlarmState) -> Evaluation:
    """The alarm's state for its last EvaluationPeriods datapoints (oldest first; None: missing)."""
    values = [v for v in window if v is not None]
    latest = values[-1] if values else None
    breaching = sum(1 for v in values if alarm.breaches(v))
    good = len(values) - breaching
    missing = len(window) - len(values)
    if alarm.treat_missing == "breaching":
        breaching += missing
    elif alarm.treat_missing == "notBreaching":
        good += missing
    elif not values:
        state = AlarmState.INSUFFICIENT_DATA if alarm.treat_missing == "missing" else current
        return Evaluation(state, 0, None)
    if breaching >= alarm.datapoints_to_alarm:
        state = AlarmState.ALARM
    elif good > alarm.evaluation_periods - alarm.datapoints_to_alarm:
        state = AlarmState.OK
    else:
        # Too few datapoints to decide either way (a start, or gaps): keep the state.
        state = current
    return Evaluation(state, breaching, latest)


def choose_step(policy: StepPolicy, alarm: Alarm, value: float) -> StepAdjustment | None:
    """The step whose interval holds (value - threshold). AWS: above the threshold an interval is
    [lower, upper), below it (lower, upper]; the comparison says which side the alarm watches."""
    difference = value - alarm.threshold
    above = alarm.comparison.startswith("Greater")
    for step in policy.steps:
        lower = -math.inf if step.lower is None else step.lower
        upper = math.inf if step.upper is None else step.upper
        if (lower <= difference < upper) if above else (lower < difference <= upper):
            return step
    return None


def step_capacity(policy: StepPolicy, capacity: int, step: StepAdjustment) -> tuple[int, str]:
    """The capacity a step asks for (before the target's bounds), with how it was computed."""
    adjustment = step.adjustment
    if policy.adjustment_type == "ExactCapacity":
        return adjustment, f"exactly {adjustment}"
    if policy.adjustment_type == "ChangeInCapacity":
        return capacity + adjustment, f"{adjustment:+d}"
    # PercentChangeInCapacity: truncated toward 0, but a fraction of an instance counts as one.
    raw = capacity * adjustment / 100
    change = int(math.copysign(1, raw)) if 0 < abs(raw) < 1 else math.trunc(raw)
    magnitude = policy.min_adjustment_magnitude
    if magnitude is not None and adjustment != 0 and abs(change) < magnitude:
        change = int(math.copysign(magnitude, adjustment))
    return capacity + change, f"{adjustment:+d}% of {capacity} = {change:+d}"


def tracking_capacity(capacity: int, value: float, target_value: float) -> int:
    # Rounded first so that float noise (3 x 1.1 / 1.1 = 3.0000000000000004) does not add an instance.
    return math.ceil(round(capacity * value / target_value, 9))


def _clamp(target: ScalableTarget, desired: int) -> tuple[int, str]:
    if desired > target.max_capacity:
        return target.max_capacity, f", clamped to MaxCapacity {target.max_capacity}"
    if desired < target.min_capacity:
        return target.min_capacity, f", clamped to MinCapacity {target.min_capacity}"
    return desired, ""


def _fmt(value: float) -> str:
    return format(value, ".10g")


def _cooled(last: float | None, now: float, cooldown: float) -> bool:
    return last is None or now - last >= cooldown


class Autoscaler:
    """Application Auto Scaling's desired capacity per target, driven one period at a time."""

    def __init__(self, plan: ScalingPlan, capacities: Mapping[str, int] | None = None) -> None:
        self.plan = plan
        self._targets = {t.ref: t for t in plan.targets}
        self._step_policies = {p.ref: p for p in plan.step_policies}
        unknown = sorted(set(capacities or {}) - set(self._targets))
        if unknown:
            raise ScalingError(f"capacities name no scalable target: {', '.join(unknown)}", {"refs": unknown})
        self._capacity = {t.ref: t.min_capacity for t in plan.targets} | dict(capacities or {})
        self._tracking = {p.logical_id: tracking_alarms(p, plan.period) for p in plan.tracking_policies}
        # Step alarms first, in declaration order, then each tracking policy's high and low.
        self._alarms: list[Alarm] = [*plan.alarms, *(a for pair in self._tracking.values() for a in pair)]
        self._windows: dict[str, deque[float | None]] = {
            a.name: deque(maxlen=a.evaluation_periods) for a in self._alarms
        }
        self._evaluations = {a.name: Evaluation(AlarmState.INSUFFICIENT_DATA, 0, None) for a in self._alarms}
        self._step_last: dict[str, float] = {}  # step policy → its last change
        self._scale_out_last: dict[str, float] = {}  # tracking policy → its last scale-out
        self._scale_in_last: dict[str, float] = {}  # target → its last scale-in, by any policy
        self._now: float | None = None

    def capacity(self, target_ref: str) -> int:
        return self._capacity[target_ref]

    def alarm_state(self, alarm_name: str) -> AlarmState:
        return self._evaluations[alarm_name].state

    def tick(self, now: float, datapoints: Mapping[MetricKey, float | None]) -> Tick:
        """One period has ended at ``now``: its aggregate per metric (absent or None: no data)."""
        if self._now is not None and now <= self._now:
            raise ValueError(f"tick at {now} is not after the previous one at {self._now}")
        self._now = now
        result = Tick(now)
        for alarm in self._alarms:
            window = self._windows[alarm.name]
            window.append(datapoints.get(alarm.metric))
            old = self._evaluations[alarm.name]
            new = evaluate(alarm, window, old.state)
            self._evaluations[alarm.name] = new
            if new.state != old.state:
                result.alarms.append(AlarmChange(alarm.name, old.state, new.state, now))
        for alarm in self.plan.alarms:
            if self.alarm_state(alarm.name) is AlarmState.ALARM:
                for ref in alarm.actions:
                    self._record(result, self._step(self._step_policies[ref], alarm, now))
        for policy in self.plan.tracking_policies:
            self._record(result, self._track(policy, now))
        return result

    def _record(self, result: Tick, decision: Decision | None) -> None:
        if decision is None:
            return
        self._capacity[decision.target] = decision.desired
        if decision.desired < decision.previous:
            self._scale_in_last[decision.target] = decision.time
        result.decisions.append(decision)

    def _step(self, policy: StepPolicy, alarm: Alarm, now: float) -> Decision | None:
        if not _cooled(self._step_last.get(policy.logical_id), now, policy.cooldown):
            return None
        evaluation = self._evaluations[alarm.name]
        if evaluation.latest is None:
            return None  # in ALARM on missing data alone: no value to choose a step by
        step = choose_step(policy, alarm, evaluation.latest)
        if step is None:
            return None
        target = self._targets[policy.target]
        current = self._capacity[target.ref]
        asked, how = step_capacity(policy, current, step)
        desired, clamp = _clamp(target, asked)
        if desired == current:
            return None
        self._step_last[policy.logical_id] = now
        cause = (
            f"alarm {alarm.name} in ALARM ({alarm.metric.name} {_fmt(evaluation.latest)} {alarm.symbol} "
            f"{_fmt(alarm.threshold)} for {evaluation.breaching} of {alarm.evaluation_periods} periods): {how}{clamp}"
        )
        return Decision(now, target.ref, current, desired, policy.logical_id, cause)

    def _track(self, policy: TargetTrackingPolicy, now: float) -> Decision | None:
        target = self._targets[policy.target]
        current = self._capacity[target.ref]
        high, low = self._tracking[policy.logical_id]
        if self.alarm_state(high.name) is AlarmState.ALARM:
            alarm, scale_out = high, True
        elif self.alarm_state(low.name) is AlarmState.ALARM and not policy.disable_scale_in:
            alarm, scale_out = low, False
        else:
            return None
        evaluation = self._evaluations[alarm.name]
        if evaluation.latest is None:
            return None
        asked = tracking_capacity(current, evaluation.latest, policy.target_value)
        desired, clamp = _clamp(target, asked)
        if scale_out:
            if desired <= current or not _cooled(
                self._scale_out_last.get(policy.logical_id), now, policy.scale_out_cooldown
            ):
                return None
            self._scale_out_last[policy.logical_id] = now
        elif desired >= current or not _cooled(self._scale_in_last.get(target.ref), now, policy.scale_in_cooldown):
            return None
        cause = (
            f"{alarm.metric.name} {_fmt(evaluation.latest)} {alarm.symbol} {_fmt(alarm.threshold)} for "
            f"{evaluation.breaching} of {alarm.evaluation_periods} periods: "
            f"ceil({current} x {_fmt(evaluation.latest)} / {_fmt(policy.target_value)}) = {asked}{clamp}"
        )
        return Decision(now, target.ref, current, desired, policy.logical_id, cause)
