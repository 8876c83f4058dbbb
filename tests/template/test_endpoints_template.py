"""The endpoints the stack creates (nested application ``Endpoints``, endpoints/template.yaml): which
resources exist for which parameters, how they are wired to the parent stack, and the Rules that refuse
an incomplete request (README "Endpoints: create them with the stack or bring your own").

Conditions are evaluated here as CloudFormation would: the parent's parameters decide what the parent
passes to the nested stack, and those values decide which of its resources exist.
"""

from __future__ import annotations

import fnmatch
from itertools import product

import pytest

from tests.template.cfn import accepts, actions, as_list, of_type, references, rejected_by, statements, text
from tests.template.deployed import (
    ACCOUNT,
    ASYNC,
    ASYNC_SCALING,
    CREATE_ALL,
    CREATE_ASYNC,
    CREATE_REALTIME,
    CREATE_SERVERLESS,
    EXISTING_MODEL,
    FLAGS,
    IMAGE,
    MODEL,
    MODEL_DATA,
    NESTED,
    REALTIME,
    REALTIME_ENDPOINT,
    REALTIME_SCALING,
    REGION,
    ROLE,
    SERVERLESS,
    SERVERLESS_ENDPOINT,
    Deployment,
    endpoints_stack,
    get_atts,
)
from tests.template.stack import PARAMETERS, ROOT

# ---------------------------------------------------------------- which resources exist


@pytest.mark.parametrize(
    ("values", "created", "outputs"),
    [
        (CREATE_ASYNC, ROLE | MODEL | ASYNC | ASYNC_SCALING, {"AsyncEndpointName"}),
        (CREATE_REALTIME, ROLE | MODEL | REALTIME_ENDPOINT | REALTIME_SCALING, {"RealtimeEndpointName"}),
        (CREATE_SERVERLESS, ROLE | MODEL | SERVERLESS_ENDPOINT, {"ServerlessEndpointName"}),
        (
            CREATE_ALL,
            ROLE | MODEL | ASYNC | ASYNC_SCALING | REALTIME_ENDPOINT | REALTIME_SCALING | SERVERLESS_ENDPOINT,
            {"AsyncEndpointName", "RealtimeEndpointName", "ServerlessEndpointName"},
        ),
    ],
    ids=["async", "realtime", "serverless", "all"],
)
def test_each_create_flag_creates_its_endpoint_with_one_model_its_role_and_its_scaling(
    source_template, stacks, values, created, outputs
):
    """Given Create…Endpoint=true for some endpoints (with a model and their names; AsyncEndpointName is
    always set), then the rules accept it, the parent creates the Endpoints stack, and that stack creates
    exactly those endpoints with their configs and scaling, one model and one role, and outputs their names."""
    assert rejected_by(source_template, **values) == []
    deployed = stacks(**values)
    assert deployed.endpoints.resources() == created
    assert deployed.endpoints.outputs() == outputs | {"ModelName", "ExecutionRoleArn"}
    assert {"CreatedModelName", "CreatedEndpointsRoleArn"} <= deployed.parent.outputs()


def test_by_default_the_parent_creates_no_endpoints_stack_and_uses_the_given_names(source_template, stacks):
    """Given the default parameters, then the Endpoints stack (SAM's AWS::CloudFormation::Stack for
    endpoints/template.yaml, under condition CreatesEndpoints) is not created, neither are the outputs
    naming its model and role, and the functions read the endpoint names from the parameters."""
    deployed = stacks()
    name, stack = endpoints_stack(deployed.parent.template)
    assert ROOT / stack["Properties"]["TemplateURL"] == NESTED
    assert (name, stack["Condition"]) == ("Endpoints", "CreatesEndpoints")
    assert deployed.nested is None
    assert not {"CreatedModelName", "CreatedEndpointsRoleArn"} & deployed.parent.outputs()
    variables = deployed.parent.properties("RouterFunction")["Environment"]["Variables"]
    assert variables["ASYNC_ENDPOINT_NAME"] == PARAMETERS["AsyncEndpointName"]
    assert variables["REALTIME_ENDPOINT_NAME"] == variables["SERVERLESS_ENDPOINT_NAME"] == ""


