"""Application Auto Scaling and its alarms on a virtual clock (pure: local.scaling.autoscaling).

The resources are shaped like template.yaml's asynchronous endpoint scaling: a step policy brings the
variant up from zero on HasBacklogWithoutCapacity, target tracking on the backlog per instance does
the rest. Timelines are tables of (time, datapoints) with the capacities and decisions worked out by
hand; every tick is one 60 s period.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from local.scaling.autoscaling import (
    AlarmState,
    Autoscaler,
    MetricKey,
    ScalingError,
    ScalingPlan,
    ScalingResource,
    StepAdjustment,
    StepPolicy,
    choose_step,
    step_capacity,
)
from tests.support.scaling import ALARM, NO_CAPACITY_ALARM, SCALABLE_TARGET, STEP_POLICY, TARGET

ENDPOINT = (("EndpointName", "demo-async"),)
BACKLOG = MetricKey("AWS/SageMaker", "ApproximateBacklogSizePerInstance", ENDPOINT, "Average")
NO_CAPACITY = MetricKey("AWS/SageMaker", "HasBacklogWithoutCapacity", ENDPOINT, "Average")

TRACKING = "arn:aws:autoscaling:us-east-1:123456789012:scalingPolicy:1:resource/sagemaker/tracking"
STEP = "arn:aws:autoscaling:us-east-1:123456789012:scalingPolicy:2:resource/sagemaker/from-zero"
TOPIC = "arn:aws:sns:us-east-1:123456789012:demo-alarms"
HIGH, LOW = "TargetTracking-AsyncBacklogTrackingPolicy-AlarmHigh", "TargetTracking-AsyncBacklogTrackingPolicy-AlarmLow"


def _template() -> dict[str, ScalingResource]:
    """The template's scaling resources, by logical id, in declaration order."""
    dimensions = [{"Name": "EndpointName", "Value": "demo-async"}]
    resources = [
        ScalingResource(
            "AsyncScalableTarget",
            "AWS::ApplicationAutoScaling::ScalableTarget",
            TARGET,
            SCALABLE_TARGET,
        ),
        ScalingResource(
            "AsyncBacklogTrackingPolicy",
            "AWS::ApplicationAutoScaling::ScalingPolicy",
            TRACKING,
            {
                "PolicyName": "backlog-per-instance",
                "PolicyType": "TargetTrackingScaling",
                "ScalingTargetId": TARGET,
                "TargetTrackingScalingPolicyConfiguration": {
                    "TargetValue": 5,
                    "ScaleInCooldown": 600,
                    "ScaleOutCooldown": 300,
                    "CustomizedMetricSpecification": {
                        "MetricName": "ApproximateBacklogSizePerInstance",
                        "Namespace": "AWS/SageMaker",
                        "Dimensions": dimensions,
                        "Statistic": "Average",
                    },
                },
            },
        ),
        ScalingResource(
            "AsyncScaleOutFromZeroPolicy",
            "AWS::ApplicationAutoScaling::ScalingPolicy",
            STEP,
            STEP_POLICY,
        ),
        ScalingResource(
            ALARM,
            "AWS::CloudWatch::Alarm",
            ALARM,
            {**NO_CAPACITY_ALARM, "TreatMissingData": "missing", "AlarmActions": [STEP, TOPIC]},
        ),
        # Declared by the template too: the Errors and DLQ alarms only notify (and have other periods).
        ScalingResource(
            "RouterDLQAlarm",
            "AWS::CloudWatch::Alarm",
            "RouterDLQAlarm",
            {"Period": 300, "EvaluationPeriods": 1, "Threshold": 1, "AlarmActions": [TOPIC]},
        ),
        ScalingResource("AlarmTopic", "AWS::SNS::Topic", TOPIC, {}),
    ]
    return {r.logical_id: r for r in resources}


