"""The stack as CloudFormation will see it: template.yaml translated offline by aws-sam-translator.

Each test states one hardening or wiring rule of docs/architecture.md / the README's design reference.
"""

from __future__ import annotations

import re
from graphlib import CycleError, TopologicalSorter
from typing import Any

import pytest
from orchestrator.core import budgets, deadlines, messages

from tests.template.cfn import (
    DEADLINE_ENV,
    actions,
    as_list,
    assert_environment,
    dead_letter_queues,
    env,
    number,
    of_type,
    props,
    references,
    role_of,
    role_statements,
    schedule_of,
    statements,
    text,
)
from tests.template.stack import BATCH, ROOT

ROUTER, TRACKER, SCORER = "RouterFunction", "TrackerFunction", "ScorerFunction"
NIGHTLY, BATCH_RESULT = "NightlyFunction", "BatchResultFunction"  # more in test_batch_template.py

# AWS managed policies SAM attaches, each with resources "*" by its nature (documented exceptions):
ALLOWED_MANAGED_POLICIES = {
    # CloudWatch Logs: create the function's log stream and write to it.
    "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
    # Tracing: Active. X-Ray's PutTraceSegments/PutTelemetryRecords accept no resource but "*".
    "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess",
}
# Inline actions that may name Resource "*" because the service has no resource-level permissions.
STAR_RESOURCE_ACTIONS = {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}
# The wildcard shapes allowed in a resource: S3 objects under a configured prefix, and transform jobs
# (and their S3 artifacts) named with the stack's job prefix.
PREFIX_OBJECTS = re.compile(
    r"/\$\{(InputPrefix|OutputPrefix)\}(async/|async-failures/|realtime/|serverless/)?\*$"
    r"|/\$\{TransformJobPrefix\}-(nightly-)?\*(/output/\*|/handoff\.json)?$"
)

ROUTER_ENV = {
    "TRACKER_TABLE", "SUCCESS_TOPIC_ARN", "ERROR_TOPIC_ARN", "ASYNC_ENDPOINT_NAME",
    "CONTENT_TYPES", "READ_OBJECT_METADATA", "REQUESTABLE_MODES", "INPUT_BUCKET",
    "INPUT_PREFIX", "NIGHTLY_PREFIX", "BATCH_PREFIX", "OUTPUT_PREFIX", "ASYNC_MAX_BYTES",
    "RECORD_RETENTION_DAYS", "AWS_ENDPOINT_URL",
    "TRANSFORM_MODEL_NAME", "TRANSFORM_JOB_PREFIX", "TRANSFORM_INSTANCE_TYPE", "TRANSFORM_INSTANCE_COUNT",
    "TRANSFORM_MAX_PAYLOAD_MB", "TRANSFORM_MAX_CONCURRENT_TRANSFORMS", "TRANSFORM_BATCH_STRATEGY",
    "TRANSFORM_SPLIT_TYPE", "TRANSFORM_ASSEMBLE_WITH", "TRANSFORM_ACCEPT", "TRANSFORM_CONTENT_TYPE",
    "TRANSFORM_JOIN_SOURCE", "TRANSFORM_INPUT_FILTER", "TRANSFORM_OUTPUT_FILTER",
    "REALTIME_ENDPOINT_NAME", "SERVERLESS_ENDPOINT_NAME", "SCORER_QUEUE_URL", "ROUTING_RULES",
}  # fmt: skip
TRACKER_ENV = {
    "TRACKER_TABLE", "RECORD_RETENTION_DAYS", "AWS_ENDPOINT_URL", "ASYNC_ENDPOINT_NAME", "TRANSFORM_JOB_PREFIX",
    "INPUT_BUCKET", "OUTPUT_PREFIX",
}  # fmt: skip
POWERTOOLS_ENV = {"POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE", "POWERTOOLS_LOG_LEVEL"} | DEADLINE_ENV


def consumer_of(cfn: dict[str, Any], queue: str) -> str | None:
    for mapping in of_type(cfn, "AWS::Lambda::EventSourceMapping").values():
        if references(mapping["Properties"]["EventSourceArn"]) == {queue}:
            return mapping["Properties"]["FunctionName"]["Ref"]
    return None