@pytest.mark.parametrize("flags", list(product(["true", "false"], repeat=3)), ids=lambda f: "-".join(f))
def test_every_output_of_the_nested_stack_the_parent_reads_exists_whenever_it_reads_it(stacks, flags):
    """Given any combination of the three Create flags, then each Endpoints.Outputs.X that a created
    resource or output of the parent reads (after its Fn::If are decided) is an output the nested stack
    has for the values passed, and nothing depends on the stack when it is not created (CloudFormation
    would refuse the template otherwise)."""
    values = dict(zip(FLAGS, flags, strict=True))
    values |= {"RealtimeEndpointName": REALTIME, "ServerlessEndpointName": SERVERLESS, "ModelImageUri": IMAGE}
    deployed = stacks(**values)
    parent = deployed.parent
    read: set[str] = set()
    for name in parent.resources():
        body = parent.template["Resources"][name]
        read |= get_atts(parent.properties(name), "Endpoints")
        assert "Endpoints" not in as_list(body.get("DependsOn", [])) or deployed.nested is not None, name
    for name in parent.outputs():
        read |= get_atts(parent.output(name), "Endpoints")
    if deployed.nested is None:
        assert read == set()
    else:
        assert {attribute.removeprefix("Outputs.") for attribute in read} <= deployed.endpoints.outputs()
        assert read, "the parent reads nothing from the endpoints it creates"


@pytest.mark.parametrize(
    ("model", "served"),
    [
        ({"ModelImageUri": IMAGE}, {"Fn::GetAtt": ["Model", "ModelName"]}),
        ({"ModelImageUri": "", "ExistingModelName": EXISTING_MODEL}, EXISTING_MODEL),
    ],
    ids=["image", "existing-model"],
)
def test_every_endpoint_serves_the_one_created_model_or_the_existing_one(source_template, stacks, model, served):
    """Given the three endpoints created from an image, or from ExistingModelName, then every endpoint
    config's variant serves the created Model, or the existing model by its name with no Model created;
    the ModelName output says which."""
    values = CREATE_ALL | model
    assert rejected_by(source_template, **values) == []
    nested = stacks(**values).endpoints
    assert ("Model" in nested.resources()) is (model["ModelImageUri"] != "")
    configs = of_type(nested.template, "AWS::SageMaker::EndpointConfig")
    assert len(configs) == 3 and set(configs) <= nested.resources()
    for config in configs:
        [variant] = nested.properties(config)["ProductionVariants"]
        assert variant["ModelName"] == served, config
    assert nested.output("ModelName") == served


def test_without_auto_scaling_the_endpoints_remain_and_no_scaling_exists(stacks):
    """Given EndpointAutoScaling=false with the three endpoints, then the endpoints and their configs are
    created but no scalable target, scaling policy or scaling alarm is (deregistered before a change of
    instance type)."""
    nested = stacks(**CREATE_ALL, EndpointAutoScaling="false").endpoints
    types = {nested.template["Resources"][name]["Type"] for name in nested.resources()}
    assert not {t for t in types if t.startswith("AWS::ApplicationAutoScaling::")}
    assert "AWS::CloudWatch::Alarm" not in types
    assert nested.resources() >= ASYNC | REALTIME_ENDPOINT | SERVERLESS_ENDPOINT


@pytest.mark.parametrize("model_data", ["", MODEL_DATA], ids=["no-model-data", "model-data"])
def test_the_role_reads_exactly_the_model_data_object_and_only_when_one_is_given(stacks, model_data):
    """Given ModelDataUrl empty or given, then the container gets it only when given, and the execution
    role's ReadModelArtifacts statement exists only then, on that one object's ARN."""
    nested = stacks(**CREATE_ASYNC, ModelDataUrl=model_data).endpoints
    container = nested.properties("Model")["PrimaryContainer"]
    assert container.get("ModelDataUrl", "") == model_data
    [policy] = nested.properties("ExecutionRole")["Policies"]
    reads = [s for s in statements(policy["PolicyDocument"]) if s.get("Sid") == "ReadModelArtifacts"]
    if not model_data:
        assert reads == []
    else:
        assert [(actions(s), s["Resource"]) for s in reads] == [
            (["s3:GetObject"], "arn:aws:s3:::my-model-artifacts/churn/v7/model.tar.gz")
        ]


