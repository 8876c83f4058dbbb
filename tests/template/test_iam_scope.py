"""IAM narrowed to what the stack itself runs (README "Trust boundaries"): the router cannot touch the
nightly jobs, transform jobs start only with the stack's model and instance type, the endpoint role
pulls only ModelImageUri's repository, and service principals act only for this account. Also the
``RequestableModes`` parameter that bounds what uploaders ask for through metadata."""

from __future__ import annotations

import fnmatch
import re
from typing import Any

import pytest
from orchestrator.aws import manifest
from orchestrator.core import identity, nights

from tests.template.cfn import accepts, actions, as_list, of_type, role_statements, statements, text
from tests.template.deployed import CREATE_ASYNC, EXISTING_MODEL, REGION
from tests.template.stack import PARAMETERS

ACCOUNT = PARAMETERS["AWS::AccountId"]
PREFIX, OUTPUT_PREFIX = "sio", "results/"
BUCKET = f"{PARAMETERS['AWS::StackName']}-{ACCOUNT}-{REGION}"
VALUES = {
    "AWS::Partition": "aws",
    "AWS::Region": REGION,
    "AWS::AccountId": ACCOUNT,
    "AWS::StackName": PARAMETERS["AWS::StackName"],
    "TransformJobPrefix": PREFIX,
    "OutputPrefix": OUTPUT_PREFIX,
    "InputBucket.Arn": f"arn:aws:s3:::{BUCKET}",
}
MODEL_ARN = "arn:${AWS::Partition}:sagemaker:${AWS::Region}:${AWS::AccountId}:model/${TransformModelName}"
# The sweeper starts no job: it hands a finished night to the batch-result function (orchestrator/aws/handoff.py).
TRANSFORM_CREATORS = {"RouterFunction", "NightlyFunction", "BatchResultFunction"}


def role_of(cfn: dict[str, Any], function: str) -> str:
    return str(cfn["Resources"][function]["Properties"]["Role"]["Fn::GetAtt"][0])


def arn_pattern(resource: Any) -> str:
    """A statement's resource with this test's parameter values filled in (IAM wildcards kept)."""
    return re.sub(r"\$\{([^}]+)\}", lambda m: VALUES[m.group(1)], text(resource))


def matches(pattern: str, arn: str) -> bool:
    """IAM's resource matching: ``*`` any run of characters (``/`` included), ``?`` one character."""
    return fnmatch.fnmatchcase(arn, pattern)


def job_arn(name: str) -> str:
    return f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:transform-job/{name}"


def artifact_arns(job: str) -> list[str]:
    folder = f"arn:aws:s3:::{BUCKET}/{manifest.job_key_prefix(OUTPUT_PREFIX, job)}"
    return [folder + manifest.MANIFEST_NAME, folder + manifest.ROSTER_NAME, folder + "r1/" + manifest.MANIFEST_NAME]


def allowed(document_statements: list[dict[str, Any]], action: str, arn: str) -> bool:
    """IAM's verdict for an action on a resource, conditions aside: an explicit Deny wins."""
    hits = [
        s
        for s in document_statements
        if action in actions(s) and any(matches(arn_pattern(r), arn) for r in as_list(s["Resource"]))
    ]
    return any(s["Effect"] == "Allow" for s in hits) and not any(s["Effect"] == "Deny" for s in hits)


PER_FILE_JOB = identity.job_name(PREFIX, identity.request_id("b", "incoming/a.csv", "v1", "00AB"))
# Every shape of a nightly name, the longest (63 characters) included: its part after "<prefix>-" is as
# long as a request id (32), so no "?" pattern could tell it from a per-file job.
NIGHTLY_JOBS = [
    nights.night_job(PREFIX, "2026-11-28"),
    nights.rerun_job(PREFIX, "2026-11-28", 2),
    nights.retry_job(PREFIX, "2026-11-28", "sio-nightly-2026-11-28", ["a" * 32]),
    nights.retry_job(PREFIX, "2026-10-25-0230b", "sio-nightly-2026-10-25-0230b", ["a" * 32]),
]


# ---------------------------------------------------------------- the router and the nightly names


def test_a_nightly_name_can_be_as_long_as_a_per_file_name():
    """Why the router's narrowing is a Deny: a 32-character ``?`` pattern would also match this one."""
    assert len(NIGHTLY_JOBS[-1]) == len(PER_FILE_JOB) == len(PREFIX) + 1 + 32


@pytest.mark.parametrize("action", ["sagemaker:CreateTransformJob", "sagemaker:DescribeTransformJob"])
def test_router_may_run_per_file_jobs_but_never_touch_a_nightly_job(cfn, action):
    """Given the router's policy, then its transform-job grants reach a per-file job and no job of a
    night (the night's job, a re-run, a retry job), whatever the length of the nightly name."""
    router = role_statements(cfn, role_of(cfn, "RouterFunction"))
    assert allowed(router, action, job_arn(PER_FILE_JOB))
    for job in NIGHTLY_JOBS:
        assert not allowed(router, action, job_arn(job)), job


