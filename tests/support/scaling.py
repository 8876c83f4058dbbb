"""The template's scaling of the asynchronous endpoint "demo-async" as the evaluator and the player
read it (intrinsics resolved): the scalable target, the step policy that brings the variant up from
zero, and the alarm that triggers it (without its actions: each test names its own policy ARNs)."""

from __future__ import annotations

from typing import Any

ENDPOINT = "demo-async"
TARGET = f"endpoint/{ENDPOINT}/variant/AllTraffic|sagemaker:variant:DesiredInstanceCount|sagemaker"
ALARM = "AsyncBacklogWithoutCapacityAlarm"

SCALABLE_TARGET: dict[str, Any] = {
    "ResourceId": f"endpoint/{ENDPOINT}/variant/AllTraffic",
    "ScalableDimension": "sagemaker:variant:DesiredInstanceCount",
    "ServiceNamespace": "sagemaker",
    "MinCapacity": 0,
    "MaxCapacity": 2,
}
STEP_POLICY: dict[str, Any] = {
    "PolicyName": "scale-out-from-zero",
    "PolicyType": "StepScaling",
    "ScalingTargetId": TARGET,
    "StepScalingPolicyConfiguration": {
        "AdjustmentType": "ChangeInCapacity",
        "Cooldown": 300,
        "MetricAggregationType": "Average",
        "StepAdjustments": [{"MetricIntervalLowerBound": 0, "ScalingAdjustment": 1}],
    },
}
# Also what a test puts in CloudWatch on moto: every key is a PutMetricAlarm parameter.
NO_CAPACITY_ALARM: dict[str, Any] = {
    "Namespace": "AWS/SageMaker",
    "MetricName": "HasBacklogWithoutCapacity",
    "Dimensions": [{"Name": "EndpointName", "Value": ENDPOINT}],
    "Statistic": "Average",
    "Period": 60,
    "EvaluationPeriods": 2,
    "DatapointsToAlarm": 2,
    "Threshold": 1,
    "ComparisonOperator": "GreaterThanOrEqualToThreshold",
}
