"""Batch transform in the template: the nightly schedule, the state-change rule, their dead-letter
queues and on-failure destinations, IAM limited to the stack's job-name prefix, and the
cross-parameter rules (docs/architecture.md §6, §7.3, §7.4)."""

from __future__ import annotations

import json
import re
from itertools import product
from typing import Any

import pytest
from orchestrator.aws import handoff

from tests.template.cfn import (
    DEADLINE_ENV,
    TRANSFORM_ENV,
    accepts,
    actions,
    as_list,
    assert_environment,
    of_type,
    props,
    references,
    rejected_by,
    role_of,
    role_statements,
    schedule_of,
    statements,
    text,
)
from tests.template.stack import BATCH

NIGHTLY, BATCH_RESULT, ROUTER = "NightlyFunction", "BatchResultFunction", "RouterFunction"
NIGHTLY_ENV = {
    "TRACKER_TABLE", "RECORD_RETENTION_DAYS", "INPUT_BUCKET", "OUTPUT_PREFIX", "AWS_ENDPOINT_URL",
    "ERROR_TOPIC_ARN", "NIGHTLY_SCHEDULE_TIMEZONE", "NIGHTLY_SCHEDULE_EXPRESSION",
}  # fmt: skip
BATCH_RESULT_ENV = {
    "TRACKER_TABLE", "RECORD_RETENTION_DAYS", "SUCCESS_TOPIC_ARN", "ERROR_TOPIC_ARN", "TRANSFORM_JOB_PREFIX",
    "AWS_ENDPOINT_URL",
}  # fmt: skip
POWERTOOLS_ENV = {"POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE", "POWERTOOLS_LOG_LEVEL"} | DEADLINE_ENV
JOB_ARN = "arn:${AWS::Partition}:sagemaker:${AWS::Region}:${AWS::AccountId}:transform-job/${TransformJobPrefix}-"
TRANSFORM_ACTIONS = {"sagemaker:CreateTransformJob", "sagemaker:DescribeTransformJob"}
NIGHTLY_ARTIFACTS = "${InputBucket.Arn}/${OutputPrefix}batch/${TransformJobPrefix}-nightly-*"


def granted(cfn: dict[str, Any], function: str, prefix: str) -> list[tuple[list[str], str]]:
    return [
        (sorted(actions(s)), text(r))
        for s in role_statements(cfn, role_of(cfn, function))
        if actions(s)[0].startswith(prefix)
        for r in as_list(s["Resource"])
    ]


def listing_prefixes(cfn: dict[str, Any], function: str) -> list[str]:
    """The s3:prefix conditions of the function's s3:ListBucket grants (each must have one)."""
    return [
        text(s["Condition"]["StringLike"]["s3:prefix"])
        for s in role_statements(cfn, role_of(cfn, function))
        if actions(s) == ["s3:ListBucket"]
    ]


# ---------------------------------------------------------------- the nightly schedule


def test_nightly_schedule_invokes_the_nightly_function_with_its_scheduled_time(cfn):
    """Given the nightly schedule, then it runs on the cron and time zone parameters, is enabled only
    with a transform model, and its input carries <aws.scheduler.scheduled-time> (not the clock)."""
    schedule = schedule_of(cfn, NIGHTLY)
    p = schedule["Properties"]
    assert p["ScheduleExpression"] == {"Ref": "NightlyScheduleExpression"}
    assert p["ScheduleExpressionTimezone"] == {"Ref": "NightlyScheduleTimezone"}
    assert p["State"] == {"Fn::If": ["HasTransformModel", "ENABLED", "DISABLED"]}
    assert p["FlexibleTimeWindow"] == {"Mode": "OFF"}
    assert "Name" not in p, "a fixed schedule name would collide between stacks of one account"
    target = p["Target"]
    assert target["Arn"] == {"Fn::GetAtt": [NIGHTLY, "Arn"]}
    event = json.loads(target["Input"])
    assert event["scheduledTime"] == "<aws.scheduler.scheduled-time>"


def test_nightly_schedule_retries_for_a_day_then_dead_letters(cfn):
    schedule = schedule_of(cfn, NIGHTLY)
    target = schedule["Properties"]["Target"]
    assert target["RetryPolicy"] == {
        "MaximumRetryAttempts": {"Fn::FindInMap": ["Timing", "Schedules", "MaxRetries"]},
        "MaximumEventAgeInSeconds": {"Fn::FindInMap": ["Timing", "Schedules", "RetryWindow"]},
    }
    assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": ["NightlyDLQ", "Arn"]}}