@pytest.mark.parametrize("environment", ["", '{"SAGEMAKER_PROGRAM": "inference.py"}'], ids=["none", "given"])
def test_the_container_environment_is_set_only_when_given(stacks, environment):
    """Given ModelEnvironment empty or a JSON object, then the container's Environment is absent or that text."""
    nested = stacks(**CREATE_ASYNC, ModelEnvironment=environment).endpoints
    assert nested.properties("Model")["PrimaryContainer"].get("Environment", "") == environment


@pytest.mark.parametrize(("provisioned", "expected"), [("0", None), ("3", "3")])
def test_serverless_provisioned_concurrency_is_set_only_above_zero(stacks, provisioned, expected):
    """Given ServerlessProvisionedConcurrency 0 or more, then the serverless variant has no
    ProvisionedConcurrency (SageMaker refuses 0) or exactly that number."""
    nested = stacks(**CREATE_SERVERLESS, ServerlessProvisionedConcurrency=provisioned).endpoints
    [variant] = nested.properties("ServerlessEndpointConfig")["ProductionVariants"]
    assert variant["ServerlessConfig"].get("ProvisionedConcurrency") == expected
    assert variant["ServerlessConfig"]["MaxConcurrency"] == nested.values["ServerlessMaxConcurrency"]


# ---------------------------------------------------------------- wiring to the parent


def test_async_results_land_under_the_stacks_bucket_exactly_where_the_execution_policy_lets_write(stacks):
    """Given the created asynchronous endpoint, then its S3OutputPath and S3FailurePath are
    <OutputPrefix>async/ and async-failures/ in the stack's input bucket: the two prefixes
    EndpointExecutionPolicy lets the role write and AsyncEndpointConfigHint names."""
    deployed = stacks(**CREATE_ASYNC, OutputPrefix="out/put/")
    output = deployed.endpoints.properties("AsyncEndpointConfig")["AsyncInferenceConfig"]["OutputConfig"]
    bucket = deployed.parent.properties("InputBucket")["BucketName"]
    paths = [output["S3OutputPath"], output["S3FailurePath"]]
    assert paths == [f"s3://{bucket}/out/put/async/", f"s3://{bucket}/out/put/async-failures/"]
    document = deployed.parent.properties("EndpointExecutionPolicy")["PolicyDocument"]
    writable = [r for s in statements(document) if "s3:PutObject" in actions(s) for r in as_list(s["Resource"])]
    assert writable == [f"arn:aws:s3:::{path.removeprefix('s3://')}*" for path in paths]
    hint = text(deployed.parent.output("AsyncEndpointConfigHint")).replace("${InputBucket}", bucket)
    settings = dict(line.split("=", 1) for line in hint.split())
    assert [settings["OutputConfig.S3OutputPath"], settings["OutputConfig.S3FailurePath"]] == paths


def test_async_notifications_go_to_the_stacks_own_result_topics(stacks):
    """Given the created asynchronous endpoint, then its success and error notifications are the parent's
    SuccessTopic and ErrorTopic (passed as SuccessTopicArn / ErrorTopicArn), as the hint says."""
    deployed = stacks(**CREATE_ASYNC)
    config = deployed.endpoints.template["Resources"]["AsyncEndpointConfig"]["Properties"]
    notification = config["AsyncInferenceConfig"]["OutputConfig"]["NotificationConfig"]
    assert notification == {"SuccessTopic": {"Ref": "SuccessTopicArn"}, "ErrorTopic": {"Ref": "ErrorTopicArn"}}
    resolved = deployed.endpoints.resolve(notification)
    assert resolved == {"SuccessTopic": {"Ref": "SuccessTopic"}, "ErrorTopic": {"Ref": "ErrorTopic"}}
    topics = of_type(deployed.parent.template, "AWS::SNS::Topic")
    assert {"SuccessTopic", "ErrorTopic"} <= set(topics)
    hint = dict(line.split("=", 1) for line in text(deployed.parent.output("AsyncEndpointConfigHint")).split())
    assert hint["OutputConfig.NotificationConfig.SuccessTopic"] == "${SuccessTopic}"
    assert hint["OutputConfig.NotificationConfig.ErrorTopic"] == "${ErrorTopic}"


