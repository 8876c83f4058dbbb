"""CreateTransformJob on the SageMaker stand-in refuses what SageMaker refuses, with its code and a
message naming the field, before any job starts; the jobs it does not know are named too. Manifests
are read from moto's S3, in process."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from local.standin.errors import ApiError
from local.standin.service import StandIn

CONFIG = {"region": "us-east-1", "account_id": "123456789012", "models": {"demo-model": "http://model"}}


def job(**changes: Any) -> dict[str, Any]:
    request: dict[str, Any] = {
        "TransformJobName": "night-2026-12-01",
        "ModelName": "demo-model",
        "TransformInput": {
            "DataSource": {"S3DataSource": {"S3DataType": "ManifestFile", "S3Uri": "s3://bucket/manifest.json"}}
        },
        "TransformOutput": {"S3OutputPath": "s3://bucket/out/"},
        "TransformResources": {"InstanceType": "ml.m5.large", "InstanceCount": 1},
    }
    for path, value in changes.items():
        *parents, name = path.split("__")
        holder = request
        for parent in parents:
            holder = holder.setdefault(parent, {})
        holder[name] = value
    return copy.deepcopy(request)


@pytest.fixture
def s3() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket="bucket")
        yield client


@pytest.fixture
def standin() -> StandIn:
    """Refusals come before any AWS call."""
    return StandIn(CONFIG, workers=False, clients=lambda service: pytest.fail(f"no {service} call expected"))


@pytest.fixture
def reading(s3: Any) -> StandIn:
    """A stand-in reading its inputs from moto's S3."""
    return StandIn(CONFIG, workers=False, clients=lambda service: boto3.client(service, region_name="us-east-1"))


SOURCE = "TransformInput__DataSource__S3DataSource"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"TransformJobName": "-bad"}, "Value '-bad' at 'transformJobName' failed to satisfy constraint"),
        ({"ModelName": "bad_name"}, "Value 'bad_name' at 'modelName' failed to satisfy constraint"),
        ({"ModelName": "other"}, 'Could not find model "arn:aws:sagemaker:us-east-1:123456789012:model/other".'),
        ({f"{SOURCE}__S3DataType": "AugmentedManifestFile"}, "S3DataType 'AugmentedManifestFile' is not supported"),
        ({f"{SOURCE}__S3Uri": "ftp://x"}, "Value 'ftp://x' at 's3Uri' failed to satisfy constraint"),
        ({"TransformOutput__S3OutputPath": ""}, "Value '' at 's3OutputPath' failed to satisfy constraint"),
        ({"TransformInput__SplitType": "Word"}, "Value 'Word' at 'splitType' failed to satisfy constraint"),
        ({"BatchStrategy": "Some"}, "Value 'Some' at 'batchStrategy' failed to satisfy constraint"),
        ({"TransformOutput__AssembleWith": "Tab"}, "Value 'Tab' at 'assembleWith' failed to satisfy constraint"),
        ({"MaxPayloadInMB": 101}, "MaxPayloadInMB must be at most 100 and MaxConcurrentTransforms * MaxPayloadInMB"),
        ({"MaxPayloadInMB": 50, "MaxConcurrentTransforms": 3}, "must not exceed 100"),
        ({"TransformResources__InstanceCount": 0}, "TransformResources.InstanceCount must be at least 1"),
    ],
)
def test_a_request_sagemaker_would_refuse_is_a_validation_exception(standin, changes, message):
    with pytest.raises(ApiError) as raised:
        standin.control("CreateTransformJob", job(**changes))

    assert (raised.value.status, raised.value.code) == (400, "ValidationException")
    assert message in raised.value.message
    assert standin.jobs == {}


@pytest.mark.parametrize(
    ("manifest", "message"),
    [
        (None, "Could not read the manifest file s3://bucket/manifest.json"),
        (b"not json", "The manifest file s3://bucket/manifest.json is malformed"),
        (b"[]", "The manifest file s3://bucket/manifest.json is malformed: IndexError"),
        (b'[{"no-prefix": 1}]', "The manifest file s3://bucket/manifest.json is malformed: KeyError"),
    ],
)
def test_a_manifest_that_cannot_be_read_is_named(reading, s3, manifest, message):
    if manifest is not None:
        s3.put_object(Bucket="bucket", Key="manifest.json", Body=manifest)

    with pytest.raises(ApiError) as raised:
        reading.control("CreateTransformJob", job())

    assert message in raised.value.message
    assert reading.jobs == {}


@pytest.mark.parametrize("operation", ["DescribeTransformJob", "StopTransformJob"])
def test_a_job_it_never_ran_is_named(standin, operation):
    with pytest.raises(ApiError) as raised:
        standin.control(operation, {"TransformJobName": "night-1999-01-01"})

    assert raised.value.message == "Could not find requested job with name night-1999-01-01"


def test_no_jobs_listed_before_any_ran(standin):
    assert standin.control("ListTransformJobs", {"StatusEquals": "Failed"}) == {"TransformJobSummaries": []}
