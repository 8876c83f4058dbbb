"""The stand-in's settings for the endpoints the stack creates, and what the local stack refuses."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from local.scaling.created_endpoints import EndpointError, created_endpoints

ASYNC_CONFIG = {
    "type": "AWS::SageMaker::EndpointConfig",
    "name": "s-Endpoints-AsyncEndpointConfig",
    "ProductionVariants": [{"VariantName": "AllTraffic", "ModelName": "m", "InitialInstanceCount": 1}],
    "AsyncInferenceConfig": {
        "ClientConfig": {"MaxConcurrentInvocationsPerInstance": "3"},
        "OutputConfig": {
            "S3OutputPath": "s3://b/results/async/",
            "S3FailurePath": "s3://b/results/async-failures/",
            "NotificationConfig": {"SuccessTopic": "arn:ok", "ErrorTopic": "arn:error"},
        },
    },
}
SERVERLESS_CONFIG = {
    "type": "AWS::SageMaker::EndpointConfig",
    "name": "s-Endpoints-ServerlessEndpointConfig",
    "ProductionVariants": [
        {"VariantName": "AllTraffic", "ServerlessConfig": {"MemorySizeInMB": "2048", "MaxConcurrency": "5"}}
    ],
}
REALTIME_CONFIG = {
    "type": "AWS::SageMaker::EndpointConfig",
    "name": "s-Endpoints-RealtimeEndpointConfig",
    "ProductionVariants": [{"VariantName": "AllTraffic", "InstanceType": "ml.m5.large", "InitialInstanceCount": "2"}],
}


def endpoint(name: str, config: dict[str, Any]) -> dict[str, Any]:
    return {"type": "AWS::SageMaker::Endpoint", "name": name, "EndpointConfigName": config["name"]}


def target(name: str, low: str = "0", high: str = "2") -> dict[str, Any]:
    return {
        "type": "AWS::ApplicationAutoScaling::ScalableTarget",
        "properties": {"ResourceId": f"endpoint/{name}/variant/AllTraffic", "MinCapacity": low, "MaxCapacity": high},
    }


def test_the_async_endpoint_starts_at_its_minimum_with_its_config_and_a_compressed_start_up():
    """Given a created async endpoint with a scalable target (0-2), when the stand-in settings are made
    with clock factor 60 and a 240 s start-up, then it starts at 0 instances, takes 3 requests per
    instance, starts an instance in 4 real seconds, and writes and announces where its config says."""
    sagemaker = [ASYNC_CONFIG, endpoint("ep", ASYNC_CONFIG)]

    served, sync = created_endpoints(sagemaker, [target("ep")], clock_factor=60, startup_seconds=240)

    assert sync == {}
    assert served["ep"]["instances"] == {
        "variant": "AllTraffic", "initial": 0, "min": 0, "max": 2, "per_instance": 3, "startup_seconds": 4.0,
    }  # fmt: skip
    assert (served["ep"]["output_path"], served["ep"]["failure_path"]) == (
        "s3://b/results/async/",
        "s3://b/results/async-failures/",
    )
    assert (served["ep"]["success_topic"], served["ep"]["error_topic"]) == ("arn:ok", "arn:error")


def test_without_scaling_the_async_endpoint_keeps_its_initial_instance_count():
    """Given EndpointAutoScaling=false (no scalable target), then the endpoint keeps InitialInstanceCount."""
    served, _ = created_endpoints([ASYNC_CONFIG, endpoint("ep", ASYNC_CONFIG)], [], clock_factor=60)

    assert served["ep"]["instances"]["initial"] == served["ep"]["instances"]["max"] == 1


def test_serverless_and_realtime_endpoints_are_served_synchronously():
    """Given a created serverless and real-time endpoint, then the serverless one throttles above its
    MaxConcurrency and has cold starts, and the real-time one has no such limit."""
    sagemaker = [SERVERLESS_CONFIG, REALTIME_CONFIG, endpoint("sl", SERVERLESS_CONFIG), endpoint("rt", REALTIME_CONFIG)]

    _, sync = created_endpoints(sagemaker, [], clock_factor=60)

    assert sync["sl"]["kind"] == "serverless"
    assert sync["sl"]["max_concurrency"] == 5
    assert sync["sl"]["cold_start_seconds"] > 0
    assert sync["rt"] == {"kind": "realtime"}


def test_provisioned_concurrency_removes_the_cold_start_and_may_not_exceed_max_concurrency():
    """Given ProvisionedConcurrency 2 of 5, then there is no cold start; given 6 of 5, then the local
    stack refuses it naming both parameters, as SageMaker would."""
    warm = copy.deepcopy(SERVERLESS_CONFIG)
    warm["ProductionVariants"][0]["ServerlessConfig"]["ProvisionedConcurrency"] = "2"
    _, sync = created_endpoints([warm, endpoint("sl", warm)], [], clock_factor=60)
    assert sync["sl"]["cold_start_seconds"] == 0

    warm["ProductionVariants"][0]["ServerlessConfig"]["ProvisionedConcurrency"] = "6"
    with pytest.raises(EndpointError, match=r"ServerlessProvisionedConcurrency \(6\).*ServerlessMaxConcurrency \(5\)"):
        created_endpoints([warm, endpoint("sl", warm)], [], clock_factor=60)


def test_a_minimum_above_the_maximum_is_refused_naming_the_parameters():
    """Given AsyncMinCapacity 3 and AsyncMaxCapacity 2, then the local stack refuses, naming both."""
    with pytest.raises(EndpointError, match=r"AsyncMinCapacity \(3\) may not exceed AsyncMaxCapacity \(2\)"):
        created_endpoints([ASYNC_CONFIG, endpoint("ep", ASYNC_CONFIG)], [target("ep", "3", "2")], clock_factor=60)


@pytest.mark.parametrize(
    ("environment", "message"),
    [("{not json", "ModelEnvironment is not JSON"), ('{"A": 1}', "JSON object of strings"), ("[]", "JSON object")],
)
def test_a_model_environment_that_is_not_an_object_of_strings_is_refused(environment, message):
    """Given ModelEnvironment that is not a JSON object of strings, then the local stack refuses it,
    naming ModelEnvironment (CloudFormation passes the text to SageMaker, which would refuse it)."""
    model = {"type": "AWS::SageMaker::Model", "name": "m", "PrimaryContainer": {"Environment": environment}}

    with pytest.raises(EndpointError, match=message):
        created_endpoints([model], [], clock_factor=60)