def _resources(changes: dict[str, dict[str, Any]] | None = None, drop: tuple[str, ...] = ()) -> list[ScalingResource]:
    """The template's resources with some properties replaced (``A.B`` reaches into a nested mapping)."""
    resources = _template()
    for logical_id, props in (changes or {}).items():
        resource = resources[logical_id]
        properties = copy.deepcopy(dict(resource.properties))
        for path, value in props.items():
            *parents, name = path.split(".")
            holder = properties
            for parent in parents:
                holder = holder[parent]
            holder[name] = value
        resources[logical_id] = ScalingResource(resource.logical_id, resource.type, resource.ref, properties)
    return [r for lid, r in resources.items() if lid not in drop]


def _autoscaler(capacity: int | None = None, **kwargs: Any) -> Autoscaler:
    plan = ScalingPlan.from_resources(_resources(**kwargs))
    return Autoscaler(plan, None if capacity is None else {TARGET: capacity})


def _run(autoscaler: Autoscaler, rows: list[tuple[float, float | None, float | None]]):
    """Ticks (time, HasBacklogWithoutCapacity, backlog per instance) → [(time, previous, desired, policy)]."""
    decisions = []
    for now, no_capacity, backlog in rows:
        tick = autoscaler.tick(now, {NO_CAPACITY: no_capacity, BACKLOG: backlog})
        decisions += [(d.time, d.previous, d.desired, d.policy) for d in tick.decisions]
    return decisions


def _periods(first: int, last: int, no_capacity: float | None, backlog: float | None):
    """Rows for the ticks first..last (times in seconds, one every 60)."""
    return [(float(t), no_capacity, backlog) for t in range(first, last + 1, 60)]


# The plan -----------------------------------------------------------------------------------------


def test_plan_reads_the_scaling_resources_and_the_metrics_to_supply():
    plan = ScalingPlan.from_resources(_resources())

    assert plan.metrics() == {BACKLOG, NO_CAPACITY}
    assert plan.period == 60
    assert [(t.ref, t.min_capacity, t.max_capacity) for t in plan.targets] == [(TARGET, 0, 2)]
    (tracking,) = plan.tracking_policies
    assert (tracking.target_value, tracking.scale_in_cooldown, tracking.scale_out_cooldown) == (5, 600, 300)
    (step,) = plan.step_policies
    assert (step.cooldown, step.steps) == (300, (StepAdjustment(0, None, 1),))


def test_sns_actions_are_ignored_and_notify_only_alarms_are_left_out():
    """Given the scaling alarm also notifies a topic, and a DLQ alarm with another period only notifies,
    then the plan keeps the step policy as the one action and no other alarm (the period mismatch is no error)."""
    plan = ScalingPlan.from_resources(_resources())

    assert [(a.name, a.actions) for a in plan.alarms] == [(ALARM, (STEP,))]


def test_numbers_given_as_strings_are_coerced():
    as_strings = {
        "AsyncScalableTarget": {"MinCapacity": "0", "MaxCapacity": "2.0"},
        "AsyncBacklogTrackingPolicy": {
            "TargetTrackingScalingPolicyConfiguration.TargetValue": "5.0",
            "TargetTrackingScalingPolicyConfiguration.ScaleInCooldown": "600",
        },
        ALARM: {"Period": "60", "EvaluationPeriods": "2", "DatapointsToAlarm": "2.0", "Threshold": "1"},
    }

    assert ScalingPlan.from_resources(_resources(as_strings)) == ScalingPlan.from_resources(_resources())


def test_predefined_invocations_per_instance_metric_comes_from_the_targets_resource_id():
    predefined = {"PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"}
    config = "TargetTrackingScalingPolicyConfiguration"
    changes = {
        "AsyncBacklogTrackingPolicy": {
            config: {"TargetValue": 70, "PredefinedMetricSpecification": predefined},
        }
    }

    plan = ScalingPlan.from_resources(_resources(changes))

    dimensions = (("EndpointName", "demo-async"), ("VariantName", "AllTraffic"))
    assert plan.tracking_policies[0].metric == MetricKey("AWS/SageMaker", "InvocationsPerInstance", dimensions, "Sum")


