"""The local stack is built from template.yaml: every resource type is handled or declared out of
scope, and what moto holds is configured as the template says."""

from __future__ import annotations

import json

import pytest

from local.aws.resources import CREATORS, OUT_OF_SCOPE, PLAYED, Builder, coverage
from local.aws.template import Template
from local.stack import LOCAL_PARAMETERS, LocalStack


@pytest.fixture(scope="module")
def template() -> Template:
    return Template.load(stack_name="coverage-check", region="us-east-1", parameters={}, defaults=LOCAL_PARAMETERS)


def test_every_resource_type_of_the_template_is_created_played_or_declared_out_of_scope(template: Template) -> None:
    unhandled = sorted(kind for kind, how in coverage(template).items() if how is None)
    assert unhandled == [], (
        f"template.yaml has resource types the local stack does not know: {unhandled}. Create them in "
        "local/aws/resources.py (CREATORS), or declare them in PLAYED or OUT_OF_SCOPE with the reason."
    )


def test_the_three_tables_do_not_overlap_and_every_exclusion_has_a_reason() -> None:
    assert not (set(CREATORS) & set(PLAYED)) and not (set(CREATORS) & set(OUT_OF_SCOPE))
    assert not (set(PLAYED) & set(OUT_OF_SCOPE))
    assert all(len(reason) > 20 for reason in {**PLAYED, **OUT_OF_SCOPE}.values())


def test_the_input_bucket_is_versioned_and_notifies_the_router_queue(stack: LocalStack) -> None:
    s3 = stack.client("s3")
    assert s3.get_bucket_versioning(Bucket=stack.bucket)["Status"] == "Enabled"
    notification = s3.get_bucket_notification_configuration(Bucket=stack.bucket)
    [queue] = notification["QueueConfigurations"]
    assert queue["QueueArn"] == stack.state.attribute("RouterQueue", "Arn")
    assert queue["Events"] == ["s3:ObjectCreated:*"]
    rules = queue["Filter"]["Key"]["FilterRules"]
    assert {(r["Name"].lower(), r["Value"]) for r in rules} == {("prefix", stack.state.parameters["InputPrefix"])}


def test_queues_have_their_dead_letter_queues(stack: LocalStack) -> None:
    sqs = stack.client("sqs")
    for queue, dlq in (("RouterQueue", "RouterDLQ"), ("TrackerQueue", "TrackerDLQ")):
        attributes = sqs.get_queue_attributes(QueueUrl=stack.state.physical(queue), AttributeNames=["All"])[
            "Attributes"
        ]
        redrive = json.loads(attributes["RedrivePolicy"])
        assert redrive["deadLetterTargetArn"] == stack.state.attribute(dlq, "Arn")
        assert int(redrive["maxReceiveCount"]) == 5


def test_the_tracker_queue_receives_both_topics_raw(stack: LocalStack) -> None:
    sns = stack.client("sns")
    tracker_queue = stack.state.attribute("TrackerQueue", "Arn")
    for topic in ("SuccessTopic", "ErrorTopic"):
        subscriptions = sns.list_subscriptions_by_topic(TopicArn=stack.state.physical(topic))["Subscriptions"]
        [mine] = [s for s in subscriptions if s["Endpoint"] == tracker_queue]
        attributes = sns.get_subscription_attributes(SubscriptionArn=mine["SubscriptionArn"])["Attributes"]
        assert attributes["RawMessageDelivery"] == "true"


def test_the_tracker_table_has_its_indexes_and_ttl(stack: LocalStack) -> None:
    dynamodb = stack.client("dynamodb")
    table = dynamodb.describe_table(TableName=stack.table)["Table"]
    indexes = {i["IndexName"]: [k["AttributeName"] for k in i["KeySchema"]] for i in table["GlobalSecondaryIndexes"]}
    assert indexes["ByObject"] == ["object_uri", "created_at"]
    assert indexes["InFlight"] == ["inflight", "deadline_at"]
    assert indexes["ByOutcome"] == ["outcome", "status_since"]
    [outcomes] = [i for i in table["GlobalSecondaryIndexes"] if i["IndexName"] == "ByOutcome"]
    assert outcomes["Projection"]["ProjectionType"] == "INCLUDE"
    ttl = dynamodb.describe_time_to_live(TableName=stack.table)["TimeToLiveDescription"]
    assert (ttl["TimeToLiveStatus"], ttl["AttributeName"]) == ("ENABLED", "expires_at")


def test_functions_get_the_template_environment_and_only_the_local_endpoints(stack: LocalStack) -> None:
    from local.triggers.environments import local_environment

    router = stack.state.functions["RouterFunction"]
    assert router.environment["TRACKER_TABLE"] == stack.table
    assert router.environment["SUCCESS_TOPIC_ARN"] == stack.state.physical("SuccessTopic")
    added = local_environment(stack.state)
    assert {k for k in added if k.startswith("AWS_ENDPOINT_URL")} == {
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_SAGEMAKER",
        "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME",
    }
    mapping = stack.state.mapping_for("RouterFunction")
    assert mapping.report_batch_item_failures
    assert mapping.batch_size == int(stack.state.parameters["RouterBatchSize"])


