"""The endpoints the stack creates (nested application Endpoints), as the SageMaker stand-in serves them.

The builder records each created ``AWS::SageMaker::*`` resource and each scaling resource, resolved
(local/aws/resources.py). From them this module makes the stand-in's endpoint settings: an async endpoint
from its ``AsyncInferenceConfig`` (output and failure paths, topics, MaxConcurrentInvocationsPerInstance)
with instances that start at the scalable target's MinCapacity, as after an idle quarter-hour in AWS;
a serverless one from its ``ServerlessConfig``; a real-time one from its variant. It also refuses what
CloudFormation's Rules cannot say but SageMaker or Application Auto Scaling would refuse at deploy time,
naming the parameter.
"""

from __future__ import annotations

import json
from typing import Any

from local.scaling.autoscaling import endpoint_variant

# The instance start-up delay the stand-in plays, in virtual seconds (AWS: minutes). With the scaling
# alarm's lag (it needs one good period after the instance serves, read a period late) it ends one period
# before the default ScaleOutCooldown (300 s); a start-up of 180 s or more lets the step policy add a
# second instance while the first one starts, as it would in AWS (README "Scale to zero and back").
DEFAULT_STARTUP_SECONDS = 120.0


class EndpointError(Exception):
    """A created endpoint the local stack cannot serve as declared; names the parameter to change."""


def created_endpoints(
    sagemaker: list[dict[str, Any]],
    scaling: list[dict[str, Any]],
    *,
    clock_factor: float,
    startup_seconds: float = DEFAULT_STARTUP_SECONDS,
) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    """(async endpoints, synchronous endpoints) in the stand-in's config shape, by endpoint name."""
    configs = {r["name"]: r for r in sagemaker if r["type"] == "AWS::SageMaker::EndpointConfig"}
    for model in (r for r in sagemaker if r["type"] == "AWS::SageMaker::Model"):
        _check_environment(model)
    targets = {
        _endpoint_of(r["properties"]["ResourceId"]): r["properties"]
        for r in scaling
        if r["type"] == "AWS::ApplicationAutoScaling::ScalableTarget"
    }
    async_endpoints: dict[str, dict[str, Any]] = {}
    sync_endpoints: dict[str, dict[str, Any]] = {}
    for endpoint in (r for r in sagemaker if r["type"] == "AWS::SageMaker::Endpoint"):
        name = endpoint["name"]
        config = configs[endpoint["EndpointConfigName"]]
        variant = config["ProductionVariants"][0]
        if "AsyncInferenceConfig" in config:
            async_endpoints[name] = _async(config, variant, targets.get(name), clock_factor, startup_seconds)
        elif "ServerlessConfig" in variant:
            sync_endpoints[name] = _serverless(variant["ServerlessConfig"])
        else:
            target = targets.get(name)
            _check_bounds(target, "RealtimeMinCapacity", "RealtimeMaxCapacity")
            sync_endpoints[name] = {"kind": "realtime"}  # no per-instance limit offline (README)
    return async_endpoints, sync_endpoints


def _async(
    config: dict[str, Any],
    variant: dict[str, Any],
    target: dict[str, Any] | None,
    clock_factor: float,
    startup_seconds: float,
) -> dict[str, Any]:
    output = config["AsyncInferenceConfig"]["OutputConfig"]
    topics = output.get("NotificationConfig", {})
    client = config["AsyncInferenceConfig"].get("ClientConfig", {})
    per_instance = int(client.get("MaxConcurrentInvocationsPerInstance", 4))
    _check_bounds(target, "AsyncMinCapacity", "AsyncMaxCapacity")
    initial = int(target["MinCapacity"]) if target else int(variant["InitialInstanceCount"])
    return {
        "output_path": output["S3OutputPath"],
        "failure_path": output.get("S3FailurePath"),
        "success_topic": topics.get("SuccessTopic"),
        "error_topic": topics.get("ErrorTopic"),
        "instances": {
            "variant": variant["VariantName"],
            "initial": initial,
            "min": int(target["MinCapacity"]) if target else initial,
            "max": int(target["MaxCapacity"]) if target else initial,
            "per_instance": per_instance,
            "startup_seconds": startup_seconds / clock_factor,
        },
    }


def _serverless(serverless: dict[str, Any]) -> dict[str, Any]:
    maximum = int(serverless["MaxConcurrency"])
    provisioned = int(serverless.get("ProvisionedConcurrency", 0))
    if provisioned > maximum:
        raise EndpointError(
            f"ServerlessProvisionedConcurrency ({provisioned}) may not exceed ServerlessMaxConcurrency ({maximum}): "
            "SageMaker refuses the endpoint config (ProvisionedConcurrency <= MaxConcurrency)"
        )
    return {
        "kind": "serverless",
        "max_concurrency": maximum,
        "memory_mb": int(serverless["MemorySizeInMB"]),
        # Provisioned concurrency keeps instances warm: no cold start for the first calls.
        "cold_start_seconds": 0.0 if provisioned else 0.8,
        "idle_seconds": 30,
    }


def _check_bounds(target: dict[str, Any] | None, low: str, high: str) -> None:
    if target and int(target["MinCapacity"]) > int(target["MaxCapacity"]):
        raise EndpointError(
            f"{low} ({target['MinCapacity']}) may not exceed {high} ({target['MaxCapacity']}): Application Auto "
            "Scaling refuses the scalable target"
        )


def _check_environment(model: dict[str, Any]) -> None:
    environment = model.get("PrimaryContainer", {}).get("Environment")
    if not isinstance(environment, str):
        return
    try:
        parsed = json.loads(environment)
    except ValueError as exc:
        raise EndpointError(f"ModelEnvironment is not JSON: {exc}") from None
    if not isinstance(parsed, dict) or not all(isinstance(v, str) for v in parsed.values()):
        raise EndpointError(
            'ModelEnvironment must be a JSON object of strings, e.g. {"SAGEMAKER_PROGRAM":"inference.py"}'
        )


def _endpoint_of(resource_id: str) -> str:
    try:
        return endpoint_variant(resource_id)[0]
    except ValueError as exc:
        raise EndpointError(f"scalable target ResourceId {exc}") from None