def test_omitted_cooldowns_default_to_300_seconds_for_a_sagemaker_variant():
    changes = {
        "AsyncScaleOutFromZeroPolicy": {"StepScalingPolicyConfiguration.Cooldown": None},
        "AsyncBacklogTrackingPolicy": {"TargetTrackingScalingPolicyConfiguration.ScaleInCooldown": None},
    }

    plan = ScalingPlan.from_resources(_resources(changes))

    assert (plan.step_policies[0].cooldown, plan.tracking_policies[0].scale_in_cooldown) == (300, 300)


def test_only_target_tracking_gives_a_60_second_period():
    plan = ScalingPlan.from_resources(_resources(drop=("AsyncScaleOutFromZeroPolicy", ALARM)))

    assert (plan.period, plan.alarms, plan.metrics()) == (60, (), {BACKLOG})


SECOND_ALARM = ScalingResource(
    "SecondStepAlarm",
    "AWS::CloudWatch::Alarm",
    "SecondStepAlarm",
    {**_template()[ALARM].properties, "Period": 300},
)


@pytest.mark.parametrize(
    ("changes", "extra", "logical_id", "prop"),
    [
        (
            {"AsyncScaleOutFromZeroPolicy": {"ScalingTargetId": "nothing"}},
            [],
            "AsyncScaleOutFromZeroPolicy",
            "ScalingTargetId",
        ),
        (
            {"AsyncScaleOutFromZeroPolicy": {"PolicyType": "PredictiveScaling"}},
            [],
            "AsyncScaleOutFromZeroPolicy",
            "PolicyType",
        ),
        (
            {"AsyncScaleOutFromZeroPolicy": {"StepScalingPolicyConfiguration.AdjustmentType": "Doubling"}},
            [],
            "AsyncScaleOutFromZeroPolicy",
            "StepScalingPolicyConfiguration.AdjustmentType",
        ),
        (
            {"AsyncScaleOutFromZeroPolicy": {"StepScalingPolicyConfiguration.StepAdjustments": []}},
            [],
            "AsyncScaleOutFromZeroPolicy",
            "StepScalingPolicyConfiguration.StepAdjustments",
        ),
        (
            {"AsyncBacklogTrackingPolicy": {"TargetTrackingScalingPolicyConfiguration.TargetValue": None}},
            [],
            "AsyncBacklogTrackingPolicy",
            "TargetTrackingScalingPolicyConfiguration.TargetValue",
        ),
        ({}, [SECOND_ALARM], "SecondStepAlarm", "Period"),
        ({ALARM: {"Threshold": "one"}}, [], ALARM, "Threshold"),
        ({ALARM: {"EvaluationPeriods": "1.5"}}, [], ALARM, "EvaluationPeriods"),
        ({ALARM: {"DatapointsToAlarm": 3}}, [], ALARM, "DatapointsToAlarm"),
        ({ALARM: {"ComparisonOperator": "LessThanLowerThreshold"}}, [], ALARM, "ComparisonOperator"),
        ({ALARM: {"TreatMissingData": "skip"}}, [], ALARM, "TreatMissingData"),
        ({ALARM: {"AlarmActions": [TRACKING]}}, [], ALARM, "AlarmActions"),
        ({"AsyncScalableTarget": {"MinCapacity": 3}}, [], "AsyncScalableTarget", "MinCapacity"),
    ],
)
def test_invalid_resources_raise_naming_the_logical_id_and_property(changes, extra, logical_id, prop):
    with pytest.raises(ScalingError) as raised:
        ScalingPlan.from_resources(_resources(changes) + extra)

    assert raised.value.details == {"logical_id": logical_id, "property": prop}
    assert logical_id in str(raised.value) and prop in str(raised.value)


def test_unsupported_predefined_metric_is_an_error_naming_it():
    config = {
        "TargetValue": 50,
        "PredefinedMetricSpecification": {"PredefinedMetricType": "ECSServiceAverageCPUUtilization"},
    }

    with pytest.raises(ScalingError, match="ECSServiceAverageCPUUtilization") as raised:
        ScalingPlan.from_resources(
            _resources({"AsyncBacklogTrackingPolicy": {"TargetTrackingScalingPolicyConfiguration": config}})
        )

    assert raised.value.details["property"].endswith("PredefinedMetricSpecification.PredefinedMetricType")