def test_schedule_role_may_only_invoke_the_nightly_function_and_write_its_dlq(cfn):
    schedule = schedule_of(cfn, NIGHTLY)
    role = schedule["Properties"]["Target"]["RoleArn"]["Fn::GetAtt"][0]
    assert sorted((actions(s)[0], text(s["Resource"])) for s in role_statements(cfn, role)) == [
        ("lambda:InvokeFunction", "${NightlyFunction.Arn}"),
        ("sqs:SendMessage", "${NightlyDLQ.Arn}"),
    ]


# ---------------------------------------------------------------- the state-change rule


def test_rule_sends_this_stacks_transform_state_changes_to_the_batch_result_function(cfn):
    """Given the EventBridge rule, then it matches SageMaker transform state changes of jobs named with
    the stack's prefix only, and targets the batch-result function."""
    [rule] = of_type(cfn, "AWS::Events::Rule").values()
    pattern = rule["Properties"]["EventPattern"]
    # SageMaker's own events, and the product's hand-offs of a night (orchestrator/aws/handoff.py).
    assert pattern["source"] == ["aws.sagemaker", handoff.SOURCE]
    assert pattern["detail-type"] == ["SageMaker Transform Job State Change", handoff.DETAIL_TYPE]
    assert pattern["detail"]["TransformJobName"] == [{"prefix": {"Fn::Sub": "${TransformJobPrefix}-"}}]
    assert set(pattern["detail"]["TransformJobStatus"]) == {"InProgress", "Completed", "Failed", "Stopped"}
    assert rule["Properties"]["State"] == {"Fn::If": ["HasTransformModel", "ENABLED", "DISABLED"]}
    [target] = rule["Properties"]["Targets"]
    assert target["Arn"] == {"Fn::GetAtt": [BATCH_RESULT, "Arn"]}
    assert target["RetryPolicy"] == {
        "MaximumRetryAttempts": {"Fn::FindInMap": ["Timing", "Schedules", "MaxRetries"]},
        "MaximumEventAgeInSeconds": {"Fn::FindInMap": ["Timing", "Schedules", "RetryWindow"]},
    }
    assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": ["BatchResultDLQ", "Arn"]}}


def test_the_rule_delivers_the_products_hand_offs_and_sagemakers_events_of_this_stacks_jobs_only(cfn):
    """Played by moto's EventBridge (as the local stack plays the rule): what JobHandOff puts and what
    SageMaker sends for the stack's jobs reach the batch-result function; another prefix's jobs and
    another source's events do not."""
    import boto3
    from moto import mock_aws
    from orchestrator.aws.handoff import JobHandOff, is_handoff
    from orchestrator.workflows.state_change import DETAIL_TYPE as STATE_CHANGE

    [rule] = of_type(cfn, "AWS::Events::Rule").values()
    pattern = json.dumps(rule["Properties"]["EventPattern"]).replace('{"Fn::Sub": "${TransformJobPrefix}-"}', '"sio-"')
    with mock_aws():
        session = boto3.Session(region_name="us-east-1")
        events, sqs = session.client("events"), session.client("sqs")
        url = sqs.create_queue(QueueName="batch-result")["QueueUrl"]
        target = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events.put_rule(Name="transform-state-change", EventPattern=pattern)
        events.put_targets(Rule="transform-state-change", Targets=[{"Id": "batch-result", "Arn": target}])
        hand = JobHandOff(events)
        hand.request("sio-nightly-2026-11-28", "Failed", requested_by="sweeper")
        hand.request("other-nightly-2026-11-28", "Failed", requested_by="sweeper")  # another stack's jobs
        sagemaker = {"TransformJobName": "sio-nightly-2026-11-29", "TransformJobStatus": "Completed"}
        events.put_events(
            Entries=[
                {"Source": "aws.sagemaker", "DetailType": STATE_CHANGE, "Detail": json.dumps(sagemaker)},
                {"Source": "someone-else", "DetailType": handoff.DETAIL_TYPE, "Detail": json.dumps(sagemaker)},
            ]
        )
        received = [
            json.loads(m["Body"])
            for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
        ]
    assert sorted((e["source"], e["detail"]["TransformJobName"]) for e in received) == [
        ("aws.sagemaker", "sio-nightly-2026-11-29"),
        (handoff.SOURCE, "sio-nightly-2026-11-28"),
    ]
    assert [is_handoff(e) for e in sorted(received, key=lambda e: e["source"])] == [False, True]