def queue_policy_statements(cfn: dict[str, Any], queue: str) -> list[dict[str, Any]]:
    return [
        statement
        for policy in of_type(cfn, "AWS::SQS::QueuePolicy").values()
        if {"Ref": queue} in policy["Properties"]["Queues"]
        for statement in statements(policy["Properties"]["PolicyDocument"])
    ]


def denies_insecure_transport(statement: dict[str, Any]) -> bool:
    return (
        statement["Effect"] == "Deny"
        and statement["Principal"] == "*"
        and statement.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport") in ("false", False)
    )


# ---------------------------------------------------------------- the whole graph


def test_translated_stack_has_no_dependency_cycle(cfn):
    """Given the translated template, when resources are ordered by Ref/GetAtt/Sub/DependsOn,
    then an order exists (the S3 notification / queue policy cycle is avoided)."""
    names = set(cfn["Resources"])
    graph = {
        name: (references(r.get("Properties", {})) | set(as_list(r.get("DependsOn", [])))) & names
        for name, r in cfn["Resources"].items()
    }
    try:
        tuple(TopologicalSorter(graph).static_order())
    except CycleError as exc:  # pragma: no cover - the failure message is the point
        pytest.fail(f"dependency cycle: {exc.args[1]}")


# ---------------------------------------------------------------- input bucket


def test_input_bucket_is_versioned_encrypted_private_and_owner_enforced(cfn):
    """Given the input bucket, then it keeps versions, encrypts by default, blocks all public access
    and disables ACLs."""
    bucket = props(cfn, "InputBucket")
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}
    [rule] = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in ("AES256", "aws:kms", "aws:kms:dsse")
    assert bucket["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert bucket["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}


def test_input_bucket_policy_denies_requests_without_tls_on_bucket_and_objects(cfn):
    """Given the bucket policy, then a Deny on aws:SecureTransport=false covers the bucket and its objects."""
    [policy] = of_type(cfn, "AWS::S3::BucketPolicy").values()
    assert policy["Properties"]["Bucket"] == {"Ref": "InputBucket"}
    denials = [s for s in statements(policy["Properties"]["PolicyDocument"]) if denies_insecure_transport(s)]
    assert denials, "no TLS-only statement"
    covered = {text(r) for s in denials for r in as_list(s["Resource"])}
    assert {"${InputBucket.Arn}", "${InputBucket.Arn}/*"} <= covered
    assert {a for s in denials for a in actions(s)} == {"s3:*"}


def test_input_bucket_and_stateful_data_survive_stack_deletion_and_replacement(cfn):
    """Given the bucket and the tracker table, then both are retained on delete and on replacement."""
    for name in ("InputBucket", "TrackerTable"):
        resource = cfn["Resources"][name]
        assert (resource.get("DeletionPolicy"), resource.get("UpdateReplacePolicy")) == ("Retain", "Retain"), name


def test_objects_created_under_the_input_prefix_notify_the_router_queue(cfn):
    """Given the bucket's notification, then every ObjectCreated under InputPrefix goes to RouterQueue."""
    [config] = props(cfn, "InputBucket")["NotificationConfiguration"]["QueueConfigurations"]
    assert config["Event"] == "s3:ObjectCreated:*"
    assert config["Queue"] == {"Fn::GetAtt": ["RouterQueue", "Arn"]}
    assert config["Filter"]["S3Key"]["Rules"] == [{"Name": "prefix", "Value": {"Ref": "InputPrefix"}}]


def test_router_queue_accepts_notifications_from_the_input_bucket_only(cfn):
    """Given the router queue's policy, then only S3, for this bucket in this account, may send,
    and the bucket waits for that policy (S3 validates the destination on creation)."""
    bucket_arn = "arn:${AWS::Partition}:s3:::" + text(props(cfn, "InputBucket")["BucketName"])
    [allow] = [s for s in queue_policy_statements(cfn, "RouterQueue") if s["Effect"] == "Allow"]
    assert allow["Principal"] == {"Service": "s3.amazonaws.com"}
    assert actions(allow) == ["sqs:SendMessage"]
    assert text(allow["Condition"]["ArnEquals"]["aws:SourceArn"]) == bucket_arn
    assert allow["Condition"]["StringEquals"]["aws:SourceAccount"] == {"Ref": "AWS::AccountId"}
    assert "RouterQueuePolicy" in as_list(cfn["Resources"]["InputBucket"]["DependsOn"])