def test_capacity_starts_at_min_capacity_unless_given():
    plan = ScalingPlan.from_resources(_resources({"AsyncScalableTarget": {"MinCapacity": 1}}))

    assert Autoscaler(plan).capacity(TARGET) == 1
    assert Autoscaler(plan, {TARGET: 2}).capacity(TARGET) == 2
    with pytest.raises(ScalingError, match="no-such-target"):
        Autoscaler(plan, {"no-such-target": 1})


def test_ticks_must_move_forward():
    autoscaler = _autoscaler()
    autoscaler.tick(60, {})

    with pytest.raises(ValueError, match="not after"):
        autoscaler.tick(60, {})


# Step scaling from zero ----------------------------------------------------------------------------


def test_scale_out_from_zero_on_the_second_breaching_period_then_once_per_cooldown_up_to_max():
    """Given requests wait with no instance for 15 minutes (no backlog-per-instance data),
    when the alarm is evaluated every minute, then +1 at 120 s (2 of 2), nothing while the 300 s cooldown
    runs although the alarm stays in ALARM, +1 at 420 s, and never above MaxCapacity 2."""
    autoscaler = _autoscaler()

    decisions = _run(autoscaler, _periods(60, 900, no_capacity=1, backlog=None))

    assert decisions == [
        (120.0, 0, 1, "AsyncScaleOutFromZeroPolicy"),
        (420.0, 1, 2, "AsyncScaleOutFromZeroPolicy"),
    ]
    assert autoscaler.capacity(TARGET) == 2
    assert autoscaler.alarm_state(ALARM) is AlarmState.ALARM


def test_step_decision_says_why_with_the_numbers():
    autoscaler = _autoscaler()
    autoscaler.tick(60, {NO_CAPACITY: 1})

    (decision,) = autoscaler.tick(120, {NO_CAPACITY: 1}).decisions

    assert (decision.target, decision.previous, decision.desired) == (TARGET, 0, 1)
    assert decision.cause == (
        "alarm AsyncBacklogWithoutCapacityAlarm in ALARM (HasBacklogWithoutCapacity 1 >= 1 for 2 of 2 periods): +1"
    )


def test_step_alarm_state_changes_are_reported_once_each():
    autoscaler = _autoscaler()
    rows = [(60, 1), (120, 1), (180, 1), (240, 0), (300, 0)]

    changes = [
        (c.time, c.old, c.new)
        for now, value in rows
        for c in autoscaler.tick(now, {NO_CAPACITY: value}).alarms
        if c.name == ALARM
    ]

    assert changes == [(120, AlarmState.INSUFFICIENT_DATA, AlarmState.ALARM), (240, AlarmState.ALARM, AlarmState.OK)]


def test_missing_points_are_skipped_not_counted_as_breaching():
    """Given TreatMissingData missing, a period with no data before two breaching ones delays
    nothing but does not help either: the scale-out comes with the 2nd real breaching point."""
    autoscaler = _autoscaler()

    decisions = _run(autoscaler, [(60, None, None), (120, 1, None), (180, 1, None)])

    assert decisions == [(180.0, 0, 1, "AsyncScaleOutFromZeroPolicy")]


@pytest.mark.parametrize(
    ("treat", "states"),
    [
        ("missing", ["INSUFFICIENT_DATA", "ALARM", "ALARM", "INSUFFICIENT_DATA"]),
        ("ignore", ["INSUFFICIENT_DATA", "ALARM", "ALARM", "ALARM"]),
        ("notBreaching", ["INSUFFICIENT_DATA", "ALARM", "OK", "OK"]),
        ("breaching", ["INSUFFICIENT_DATA", "ALARM", "ALARM", "ALARM"]),
    ],
)
def test_data_stopping_after_alarm_depends_on_treat_missing_data(treat, states):
    """Given 1, 1, then no data: one gap cannot decide a 2-of-2 alarm without filling it, so `missing`
    and `ignore` keep ALARM; two gaps are INSUFFICIENT_DATA for `missing`, the same state for `ignore`."""
    autoscaler = _autoscaler(changes={ALARM: {"TreatMissingData": treat}})

    seen = []
    for now, value in [(60, 1), (120, 1), (180, None), (240, None)]:
        autoscaler.tick(now, {NO_CAPACITY: value})
        seen.append(autoscaler.alarm_state(ALARM))

    assert seen == states