def test_configs_and_model_have_generated_names_and_endpoints_the_given_ones(stacks):
    """Given the three endpoints, then no endpoint config and not the model has a fixed name (a
    replacement would collide with the old one), and each endpoint has the name given in the parent,
    on its own config."""
    nested = stacks(**CREATE_ALL).endpoints
    for config in of_type(nested.template, "AWS::SageMaker::EndpointConfig"):
        assert "EndpointConfigName" not in nested.properties(config), config
    assert "ModelName" not in nested.properties("Model")
    names = {
        "AsyncEndpoint": PARAMETERS["AsyncEndpointName"],
        "RealtimeEndpoint": REALTIME,
        "ServerlessEndpoint": SERVERLESS,
    }
    assert set(of_type(nested.template, "AWS::SageMaker::Endpoint")) == set(names)
    for endpoint, name in names.items():
        properties = nested.properties(endpoint)
        assert properties["EndpointName"] == name
        assert properties["EndpointConfigName"] == {"Fn::GetAtt": [f"{endpoint}Config", "EndpointConfigName"]}


def test_the_async_config_waits_for_the_execution_role(nested_template):
    """Given the async endpoint config, then it depends on ExecutionRole (SageMaker checks at creation that
    the model's role may publish to the topics; the config itself does not reference the role)."""
    config = nested_template["Resources"]["AsyncEndpointConfig"]
    assert "ExecutionRole" in as_list(config.get("DependsOn", []))
    assert "ExecutionRole" not in references(config["Properties"])


@pytest.mark.parametrize(
    ("target", "endpoint", "values", "bounds"),
    [
        ("AsyncScalableTarget", "AsyncEndpoint", CREATE_ASYNC, {"AsyncMinCapacity": "1", "AsyncMaxCapacity": "6"}),
        (
            "RealtimeScalableTarget",
            "RealtimeEndpoint",
            CREATE_REALTIME,
            {"RealtimeMinCapacity": "2", "RealtimeMaxCapacity": "5"},
        ),
    ],
    ids=["async", "realtime"],
)
def test_scalable_targets_register_the_created_endpoints_variant_within_the_parents_bounds(
    stacks, target, endpoint, values, bounds
):
    """Given a created endpoint with scaling, then its scalable target is that endpoint's variant (the
    VariantName of its config), on DesiredInstanceCount, between the parent's Min/MaxCapacity."""
    nested = stacks(**values, **bounds).endpoints
    [variant] = nested.properties(f"{endpoint}Config")["ProductionVariants"]
    properties = nested.properties(target)
    assert text(properties["ResourceId"]) == f"endpoint/${{{endpoint}.EndpointName}}/variant/{variant['VariantName']}"
    assert (properties["ServiceNamespace"], properties["ScalableDimension"]) == (
        "sagemaker",
        "sagemaker:variant:DesiredInstanceCount",
    )
    assert [properties["MinCapacity"], properties["MaxCapacity"]] == list(bounds.values())


def test_the_async_endpoint_scales_to_zero_by_default_and_starts_with_one_instance(source_template, stacks):
    """Given the defaults, then the async scalable target's MinCapacity is 0 (idle costs nothing) while the
    config starts with one instance (SageMaker creates a variant with at least one)."""
    assert source_template["Parameters"]["AsyncMinCapacity"]["Default"] == 0
    nested = stacks(**CREATE_ASYNC).endpoints
    assert nested.properties("AsyncScalableTarget")["MinCapacity"] == "0"
    [variant] = nested.properties("AsyncEndpointConfig")["ProductionVariants"]
    assert variant["InitialInstanceCount"] == 1


