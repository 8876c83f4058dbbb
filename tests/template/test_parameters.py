"""Template parameters reject bad values with a clear message; samconfig.toml matches the template."""

from __future__ import annotations

import re
import tomllib

import pytest
from orchestrator.core.routing import Mode

from tests.template.cfn import accepts
from tests.template.stack import ROOT

LONGEST_REGION = "ap-southeast-5"  # 14 characters, as long as any commercial region name


def test_every_constrained_parameter_explains_its_constraint(source_template):
    """Given each parameter with AllowedValues, AllowedPattern or bounds, then it has a
    ConstraintDescription and a Description."""
    for name, parameter in source_template["Parameters"].items():
        assert parameter.get("Description"), name
        if {"AllowedValues", "AllowedPattern", "MinValue", "MaxValue"} & set(parameter):
            assert parameter.get("ConstraintDescription"), name


def test_every_default_satisfies_its_own_constraint(source_template):
    """Given each parameter's default, then CloudFormation would accept it."""
    for name, parameter in source_template["Parameters"].items():
        if "Default" in parameter:
            assert accepts(parameter, str(parameter["Default"])), name


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("Architecture", "amd64"),
        ("AsyncEndpointName", ""),
        ("AsyncEndpointName", "My-Endpoint"),  # SageMaker ARNs are lowercase: IAM would never match
        ("AsyncEndpointName", "ends-with-hyphen-"),
        ("AsyncEndpointName", "a" * 64),
        ("InvocationTimeoutSeconds", "0"),
        ("InvocationTimeoutSeconds", "3601"),
        ("RequestTTLSeconds", "59"),
        ("RequestTTLSeconds", "21601"),
        ("InputPrefix", "incoming"),
        ("InputPrefix", "/incoming/"),
        ("InputPrefix", ""),
        ("OutputPrefix", "results"),
        ("NightlyPrefix", "incoming//nightly/"),
        ("BatchPrefix", "incoming/batch"),
        ("ContentTypes", "csv:text/csv"),
        ("ContentTypes", "csv=text/csv, json=application/json"),
        ("ContentTypes", "csv=csv"),
        ("ReadObjectMetadata", "yes"),
        ("RouterBatchSize", "11"),
        ("RouterMaximumConcurrency", "1"),
        ("RouterMaximumConcurrency", "1001"),
        ("RecordRetentionDays", "0"),
        ("LogLevel", "VERBOSE"),
        # Only the router's mode names, comma-separated (orchestrator.core.routing.Mode).
        ("RequestableModes", "async, nightly"),
        ("RequestableModes", "async,turbo"),
        ("RequestableModes", "ASYNC"),
        ("RequestableModes", "async,"),
        ("AlarmEmail", "ops"),
        ("AlarmEmail", "a@example.com,b@example.com"),  # one address or none
        ("AlarmEmail", "o s@x.io"),
        ("TransformModelName", "my_model"),
        ("TransformJobPrefix", "Scoring"),  # SageMaker lowercases job ARNs: IAM would never match
        ("TransformJobPrefix", "a" * 31),  # no room for "-" + a 32-character request id
        ("TransformJobPrefix", ""),
        ("TransformInstanceType", "m5.large"),
        ("TransformInstanceCount", "0"),
        ("TransformMaxPayloadInMB", "101"),
        ("TransformMaxConcurrentTransforms", "0"),
        ("TransformBatchStrategy", "Multi"),
        ("TransformSplitType", "Lines"),
        ("TransformAssembleWith", "RecordIO"),
        ("TransformAccept", "csv"),
        ("TransformContentType", "text/csv; charset=utf-8"),
        ("TransformJoinSource", "Output"),
        ("TransformInputFilter", "[1:]"),
        ("NightlyScheduleExpression", "0 2 * * *"),
        ("NightlyScheduleTimezone", "Europe Paris"),
    ],
)
def test_bad_parameter_values_are_rejected(source_template, name, value):
    """Given a value outside what the code and AWS accept, then the parameter's constraint rejects it."""
    assert not accepts(source_template["Parameters"][name], value)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("AsyncEndpointName", "my-async-endpoint"),
        ("AsyncEndpointName", "a" * 63),
        ("InputPrefix", "data/in/"),
        ("ContentTypes", "csv=text/csv"),
        ("ContentTypes", "parquet=application/x-parquet,npy=application/x-npy"),
        ("RouterMaximumConcurrency", "1000"),
        ("RequestableModes", ""),  # nothing may be requested
        ("RequestableModes", "async"),
        ("RequestableModes", ",".join(m.value for m in Mode)),
        ("AlarmEmail", ""),
        ("AlarmEmail", "ops@example.com"),
        ("TransformModelName", ""),
        ("TransformModelName", "Churn-Model-v2"),
        ("TransformJobPrefix", "scoring-prod"),
        ("TransformInstanceType", "ml.g5.2xlarge"),
        ("TransformOutputFilter", "$['id','SageMakerOutput']"),
        ("NightlyScheduleExpression", "cron(30 1 ? * MON-FRI *)"),
        ("NightlyScheduleTimezone", "America/Argentina/Buenos_Aires"),
    ],
)
def test_good_parameter_values_are_accepted(source_template, name, value):
    """Given a reasonable non-default value, then the parameter's constraint accepts it."""
    assert accepts(source_template["Parameters"][name], value)


def test_samconfig_deploys_the_default_stack_with_iam_capability_and_a_changeset_review(source_template):
    """Given samconfig.toml, then the default environment names a lowercase stack that fits the input
    bucket's name in every region, asks for CAPABILITY_IAM and a changeset review, and overrides only
    parameters the template has."""
    config = tomllib.loads((ROOT / "samconfig.toml").read_text())["default"]
    stack = config["global"]["parameters"]["stack_name"]
    bucket = f"{stack}-123456789012-{LONGEST_REGION}"  # template.yaml InputBucket.BucketName
    assert re.fullmatch(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", bucket), bucket
    deploy = config["deploy"]["parameters"]
    assert deploy["capabilities"] == "CAPABILITY_IAM"
    assert deploy["confirm_changeset"] is True
    assert deploy["resolve_s3"] is True
    assert config["build"]["parameters"] == {"cached": True, "parallel": True}
    assert config["validate"]["parameters"] == {"lint": True}
    for section in ("deploy", "local_invoke"):
        overrides = re.findall(r"(\w+)=", config[section]["parameters"]["parameter_overrides"])
        assert overrides and set(overrides) <= set(source_template["Parameters"]), section
