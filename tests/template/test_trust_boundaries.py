"""Trust boundaries in the template: who may publish results on the two topics, where the endpoint's
and the transform model's execution roles may write, and that results never land where files are
routed (README: "Alarms and dashboard", trust boundaries)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.template.cfn import actions, as_list, of_type, references, role_statements, statements, text
from tests.template.test_batch_template import rejected_by
from tests.template.test_parameters import accepts

RESULT_TOPICS = [{"Ref": "SuccessTopic"}, {"Ref": "ErrorTopic"}]
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
    """The items of ``Fn::Split [",", Fn::Join [",", [a, b, Fn::Join [",", list]]]]``, the inner joins flattened."""
    separator, joined = value["Fn::Split"]
    assert separator == ","
    join_separator, items = joined["Fn::Join"]
    assert join_separator == ","
    flat: list[Any] = []
    for item in items:
        flat += item["Fn::Join"][1:] if "Fn::Join" in item else [item]
    return flat


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


def test_with_publisher_roles_only_the_announcing_functions_and_those_roles_may_publish(cfn):
    """Given ResultPublisherRoleArns, then a second Deny leaves sns:Publish to exactly the stack's roles
    that announce results (the same roles IAM lets publish) and the listed roles."""
    [conditional] = [item for item in as_list(result_topic_policy(cfn)["Statement"]) if "Fn::If" in item]
    condition, statement, otherwise = conditional["Fn::If"]
    assert (condition, otherwise) == ("HasResultPublisherRoles", {"Ref": "AWS::NoValue"})
    assert statement["Sid"] == "PublishOnlyAsAKnownPublisher"
    allowed = _join_split(statement["Condition"]["ArnNotLike"]["aws:PrincipalArn"])
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
    ("value", "restricted"), [("", False), ("arn:aws:iam::123456789012:role/endpoint-execution", True)]
)
def test_publisher_roles_condition_is_off_for_the_default_list(cfn, value, restricted):
    """Given ResultPublisherRoleArns empty (the default) or set, then HasResultPublisherRoles is false or true."""

    def evaluate(expression: Any) -> Any:
        [(function, argument)] = expression.items() if isinstance(expression, dict) else [("", expression)]
        if function == "Ref":
            return value.split(",")  # a CommaDelimitedList
        if function == "Fn::Join":
            return argument[0].join(evaluate(argument[1]))
        if function == "Fn::Equals":
            return evaluate(argument[0]) == evaluate(argument[1])
        if function == "Fn::Not":
            return not evaluate(argument[0])
        return argument

    assert cfn["Parameters"]["ResultPublisherRoleArns"]["Default"] == ""
    assert evaluate(cfn["Conditions"]["HasResultPublisherRoles"]) is restricted


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
