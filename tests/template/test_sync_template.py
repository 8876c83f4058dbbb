"""The synchronous modes in the template: the scorer's role, its queue's timing, the router's hand-off."""

from __future__ import annotations

from typing import Any

from orchestrator.core import budgets, deadlines

from tests.template.cfn import actions, env, number, props, references, role_of, role_statements, text

SCORER = "ScorerFunction"
BUCKET_ARN = "arn:${AWS::Partition}:s3:::${AWS::StackName}-${AWS::AccountId}-${AWS::Region}"
ENDPOINT_ARN = "arn:${AWS::Partition}:sagemaker:${AWS::Region}:${AWS::AccountId}:endpoint/"


def _granted(cfn: dict[str, Any]) -> list[tuple[list[str], list[str]]]:
    return [
        (actions(s), [text(r) for r in (s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]])])
        for s in role_statements(cfn, role_of(cfn, SCORER))
    ]


def test_the_scorer_may_do_only_what_it_does(cfn):
    """Given the scorer's role: poll its own queue, UpdateItem on the table, InvokeEndpoint on the two
    configured endpoints only (each behind its condition), read under InputPrefix, write under
    <OutputPrefix>realtime/ and serverless/, publish on the two topics."""
    granted = _granted(cfn)
    invoke = [resources for acts, resources in granted if acts == ["sagemaker:InvokeEndpoint"]]
    assert invoke == [[ENDPOINT_ARN + "${RealtimeEndpointName}"], [ENDPOINT_ARN + "${ServerlessEndpointName}"]]
    assert (["dynamodb:UpdateItem"], ["${TrackerTable.Arn}"]) in granted
    assert (["s3:GetObject", "s3:GetObjectVersion"], [BUCKET_ARN + "/${InputPrefix}*"]) in granted
    assert (
        ["s3:PutObject"],
        [BUCKET_ARN + "/${OutputPrefix}realtime/*", BUCKET_ARN + "/${OutputPrefix}serverless/*"],
    ) in granted
    # A takeover of a crashed scorer's claim looks for the result instead of calling the model again.
    assert (
        ["s3:GetObject"],
        [BUCKET_ARN + "/${OutputPrefix}realtime/*", BUCKET_ARN + "/${OutputPrefix}serverless/*"],
    ) in granted
    assert (["s3:ListBucket"], [BUCKET_ARN]) in granted
    services = {a.split(":")[0] for acts, _ in granted for a in acts}
    assert services == {"sqs", "dynamodb", "sagemaker", "s3", "sns"}
    statements = role_statements(cfn, role_of(cfn, SCORER))
    topics = {name for s in statements if "sns:Publish" in actions(s) for name in references(s["Resource"])}
    assert topics == {"SuccessTopic", "ErrorTopic"}
    conditions = {
        item["Fn::If"][0]
        for policy in cfn["Resources"][role_of(cfn, SCORER)]["Properties"]["Policies"]
        for item in (policy["PolicyDocument"]["Statement"])
        if isinstance(item, dict) and "Fn::If" in item
    }
    assert conditions == {"HasRealtimeEndpoint", "HasServerlessEndpoint"}


def test_the_scorer_claim_outlives_an_invocation_and_expires_before_the_redelivery(cfn):
    timeout = number(cfn, props(cfn, SCORER)["Timeout"])
    claim = number(cfn, env(cfn, SCORER)["SCORER_CLAIM_TIMEOUT_SECONDS"])
    visibility = number(cfn, props(cfn, "ScorerQueue")["VisibilityTimeout"])
    assert timeout < claim and timeout + claim <= visibility
    assert visibility >= 6 * timeout  # Lambda's advice for SQS event sources
    # One file at worst, from the budgets its clients are built with (orchestrator/core/budgets.py).
    assert timeout >= budgets.scorer_min_function_timeout_seconds()


def test_sync_deadlines_use_the_scorer_queues_numbers(cfn):
    """Given the deadline variables every function reads, then a sync file's deadline is the scorer
    queue's retention (and its DLQ's, the same parameter) plus grace: a file waiting in a backlog or a
    DLQ is never closed before SQS could have deleted its message."""
    variables = env(cfn, SCORER)
    queue, dlq = props(cfn, "ScorerQueue"), props(cfn, "ScorerDLQ")
    retention = number(cfn, variables["QUEUE_RETENTION_SECONDS"])
    assert number(cfn, queue["MessageRetentionPeriod"]) == number(cfn, dlq["MessageRetentionPeriod"]) == retention
    assert deadlines.DeadlineSettings(queue_retention_seconds=retention).submitted_sync == retention + 900


def test_the_router_hands_files_over_only_when_a_sync_endpoint_is_set(cfn):
    """Given the router's role, then with a sync endpoint (only then) it may send to the scorer queue
    and read that queue's depth (spill rules), on that queue alone."""
    variables = env(cfn, "RouterFunction")
    assert variables["SCORER_QUEUE_URL"] == {"Fn::If": ["HasSyncEndpoint", {"Ref": "ScorerQueue"}, ""]}
    assert variables["ROUTING_RULES"] == {"Ref": "RoutingRules"}
    policies = cfn["Resources"][role_of(cfn, "RouterFunction")]["Properties"]["Policies"]
    sends = [
        item["Fn::If"]
        for policy in policies
        for item in policy["PolicyDocument"]["Statement"]
        if isinstance(item, dict) and "Fn::If" in item and item["Fn::If"][0] == "HasSyncEndpoint"
    ]
    assert [(c, actions(s), s["Resource"]) for c, s, _ in sends] == [
        ("HasSyncEndpoint", ["sqs:SendMessage", "sqs:GetQueueAttributes"], {"Fn::GetAtt": ["ScorerQueue", "Arn"]})
    ]
    router = role_statements(cfn, role_of(cfn, "RouterFunction"))
    depth_reads = [
        s["Resource"] for s in router if "sqs:GetQueueAttributes" in actions(s) and "Fn::Sub" not in s["Resource"]
    ]
    assert depth_reads == [{"Fn::GetAtt": ["ScorerQueue", "Arn"]}]  # its own queue's is SQSPollerPolicy's


def test_the_scorer_mapping_takes_one_file_at_a_time_with_a_concurrency_cap(cfn):
    [mapping] = [
        m["Properties"]
        for m in cfn["Resources"].values()
        if m["Type"] == "AWS::Lambda::EventSourceMapping" and m["Properties"]["FunctionName"] == {"Ref": SCORER}
    ]
    assert number(cfn, mapping["BatchSize"]) == 1
    assert mapping["ScalingConfig"]["MaximumConcurrency"] == {"Ref": "ScorerMaximumConcurrency"}