# ---------------------------------------------------------------- queues


def test_every_queue_is_encrypted_and_denies_requests_without_tls(cfn):
    """Given every SQS queue, then it is encrypted at rest and a queue policy denies non-TLS access."""
    queues = of_type(cfn, "AWS::SQS::Queue")
    assert queues
    for name, queue in queues.items():
        encryption = queue["Properties"]
        assert encryption.get("SqsManagedSseEnabled") is True or "KmsMasterKeyId" in encryption, name
        assert any(denies_insecure_transport(s) for s in queue_policy_statements(cfn, name)), name


def test_every_work_queue_redrives_to_a_dead_letter_queue_after_at_least_5_receives(cfn):
    """Given every queue that is not itself a DLQ, then it redrives to a DLQ with maxReceiveCount >= 5."""
    dlqs = dead_letter_queues(cfn)
    work_queues = set(of_type(cfn, "AWS::SQS::Queue")) - dlqs
    assert work_queues == {"RouterQueue", "TrackerQueue", "ScorerQueue"}
    for name in work_queues:
        redrive = props(cfn, name)["RedrivePolicy"]
        assert references(redrive["deadLetterTargetArn"]) <= dlqs, name
        assert number(cfn, redrive["maxReceiveCount"]) >= 5, name


def test_dead_letter_queues_keep_messages_as_long_as_the_work_they_bound(cfn):
    """Given each DLQ, then it keeps messages at least as long as its source queue: the DLQs of queued
    work (router, scorer) exactly QueueRetentionSeconds, like their sources (SQS counts from the first
    send, so that is how long a file's message can still be redriven: its deadline); the others the
    SQS maximum."""
    queued_work = {"RouterDLQ": "RouterQueue", "ScorerDLQ": "ScorerQueue"}
    for name in dead_letter_queues(cfn):
        retention = props(cfn, name)["MessageRetentionPeriod"]
        if name in queued_work:
            assert retention == {"Ref": "QueueRetentionSeconds"}, name
            assert props(cfn, queued_work[name])["MessageRetentionPeriod"] == retention, name
        else:
            assert retention == 1_209_600, name


def test_every_work_queue_has_an_age_alarm(cfn, monitored):
    """Given each work queue (not a DLQ), then an alarm (in the Monitoring stack) watches
    ApproximateAgeOfOldestMessage on it: queued work is bounded by the retention, and someone is paged long before."""
    watched = {
        dimension["Value"]["Fn::GetAtt"][0]
        for alarm in of_type(monitored, "AWS::CloudWatch::Alarm")
        if props(monitored, alarm).get("MetricName") == "ApproximateAgeOfOldestMessage"
        for dimension in props(monitored, alarm)["Dimensions"]
    }
    assert set(of_type(cfn, "AWS::SQS::Queue")) - dead_letter_queues(cfn) <= watched


def test_every_work_queue_visibility_is_at_least_6_times_its_consumer_timeout(cfn):
    """Given each queue with a Lambda consumer, then VisibilityTimeout >= 6 x the function's Timeout."""
    for name in set(of_type(cfn, "AWS::SQS::Queue")) - dead_letter_queues(cfn):
        consumer = consumer_of(cfn, name)
        assert consumer, f"{name} has no consumer"
        visibility = number(cfn, props(cfn, name)["VisibilityTimeout"])
        assert visibility >= 6 * number(cfn, props(cfn, consumer)["Timeout"]), name


def test_event_source_mappings_report_partial_failures_and_cap_concurrency(cfn):
    """Given each SQS event source mapping, then it reports batch item failures and has MaximumConcurrency."""
    mappings = of_type(cfn, "AWS::Lambda::EventSourceMapping")
    assert {m["Properties"]["FunctionName"]["Ref"] for m in mappings.values()} == {ROUTER, TRACKER, SCORER}
    for name, mapping in mappings.items():
        assert mapping["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"], name
        assert mapping["Properties"]["ScalingConfig"]["MaximumConcurrency"], name


