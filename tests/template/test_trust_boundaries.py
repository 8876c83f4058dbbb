"""Trust boundaries in the template: who may publish results on the two topics, where the endpoint's
and the transform model's execution roles may write, and that results never land where files are
routed (README: "Alarms and dashboard", trust boundaries)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.template.cfn import (
    accepts,
    actions,
    as_list,
    of_type,
    references,
    rejected_by,
    role_statements,
    statements,
    text,
)

RESULT_TOPICS = [{"Ref": "SuccessTopic"}, {"Ref": "ErrorTopic"}]
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/churn-model:7"
THIS_ACCOUNTS_ROLES = "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/*"


def result_topic_policy(cfn: dict[str, Any]) -> dict[str, Any]:
    [policy] = [p for p in of_type(cfn, "AWS::SNS::TopicPolicy").values() if p["Properties"]["Topics"] == RESULT_TOPICS]
    document: dict[str, Any] = policy["Properties"]["PolicyDocument"]
    return document


def by_sid(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["Sid"]: s for s in statements(document)}


def publishing_roles(cfn: dict[str, Any]) -> set[str]:
    """The stack's IAM roles that may sns:Publish on a result topic."""
    return {
        role
        for role in of_type(cfn, "AWS::IAM::Role")
        for s in role_statements(cfn, role)
        if "sns:Publish" in actions(s) and references(s["Resource"]) & {"SuccessTopic", "ErrorTopic"}
    }


def _join_split(value: dict[str, Any]) -> list[Any]:
    """The items of ``Fn::Split [",", Fn::Join [",", [a, b, Fn::Join [",", list]]]]``, the inner joins
    flattened, and both branches of a ``Fn::If``."""
    separator, joined = value["Fn::Split"]
    assert separator == ","
    join_separator, items = joined["Fn::Join"]
    assert join_separator == ","

    def flatten(item: Any) -> list[Any]:
        if isinstance(item, dict) and "Fn::Join" in item:
            assert item["Fn::Join"][0] == ","
            return list(item["Fn::Join"][1:])
        if isinstance(item, dict) and "Fn::If" in item:
            return [inner for branch in item["Fn::If"][1:] for inner in flatten(branch)]
        return [item]

    return [inner for item in items for inner in flatten(item)]


def _evaluate(expression: Any, parameters: dict[str, str], conditions: dict[str, Any]) -> Any:
    """A condition of the template for these parameter values (a CommaDelimitedList is split)."""
    if not isinstance(expression, dict):
        return expression
    [(function, argument)] = expression.items()
    if function == "Ref":
        value = parameters[argument]
        return value.split(",") if argument == "ResultPublisherRoleArns" else value
    if function == "Condition":
        return _evaluate(conditions[argument], parameters, conditions)
    if function == "Fn::Join":
        return argument[0].join(_evaluate(argument[1], parameters, conditions))
    if function == "Fn::Equals":
        return _evaluate(argument[0], parameters, conditions) == _evaluate(argument[1], parameters, conditions)
    if function == "Fn::Not":
        return not _evaluate(argument[0], parameters, conditions)
    if function == "Fn::Or":
        return any(_evaluate(item, parameters, conditions) for item in argument)
    raise AssertionError(f"unexpected function {function}")


# ---------------------------------------------------------------- who may publish results


def test_result_topic_policy_only_denies_and_every_statement_names_both_topics(cfn):
    """Given the result topics' policy, then it grants nothing (same-account publishers are allowed by
    their IAM policies; SNS delivering to the tracker queue is governed by the queue's policy) and each
    statement is a Deny on sns:Publish for everyone matching its condition, every statement with a Sid
    (SNS requires unique ones)."""
    document = result_topic_policy(cfn)
    assert len(by_sid(document)) == len(list(statements(document))) == 2
    for statement in statements(document):
        assert (statement["Effect"], statement["Principal"], statement["Action"]) == ("Deny", "*", "sns:Publish")
        assert statement["Resource"] == RESULT_TOPICS


