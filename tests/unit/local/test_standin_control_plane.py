"""The SageMaker stand-in's control plane for the endpoints the local stack creates (what Application
Auto Scaling and `aws sagemaker describe-endpoint` call) and its notification fault switch: the
answers and validation errors SageMaker gives, in process (local/standin, no HTTP, no AWS call)."""

from __future__ import annotations

from typing import Any

import pytest

from local.standin.async_endpoints import DropRule
from local.standin.errors import ApiError
from local.standin.service import StandIn

SCALED = "demo-async-endpoint"
CONFIG = {
    "region": "us-east-1",
    "account_id": "123456789012",
    "endpoints": {
        SCALED: {"output_path": "s3://bucket/out/", "instances": {"initial": 0, "max": 2, "startup_seconds": 0}},
        "fixed-async": {"output_path": "s3://bucket/out/"},
    },
    "sync_endpoints": {"demo-realtime-endpoint": {"kind": "realtime"}},
}


@pytest.fixture
def standin() -> StandIn:
    return StandIn(CONFIG, workers=False, clients=lambda service: pytest.fail(f"no {service} call expected"))


def refused(call: Any, *args: Any) -> ApiError:
    with pytest.raises(ApiError) as raised:
        call(*args)
    return raised.value


def test_an_operation_it_does_not_serve_is_named(standin):
    error = refused(standin.control, "CreateEndpoint", {})

    assert (error.status, error.code) == (400, "UnknownOperationException")
    assert error.message == "CreateEndpoint is not served by the local SageMaker stand-in"


def test_describe_endpoint_reports_the_variants_instances_of_a_scaled_endpoint_only(standin):
    scaled = standin.control("DescribeEndpoint", {"EndpointName": SCALED})
    realtime = standin.control("DescribeEndpoint", {"EndpointName": "demo-realtime-endpoint"})

    assert scaled["EndpointArn"] == f"arn:aws:sagemaker:us-east-1:123456789012:endpoint/{SCALED}"
    assert scaled["EndpointStatus"] == "InService"
    assert scaled["ProductionVariants"][0]["VariantName"] == "AllTraffic"
    assert scaled["ProductionVariants"][0]["CurrentInstanceCount"] == 0
    assert "ProductionVariants" not in realtime
    error = refused(standin.control, "DescribeEndpoint", {"EndpointName": "nope"})
    assert (error.code, error.message) == ("ValidationException", 'Could not find endpoint "nope".')


def test_a_desired_count_starts_instances_and_is_in_the_history(standin):
    answer = standin.control(
        "UpdateEndpointWeightsAndCapacities",
        {
            "EndpointName": SCALED,
            "DesiredWeightsAndCapacities": [{"VariantName": "AllTraffic", "DesiredInstanceCount": 2}],
        },
    )

    assert answer == {"EndpointArn": f"arn:aws:sagemaker:us-east-1:123456789012:endpoint/{SCALED}"}
    variant = standin.control("DescribeEndpoint", {"EndpointName": SCALED})["ProductionVariants"][0]
    assert variant["DesiredInstanceCount"] == 2
    assert standin.history[-1] | {"time": None} == {
        "operation": "UpdateEndpointWeightsAndCapacities",
        "time": None,
        "endpoint": SCALED,
        "desired": 2,
    }
    capacities = standin.capacities()
    assert list(capacities) == [SCALED]  # only the scaled one has instances to report
    assert capacities[SCALED]["backlog"] == 0
    assert capacities[SCALED]["events"]


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        ({"EndpointName": "fixed-async"}, 'Could not find endpoint "fixed-async" with instances to scale.'),
        (
            {
                "EndpointName": SCALED,
                "DesiredWeightsAndCapacities": [{"VariantName": "Blue", "DesiredInstanceCount": 1}],
            },
            f"The variant name(s) [Blue] is/are not present in endpoint {SCALED}.",
        ),
        (
            {
                "EndpointName": SCALED,
                "DesiredWeightsAndCapacities": [{"VariantName": "AllTraffic", "DesiredInstanceCount": -1}],
            },
            "DesiredInstanceCount must be an integer >= 0, not -1",
        ),
    ],
)
def test_updates_sagemaker_refuses_are_refused_with_its_message(standin, request_, message):
    error = refused(standin.control, "UpdateEndpointWeightsAndCapacities", request_)

    assert (error.status, error.code, error.message) == (400, "ValidationException", message)


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        (
            {"when": "now"},
            "unknown fields ['when']; expected ['count', 'inferenceId', 'inputKey', 'inputLocation', 'status']",
        ),
        ({"status": "Lost"}, "status 'Lost' is not Completed, Failed or Expired"),
        ({"count": 0}, "count 0 must be a positive integer"),
        ({"count": "2"}, "count '2' must be a positive integer"),
    ],
)
def test_a_malformed_drop_rule_is_a_validation_error(request_, message):
    error = refused(DropRule.parse, request_)

    assert (error.status, error.code, error.message) == (400, "ValidationError", message)


def test_a_drop_rule_keeps_what_it_was_given():
    rule = DropRule.parse({"status": "Completed", "inputKey": "incoming/a.csv", "count": 2})

    assert (rule.count, rule.status, rule.input_key, rule.inference_id) == (2, "Completed", "incoming/a.csv", None)