def test_every_function_sends_what_failed_to_a_dead_letter_queue(cfn):
    """Given each function, then what fails in it is kept in a dead-letter queue: an SQS-triggered
    function's queue redrives to one, an asynchronously invoked function has an on-failure destination
    (checkov's function-DLQ check, skipped stack-wide in .checkov.yaml, covers neither form)."""
    dlqs = dead_letter_queues(cfn)
    polled = {
        references(m["Properties"]["FunctionName"]).pop(): references(m["Properties"]["EventSourceArn"]).pop()
        for m in of_type(cfn, "AWS::Lambda::EventSourceMapping").values()
    }
    on_failure = {
        references(c["Properties"]["FunctionName"]).pop(): references(c["Properties"]["DestinationConfig"]["OnFailure"])
        for c in of_type(cfn, "AWS::Lambda::EventInvokeConfig").values()
        if "OnFailure" in c["Properties"].get("DestinationConfig", {})
    }
    for function in of_type(cfn, "AWS::Lambda::Function"):
        if function in polled:
            redrive = props(cfn, polled[function])["RedrivePolicy"]
            assert references(redrive["deadLetterTargetArn"]) <= dlqs, function
        else:
            assert on_failure.get(function) and on_failure[function] <= dlqs, function


def test_router_batch_size_and_concurrency_come_from_parameters(cfn):
    """Given the router's event source mapping, then batch size and MaximumConcurrency are parameters."""
    [mapping] = [
        m["Properties"]
        for m in of_type(cfn, "AWS::Lambda::EventSourceMapping").values()
        if m["Properties"]["FunctionName"] == {"Ref": ROUTER}
    ]
    assert mapping["EventSourceArn"] == {"Fn::GetAtt": ["RouterQueue", "Arn"]}
    assert mapping["BatchSize"] == {"Ref": "RouterBatchSize"}
    assert mapping["ScalingConfig"]["MaximumConcurrency"] == {"Ref": "RouterMaximumConcurrency"}


def test_router_claim_outlives_an_invocation_and_expires_before_the_retry(cfn):
    """Given CLAIM_TIMEOUT_SECONDS, then it exceeds the router's Timeout (a running claim is never taken
    over) and a claim taken at the end of an invocation expires before the message is visible again."""
    claim = number(cfn, env(cfn, ROUTER)["CLAIM_TIMEOUT_SECONDS"])
    timeout = number(cfn, props(cfn, ROUTER)["Timeout"])
    assert timeout < claim
    assert timeout + claim <= number(cfn, props(cfn, "RouterQueue")["VisibilityTimeout"])


def test_router_timeout_holds_one_whole_record_after_the_last_start(cfn):
    """Given the router's clients' call budget (orchestrator/core/budgets.py), then the Lambda Timeout is at
    least one record's worst case plus a margin: the router starts a record only when it fits, so no
    record is ever killed halfway (scored, not confirmed) by the timeout."""
    timeout = number(cfn, props(cfn, ROUTER)["Timeout"])
    assert timeout >= budgets.min_function_timeout_seconds()
    assert budgets.record_budget_ms() < timeout * 1000


def test_deadline_numbers_every_function_reads_are_the_ones_the_queues_and_schedules_use(cfn):
    """Given the deadline variables (Globals), then they name the same numbers as the queues' retention,
    the claim and the nightly schedule's retry window."""
    variables = env(cfn, ROUTER)
    queue = props(cfn, "RouterQueue")
    nightly_schedule = schedule_of(cfn, NIGHTLY)["Properties"]["Target"]
    retry_window = number(cfn, nightly_schedule["RetryPolicy"]["MaximumEventAgeInSeconds"])
    assert number(cfn, variables["NIGHTLY_RETRY_WINDOW_SECONDS"]) == retry_window
    # A RECEIVED file's deadline is the router queue's retention (its DLQ's too) plus grace.
    retention = number(cfn, variables["QUEUE_RETENTION_SECONDS"])
    assert number(cfn, queue["MessageRetentionPeriod"]) == retention
    assert number(cfn, props(cfn, "RouterDLQ")["MessageRetentionPeriod"]) == retention
    received = deadlines.DeadlineSettings(queue_retention_seconds=retention).received
    assert received == 345600 + 900
    for function in of_type(cfn, "AWS::Lambda::Function"):
        assert env(cfn, function)["CLAIM_TIMEOUT_SECONDS"] == variables["CLAIM_TIMEOUT_SECONDS"], function


# ---------------------------------------------------------------- topics and tracker queue