def test_router_may_write_a_per_file_manifest_but_no_nightly_manifest_or_roster(cfn):
    router = role_statements(cfn, role_of(cfn, "RouterFunction"))
    assert allowed(router, "s3:PutObject", artifact_arns(PER_FILE_JOB)[0])
    for job in NIGHTLY_JOBS:
        for arn in artifact_arns(job):
            assert not allowed(router, "s3:PutObject", arn), arn


def test_the_routers_deny_covers_every_action_it_is_allowed_under_the_job_prefix(cfn):
    """Given every Allow of the router whose resource lies under ``<prefix>-``, then the nightly Deny
    names each of its actions (a grant added later is not silently let onto the nightly names)."""
    router = role_statements(cfn, role_of(cfn, "RouterFunction"))
    [deny] = [s for s in router if s["Effect"] == "Deny"]
    under_prefix = {
        action
        for s in router
        if s["Effect"] == "Allow" and any("${TransformJobPrefix}-" in text(r) for r in as_list(s["Resource"]))
        for action in actions(s)
    }
    assert under_prefix == {"sagemaker:CreateTransformJob", "sagemaker:DescribeTransformJob", "s3:PutObject"}
    assert set(actions(deny)) == under_prefix
    assert all("${TransformJobPrefix}-nightly-*" in text(r) for r in as_list(deny["Resource"]))


@pytest.mark.parametrize("function", ["NightlyFunction", "BatchResultFunction"])
def test_the_nightly_functions_still_reach_every_nightly_name(cfn, function):
    grants = role_statements(cfn, role_of(cfn, function))
    for job in NIGHTLY_JOBS:
        assert allowed(grants, "sagemaker:CreateTransformJob", job_arn(job)), job
        assert allowed(grants, "sagemaker:DescribeTransformJob", job_arn(job)), job
    assert not allowed(grants, "sagemaker:CreateTransformJob", job_arn(PER_FILE_JOB))


# ---------------------------------------------------------------- jobs start with the stack's model only