def test_only_the_sweeper_and_the_batch_result_function_hand_nights_over_with_the_products_source(cfn):
    """A hand-off is one PutEvents on the default bus: granted to the sweeper (a night whose event
    was lost) and the batch-result function (a night continued in a new invocation) only, for the
    product's source and detail type only (events:source, events:detail-type), so neither role can
    put anything else on the bus."""
    holders = {}
    for name in of_type(cfn, "AWS::IAM::Role"):
        for statement in role_statements(cfn, name):
            if any(action.startswith("events:") for action in actions(statement)):
                holders[name] = statement
    assert set(holders) == {role_of(cfn, BATCH_RESULT), role_of(cfn, "SweeperFunction")}
    for statement in holders.values():
        assert actions(statement) == ["events:PutEvents"]
        assert text(statement["Resource"]).endswith(":event-bus/default")
        assert statement["Condition"] == {
            "StringEquals": {"events:source": handoff.SOURCE, "events:detail-type": handoff.DETAIL_TYPE}
        }


def test_only_the_rule_may_send_to_the_batch_result_dlq(cfn):
    """EventBridge needs the queue's permission: an Allow for events.amazonaws.com from this rule only."""
    [rule] = of_type(cfn, "AWS::Events::Rule")
    allows = [
        s
        for policy in of_type(cfn, "AWS::SQS::QueuePolicy").values()
        if {"Ref": "BatchResultDLQ"} in policy["Properties"]["Queues"]
        for s in statements(policy["Properties"]["PolicyDocument"])
        if s["Effect"] == "Allow"
    ]
    [allow] = allows
    assert allow["Principal"] == {"Service": "events.amazonaws.com"}
    assert actions(allow) == ["sqs:SendMessage"]
    assert allow["Resource"] == {"Fn::GetAtt": ["BatchResultDLQ", "Arn"]}
    assert allow["Condition"]["ArnEquals"]["aws:SourceArn"] == {"Fn::GetAtt": [rule, "Arn"]}


# ---------------------------------------------------------------- the functions


@pytest.mark.parametrize(("function", "dlq"), [(NIGHTLY, "NightlyDLQ"), (BATCH_RESULT, "BatchResultDLQ")])
def test_asynchronously_invoked_functions_have_an_on_failure_destination(cfn, function, dlq):
    """Given each function EventBridge invokes asynchronously, then after Lambda's 2 retries a failed
    event goes to its dead-letter queue, which keeps it 14 days, encrypted."""
    [config] = [
        c["Properties"]
        for c in of_type(cfn, "AWS::Lambda::EventInvokeConfig").values()
        if c["Properties"]["FunctionName"] == {"Ref": function}
    ]
    assert config["MaximumRetryAttempts"] == 2
    assert config["DestinationConfig"]["OnFailure"]["Destination"] == {"Fn::GetAtt": [dlq, "Arn"]}
    queue = props(cfn, dlq)
    assert queue["SqsManagedSseEnabled"] is True
    assert queue["MessageRetentionPeriod"] == 1_209_600


def test_batch_functions_code_timeouts_and_environment_follow_the_design_reference(cfn):
    # CodeUri is relative to batch/template.yaml, where `sam build` resolves it.
    assert props(cfn, NIGHTLY)["Code"]["S3Key"] == "../functions/nightly"
    assert props(cfn, BATCH_RESULT)["Code"]["S3Key"] == "../functions/batch_result"
    for function in (NIGHTLY, BATCH_RESULT):
        assert (BATCH.parent / props(cfn, function)["Code"]["S3Key"] / "app.py").is_file(), function
    for function, expected in ((NIGHTLY, NIGHTLY_ENV | TRANSFORM_ENV), (BATCH_RESULT, BATCH_RESULT_ENV)):
        p = props(cfn, function)
        assert p["Timeout"] == 900, function  # they stop themselves a minute before; a retry carries on
        variables = p["Environment"]["Variables"]
        assert_environment(variables, expected, POWERTOOLS_ENV, function)
        assert variables["AWS_ENDPOINT_URL"] == "", function
    router = props(cfn, ROUTER)["Environment"]["Variables"]
    for name in TRANSFORM_ENV:  # the router and the nightly function start jobs with the same options
        assert router[name] == props(cfn, NIGHTLY)["Environment"]["Variables"][name], name
    nightly = props(cfn, NIGHTLY)["Environment"]["Variables"]
    assert nightly["NIGHTLY_SCHEDULE_TIMEZONE"] == {"Ref": "NightlyScheduleTimezone"}  # nights named in it
    assert nightly["NIGHTLY_SCHEDULE_EXPRESSION"] == {"Ref": "NightlyScheduleExpression"}
    assert nightly["ERROR_TOPIC_ARN"] == {"Ref": "ErrorTopic"}


# ---------------------------------------------------------------- least privilege