def test_result_topics_are_encrypted(cfn):
    """Given both result topics (and the alarm topic, tests/template/test_monitoring.py), then each is
    encrypted with a KMS key."""
    topics = of_type(cfn, "AWS::SNS::Topic")
    assert set(topics) == {"SuccessTopic", "ErrorTopic", "AlarmTopic"}
    for name, topic in topics.items():
        assert topic["Properties"]["KmsMasterKeyId"], name


def test_tracker_queue_subscribes_to_both_topics_with_raw_delivery_and_a_dlq(cfn):
    """Given the SNS subscriptions, then both topics deliver raw messages to TrackerQueue,
    and what SNS cannot deliver lands in TrackerDLQ."""
    subscriptions = [
        s["Properties"]
        for s in of_type(cfn, "AWS::SNS::Subscription").values()
        if s["Properties"]["TopicArn"] != {"Ref": "AlarmTopic"}  # AlarmEmail: tests/template/test_monitoring.py
    ]
    assert sorted(s["TopicArn"]["Ref"] for s in subscriptions) == ["ErrorTopic", "SuccessTopic"]
    for subscription in subscriptions:
        assert subscription["Protocol"] == "sqs"
        assert subscription["Endpoint"] == {"Fn::GetAtt": ["TrackerQueue", "Arn"]}
        assert subscription["RawMessageDelivery"] in (True, "true")
        assert references(subscription["RedrivePolicy"]["deadLetterTargetArn"]) == {"TrackerDLQ"}
    # The product's own successes (recorded by whoever announced them, and derived again by a retry)
    # stay out of the tracker's queue; every failure reaches it, the product's included.
    [success] = [s for s in subscriptions if s["TopicArn"] == {"Ref": "SuccessTopic"}]
    assert success["FilterPolicyScope"] == "MessageBody"
    assert success["FilterPolicy"] == {"eventSource": [{"anything-but": messages.EVENT_SOURCE}]}
    [error] = [s for s in subscriptions if s["TopicArn"] == {"Ref": "ErrorTopic"}]
    assert "FilterPolicy" not in error and "FilterPolicyScope" not in error


def test_tracker_queue_accepts_messages_from_the_two_topics_only(cfn):
    """Given the tracker queue's policy, then its only Allow is SNS SendMessage from the two topics."""
    allows = [s for s in queue_policy_statements(cfn, "TrackerQueue") if s["Effect"] == "Allow"]
    assert len(allows) == 1
    [allow] = allows
    assert allow["Principal"] == {"Service": "sns.amazonaws.com"}
    assert actions(allow) == ["sqs:SendMessage"]
    sources = as_list(allow["Condition"]["ArnEquals"]["aws:SourceArn"])
    assert sorted(s["Ref"] for s in sources) == ["ErrorTopic", "SuccessTopic"]


# ---------------------------------------------------------------- tracker table


def test_tracker_table_is_on_demand_recoverable_encrypted_and_expires_items(cfn):
    """Given the tracker table, then it is on-demand, with PITR, SSE and TTL on expires_at."""
    table = props(cfn, "TrackerTable")
    assert table["BillingMode"] == "PAY_PER_REQUEST"
    assert table["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert table["SSESpecification"]["SSEEnabled"] is True
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}