def create_statements(cfn: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    return {
        role: found
        for role in of_type(cfn, "AWS::IAM::Role")
        if (
            found := [
                s
                for s in role_statements(cfn, role)
                if s["Effect"] == "Allow" and "sagemaker:CreateTransformJob" in actions(s)
            ]
        )
    }


def test_every_grant_to_start_a_job_is_conditioned_on_the_stacks_model_and_instance_type(cfn):
    """Given every statement of every role that allows CreateTransformJob, then it allows that action
    alone (the conditions would refuse DescribeTransformJob, which has no such keys) under the stack's
    job prefix, and only for TransformModelName (matched ignoring case: SageMaker lowercases model
    ARNs) on TransformInstanceType, the instance-type key required to be present (ForAllValues holds
    for an absent key)."""
    found = create_statements(cfn)
    assert set(found) == {role_of(cfn, f) for f in TRANSFORM_CREATORS}
    for role, granted in found.items():
        for statement in granted:
            assert (statement["Effect"], actions(statement)) == ("Allow", ["sagemaker:CreateTransformJob"]), role
            assert text(statement["Resource"]).startswith(
                "arn:${AWS::Partition}:sagemaker:${AWS::Region}:${AWS::AccountId}:transform-job/${TransformJobPrefix}-"
            )
            assert statement["Condition"] == {
                "StringEqualsIgnoreCase": {"sagemaker:ModelArn": {"Fn::Sub": MODEL_ARN}},
                "ForAllValues:StringEquals": {"sagemaker:InstanceTypes": {"Ref": "TransformInstanceType"}},
                "Null": {"sagemaker:InstanceTypes": "false"},
            }, role


@pytest.mark.parametrize("function", ["RouterFunction", "NightlyFunction", "BatchResultFunction"])
def test_a_function_that_starts_jobs_still_describes_them_without_conditions(cfn, function):
    describe = [
        s for s in role_statements(cfn, role_of(cfn, function)) if "sagemaker:DescribeTransformJob" in actions(s)
    ]
    assert [s["Effect"] for s in describe if s["Effect"] == "Allow"]
    assert all("Condition" not in s for s in describe if s["Effect"] == "Allow")


# ---------------------------------------------------------------- the endpoint role pulls one repository


@pytest.mark.parametrize(
    ("image", "repository"),
    [
        (
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/churn-model:7",
            "arn:aws:ecr:us-east-1:123456789012:repository/churn-model",
        ),
        (
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/churn-model",
            "arn:aws:ecr:us-east-1:123456789012:repository/churn-model",
        ),
        (
            "123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/churn-model@sha256:" + "ab" * 32,
            "arn:aws:ecr:eu-west-1:123456789012:repository/team/churn-model",
        ),
        (  # an AWS framework image, in AWS's account
            "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-inference:2.3.0-cpu-py311-ubuntu20.04-sagemaker",
            "arn:aws:ecr:us-east-1:763104351884:repository/pytorch-inference",
        ),
        (
            "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/churn-model:v7.1",
            "arn:aws:ecr:cn-north-1:123456789012:repository/churn-model",
        ),
    ],
    ids=["tag", "no-tag", "namespace-and-digest", "aws-framework-image", "china"],
)
def test_the_endpoint_role_pulls_only_from_the_repository_of_model_image_uri(stacks, image, repository):
    """Given ModelImageUri with a tag, a digest or neither, then the execution role may pull layers and
    images from that one repository of that account and region; only GetAuthorizationToken, which has
    no resource, is on "*"."""
    assert accepts(stacks().parent.template["Parameters"]["ModelImageUri"], image)
    role = stacks(**{**CREATE_ASYNC, "ModelImageUri": image}).endpoints.properties("ExecutionRole")
    [policy] = role["Policies"]
    ecr = [s for s in statements(policy["PolicyDocument"]) if actions(s)[0].startswith("ecr:")]
    assert sorted((sorted(actions(s)), s["Resource"]) for s in ecr) == [
        (["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"], repository),
        (["ecr:GetAuthorizationToken"], "*"),
    ]


def test_with_an_existing_model_the_endpoint_role_pulls_no_image(stacks):
    """Given ExistingModelName (ModelImageUri empty), then the role has no ECR grant: the existing model
    pulls with its own role, and no repository could be derived from an empty image URI."""
    role = stacks(CreateAsyncEndpoint="true", ExistingModelName=EXISTING_MODEL).endpoints.properties("ExecutionRole")
    [policy] = role["Policies"]
    assert not [s for s in statements(policy["PolicyDocument"]) if any(a.startswith("ecr:") for a in actions(s))]


# ---------------------------------------------------------------- service principals act for this account only


def resource_policies(cfn: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Every statement of a queue, topic, bucket or key policy (the grants a service principal uses)."""
    found = []
    for name, resource in cfn["Resources"].items():
        properties = resource.get("Properties", {})
        document = properties.get("PolicyDocument") or properties.get("KeyPolicy")
        if document and resource["Type"] != "AWS::IAM::ManagedPolicy":
            found += [(name, s) for s in statements(document)]
    return found


def test_every_service_grant_is_for_this_accounts_resources_only(cfn):
    """Given every statement granting a service principal something in a resource policy, then it holds
    aws:SourceAccount = this account, or an exact aws:SourceArn of this stack's own resources (AWS:
    the full source ARN suffices when it holds the account; an S3 bucket's does not, so the router
    queue's grant to S3 has both)."""
    grants = [(n, s) for n, s in resource_policies(cfn) if "Service" in (s.get("Principal") or {})]
    assert {n for n, _ in grants} >= {"RouterQueuePolicy", "TrackerQueuePolicy", "AlarmTopicKey", "AlarmTopicPolicy"}
    for name, statement in grants:
        condition = statement.get("Condition", {})
        account = condition.get("StringEquals", {}).get("aws:SourceAccount")
        exact = as_list(condition.get("ArnEquals", {}).get("aws:SourceArn", []))
        own = exact and all(set(v) <= {"Ref", "Fn::GetAtt"} and "AWS::" not in str(v) for v in exact)
        assert account == {"Ref": "AWS::AccountId"} or own, name


def test_the_alarm_keys_grant_to_cloudwatch_is_for_this_accounts_alarms_only(cfn):
    """Given the alarm topic's key, then CloudWatch may use it only for alarms of this account and
    region, as the topic's own policy says."""
    policy = cfn["Resources"]["AlarmTopicKey"]["Properties"]["KeyPolicy"]
    [grant] = [s for s in statements(policy) if s["Principal"] == {"Service": "cloudwatch.amazonaws.com"}]
    assert grant["Condition"] == {
        "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}},
        "ArnLike": {
            "aws:SourceArn": {"Fn::Sub": "arn:${AWS::Partition}:cloudwatch:${AWS::Region}:${AWS::AccountId}:alarm:*"}
        },
    }
    [topic_grant] = [s for n, s in resource_policies(cfn) if n == "AlarmTopicPolicy"]
    assert topic_grant["Condition"] == grant["Condition"]


# ---------------------------------------------------------------- RequestableModes


def test_requestable_modes_defaults_to_async_and_nightly_and_reaches_the_router(cfn, source_template):
    parameter = source_template["Parameters"]["RequestableModes"]
    assert (parameter["Type"], parameter["Default"]) == ("String", "async,nightly")
    variables = cfn["Resources"]["RouterFunction"]["Properties"]["Environment"]["Variables"]
    assert variables["REQUESTABLE_MODES"] == {"Ref": "RequestableModes"}
    assert variables["READ_OBJECT_METADATA"] == {"Ref": "ReadObjectMetadata"}