def test_transform_jobs_are_granted_only_under_the_stacks_job_prefix_and_no_role_is_passed(cfn):
    """Given every role, then transform-job actions name the stack's lowercase job prefix only, only the
    router, the nightly function and the batch-result function (retry jobs of a failed night, nightly
    jobs only) may start jobs (the sweeper only describes the stack's jobs: a finished night is handed
    to the batch-result function), and no role may pass a role (CreateTransformJob takes
    none: the model's execution role runs the job)."""
    holders = set()
    for name in of_type(cfn, "AWS::IAM::Role"):
        for statement in role_statements(cfn, name):
            assert not any(a.startswith("iam:") for a in actions(statement)), name
            if set(actions(statement)) & TRANSFORM_ACTIONS and statement["Effect"] == "Allow":
                holders.add(name)
                if name == role_of(cfn, "SweeperFunction"):
                    assert (actions(statement), text(statement["Resource"])) in (
                        (["sagemaker:DescribeTransformJob"], JOB_ARN + "*"),
                        (["sagemaker:CreateTransformJob"], JOB_ARN + "nightly-*"),
                    ), name
                else:
                    # One action a statement: CreateTransformJob carries conditions (test_iam_scope.py).
                    assert len(actions(statement)) == 1 and set(actions(statement)) <= TRANSFORM_ACTIONS, name
                assert text(statement["Resource"]) in (JOB_ARN + "*", JOB_ARN + "nightly-*"), name
    assert holders == {
        role_of(cfn, ROUTER),
        role_of(cfn, NIGHTLY),
        role_of(cfn, BATCH_RESULT),
        role_of(cfn, "SweeperFunction"),
    }
    for function in (NIGHTLY, BATCH_RESULT):
        assert sorted(granted(cfn, function, "sagemaker:")) == [
            ([action], JOB_ARN + "nightly-*") for action in sorted(TRANSFORM_ACTIONS)
        ]


def test_router_starts_per_file_jobs_only_with_a_transform_model(cfn):
    """Given the router's role, then its transform-job and manifest statements sit behind HasTransformModel
    (with the Deny that keeps them off the nightly names, test_iam_scope.py)."""
    policies = cfn["Resources"][role_of(cfn, ROUTER)]["Properties"]["Policies"]
    raw = [item for p in policies for item in as_list(p["PolicyDocument"]["Statement"])]
    guarded = [item["Fn::If"][1] for item in raw if "Fn::If" in item and item["Fn::If"][0] == "HasTransformModel"]
    assert sorted((sorted(actions(s)), text(s["Resource"])) for s in guarded if s["Effect"] == "Allow") == [
        (["s3:PutObject"], "arn:${AWS::Partition}:s3:::${AWS::StackName}-${AWS::AccountId}-${AWS::Region}"
         "/${OutputPrefix}batch/${TransformJobPrefix}-*"),
        (["sagemaker:CreateTransformJob"], JOB_ARN + "*"),
        (["sagemaker:DescribeTransformJob"], JOB_ARN + "*"),
    ]  # fmt: skip
    assert [s["Sid"] for s in guarded if s["Effect"] == "Deny"] == ["NotTheNightlyJobs"]
    assert cfn["Conditions"]["HasTransformModel"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "TransformModelName"}, ""]}]}


def test_nightly_function_queries_the_in_flight_index_and_writes_only_its_artifacts(cfn):
    """It writes and reads its own artifacts, lists them only to find a night's jobs (a re-run), and
    publishes on the error topic only (a superseded version of a key is SKIPPED)."""
    assert sorted(granted(cfn, NIGHTLY, "dynamodb:")) == [
        (["dynamodb:BatchGetItem", "dynamodb:UpdateItem"], "${TrackerTable.Arn}"),
        (["dynamodb:Query"], "${TrackerTable.Arn}/index/InFlight"),
    ]
    assert sorted(granted(cfn, NIGHTLY, "s3:")) == [
        (["s3:GetObject", "s3:PutObject"], NIGHTLY_ARTIFACTS),
        (["s3:ListBucket"], "${InputBucket.Arn}"),
    ]
    assert listing_prefixes(cfn, NIGHTLY) == ["${OutputPrefix}batch/${TransformJobPrefix}-nightly-*"]
    topics = [
        name
        for s in role_statements(cfn, role_of(cfn, NIGHTLY))
        if actions(s) == ["sns:Publish"]
        for name in references(s["Resource"])
    ]
    assert topics == ["ErrorTopic"]