def test_tracker_table_keys_and_indexes_match_the_design_reference(cfn):
    """Given the tracker table, then the key is request_id; ByObject projects only its keys (a status
    change rewrites no entry of it); the sparse in-flight index (inflight = <STATUS>#<shard>,
    deadline_at) projects exactly what its readers ask for; the sparse outcome index (outcome =
    <STATUS>#<shard>, status_since) projects only the keys and what `sio status` prints."""
    table = props(cfn, "TrackerTable")
    types = {a["AttributeName"]: a["AttributeType"] for a in table["AttributeDefinitions"]}
    keys = ["request_id", "object_uri", "created_at", "inflight", "deadline_at", "outcome", "status_since"]
    assert types == dict.fromkeys(keys, "S")
    assert table["KeySchema"] == [{"AttributeName": "request_id", "KeyType": "HASH"}]
    indexes = {i["IndexName"]: i for i in table["GlobalSecondaryIndexes"]}
    expected = {
        "ByObject": ("object_uri", "created_at"),
        deadlines.INDEX: ("inflight", "deadline_at"),
        deadlines.OUTCOME_INDEX: ("outcome", "status_since"),
    }
    assert set(indexes) == set(expected)
    for name, (hash_key, range_key) in expected.items():
        assert indexes[name]["KeySchema"] == [
            {"AttributeName": hash_key, "KeyType": "HASH"},
            {"AttributeName": range_key, "KeyType": "RANGE"},
        ]
    assert indexes["ByObject"]["Projection"] == {"ProjectionType": "KEYS_ONLY"}
    inflight = indexes[deadlines.INDEX]["Projection"]
    assert inflight["ProjectionType"] == "INCLUDE"
    # Every attribute a reader of the index asks for, and no more: the sweeper's, the nightly run's
    # (with the status_since of its filter) and what `sio status --status` prints of an item.
    from orchestrator.workflows import nightly, sweeper

    printed = {"created_at", "key", "version_id", "mode", "status", "status_since", "output_location"}
    printed |= {"failure_reason", "job_name", "endpoint_name"}  # sio's "output or reason" column
    readers = set(sweeper._ATTRIBUTES) | set(nightly._COLLECTED) | {"status_since"} | printed
    keys = {"request_id", "inflight", "deadline_at"}
    assert set(inflight["NonKeyAttributes"]) == readers - keys
    outcome = indexes[deadlines.OUTCOME_INDEX]["Projection"]
    assert outcome["ProjectionType"] == "INCLUDE"
    # What `sio status` prints of an item (its table and the reason column), and no more
    printed = {"status", "mode", "key", "version_id", "created_at", "failure_reason"}
    assert set(outcome["NonKeyAttributes"]) == printed


# ---------------------------------------------------------------- functions


def test_functions_run_python_313_with_the_shared_layer_and_active_tracing(cfn):
    """Given every Lambda function, then it runs python3.13 on the Architecture parameter, uses the
    shared layer, and has Lambda active tracing."""
    functions = of_type(cfn, "AWS::Lambda::Function")
    assert set(functions) == {ROUTER, TRACKER, NIGHTLY, BATCH_RESULT, "SweeperFunction", SCORER}
    # The root's layer, and the nested application Batch's copy of it (batch/template.yaml says why).
    # SAM suffixes a layer version's logical id with a hash of its content.
    layers = {name.rstrip("0123456789abcdef"): name for name in of_type(cfn, "AWS::Lambda::LayerVersion")}
    assert set(layers) == {"SharedLayer", "BatchLayer"}
    for layer, folder in (("SharedLayer", ROOT), ("BatchLayer", BATCH.parent)):
        assert props(cfn, layers[layer])["CompatibleRuntimes"] == ["python3.13"]
        content = props(cfn, layers[layer])["Content"]["S3Key"]
        assert (folder / content).resolve() == ROOT / "layers" / "orchestrator", layer
    for name, function in functions.items():
        p = function["Properties"]
        assert p["Runtime"] == "python3.13", name
        assert p["Architectures"] == [{"Ref": "Architecture"}], name
        layer = layers["BatchLayer" if name in (NIGHTLY, BATCH_RESULT) else "SharedLayer"]
        assert p["Layers"] == [{"Ref": layer}], name
        assert p["TracingConfig"] == {"Mode": "Active"}, name
        assert p["Handler"] == "app.lambda_handler", name


def test_functions_code_lives_where_the_design_reference_says(cfn):
    """Given each function, then its code is functions/<name>/ (the README's contract)."""
    assert props(cfn, ROUTER)["Code"]["S3Key"] == "functions/router"
    assert props(cfn, TRACKER)["Code"]["S3Key"] == "functions/tracker"


def test_functions_declare_exactly_the_environment_of_the_design_reference(cfn):
    """Given each function's environment, then it declares the README's variables, AWS_ENDPOINT_URL
    empty (so `sam local invoke --env-vars` can set it) and the Powertools settings."""
    for function, expected in ((ROUTER, ROUTER_ENV), (TRACKER, TRACKER_ENV)):
        variables = env(cfn, function)
        assert_environment(variables, expected, POWERTOOLS_ENV, function)
        assert variables["AWS_ENDPOINT_URL"] == "", function
        assert variables["POWERTOOLS_METRICS_NAMESPACE"] == "SageMakerInferenceOrchestrator", function