def test_async_target_tracking_keeps_the_created_endpoints_backlog_per_instance_at_the_target(stacks):
    """Given the parent's target and cooldowns, then target tracking on the async scalable target follows
    AWS/SageMaker ApproximateBacklogSizePerInstance (Average) of the created endpoint with those numbers."""
    tuning = {"AsyncTargetBacklogPerInstance": "7", "AsyncScaleInCooldown": "900", "AsyncScaleOutCooldown": "120"}
    policy = stacks(**CREATE_ASYNC, **tuning).endpoints.properties("AsyncBacklogTracking")
    assert (policy["PolicyType"], policy["ScalingTargetId"]) == (
        "TargetTrackingScaling",
        {"Ref": "AsyncScalableTarget"},
    )
    configuration = policy["TargetTrackingScalingPolicyConfiguration"]
    assert [configuration[k] for k in ("TargetValue", "ScaleInCooldown", "ScaleOutCooldown")] == list(tuning.values())
    assert configuration["CustomizedMetricSpecification"] == {
        "Namespace": "AWS/SageMaker",
        "MetricName": "ApproximateBacklogSizePerInstance",
        "Dimensions": [{"Name": "EndpointName", "Value": {"Fn::GetAtt": ["AsyncEndpoint", "EndpointName"]}}],
        "Statistic": "Average",
    }


def test_a_backlog_with_no_instance_adds_the_first_instance(stacks):
    """Given requests waiting with no instance (HasBacklogWithoutCapacity >= 1, two minutes out of two),
    then the alarm's only action is the step policy, which adds exactly one instance to the async target
    (target tracking alone stays at zero: capacity x metric / target is 0)."""
    nested = stacks(**CREATE_ASYNC).endpoints
    alarm = nested.properties("AsyncBacklogWithoutCapacityAlarm")
    assert alarm["AlarmActions"] == [{"Ref": "AsyncScaleOutFromZero"}]
    assert {k: alarm[k] for k in ("Namespace", "MetricName", "Dimensions")} == {
        "Namespace": "AWS/SageMaker",
        "MetricName": "HasBacklogWithoutCapacity",
        "Dimensions": [{"Name": "EndpointName", "Value": {"Fn::GetAtt": ["AsyncEndpoint", "EndpointName"]}}],
    }
    assert (alarm["Statistic"], alarm["Period"], alarm["EvaluationPeriods"], alarm["DatapointsToAlarm"]) == (
        "Average",
        60,
        2,
        2,
    )
    assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (1, "GreaterThanOrEqualToThreshold")
    policy = nested.properties("AsyncScaleOutFromZero")
    assert (policy["PolicyType"], policy["ScalingTargetId"]) == ("StepScaling", {"Ref": "AsyncScalableTarget"})
    step = policy["StepScalingPolicyConfiguration"]
    assert step["AdjustmentType"] == "ChangeInCapacity"
    assert step["StepAdjustments"] == [{"MetricIntervalLowerBound": 0, "ScalingAdjustment": 1}]