def test_only_roles_of_this_account_may_ever_publish_results(cfn):
    """Given the default deployment (no ResultPublisherRoleArns), then principals that are not an IAM role
    of this account (other accounts, IAM users, root, service principals) are denied sns:Publish; the
    endpoint's execution role, which SageMaker publishes with, is such a role."""
    statement = by_sid(result_topic_policy(cfn))["PublishOnlyAsARoleOfThisAccount"]
    assert statement["Condition"] == {"ArnNotLike": {"aws:PrincipalArn": {"Fn::Sub": THIS_ACCOUNTS_ROLES}}}
    assert statement in as_list(result_topic_policy(cfn)["Statement"])  # not behind a condition


def test_by_default_only_the_announcing_functions_the_created_endpoints_and_the_listed_roles_may_publish(cfn):
    """Given the default ResultPublishers (stack), then a second Deny leaves sns:Publish to exactly the
    stack's roles that announce results (the same roles IAM lets publish), the created endpoints' role
    (by its IAM path) and the roles in ResultPublisherRoleArns: none listed adds no empty entry."""
    [conditional] = [item for item in as_list(result_topic_policy(cfn)["Statement"]) if "Fn::If" in item]
    condition, statement, otherwise = conditional["Fn::If"]
    assert (condition, otherwise) == ("RestrictsResultPublishers", {"Ref": "AWS::NoValue"})
    assert statement["Sid"] == "PublishOnlyAsAKnownPublisher"
    allowed = _join_split(statement["Condition"]["ArnNotLike"]["aws:PrincipalArn"])
    endpoints = {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/${AWS::StackName}/endpoints/*"}
    [listed] = [i for i in statement["Condition"]["ArnNotLike"]["aws:PrincipalArn"]["Fn::Split"][1]["Fn::Join"][1]
                if "Fn::If" in i]  # fmt: skip
    assert listed["Fn::If"] == [
        "HasResultPublisherRoles",
        {"Fn::Join": [",", {"Ref": "ResultPublisherRoleArns"}]},
        endpoints,
    ]
    assert endpoints in allowed
    roles = {item["Fn::GetAtt"][0] for item in allowed if "Fn::GetAtt" in item}
    assert [item["Fn::GetAtt"][1] for item in allowed if "Fn::GetAtt" in item] == ["Arn"] * len(roles)
    assert (
        roles
        == publishing_roles(cfn)
        == {
            "RouterFunctionRole",
            "BatchResultFunctionRole",
            "NightlyFunctionRole",
            "SweeperFunctionRole",
            "ScorerFunctionRole",
        }
    )
    assert {"Ref": "ResultPublisherRoleArns"} in allowed


@pytest.mark.parametrize(
    ("publishers", "value", "listed", "restricted"),
    [
        ("stack", "", False, True),
        ("stack", "arn:aws:iam::123456789012:role/endpoint-execution", True, True),
        ("account", "", False, False),
        ("account", "arn:aws:iam::123456789012:role/endpoint-execution", True, True),
    ],
)
def test_publishers_are_restricted_by_default_and_open_to_the_account_only_when_asked(
    cfn, publishers, value, listed, restricted
):
    """Given ResultPublishers (default stack) and ResultPublisherRoleArns (default empty), then the policy
    restricts publishers unless ResultPublishers=account with no list (a list restricts, as it always did),
    and the listed roles are added only when there are some."""
    defaults = {name: cfn["Parameters"][name]["Default"] for name in ("ResultPublishers", "ResultPublisherRoleArns")}
    assert defaults == {"ResultPublishers": "stack", "ResultPublisherRoleArns": ""}
    parameters = {"ResultPublishers": publishers, "ResultPublisherRoleArns": value}
    conditions = cfn["Conditions"]
    assert _evaluate(conditions["HasResultPublisherRoles"], parameters, conditions) is listed
    assert _evaluate(conditions["RestrictsResultPublishers"], parameters, conditions) is restricted


@pytest.mark.parametrize(
    ("values", "refused"),
    [
        pytest.param({}, True, id="your-own-endpoint"),
        pytest.param({"CreateAsyncEndpoint": "true", "ModelImageUri": IMAGE}, False, id="created-from-an-image"),
        pytest.param({"CreateAsyncEndpoint": "true", "ExistingModelName": "churn-v6"}, True, id="existing-model"),
        pytest.param({"ResultPublishers": "account"}, False, id="open-to-the-account"),
    ],
)
def test_an_async_endpoint_whose_role_the_stack_does_not_know_must_be_listed(source_template, values, refused):
    """Given ResultPublisherRoleArns empty, then the Rules refuse a deployment whose async endpoint's role
    the stack cannot admit by itself (your own endpoint, or ExistingModelName's role) with one message
    naming both ways out: list the role, or ResultPublishers=account. An endpoint created from an image
    (its role under /<stack>/endpoints/) and an explicit ResultPublishers=account deploy."""
    failures = rejected_by(source_template, ResultPublisherRoleArns="", **values)
    if not refused:
        assert failures == []
        return
    [failure] = failures
    assert "ResultPublisherRoleArns" in failure and "ResultPublishers=account" in failure
    assert rejected_by(source_template, **values) == []  # with the role listed (cfn.DEPLOYED)


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("", True),
        ("arn:aws:iam::123456789012:role/endpoint-execution", True),
        ("arn:aws:iam::123456789012:role/service-role/AmazonSageMaker-ExecutionRole-2026", True),
        ("arn:aws:iam::123456789012:user/alice", False),
        ("endpoint-execution", False),
        ("arn:aws:sts::123456789012:assumed-role/endpoint-execution/session", False),
    ],
)
def test_publisher_roles_parameter_takes_role_arns_only(source_template, value, ok):
    """Given a value of ResultPublisherRoleArns, then only role ARNs pass: aws:PrincipalArn is the role's
    ARN, never a session's, so anything else would deny the endpoint it was meant to admit."""
    assert accepts(source_template["Parameters"]["ResultPublisherRoleArns"], value) is ok


# ---------------------------------------------------------------- where execution roles may write


def test_endpoint_may_write_only_where_its_config_hint_points_and_publish_only_results(cfn):
    """Given EndpointExecutionPolicy, then it reads inputs, writes only under <OutputPrefix>async/ and
    async-failures/ (the AsyncEndpointConfigHint paths: never over manifests and rosters under batch/),
    and publishes to the two result topics."""
    document = cfn["Resources"]["EndpointExecutionPolicy"]["Properties"]["PolicyDocument"]
    # The bucket is named (its ARN from its deterministic name): the created endpoints use this policy
    # and the functions wait for them, so a reference would close a cycle through the router's log group.
    bucket = "arn:${AWS::Partition}:s3:::${AWS::StackName}-${AWS::AccountId}-${AWS::Region}"
    granted = {
        (a, text(r).replace(bucket, "${InputBucket.Arn}"))
        for s in statements(document)
        for a in actions(s)
        for r in as_list(s["Resource"])
    }
    assert granted == {
        ("s3:GetObject", "${InputBucket.Arn}/${InputPrefix}*"),
        ("s3:PutObject", "${InputBucket.Arn}/${OutputPrefix}async/*"),
        ("s3:PutObject", "${InputBucket.Arn}/${OutputPrefix}async-failures/*"),
        ("sns:Publish", "${SuccessTopic}"),
        ("sns:Publish", "${ErrorTopic}"),
    }
    hint = dict(line.split("=", 1) for line in text(cfn["Outputs"]["AsyncEndpointConfigHint"]["Value"]).split())
    for path in ("OutputConfig.S3OutputPath", "OutputConfig.S3FailurePath"):
        key_prefix = hint[path].removeprefix("s3://${InputBucket}/")
        assert ("s3:PutObject", f"${{InputBucket.Arn}}/{key_prefix}*") in granted, path


# ---------------------------------------------------------------- results never land where files are routed


def test_output_prefix_equal_to_input_prefix_is_refused_naming_both(source_template):
    """Given OutputPrefix equal to InputPrefix, then the Rules refuse the deployment naming both (a prefix
    inside the other cannot be expressed in Rules: the router refuses it at cold start)."""
    [failure] = rejected_by(source_template, InputPrefix="data/", OutputPrefix="data/")
    assert "OutputPrefix" in failure and "InputPrefix" in failure
    assert rejected_by(source_template, InputPrefix="data/in/", OutputPrefix="data/out/") == []