@pytest.mark.parametrize(
    ("treat", "states"),
    [
        ("missing", ["OK", "OK", "INSUFFICIENT_DATA"]),
        ("ignore", ["OK", "OK", "OK"]),
        ("notBreaching", ["OK", "OK", "OK"]),
        ("breaching", ["OK", "OK", "ALARM"]),
    ],
)
def test_data_stopping_after_ok_depends_on_treat_missing_data(treat, states):
    autoscaler = _autoscaler(changes={ALARM: {"TreatMissingData": treat}})

    seen = []
    for now, value in [(60, 0), (120, None), (180, None)]:
        autoscaler.tick(now, {NO_CAPACITY: value})
        seen.append(autoscaler.alarm_state(ALARM))

    assert seen == states


def test_alarm_on_missing_data_alone_has_no_value_to_choose_a_step_by():
    """Given TreatMissingData breaching and no data at all, the alarm goes to ALARM but scales nothing."""
    autoscaler = _autoscaler(changes={ALARM: {"TreatMissingData": "breaching"}})

    decisions = _run(autoscaler, _periods(60, 600, no_capacity=None, backlog=None))

    assert (autoscaler.alarm_state(ALARM), decisions) == (AlarmState.ALARM, [])


@pytest.mark.parametrize(
    ("comparison", "value", "expected"),
    [
        ("GreaterThanOrEqualToThreshold", 10, 1),  # difference 0: [0, 5)
        ("GreaterThanOrEqualToThreshold", 15, 2),  # difference 5: [5, inf)
        ("LessThanOrEqualToThreshold", 10, -1),  # difference 0: (-5, 0]
        ("LessThanOrEqualToThreshold", 5, -2),  # difference -5: (-inf, -5]
    ],
)
def test_step_bounds_include_the_side_nearer_the_threshold(comparison, value, expected):
    steps = (
        StepAdjustment(0, 5, 1),
        StepAdjustment(5, None, 2),
        StepAdjustment(-5, 0, -1),
        StepAdjustment(None, -5, -2),
    )
    policy = StepPolicy("P", "p", TARGET, "ChangeInCapacity", 300, steps)
    plan = ScalingPlan.from_resources(_resources({ALARM: {"Threshold": 10, "ComparisonOperator": comparison}}))

    step = choose_step(policy, plan.alarms[0], value)

    assert step is not None and step.adjustment == expected


@pytest.mark.parametrize(
    ("adjustment_type", "capacity", "adjustment", "magnitude", "expected"),
    [
        ("ChangeInCapacity", 2, -1, None, 1),
        ("ExactCapacity", 0, 3, None, 3),
        ("PercentChangeInCapacity", 4, 50, None, 6),
        ("PercentChangeInCapacity", 4, 60, None, 6),  # +2.4 truncated to +2
        ("PercentChangeInCapacity", 2, 10, None, 3),  # +0.2 counts as one instance
        ("PercentChangeInCapacity", 10, -15, None, 9),  # -1.5 truncated to -1
        ("PercentChangeInCapacity", 4, 25, 2, 6),  # +1 raised to MinAdjustmentMagnitude 2
    ],
)
def test_step_adjustment_types(adjustment_type, capacity, adjustment, magnitude, expected):
    policy = StepPolicy("P", "p", TARGET, adjustment_type, 300, (StepAdjustment(0, None, adjustment),), magnitude)

    desired, _ = step_capacity(policy, capacity, policy.steps[0])

    assert desired == expected


# Target tracking ----------------------------------------------------------------------------------