def test_the_execution_role_holds_what_the_model_needs_and_the_parents_policy_only(stacks):
    """Given a created model with artifacts, then its role allows exactly: ECR authentication (no
    resource-level permission exists), pulling from ModelImageUri's repository, writing the endpoints'
    logs and instance metrics, reading the model data object; plus the parent's EndpointExecutionPolicy,
    and nothing else."""
    deployed = stacks(**CREATE_ASYNC, ModelDataUrl=MODEL_DATA)
    role = deployed.endpoints.properties("ExecutionRole")
    assert set(role) == {"AssumeRolePolicyDocument", "ManagedPolicyArns", "Policies", "Path"}
    assert role["ManagedPolicyArns"] == [{"Ref": "EndpointExecutionPolicy"}]
    assert deployed.parent.template["Resources"]["EndpointExecutionPolicy"]["Type"] == "AWS::IAM::ManagedPolicy"
    [policy] = role["Policies"]
    granted = [(s["Effect"], sorted(actions(s)), s["Resource"]) for s in statements(policy["PolicyDocument"])]
    assert sorted(granted) == sorted(
        [
            ("Allow", ["ecr:GetAuthorizationToken"], "*"),
            ("Allow", ["cloudwatch:PutMetricData"], "*"),
            (
                "Allow",
                ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
                f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/churn-model",  # IMAGE's (test_iam_scope.py)
            ),
            (
                "Allow",
                ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"],
                f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/sagemaker/Endpoints/*",
            ),
            ("Allow", ["s3:GetObject"], "arn:aws:s3:::my-model-artifacts/churn/v7/model.tar.gz"),
        ]
    )
    # PutMetricData has no resource-level permission: the namespace condition keeps it to instance metrics.
    [metrics] = [s for s in statements(policy["PolicyDocument"]) if "cloudwatch:PutMetricData" in actions(s)]
    assert metrics["Condition"] == {"StringEquals": {"cloudwatch:namespace": "/aws/sagemaker/Endpoints"}}


def test_only_sagemaker_on_behalf_of_this_account_may_assume_the_execution_role(stacks):
    """Given the execution role's trust policy, then its one statement lets sagemaker.amazonaws.com assume
    it, and only for this account (aws:SourceAccount: no confused deputy)."""
    trust = stacks(**CREATE_ASYNC).endpoints.properties("ExecutionRole")["AssumeRolePolicyDocument"]
    [statement] = statements(trust)
    assert statement == {
        "Effect": "Allow",
        "Principal": {"Service": "sagemaker.amazonaws.com"},
        "Action": "sts:AssumeRole",
        "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}},
    }


@pytest.mark.parametrize(
    ("flag", "values", "variable", "output", "functions"),
    [
        (
            "CreateAsyncEndpoint",
            CREATE_ASYNC,
            "ASYNC_ENDPOINT_NAME",
            "AsyncEndpointName",
            # Globals: the router invokes it, the tracker and the sweeper record only its results.
            {"Router", "Scorer", "Tracker", "Sweeper"},
        ),
        (
            "CreateRealtimeEndpoint",
            CREATE_REALTIME,
            "REALTIME_ENDPOINT_NAME",
            "RealtimeEndpointName",
            {"Router", "Scorer"},
        ),
        (
            "CreateServerlessEndpoint",
            CREATE_SERVERLESS,
            "SERVERLESS_ENDPOINT_NAME",
            "ServerlessEndpointName",
            {"Router", "Scorer"},
        ),
    ],
    ids=["async", "realtime", "serverless"],
)
def test_functions_read_a_created_endpoints_name_from_the_nested_stack_and_the_parameter_otherwise(
    stacks, flag, values, variable, output, functions
):
    """Given an endpoint created by the stack, then every function that reads its name reads the nested
    stack's output (so it waits for the endpoint), which is the same name; not created, the parameter."""
    for created in (values, {**values, flag: "false", "ModelImageUri": ""}):
        deployed = stacks(**created)
        parent = deployed.parent
        readers = {
            name.removesuffix("Function"): parent.properties(name)["Environment"]["Variables"][variable]
            for name in of_type(parent.template, "AWS::Lambda::Function")
            if variable in parent.template["Resources"][name]["Properties"].get("Environment", {}).get("Variables", {})
        }
        assert set(readers) == functions
        name = parent.values[output]
        if created[flag] == "true":
            assert list(readers.values()) == [{"Fn::GetAtt": ["Endpoints", f"Outputs.{output}"]}] * len(readers)
            nested = deployed.endpoints
            endpoint = output.removesuffix("Name")
            assert nested.output(output) == {"Fn::GetAtt": [endpoint, "EndpointName"]}
            assert nested.properties(endpoint)["EndpointName"] == name
        else:
            assert list(readers.values()) == [name] * len(readers)


def test_the_parents_endpoint_alarms_watch_the_created_async_endpoint(stacks, monitoring_template):
    """Given the created asynchronous endpoint, then the parent's EndpointStuckAtZeroAlarm and
    EndpointRequestAgeAlarm name, as their EndpointName dimension, the name the endpoint is created with."""
    deployed = stacks(**CREATE_ASYNC)
    created = deployed.endpoints.properties("AsyncEndpoint")["EndpointName"]
    assert created == PARAMETERS["AsyncEndpointName"]
    # The alarms live in the Monitoring stack: its parameters are what the parent passes it.
    passed = deployed.parent.resolve(deployed.parent.template["Resources"]["Monitoring"]["Properties"]["Parameters"])
    monitoring = Deployment(monitoring_template, passed)
    for alarm in ("EndpointStuckAtZeroAlarm", "EndpointRequestAgeAlarm"):
        properties = monitoring.properties(alarm)
        assert properties["Namespace"] == "AWS/SageMaker", alarm
        assert properties["Dimensions"] == [{"Name": "EndpointName", "Value": created}], alarm


def test_the_parent_passes_what_the_nested_template_declares_with_matching_types(cfn, nested_template):
    """Given the Endpoints stack's parameters, then each is declared by endpoints/template.yaml, every
    nested parameter without a default is passed, and a parent parameter passed as is keeps its Type."""
    _, stack = endpoints_stack(cfn)
    passed = stack["Properties"]["Parameters"]
    declared = nested_template["Parameters"]
    assert set(passed) <= set(declared)
    assert {name for name, p in declared.items() if "Default" not in p} <= set(passed)
    for name, value in passed.items():
        if isinstance(value, dict) and value.get("Ref") in cfn["Parameters"]:
            assert declared[name]["Type"] == cfn["Parameters"][value["Ref"]]["Type"], name
            if "AllowedValues" in declared[name]:
                parent_values = cfn["Parameters"][value["Ref"]]["AllowedValues"]
                assert set(map(str, parent_values)) <= set(map(str, declared[name]["AllowedValues"])), name


def test_restricting_result_publishers_still_admits_the_created_endpoints_role(stacks):
    """Given ResultPublisherRoleArns set and the async endpoint created, then the created execution role
    (its generated name unknown beforehand) matches a principal the result topics' policy lets publish,
    by its IAM path, without referring to the nested stack: so the policy admits the role before the
    endpoint is created, on a first deploy and on an update that adds the endpoint alike."""
    values = {**CREATE_ASYNC, "ResultPublisherRoleArns": f"arn:aws:iam::{ACCOUNT}:role/other-publisher"}
    deployed = stacks(**values)
    path = deployed.endpoints.properties("ExecutionRole")["Path"]
    [statement] = [
        s
        for s in statements(deployed.parent.properties("ResultTopicPolicy")["PolicyDocument"])
        if s["Sid"] == "PublishOnlyAsAKnownPublisher"
    ]
    allowed = [p for p in statement["Condition"]["ArnNotLike"]["aws:PrincipalArn"]["Fn::Split"][1]["Fn::Join"][1]]
    created_role = f"arn:aws:iam::{ACCOUNT}:role{path}churn-async-ExecutionRole-1A2B3C4D5E6F"
    assert any(isinstance(p, str) and fnmatch.fnmatchcase(created_role, p) for p in allowed)
    assert "Endpoints" not in references(statement)
    # Nothing else lives under that path: the wildcard admits the stack's own endpoint role only.
    assert path == f"/{PARAMETERS['AWS::StackName']}/endpoints/"


# ---------------------------------------------------------------- rules and parameter constraints


@pytest.mark.parametrize("values", [CREATE_ASYNC, CREATE_REALTIME, CREATE_SERVERLESS], ids=["async", "realtime", "sls"])
def test_creating_an_endpoint_without_a_model_is_refused_naming_both_ways_to_give_one(source_template, values):
    """Given Create…Endpoint=true with neither ModelImageUri nor ExistingModelName, then the Rules refuse
    it with one message naming both parameters."""
    [failure] = rejected_by(source_template, **{**values, "ModelImageUri": ""})
    assert "ModelImageUri" in failure and "ExistingModelName" in failure


def test_giving_both_an_image_and_an_existing_model_is_refused(source_template):
    """Given ModelImageUri and ExistingModelName together, then the Rules refuse it naming both."""
    [failure] = rejected_by(source_template, **CREATE_ASYNC, ExistingModelName=EXISTING_MODEL)
    assert "ModelImageUri" in failure and "ExistingModelName" in failure


@pytest.mark.parametrize(
    "setting", [{"ModelDataUrl": MODEL_DATA}, {"ModelEnvironment": '{"A": "b"}'}], ids=["data", "environment"]
)
@pytest.mark.parametrize(
    "model",
    [{"CreateAsyncEndpoint": "true", "ExistingModelName": EXISTING_MODEL}, {}],
    ids=["existing-model", "no-model"],
)
def test_model_settings_without_an_image_are_refused_naming_the_setting_and_the_image(source_template, setting, model):
    """Given ModelDataUrl or ModelEnvironment without ModelImageUri (with an existing model, or none and
    no endpoint created), then the Rules refuse it naming the setting and ModelImageUri."""
    [failure] = rejected_by(source_template, **setting, **model)
    [name] = setting
    assert name in failure and "ModelImageUri" in failure


@pytest.mark.parametrize(
    ("flag", "name"),
    [("CreateRealtimeEndpoint", "RealtimeEndpointName"), ("CreateServerlessEndpoint", "ServerlessEndpointName")],
)
def test_creating_a_sync_endpoint_without_its_name_is_refused_naming_it(source_template, flag, name):
    """Given CreateRealtimeEndpoint / CreateServerlessEndpoint=true with its name empty, then the Rules
    refuse it naming the flag and the name parameter; with the name, they accept it."""
    [failure] = rejected_by(source_template, **{flag: "true", "ModelImageUri": IMAGE, name: ""})
    assert flag in failure and name in failure
    assert rejected_by(source_template, **{flag: "true", "ModelImageUri": IMAGE, name: "my-endpoint"}) == []


@pytest.mark.parametrize(
    "values",
    [
        CREATE_ALL | {"ModelDataUrl": MODEL_DATA, "ModelEnvironment": '{"SAGEMAKER_PROGRAM": "inference.py"}'},
        CREATE_REALTIME | {"ModelImageUri": "", "ExistingModelName": EXISTING_MODEL},
        {"ModelImageUri": IMAGE},  # an image alone creates nothing and is not an error
    ],
    ids=["all-from-an-image", "realtime-from-an-existing-model", "image-without-flags"],
)
def test_complete_combinations_are_accepted(source_template, values):
    """Given a complete request, then no Rule refuses it."""
    assert rejected_by(source_template, **values) == []


def test_serverless_memory_takes_exactly_sagemakers_sizes(source_template):
    """Given ServerlessMemorySizeInMB, then of the multiples of 512 up to 8192 exactly 1024…6144 in steps
    of 1024 pass (ServerlessConfig's sizes), and the constraint message lists them."""
    parameter = source_template["Parameters"]["ServerlessMemorySizeInMB"]
    passing = {size for size in range(512, 8193, 512) if accepts(parameter, str(size))}
    assert passing == {1024, 2048, 3072, 4096, 5120, 6144}
    assert all(str(size) in parameter["ConstraintDescription"] for size in passing)


@pytest.mark.parametrize(
    ("name", "lowest", "highest"),
    [
        ("ServerlessMaxConcurrency", 1, 200),
        ("ServerlessProvisionedConcurrency", 0, 200),
        ("AsyncMaxConcurrentInvocationsPerInstance", 1, 1000),
        ("RealtimeMinCapacity", 1, 100),  # a real-time variant cannot scale to zero
        ("AsyncMinCapacity", 0, 100),
    ],
)
def test_numeric_endpoint_parameters_take_sagemakers_range_and_say_so(source_template, name, lowest, highest):
    """Given a numeric endpoint parameter, then its bounds are accepted, one past them refused, and its
    ConstraintDescription names the parameter or both limits."""
    parameter = source_template["Parameters"][name]
    assert accepts(parameter, str(lowest)) and accepts(parameter, str(highest))
    assert not accepts(parameter, str(lowest - 1)) and not accepts(parameter, str(highest + 1))
    description = parameter["ConstraintDescription"]
    assert name in description or (str(lowest) in description and str(highest) in description)