def test_every_function_has_a_log_group_with_retention(cfn):
    """Given every function, then a log group /aws/lambda/<function> with a retention exists."""
    named = {
        text(g["Properties"]["LogGroupName"]): g["Properties"].get("RetentionInDays")
        for g in of_type(cfn, "AWS::Logs::LogGroup").values()
    }
    for function in of_type(cfn, "AWS::Lambda::Function"):
        assert named.get("/aws/lambda/${" + function + "}"), function


# ---------------------------------------------------------------- least privilege


def test_roles_attach_only_the_documented_aws_managed_policies(cfn):
    """Given every IAM role, then its managed policies are in the documented allowlist."""
    for name, role in of_type(cfn, "AWS::IAM::Role").items():
        assert set(role["Properties"].get("ManagedPolicyArns", [])) <= ALLOWED_MANAGED_POLICIES, name


def test_no_allow_statement_grants_a_wildcard_action_or_resource(cfn):
    """Given every Allow statement of every role and managed policy, then no action has a '*', and a
    resource has one only for an action that requires it or for objects under a configured prefix."""
    documents = [
        (name, policy["PolicyDocument"])
        for name, role in of_type(cfn, "AWS::IAM::Role").items()
        for policy in role["Properties"].get("Policies", [])
    ] + [(name, p["Properties"]["PolicyDocument"]) for name, p in of_type(cfn, "AWS::IAM::ManagedPolicy").items()]
    assert documents
    for name, document in documents:
        for statement in statements(document):
            if statement["Effect"] != "Allow":
                continue
            assert "NotAction" not in statement and "NotResource" not in statement, name
            for action in actions(statement):
                assert "*" not in action, f"{name}: {action}"
            for resource in as_list(statement["Resource"]):
                arn = text(resource)
                if arn == "*":
                    assert set(actions(statement)) <= STAR_RESOURCE_ACTIONS, f"{name}: {statement}"
                else:
                    assert "*" not in arn or PREFIX_OBJECTS.search(arn), f"{name}: {arn}"


def test_router_may_only_put_and_update_tracker_items(cfn):
    """Given the router's role, then its DynamoDB actions are PutItem (claim) and UpdateItem (confirm) on
    the table itself (no GetItem, Scan, Query, BatchWriteItem, DeleteItem, no index)."""
    granted = [s for s in role_statements(cfn, role_of(cfn, ROUTER)) if actions(s)[0].startswith("dynamodb:")]
    assert {a for s in granted for a in actions(s)} == {"dynamodb:PutItem", "dynamodb:UpdateItem"}
    assert all(s["Resource"] == {"Fn::GetAtt": ["TrackerTable", "Arn"]} for s in granted)


POLL_ACTIONS = {
    "sqs:ChangeMessageVisibility", "sqs:ChangeMessageVisibilityBatch", "sqs:DeleteMessage",
    "sqs:DeleteMessageBatch", "sqs:GetQueueAttributes", "sqs:ReceiveMessage",
}  # fmt: skip


def _queue_of(resource: Any) -> str | None:
    """The queue a SQSPollerPolicy statement names (its ARN is built from the queue's name)."""
    if isinstance(resource, dict) and "Fn::Sub" in resource:
        template, values = resource["Fn::Sub"]
        if template.endswith(":sqs:${AWS::Region}:${AWS::AccountId}:${queueName}"):
            return values["queueName"]["Fn::GetAtt"][0]
    return None


def test_tracker_may_only_update_tracker_items_and_poll_its_own_queue(cfn):
    """Given the tracker's role, then its inline permissions are UpdateItem on the table, polling the
    tracker queue and reading failure bodies (a bounded excerpt, failures only), nothing more."""
    granted = role_statements(cfn, role_of(cfn, TRACKER))
    polling = [s for s in granted if set(actions(s)) == POLL_ACTIONS]
    assert [_queue_of(s["Resource"]) for s in polling] == ["TrackerQueue"]
    assert [(actions(s), s["Resource"]) for s in granted if s not in polling] == [
        (["dynamodb:UpdateItem"], {"Fn::GetAtt": ["TrackerTable", "Arn"]}),
        (["s3:GetObject"], {"Fn::Sub": "${InputBucket.Arn}/${OutputPrefix}async-failures/*"}),
    ]