def test_batch_result_function_reads_rosters_updates_items_and_publishes_results(cfn):
    """Besides rosters, items and topics: a failed night's outputs are looked up (GetObject for
    HeadObject, ListBucket so a missing one is a 404) and its retry jobs started, with their manifests
    and rosters written, all under the nightly jobs' names only."""
    assert granted(cfn, BATCH_RESULT, "dynamodb:") == [
        (["dynamodb:BatchGetItem", "dynamodb:UpdateItem"], "${TrackerTable.Arn}")
    ]
    assert sorted(granted(cfn, BATCH_RESULT, "s3:")) == [
        (["s3:GetObject", "s3:PutObject"], NIGHTLY_ARTIFACTS),
        (["s3:ListBucket"], "${InputBucket.Arn}"),
    ]
    assert listing_prefixes(cfn, BATCH_RESULT) == ["${OutputPrefix}batch/${TransformJobPrefix}-nightly-*"]
    assert sorted(granted(cfn, BATCH_RESULT, "sagemaker:")) == [
        ([action], JOB_ARN + "nightly-*") for action in sorted(TRANSFORM_ACTIONS)
    ]
    topics = [
        name
        for s in role_statements(cfn, role_of(cfn, BATCH_RESULT))
        if actions(s) == ["sns:Publish"]
        for name in references(s["Resource"])
    ]
    assert sorted(topics) == ["ErrorTopic", "SuccessTopic"]


def test_transform_execution_policy_lets_the_model_read_inputs_and_manifests_and_write_predictions(cfn):
    policy = cfn["Resources"]["TransformExecutionPolicy"]
    assert policy["Condition"] == "HasTransformModel"
    granted_ = {
        (tuple(sorted(actions(s))), text(s["Resource"])) for s in statements(policy["Properties"]["PolicyDocument"])
    }
    # Predictions only under a job's S3OutputPath (<OutputPrefix>batch/<job>/output): never over a manifest
    # or a roster beside it.
    assert granted_ == {
        (("s3:GetObject",), "${InputBucket.Arn}/${InputPrefix}*"),
        (("s3:GetObject",), "${InputBucket.Arn}/${OutputPrefix}batch/${TransformJobPrefix}-*"),
        (("s3:PutObject",), "${InputBucket.Arn}/${OutputPrefix}batch/${TransformJobPrefix}-*/output/*"),
    }
    assert cfn["Outputs"]["TransformExecutionPolicyArn"]["Condition"] == "HasTransformModel"
    assert {"NightlyFunctionName", "BatchResultFunctionName", "NightlyDeadLetterQueueUrl"} <= set(cfn["Outputs"])


# ---------------------------------------------------------------- parameters and cross-parameter rules


def test_payload_times_concurrency_over_100_is_refused_for_every_combination(source_template):
    """Given every MaxPayloadInMB (0-100) and MaxConcurrentTransforms (1-100), then the Rules refuse the
    deployment exactly when the product exceeds 100, naming both parameters."""
    for payload, concurrency in product(range(101), range(1, 101)):
        failures = rejected_by(
            source_template,
            TransformMaxPayloadInMB=str(payload),
            TransformMaxConcurrentTransforms=str(concurrency),
        )
        assert bool(failures) == (payload * concurrency > 100), (payload, concurrency)
        for failure in failures:
            assert "TransformMaxPayloadInMB" in failure and "TransformMaxConcurrentTransforms" in failure


def test_batch_strategy_without_split_type_is_refused_naming_both(source_template):
    assert rejected_by(source_template, TransformBatchStrategy="MultiRecord", TransformSplitType="Line") == []
    [failure] = rejected_by(source_template, TransformBatchStrategy="MultiRecord", TransformSplitType="None")
    assert "TransformBatchStrategy" in failure and "TransformSplitType" in failure
    assert rejected_by(source_template, TransformBatchStrategy="", TransformSplitType="None") == []


def test_defaults_pass_every_rule(source_template):
    assert rejected_by(source_template) == []


def test_the_longest_prefix_still_fits_every_job_name(source_template):
    """Per-file jobs, the night's re-runs and retry jobs, with a night named by its local time on the
    second pass of an autumn hour (orchestrator.core.nights), all fit SageMaker's 63 characters."""
    from orchestrator.core import nights

    longest = "a" * 30
    assert accepts(source_template["Parameters"]["TransformJobPrefix"], longest)
    night = "2026-10-25-0230b"
    names = [
        f"{longest}-{'0' * 32}",
        nights.rerun_job(longest, night, 99),
        nights.retry_job(longest, night, nights.rerun_job(longest, night, 99), ["a" * 32]),
    ]
    for name in names:
        assert len(name) <= 63 and re.fullmatch(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}", name), name