def test_target_tracking_needs_three_periods_above_target_and_is_clamped_to_max():
    """Given 1 instance and 12 requests per instance (target 5), when 3 periods have breached,
    then ceil(1 x 12 / 5) = 3, clamped to MaxCapacity 2; not after 2 periods."""
    autoscaler = _autoscaler(capacity=1)

    first_two = _run(autoscaler, _periods(60, 120, no_capacity=0, backlog=12))
    tick = autoscaler.tick(180, {NO_CAPACITY: 0, BACKLOG: 12})

    assert first_two == []
    (decision,) = tick.decisions
    assert (decision.policy, decision.previous, decision.desired) == ("AsyncBacklogTrackingPolicy", 1, 2)
    assert decision.cause == (
        "ApproximateBacklogSizePerInstance 12 > 5 for 3 of 3 periods: ceil(1 x 12 / 5) = 3, clamped to MaxCapacity 2"
    )
    assert [(c.name, c.new) for c in tick.alarms] == [(HIGH, AlarmState.ALARM)]


@pytest.mark.parametrize(
    ("capacity", "backlog", "desired"),
    [
        (1, 12, 3),
        (2, 12, 5),  # ceil(4.8)
        (2, 7.5, 3),  # exactly 3
        (3, 5.5, 4),  # ceil(3.3)
    ],
)
def test_target_tracking_scales_out_to_ceil_of_capacity_times_metric_over_target(capacity, backlog, desired):
    autoscaler = _autoscaler(capacity=capacity, changes={"AsyncScalableTarget": {"MaxCapacity": 10}})

    decisions = _run(autoscaler, _periods(60, 180, no_capacity=0, backlog=backlog))

    assert decisions == [(180.0, capacity, desired, "AsyncBacklogTrackingPolicy")]


def test_exactly_at_target_changes_nothing():
    autoscaler = _autoscaler(capacity=1)

    decisions = _run(autoscaler, _periods(60, 1800, no_capacity=0, backlog=5))

    assert decisions == []
    assert (autoscaler.alarm_state(HIGH), autoscaler.alarm_state(LOW)) == (AlarmState.OK, AlarmState.OK)


def test_scale_out_cooldown_spaces_target_tracking_scale_outs():
    """Given MaxCapacity 10 and 12 per instance throughout: 1 → 3 at 180 s, then the high alarm stays
    in ALARM but the next scale-out (ceil(3 x 12 / 5) = 8) waits for ScaleOutCooldown 300: at 480 s."""
    autoscaler = _autoscaler(capacity=1, changes={"AsyncScalableTarget": {"MaxCapacity": 10}})

    decisions = _run(autoscaler, _periods(60, 540, no_capacity=0, backlog=12))

    assert decisions == [
        (180.0, 1, 3, "AsyncBacklogTrackingPolicy"),
        (480.0, 3, 8, "AsyncBacklogTrackingPolicy"),
    ]


def test_no_scale_in_to_zero_while_any_backlog_remains():
    """Given 1 instance and 0.5 per instance for 20 periods, the low alarm is in ALARM (0.5 < 4.5)
    but ceil(1 x 0.5 / 5) = 1: the instance stays."""
    autoscaler = _autoscaler(capacity=1)

    decisions = _run(autoscaler, _periods(60, 1200, no_capacity=0, backlog=0.5))

    assert decisions == []
    assert autoscaler.alarm_state(LOW) is AlarmState.ALARM
    assert autoscaler.capacity(TARGET) == 1


def test_scale_in_to_zero_after_fifteen_periods_without_backlog():
    autoscaler = _autoscaler(capacity=1)

    fourteen = _run(autoscaler, _periods(60, 840, no_capacity=0, backlog=0))
    (decision,) = autoscaler.tick(900, {NO_CAPACITY: 0, BACKLOG: 0}).decisions

    assert fourteen == []
    assert (decision.previous, decision.desired) == (1, 0)
    assert decision.cause == "ApproximateBacklogSizePerInstance 0 < 4.5 for 15 of 15 periods: ceil(1 x 0 / 5) = 0"