@pytest.mark.parametrize(("function", "queue"), [(ROUTER, "RouterQueue"), (TRACKER, "TrackerQueue")])
def test_queue_consumers_poll_only_their_own_queue_without_a_managed_sqs_policy(cfn, function, queue):
    """Given a queue-triggered function, then it may receive and delete on its own queue only: no
    statement grants SQS polling on another queue or on "*", and no managed policy does either."""
    statements = role_statements(cfn, role_of(cfn, function))
    receiving = POLL_ACTIONS - {"sqs:GetQueueAttributes"}  # reading a depth is not polling (spill rules)
    polled = {_queue_of(s["Resource"]) for s in statements if set(actions(s)) & receiving}
    assert polled == {queue}
    managed = cfn["Resources"][role_of(cfn, function)]["Properties"].get("ManagedPolicyArns", [])
    assert not [arn for arn in managed if "SQS" in text(arn)]


def test_router_invokes_only_the_configured_async_endpoint(cfn):
    """Given the router's role, then sagemaker:InvokeEndpointAsync is granted on that endpoint's ARN only."""
    granted = [
        s
        for s in role_statements(cfn, role_of(cfn, ROUTER))
        if actions(s)[0].startswith("sagemaker:") and "TransformJob" not in actions(s)[0]  # test_batch_template.py
    ]
    assert [(actions(s), text(s["Resource"])) for s in granted] == [
        (
            ["sagemaker:InvokeEndpointAsync"],
            "arn:${AWS::Partition}:sagemaker:${AWS::Region}:${AWS::AccountId}:endpoint/${AsyncEndpointName}",
        )
    ]


def test_router_publishes_only_to_the_two_result_topics(cfn):
    """Given the router's role, then sns:Publish is granted on the success and error topics only."""
    granted = [s for s in role_statements(cfn, role_of(cfn, ROUTER)) if actions(s)[0].startswith("sns:")]
    assert {a for s in granted for a in actions(s)} == {"sns:Publish"}
    assert {name for s in granted for name in references(s["Resource"])} == {"SuccessTopic", "ErrorTopic"}


def test_router_reads_objects_only_when_object_metadata_lookup_is_on(cfn):
    """Given the router's role, then its S3 permissions sit behind the ReadsObjectMetadata condition."""
    policies = cfn["Resources"][role_of(cfn, ROUTER)]["Properties"]["Policies"]
    raw = [item for p in policies for item in as_list(p["PolicyDocument"]["Statement"])]
    for item in raw:
        plain = [item] if "Fn::If" not in item else []
        assert not any(a.startswith("s3:") for s in plain for a in actions(s)), item
    # Per-file transform manifests (HasTransformModel) are checked in test_batch_template.py.
    # The scorer's queue (HasSyncEndpoint) is checked in test_sync_template.py.
    guarded = [
        item["Fn::If"]
        for item in raw
        if "Fn::If" in item and item["Fn::If"][0] not in ("HasTransformModel", "HasSyncEndpoint")
    ]
    assert guarded and all(condition == "ReadsObjectMetadata" for condition, _, _ in guarded)
    assert cfn["Conditions"]["ReadsObjectMetadata"] == {"Fn::Equals": [{"Ref": "ReadObjectMetadata"}, "true"]}


# ---------------------------------------------------------------- outputs


def test_outputs_give_users_everything_they_need(cfn):
    """Given the stack outputs, then the bucket, prefix, topics, table, queues, functions and the endpoint
    settings are all there."""
    assert {
        "InputBucketName", "InputPrefix", "SuccessTopicArn", "ErrorTopicArn", "TrackerTableName",
        "RouterQueueUrl", "RouterDeadLetterQueueUrl", "TrackerQueueUrl", "TrackerDeadLetterQueueUrl",
        "RouterFunctionName", "TrackerFunctionName", "AsyncEndpointConfigHint", "EndpointExecutionPolicyArn",
    } <= set(cfn["Outputs"])  # fmt: skip
    config = text(cfn["Outputs"]["AsyncEndpointConfigHint"]["Value"])
    for needed in ("${OutputPrefix}", "${SuccessTopic}", "${ErrorTopic}", "S3OutputPath", "S3FailurePath"):
        assert needed in config