def test_a_port_in_use_is_named_in_the_error(stack: LocalStack) -> None:
    from local.loopback import PortInUseError, check_port_free

    with pytest.raises(PortInUseError, match=f"port {stack.config.aws_port} .*LOCAL_AWS_PORT"):
        check_port_free(stack.config.aws_port, "LOCAL_AWS_PORT")


def test_alarms_are_created_in_moto_as_the_template_declares_them(stack: LocalStack) -> None:
    # The template as the stack resolved it (same stack name and parameters, hence the same names)
    template = Template.load(
        stack_name=stack.config.stack_name,
        region=stack.config.region,
        parameters=stack.config.parameters,
        aws_endpoint=stack.aws_endpoint,
        defaults=LOCAL_PARAMETERS,
    )
    # Outputs of the nested stack Batch (what Monitoring is passed of it) as the stack created them
    template.created["Batch"] = {k: v for k, v in stack.state.resources["Batch"].items() if k.startswith("Outputs.")}
    declared = {r.logical_id: template.resolve(r.properties) for r in template.resources()}
    # The alarms live in the nested stack Monitoring, built as <stack>-Monitoring from what the parent passes
    monitoring = declared["Monitoring"]
    nested = Template.load(
        stack_name=f"{stack.config.stack_name}-Monitoring",
        region=stack.config.region,
        parameters={k: str(v) for k, v in monitoring["Parameters"].items()},
        path=(template.path.parent / monitoring["TemplateURL"]).resolve(),
        aws_endpoint=stack.aws_endpoint,
    )
    declared |= {f"Monitoring.{r.logical_id}": nested.resolve(r.properties) for r in nested.resources()}
    alarms = {lid: props for lid, props in declared.items() if stack.state.resources[lid]["type"].endswith("::Alarm")}
    assert len(alarms) >= 20, "monitoring/template.yaml declares too few alarms"
    held = {
        a["AlarmName"]: a
        for page in stack.client("cloudwatch").get_paginator("describe_alarms").paginate()
        for a in page["MetricAlarms"]
    }
    for logical_id, props in alarms.items():
        alarm = held[stack.state.physical(logical_id)]
        assert alarm["AlarmArn"] == stack.state.attribute(logical_id, "Arn")
        assert (alarm["ComparisonOperator"], alarm["EvaluationPeriods"]) == (
            props["ComparisonOperator"],
            int(props["EvaluationPeriods"]),
        ), logical_id
        assert alarm["AlarmActions"] == [stack.state.physical("AlarmTopic")], logical_id
        if "MetricName" in props:
            assert (alarm["Namespace"], alarm["MetricName"], alarm["Dimensions"]) == (
                props["Namespace"],
                props["MetricName"],
                props["Dimensions"],
            ), logical_id
        else:  # metric math
            assert [q["Id"] for q in alarm["Metrics"]] == [q["Id"] for q in props["Metrics"]], logical_id
    # moto evaluates none of them: what the stack summary says
    assert {alarm["state"] for alarm in stack.alarms()} == {"OK"}


def test_the_dashboard_and_the_alarm_topic_key_are_created(stack: LocalStack) -> None:
    cloudwatch = stack.client("cloudwatch")
    [dashboard] = stack.state.of_type("AWS::CloudWatch::Dashboard")
    body = json.loads(cloudwatch.get_dashboard(DashboardName=stack.state.physical(dashboard))["DashboardBody"])
    # (the body's Fn::Sub resolved to the ARNs of alarms the stack created)
    shown = {arn for widget in body["widgets"] if widget["type"] == "alarm" for arn in widget["properties"]["alarms"]}
    created = {a["AlarmArn"] for a in cloudwatch.describe_alarms(MaxRecords=100)["MetricAlarms"]}
    assert shown and shown <= created
    [key] = stack.state.of_type("AWS::KMS::Key")
    topic = stack.client("sns").get_topic_attributes(TopicArn=stack.state.physical("AlarmTopic"))["Attributes"]
    assert topic["KmsMasterKeyId"] == stack.state.physical(key)
    assert stack.client("kms").describe_key(KeyId=stack.state.physical(key))["KeyMetadata"]["Enabled"]


def test_an_email_subscription_is_listed_as_not_created_with_its_reason(stack: LocalStack) -> None:
    # Given the template with an alarm e-mail address, built into the e2e moto under another stack name
    template = Template.load(
        stack_name="email-check",
        region=stack.config.region,
        parameters={"AlarmEmail": "ops@example.com"},
        aws_endpoint=stack.aws_endpoint,
        defaults=LOCAL_PARAMETERS,
    )
    state = Builder(template, stack.client).build(sagemaker_endpoint=stack.sagemaker_endpoint, model_url="")

    # Then the subscription is not created (nothing delivers e-mail offline), and says so
    assert "nothing delivers email offline" in state.not_created["AlarmEmailSubscription"]
    topic = state.physical("AlarmTopic")
    subscriptions = stack.client("sns").list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    assert [s for s in subscriptions if s["Protocol"] == "email"] == []