def test_scale_in_cooldown_spaces_scale_ins():
    """Given 2 instances: 2 per instance for 15 periods → ceil(2 x 2 / 5) = 1 at 900 s; then no backlog:
    the low alarm stays in ALARM, but 1 → 0 waits for ScaleInCooldown 600: at 1500 s, not 960 s."""
    autoscaler = _autoscaler(capacity=2)
    rows = _periods(60, 900, no_capacity=0, backlog=2) + _periods(960, 1560, no_capacity=0, backlog=0)

    decisions = _run(autoscaler, rows)

    assert decisions == [
        (900.0, 2, 1, "AsyncBacklogTrackingPolicy"),
        (1500.0, 1, 0, "AsyncBacklogTrackingPolicy"),
    ]


def test_disable_scale_in_keeps_the_capacity():
    changes = {"AsyncBacklogTrackingPolicy": {"TargetTrackingScalingPolicyConfiguration.DisableScaleIn": "true"}}
    autoscaler = _autoscaler(capacity=2, changes=changes)

    decisions = _run(autoscaler, _periods(60, 1200, no_capacity=0, backlog=0))

    assert (decisions, autoscaler.alarm_state(LOW)) == ([], AlarmState.ALARM)


def test_target_tracking_alone_does_not_scale_out_from_zero():
    """Given no step policy, 0 instances and a large backlog: the high alarm is in ALARM but
    ceil(0 x 100 / 5) = 0, so the endpoint stays at zero (why the template has a step policy)."""
    autoscaler = _autoscaler(drop=("AsyncScaleOutFromZeroPolicy", ALARM))

    decisions = _run(autoscaler, _periods(60, 1200, no_capacity=1, backlog=100))

    assert (decisions, autoscaler.capacity(TARGET)) == ([], 0)
    assert autoscaler.alarm_state(HIGH) is AlarmState.ALARM


# Both together -------------------------------------------------------------------------------------


def test_a_burst_from_zero_and_back():
    """The step policy brings the first instance, target tracking the second, then drains to zero.

    | time (s)    | HasBacklogWithoutCapacity | backlog / instance | what happens                              |
    | 60          | 1                         | -                  | 1 of 2 breaching                          |
    | 120         | 1                         | -                  | step +1: 0 → 1                            |
    | 180 - 240   | 0                         | 12                 | high alarm has 1, then 2 of 3             |
    | 300         | 0                         | 12                 | ceil(1 x 12 / 5) = 3 → max 2: 1 → 2       |
    | 360 - 1140  | 0                         | 2                  | low alarm still sees a 12 until 1200      |
    | 1200        | 0                         | 2                  | 15 of 15 < 4.5: ceil(2 x 2 / 5) = 1       |
    | 1260 - 1740 | 0                         | 0                  | scale-in cooldown 600 from 1200           |
    | 1800        | 0                         | 0                  | ceil(1 x 0 / 5) = 0: 1 → 0                |
    """
    autoscaler = _autoscaler()
    rows = (
        _periods(60, 120, 1, None) + _periods(180, 300, 0, 12) + _periods(360, 1200, 0, 2) + _periods(1260, 1860, 0, 0)
    )

    decisions = _run(autoscaler, rows)

    assert decisions == [
        (120.0, 0, 1, "AsyncScaleOutFromZeroPolicy"),
        (300.0, 1, 2, "AsyncBacklogTrackingPolicy"),
        (1200.0, 2, 1, "AsyncBacklogTrackingPolicy"),
        (1800.0, 1, 0, "AsyncBacklogTrackingPolicy"),
    ]


def test_a_tick_runs_step_alarms_before_target_tracking():
    """Given 1 instance, a step alarm in ALARM and the high alarm in ALARM in the same tick, the step
    policy acts first and target tracking computes from the capacity it left."""
    changes = {"AsyncScalableTarget": {"MaxCapacity": 10}}
    autoscaler = _autoscaler(capacity=1, changes=changes)

    decisions = _run(autoscaler, [(60, None, 12), (120, 1, 12), (180, 1, 12)])

    assert decisions == [
        (180, 1, 2, "AsyncScaleOutFromZeroPolicy"),
        (180, 2, 5, "AsyncBacklogTrackingPolicy"),  # ceil(2 x 12 / 5), not ceil(1 x 12 / 5) = 3
    ]
