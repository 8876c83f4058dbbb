"""Create what template.yaml declares in moto, through boto3 calls driven by the translated template.

Every resource type in the template falls in exactly one of three tables, and
``tests/e2e/test_resources.py`` fails when the template gains a type that is in none:

- ``CREATORS``: created in moto (buckets, queues, topics, subscriptions, tables, rules, schedules,
  KMS keys, CloudWatch alarms and dashboards);
- ``PLAYED``: not created in moto, played by the local stack itself (functions, event source
  mappings, layers);
- ``OUT_OF_SCOPE``: not needed to run the product offline, with the reason.

A resource of a created type that still cannot work offline (an e-mail subscription) is listed in
``StackState.not_created`` with its reason, as the played and out-of-scope ones are.

Alarms are created as declared, but moto (5.2.x) never evaluates one: each keeps the state it was
created with (``OK``, "Unchecked: Initial alarm creation"); see :data:`ALARMS_NOT_EVALUATED`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from local.aws.state import EventSourceMapping, FunctionSpec, RuleTarget, ScheduleSpec, StackState
from local.aws.template import Resource, Template, TemplateError, code_path
from local.scaling.created_endpoints import DEFAULT_STARTUP_SECONDS, created_endpoints

PLAYED: dict[str, str] = {
    "AWS::Lambda::Function": "runs in a local process per function, started by the trigger runner",
    "AWS::Lambda::EventSourceMapping": (
        "played by the trigger runner (moto's own mapping would consume messages itself and ignore "
        "partial batch failures)"
    ),
    "AWS::Lambda::LayerVersion": "its source directory goes on the function's sys.path, as /opt/python does",
    "AWS::Lambda::EventInvokeConfig": "its retry count and on-failure destination are honoured by the runner",
    "AWS::CloudFormation::Stack": (
        "its template's resources are created as the parent's are (local/scaling/created_endpoints.py)"
    ),
    "AWS::SageMaker::Model": "served by the SageMaker stand-in, which runs the local model whatever the image",
    "AWS::SageMaker::EndpointConfig": (
        "configures the SageMaker stand-in's endpoint (local/scaling/created_endpoints.py)"
    ),
    "AWS::SageMaker::Endpoint": "served by the SageMaker stand-in, with the instances its config and scaling give",
    "AWS::ApplicationAutoScaling::ScalableTarget": (
        "played by the trigger runner's autoscaler (local/scaling/autoscaling.py)"
    ),
    "AWS::ApplicationAutoScaling::ScalingPolicy": (
        "played by the trigger runner's autoscaler (local/scaling/autoscaling.py)"
    ),
}

OUT_OF_SCOPE: dict[str, str] = {
    "AWS::IAM::Role": "moto does not enforce IAM: every local process uses the same test credentials",
    "AWS::IAM::Policy": "moto does not enforce IAM: every local process uses the same test credentials",
    "AWS::IAM::ManagedPolicy": "moto does not enforce IAM: every local process uses the same test credentials",
    "AWS::Lambda::Permission": "nothing invokes the local functions but the runner",
    "AWS::Logs::LogGroup": "function logs go to files under the state directory (logs/<Function>.log)",
    "AWS::S3::BucketPolicy": "resource policies are not enforced by moto",
    "AWS::SQS::QueuePolicy": "resource policies are not enforced by moto",
    "AWS::SNS::TopicPolicy": "resource policies are not enforced by moto",
}

# SNS protocols nothing delivers offline: such a subscription is not created (moto would accept it and
# deliver nothing); subscribe a queue to the topic to read what it receives.
UNDELIVERABLE_PROTOCOLS = frozenset({"email", "email-json", "sms", "http", "https", "application", "firehose"})

ALARMS_NOT_EVALUATED = (
    "moto stores alarms but never evaluates them: each keeps its initial state (OK, 'Unchecked: Initial "
    "alarm creation'); nothing turns the functions' EMF log lines into metrics, and AWS/Lambda and AWS/SQS "
    "metrics are not published offline. The exception: a created endpoint's scaling alarm, which the "
    "runner's autoscaler evaluates on the AWS/SageMaker metrics the stand-in publishes"
)


# moto's EventBridge drops "account" (and reorders the fields) when it delivers an event to a target
# without an input transformer; this one delivers the envelope as EventBridge does.
EVENT_ENVELOPE_TRANSFORMER = {
    "InputPathsMap": {
        name: f"$.{name}"
        for name in ("version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail")
    },
    "InputTemplate": (
        '{"version": "<version>", "id": "<id>", "detail-type": "<detail-type>", "source": "<source>", '
        '"account": "<account>", "time": <time>, "region": "<region>", "resources": <resources>, "detail": <detail>}'
    ),
}


class ResourceError(Exception):
    """A resource could not be created as the template declares it."""


@dataclass
class Overrides:
    """Deliberate departures from the template, for tests that cannot wait minutes for a timeout.

    ``properties`` replaces resource properties (e.g. a queue's VisibilityTimeout); ``environment``
    adds to a function's variables. Both are listed when the stack starts.
    """

    properties: dict[str, dict[str, Any]] = field(default_factory=dict)
    environment: dict[str, dict[str, str]] = field(default_factory=dict)

    def describe(self) -> list[str]:
        lines = [f"{lid}.{prop}={value}" for lid, props in self.properties.items() for prop, value in props.items()]
        lines += [f"{fn} env {k}={v}" for fn, env in self.environment.items() for k, v in env.items()]
        return lines


def coverage(template: Template) -> dict[str, str | None]:
    """Each resource type of the template → how the local stack handles it (None: not at all)."""
    result: dict[str, str | None] = {}
    for resource in template.resources():
        if resource.type in CREATORS:
            result[resource.type] = "created in moto"
        elif resource.type in PLAYED:
            result[resource.type] = f"played locally: {PLAYED[resource.type]}"
        elif resource.type in OUT_OF_SCOPE:
            result[resource.type] = f"out of scope: {OUT_OF_SCOPE[resource.type]}"
        else:
            result[resource.type] = None
    return result


class Builder:
    """Walks the resources in dependency order and creates (or records) each."""

    def __init__(
        self,
        template: Template,
        clients: Callable[[str], Any],
        overrides: Overrides | None = None,
    ) -> None:
        self.t = template
        self.client = clients
        self.overrides = overrides or Overrides()
        self.functions: dict[str, FunctionSpec] = {}
        self.mappings: list[EventSourceMapping] = []
        self.rule_targets: list[RuleTarget] = []
        self.schedules: dict[str, ScheduleSpec] = {}
        self.notification_queues: list[str] = []
        self.not_created: dict[str, str] = {}
        self.info: dict[str, dict[str, str]] = {}
        self._invoke_configs: list[Resource] = []
        # Created SageMaker and Application Auto Scaling resources (also a nested stack's), resolved:
        # the stand-in's endpoints and the autoscaler's plan are made from them (local/scaling/created_endpoints.py).
        self.sagemaker: list[dict[str, Any]] = []
        self.scaling: list[dict[str, Any]] = []

    def build(self, *, sagemaker_endpoint: str, model_url: str) -> StackState:
        self.create_all()
        return StackState(
            stack_name=self.t.stack_name,
            region=self.t.region,
            account_id=self.t.account_id,
            aws_endpoint=self.t.aws_endpoint,
            sagemaker_endpoint=sagemaker_endpoint,
            model_url=model_url,
            parameters=dict(self.t.parameters),
            resources=self.info,
            functions=self.functions,
            event_source_mappings=self.mappings,
            rule_targets=self.rule_targets,
            schedules=self.schedules,
            notification_queues=self.notification_queues,
            outputs=self.t.outputs(),
            not_created=self.not_created,
            sagemaker=self.sagemaker,
            scaling=self.scaling,
        )

    def create_all(self) -> None:
        unknown = sorted({t for t, how in coverage(self.t).items() if how is None})
        if unknown:
            raise ResourceError(
                f"{self.t.path.name} has resource types the local stack neither creates nor declares out of scope: "
                + ", ".join(unknown)
                + " (add them to local/aws/resources.py)"
            )
        for resource in self.t.resources():
            props = {**resource.properties, **self.overrides.properties.get(resource.logical_id, {})}
            resource = Resource(resource.logical_id, resource.type, props, resource.depends_on, resource.metadata)
            if resource.type in CREATORS:
                CREATORS[resource.type](self, resource)
            elif resource.type in PLAYERS:
                PLAYERS[resource.type](self, resource)
            elif resource.type == "AWS::Lambda::Function":
                self._function(resource)
            elif resource.type == "AWS::Lambda::EventSourceMapping":
                self._event_source_mapping(resource)
            elif resource.type == "AWS::Lambda::EventInvokeConfig":
                self._invoke_configs.append(resource)
            else:
                reason = PLAYED.get(resource.type) or OUT_OF_SCOPE[resource.type]
                self.not_created[resource.logical_id] = f"{resource.type}: {reason}"
            self.info.setdefault(resource.logical_id, {"type": resource.type, "ref": self._safe_ref(resource)})
        for config in self._invoke_configs:
            self._event_invoke_config(config)

    # ------------------------------------------------------------ helpers

    def _safe_ref(self, resource: Resource) -> str:
        try:
            return str(self.t.ref(resource.logical_id))
        except TemplateError:
            return ""

    def _props(self, resource: Resource) -> dict[str, Any]:
        return self.t.resolve(resource.properties)

    def _record(self, resource: Resource, **attributes: str) -> None:
        self.t.created.setdefault(resource.logical_id, {}).update(attributes)
        self.info[resource.logical_id] = {"type": resource.type, "ref": str(self.t.ref(resource.logical_id))}
        self.info[resource.logical_id].update({k: v for k, v in attributes.items() if k != "Ref"})

    def _function_for_arn(self, arn: str) -> str | None:
        for logical_id, body in self.t.cfn["Resources"].items():
            if body["Type"] == "AWS::Lambda::Function" and arn in (
                self.t.get_att(logical_id, "Arn"),
                self.t.ref(logical_id),
            ):
                return logical_id
        return None

    # ------------------------------------------------------------ creators

    def _queue(self, resource: Resource) -> None:
        props = self._props(resource)
        name = self.t.physical_name(resource.logical_id)
        attributes: dict[str, str] = {}
        for key in (
            "VisibilityTimeout",
            "MessageRetentionPeriod",
            "DelaySeconds",
            "MaximumMessageSize",
            "ReceiveMessageWaitTimeSeconds",
            "KmsMasterKeyId",
            "KmsDataKeyReusePeriodSeconds",
            "SqsManagedSseEnabled",
            "FifoQueue",
            "ContentBasedDeduplication",
        ):
            if key in props:
                value = props[key]
                attributes[key] = str(value).lower() if isinstance(value, bool) else str(value)
        for key in ("RedrivePolicy", "RedriveAllowPolicy"):
            if key in props:
                value = dict(props[key])
                if "maxReceiveCount" in value:
                    value["maxReceiveCount"] = int(value["maxReceiveCount"])
                attributes[key] = json.dumps(value)
        sqs = self.client("sqs")
        url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        self._record(resource, Ref=url, Arn=arn, QueueName=name, QueueUrl=url)

    def _topic(self, resource: Resource) -> None:
        props = self._props(resource)
        name = self.t.physical_name(resource.logical_id)
        attributes = {
            k: str(props[k]).lower() if isinstance(props[k], bool) else str(props[k])
            for k in ("DisplayName", "KmsMasterKeyId", "FifoTopic", "ContentBasedDeduplication")
            if k in props
        }
        arn = self.client("sns").create_topic(Name=name, Attributes=attributes)["TopicArn"]
        self._record(resource, Ref=arn, TopicArn=arn, TopicName=name, Arn=arn)
        for inline in props.get("Subscription", []):
            if str(inline["Protocol"]).lower() in UNDELIVERABLE_PROTOCOLS:
                self.not_created[f"{resource.logical_id}.Subscription.{inline['Endpoint']}"] = (
                    f"{inline['Protocol']} subscription: nothing delivers {inline['Protocol']} offline"
                )
                continue
            self.client("sns").subscribe(TopicArn=arn, Protocol=inline["Protocol"], Endpoint=inline["Endpoint"])

    def _subscription(self, resource: Resource) -> None:
        props = self._props(resource)
        if str(props["Protocol"]).lower() in UNDELIVERABLE_PROTOCOLS:
            self.not_created[resource.logical_id] = (
                f"{resource.type} ({props['Protocol']} to {props['Endpoint']}): nothing delivers "
                f"{props['Protocol']} offline; subscribe a queue to the topic to read its messages"
            )
            return
        attributes: dict[str, str] = {}
        if str(props.get("RawMessageDelivery", "false")).lower() == "true":
            attributes["RawMessageDelivery"] = "true"
        if "FilterPolicyScope" in props:
            attributes["FilterPolicyScope"] = props["FilterPolicyScope"]
        for key in ("FilterPolicy", "RedrivePolicy", "DeliveryPolicy"):
            if key in props:
                value = props[key]
                attributes[key] = value if isinstance(value, str) else json.dumps(value)
        response = self.client("sns").subscribe(
            TopicArn=props["TopicArn"],
            Protocol=props["Protocol"],
            Endpoint=props["Endpoint"],
            Attributes=attributes,
            ReturnSubscriptionArn=True,
        )
        self._record(resource, Ref=response["SubscriptionArn"])

    def _table(self, resource: Resource) -> None:
        props = self._props(resource)
        name = self.t.physical_name(resource.logical_id)
        billing = props.get("BillingMode", "PROVISIONED")
        request: dict[str, Any] = {
            "TableName": name,
            "AttributeDefinitions": props["AttributeDefinitions"],
            "KeySchema": props["KeySchema"],
            "BillingMode": billing,
        }
        if billing == "PROVISIONED":
            request["ProvisionedThroughput"] = props["ProvisionedThroughput"]
        for key in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
            if key in props:
                indexes = [dict(index) for index in props[key]]
                if billing == "PAY_PER_REQUEST":
                    for index in indexes:
                        index.pop("ProvisionedThroughput", None)
                request[key] = indexes
        if "SSESpecification" in props:
            sse = props["SSESpecification"]
            request["SSESpecification"] = {
                "Enabled": str(sse.get("SSEEnabled", "false")).lower() == "true",
                **({"SSEType": sse["SSEType"]} if "SSEType" in sse else {}),
            }
        if "StreamSpecification" in props:
            request["StreamSpecification"] = {"StreamEnabled": True, **props["StreamSpecification"]}
        dynamodb = self.client("dynamodb")
        description = dynamodb.create_table(**request)["TableDescription"]
        ttl = props.get("TimeToLiveSpecification")
        if ttl and str(ttl.get("Enabled", "false")).lower() == "true":
            dynamodb.update_time_to_live(
                TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl["AttributeName"]}
            )
        pitr = props.get("PointInTimeRecoverySpecification")
        if pitr and str(pitr.get("PointInTimeRecoveryEnabled", "false")).lower() == "true":
            dynamodb.update_continuous_backups(
                TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
            )
        self._record(resource, Ref=name, Arn=description["TableArn"])

    def _bucket(self, resource: Resource) -> None:
        props = self._props(resource)
        name = self.t.physical_name(resource.logical_id)
        s3 = self.client("s3")
        if self.t.region == "us-east-1":
            s3.create_bucket(Bucket=name)
        else:
            s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": self.t.region})
        versioning = props.get("VersioningConfiguration")
        if versioning:
            s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": versioning["Status"]})
        encryption = props.get("BucketEncryption")
        if encryption:
            rules = [
                {
                    "ApplyServerSideEncryptionByDefault": rule["ServerSideEncryptionByDefault"],
                    **(
                        {"BucketKeyEnabled": str(rule["BucketKeyEnabled"]).lower() == "true"}
                        if "BucketKeyEnabled" in rule
                        else {}
                    ),
                }
                for rule in encryption["ServerSideEncryptionConfiguration"]
            ]
            s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={"Rules": rules})
        block = props.get("PublicAccessBlockConfiguration")
        if block:
            s3.put_public_access_block(
                Bucket=name,
                PublicAccessBlockConfiguration={k: str(v).lower() == "true" for k, v in block.items()},
            )
        notification = props.get("NotificationConfiguration")
        if notification:
            s3.put_bucket_notification_configuration(
                Bucket=name, NotificationConfiguration=self._notification(resource.logical_id, notification)
            )
        self._record(resource, Ref=name, Arn=f"arn:aws:s3:::{name}")

    def _notification(self, logical_id: str, config: dict[str, Any]) -> dict[str, Any]:
        """CloudFormation's NotificationConfiguration in the S3 API's shape."""

        def filter_of(item: dict[str, Any]) -> dict[str, Any]:
            rules = item.get("Filter", {}).get("S3Key", {}).get("Rules", [])
            return {"Filter": {"Key": {"FilterRules": rules}}} if rules else {}

        result: dict[str, Any] = {}
        queues = []
        for index, item in enumerate(config.get("QueueConfigurations", [])):
            queues.append(
                {"Id": f"{logical_id}-queue-{index}", "QueueArn": item["Queue"], "Events": [item["Event"]]}
                | filter_of(item)
            )
            self.notification_queues.append(item["Queue"])
        if queues:
            result["QueueConfigurations"] = queues
        topics = [
            {"Id": f"{logical_id}-topic-{i}", "TopicArn": item["Topic"], "Events": [item["Event"]]} | filter_of(item)
            for i, item in enumerate(config.get("TopicConfigurations", []))
        ]
        if topics:
            result["TopicConfigurations"] = topics
        if config.get("LambdaConfigurations"):
            raise ResourceError(
                f"{logical_id}: S3 → Lambda notifications are not supported locally (route them through SQS)"
            )
        if "EventBridgeConfiguration" in config:
            result["EventBridgeConfiguration"] = {}
        return result

    def _rule(self, resource: Resource) -> None:
        props = self._props(resource)
        name = self.t.physical_name(resource.logical_id)
        events = self.client("events")
        request: dict[str, Any] = {"Name": name, "State": props.get("State", "ENABLED")}
        if "EventPattern" in props:
            pattern = props["EventPattern"]
            request["EventPattern"] = pattern if isinstance(pattern, str) else json.dumps(pattern)
        if "ScheduleExpression" in props:
            request["ScheduleExpression"] = props["ScheduleExpression"]
        if "EventBusName" in props:
            request["EventBusName"] = props["EventBusName"]
        arn = events.put_rule(**request)["RuleArn"]
        targets = []
        for target in props.get("Targets", []):
            target = dict(target)
            function = self._function_for_arn(target["Arn"])
            if function is not None:
                # moto cannot deliver to a Lambda target: a queue stands in for the function, and
                # the runner invokes the function with each event it holds.
                sqs = self.client("sqs")
                spec = self.functions[function]
                # Long enough for every attempt of one asynchronous invocation (see local/triggers/async_invocation.py).
                visibility = min(43200, spec.timeout * (spec.max_retry_attempts + 1) + 30)
                url = sqs.create_queue(
                    QueueName=f"{name}-{target['Id']}-target"[:80],
                    Attributes={"VisibilityTimeout": str(visibility)},
                )["QueueUrl"]
                queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
                    "QueueArn"
                ]
                self.rule_targets.append(RuleTarget(resource.logical_id, name, target["Id"], function, queue_arn, url))
                target["Arn"] = queue_arn
                if not {"Input", "InputPath", "InputTransformer"} & set(target):
                    target["InputTransformer"] = EVENT_ENVELOPE_TRANSFORMER
                # Delivery retries and the target's DLQ concern the Lambda service, not the queue.
                target.pop("RetryPolicy", None)
                target.pop("DeadLetterConfig", None)
            targets.append(target)
        if targets:
            bus = {"EventBusName": props["EventBusName"]} if "EventBusName" in props else {}
            events.put_targets(Rule=name, Targets=targets, **bus)
        self._record(resource, Ref=name, Arn=arn)

    def _schedule(self, resource: Resource) -> None:
        props = self._props(resource)
        name = self.t.physical_name(resource.logical_id)
        target = dict(props["Target"])
        function = self._function_for_arn(target["Arn"])
        if function is None:
            raise ResourceError(f"{resource.logical_id}: only Lambda targets are run locally ({target['Arn']})")
        request: dict[str, Any] = {
            "Name": name,
            "ScheduleExpression": props["ScheduleExpression"],
            "FlexibleTimeWindow": props.get("FlexibleTimeWindow", {"Mode": "OFF"}),
            "Target": {k: v for k, v in target.items() if k in ("Arn", "RoleArn", "Input")},
            "State": props.get("State", "ENABLED"),
        }
        if "RetryPolicy" in target:  # numbers from Fn::FindInMap arrive as strings
            request["Target"]["RetryPolicy"] = {k: int(v) for k, v in target["RetryPolicy"].items()}
        if "ScheduleExpressionTimezone" in props:
            request["ScheduleExpressionTimezone"] = props["ScheduleExpressionTimezone"]
        arn = self.client("scheduler").create_schedule(**request)["ScheduleArn"]
        self.schedules[resource.logical_id] = ScheduleSpec(
            resource.logical_id, name, props["ScheduleExpression"], function, target.get("Input"), request["State"], arn
        )
        self._record(resource, Ref=name, Arn=arn)

    def _key(self, resource: Resource) -> None:
        props = self._props(resource)
        request: dict[str, Any] = {
            k: props[k] for k in ("Description", "KeyUsage", "KeySpec", "MultiRegion") if k in props
        }
        if "KeyPolicy" in props:
            policy = props["KeyPolicy"]
            request["Policy"] = policy if isinstance(policy, str) else json.dumps(policy)
        if "MultiRegion" in request:
            request["MultiRegion"] = _true(request["MultiRegion"])
        kms = self.client("kms")
        metadata = kms.create_key(**request)["KeyMetadata"]
        if _true(props.get("EnableKeyRotation", False)):
            kms.enable_key_rotation(KeyId=metadata["KeyId"])
        self._record(resource, Ref=metadata["KeyId"], Arn=metadata["Arn"], KeyId=metadata["KeyId"])

    def _alarm(self, resource: Resource) -> None:
        props = self._props(resource)
        name = self.t.physical_name(resource.logical_id)
        request: dict[str, Any] = {"AlarmName": name}
        for key in _ALARM_PROPERTIES:
            if key in props:
                request[key] = props[key]
        for key in ("Period", "EvaluationPeriods", "DatapointsToAlarm"):
            if key in props:
                request[key] = int(props[key])
        if "Threshold" in props:
            request["Threshold"] = float(props["Threshold"])
        if "ActionsEnabled" in props:
            request["ActionsEnabled"] = _true(props["ActionsEnabled"])
        if "Metrics" in props:
            request["Metrics"] = [_metric_query(query) for query in props["Metrics"]]
        self.client("cloudwatch").put_metric_alarm(**request)
        self._record(resource, Ref=name, Arn=self.t.get_att(resource.logical_id, "Arn"))
        policies = {item["ref"] for item in self.scaling}
        if policies & set(props.get("AlarmActions", [])):  # a scaling alarm: the autoscaler evaluates it
            self.scaling.append(
                {"logical_id": resource.logical_id, "type": resource.type, "ref": name, "properties": request}
            )

    def _composite_alarm(self, resource: Resource) -> None:
        props = self._props(resource)
        name = self.t.physical_name(resource.logical_id)
        request: dict[str, Any] = {"AlarmName": name, "AlarmRule": props["AlarmRule"]}
        for key in ("AlarmDescription", "AlarmActions", "OKActions", "InsufficientDataActions"):
            if key in props:
                request[key] = props[key]
        if "ActionsEnabled" in props:
            request["ActionsEnabled"] = _true(props["ActionsEnabled"])
        self.client("cloudwatch").put_composite_alarm(**request)
        self._record(resource, Ref=name, Arn=self.t.get_att(resource.logical_id, "Arn"))

    def _dashboard(self, resource: Resource) -> None:
        props = self._props(resource)
        name = self.t.physical_name(resource.logical_id)
        body = props["DashboardBody"]
        body = body if isinstance(body, str) else json.dumps(body)
        try:
            json.loads(body)
        except ValueError as exc:
            raise ResourceError(f"{resource.logical_id}: DashboardBody is not JSON once resolved ({exc})") from exc
        self.client("cloudwatch").put_dashboard(DashboardName=name, DashboardBody=body)
        self._record(resource, Ref=name, Arn=self.t.get_att(resource.logical_id, "Arn"))

    # ------------------------------------------------------------ played locally

    def _nested_stack(self, resource: Resource) -> None:
        """A nested application: its template's resources are created here, named under a child stack
        (``<stack>-<logical id>``, as CloudFormation names nested stacks); ``Outputs.X`` is readable."""
        props = self._props(resource)
        path = (self.t.path.parent / str(props["TemplateURL"])).resolve()
        child = Template.load(
            stack_name=f"{self.t.stack_name}-{resource.logical_id}",
            region=self.t.region,
            parameters={k: str(v) for k, v in props.get("Parameters", {}).items()},
            path=path,
            aws_endpoint=self.t.aws_endpoint,
        )
        builder = Builder(child, self.client, self.overrides)
        builder.create_all()
        # Its functions and their triggers run with the parent's, under their own logical ids (unique
        # across the stacks: the template tests inline the nested stacks into one).
        self.functions |= builder.functions
        self.mappings += builder.mappings
        self.rule_targets += builder.rule_targets
        self.schedules |= builder.schedules
        self.notification_queues += builder.notification_queues
        for logical_id, info in builder.info.items():
            self.info[f"{resource.logical_id}.{logical_id}"] = info
        for logical_id, reason in builder.not_created.items():
            self.not_created[f"{resource.logical_id}.{logical_id}"] = reason
        self.sagemaker += builder.sagemaker
        self.scaling += builder.scaling
        stack_id = child.ref("AWS::StackId")
        self._record(resource, Ref=stack_id, **{f"Outputs.{k}": v for k, v in child.outputs().items()})

    def _sagemaker(self, resource: Resource) -> None:
        props = self._props(resource)
        name = self.t.physical_name(resource.logical_id)
        self.sagemaker.append({"logical_id": resource.logical_id, "type": resource.type, "name": name, **props})
        attribute = _NAME_ATTRIBUTE[resource.type]
        self._record(resource, Ref=name, **{attribute: name})
        self.not_created[resource.logical_id] = f"{resource.type}: {PLAYED[resource.type]}"

    def _scaling(self, resource: Resource) -> None:
        props = self._props(resource)
        if resource.type == "AWS::ApplicationAutoScaling::ScalableTarget":
            ref = f"{props['ResourceId']}|{props['ScalableDimension']}|{props['ServiceNamespace']}"
        else:  # a policy's Ref is its ARN, which alarm actions name
            ref = (
                f"arn:{self.t.ref('AWS::Partition')}:autoscaling:{self.t.region}:{self.t.account_id}:"
                f"scalingPolicy:local:resource/sagemaker/{self.t.physical_name(resource.logical_id)}"
            )
        self.scaling.append({"logical_id": resource.logical_id, "type": resource.type, "ref": ref, "properties": props})
        self._record(resource, Ref=ref, Arn=ref)
        self.not_created[resource.logical_id] = f"{resource.type}: {PLAYED[resource.type]}"

    def _function(self, resource: Resource) -> None:
        props = self._props(resource)
        code = code_path(props.get("Code"))
        if code is None:
            raise ResourceError(f"{resource.logical_id}: only local CodeUri paths can run locally")
        layers = []
        for layer_arn in props.get("Layers", []):
            path = self._layer_dir(layer_arn)
            if path is None:
                raise ResourceError(f"{resource.logical_id}: layer {layer_arn} is not a local directory")
            layers.append(str(path))
        environment = {k: str(v) for k, v in props.get("Environment", {}).get("Variables", {}).items()}
        environment.update(self.overrides.environment.get(resource.logical_id, {}))
        name = self.t.physical_name(resource.logical_id)
        self.functions[resource.logical_id] = FunctionSpec(
            logical_id=resource.logical_id,
            name=name,
            arn=self.t.get_att(resource.logical_id, "Arn"),
            handler=props["Handler"],
            code_dir=str(code),
            layer_dirs=layers,
            environment=environment,
            timeout=int(props.get("Timeout", 3)),
            memory=int(props.get("MemorySize", 128)),
        )
        self.not_created[resource.logical_id] = f"{resource.type}: {PLAYED[resource.type]}"

    def _layer_dir(self, arn: str) -> Path | None:
        """The local directory of this template's layer ``arn``."""
        for lid, body in self.t.cfn["Resources"].items():
            if body["Type"] == "AWS::Lambda::LayerVersion" and self.t.ref(lid) == arn:
                return code_path(body["Properties"].get("Content"))
        return None

    def _event_source_mapping(self, resource: Resource) -> None:
        props = self._props(resource)
        source = props["EventSourceArn"]
        if ":sqs:" not in source:
            raise ResourceError(f"{resource.logical_id}: only SQS event sources are played locally ({source})")
        function = next(
            lid
            for lid in self.t.cfn["Resources"]
            if self.t.cfn["Resources"][lid]["Type"] == "AWS::Lambda::Function"
            and self.t.ref(lid) == props["FunctionName"]
        )
        if props.get("FilterCriteria"):
            raise ResourceError(f"{resource.logical_id}: event filtering is not played locally")
        queue_name = source.rsplit(":", 1)[1]
        sqs = self.client("sqs")
        queue_url = sqs.get_queue_url(QueueName=queue_name)["QueueUrl"]
        visibility = int(
            sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["VisibilityTimeout"])["Attributes"][
                "VisibilityTimeout"
            ]
        )
        timeout = self.functions[function].timeout
        if visibility < timeout:
            # Lambda refuses such a mapping: a message could reappear while still being processed.
            raise ResourceError(
                f"{resource.logical_id}: queue {queue_name} visibility timeout ({visibility} s) is shorter than "
                f"the function timeout ({timeout} s)"
            )
        scaling = props.get("ScalingConfig") or {}
        self.mappings.append(
            EventSourceMapping(
                logical_id=resource.logical_id,
                function=function,
                queue_arn=source,
                queue_url=queue_url,
                batch_size=int(props.get("BatchSize", 10)),
                batching_window=float(props.get("MaximumBatchingWindowInSeconds", 0)),
                report_batch_item_failures="ReportBatchItemFailures" in props.get("FunctionResponseTypes", []),
                maximum_concurrency=int(scaling["MaximumConcurrency"]) if "MaximumConcurrency" in scaling else None,
                enabled=str(props.get("Enabled", "true")).lower() == "true",
            )
        )
        self.not_created[resource.logical_id] = f"{resource.type}: {PLAYED[resource.type]}"

    def _event_invoke_config(self, resource: Resource) -> None:
        props = self._props(resource)
        function = next(
            (lid for lid, spec in self.functions.items() if props["FunctionName"] in (spec.name, spec.arn)), None
        )
        if function is None:
            raise ResourceError(f"{resource.logical_id}: unknown function {props['FunctionName']}")
        spec = self.functions[function]
        if "MaximumRetryAttempts" in props:
            spec.max_retry_attempts = int(props["MaximumRetryAttempts"])
        on_failure = (props.get("DestinationConfig") or {}).get("OnFailure", {}).get("Destination")
        spec.on_failure_arn = on_failure
        self.not_created[resource.logical_id] = f"{resource.type}: {PLAYED[resource.type]}"


CREATORS: dict[str, Callable[[Builder, Resource], None]] = {
    "AWS::SQS::Queue": Builder._queue,
    "AWS::SNS::Topic": Builder._topic,
    "AWS::SNS::Subscription": Builder._subscription,
    "AWS::DynamoDB::Table": Builder._table,
    "AWS::S3::Bucket": Builder._bucket,
    "AWS::Events::Rule": Builder._rule,
    "AWS::Scheduler::Schedule": Builder._schedule,
    "AWS::KMS::Key": Builder._key,
    "AWS::CloudWatch::Alarm": Builder._alarm,
    "AWS::CloudWatch::CompositeAlarm": Builder._composite_alarm,
    "AWS::CloudWatch::Dashboard": Builder._dashboard,
}

# Types played locally that the builder records for the stand-in and the runner (PLAYED says how).
PLAYERS: dict[str, Callable[[Builder, Resource], None]] = {
    "AWS::CloudFormation::Stack": Builder._nested_stack,
    "AWS::SageMaker::Model": Builder._sagemaker,
    "AWS::SageMaker::EndpointConfig": Builder._sagemaker,
    "AWS::SageMaker::Endpoint": Builder._sagemaker,
    "AWS::ApplicationAutoScaling::ScalableTarget": Builder._scaling,
    "AWS::ApplicationAutoScaling::ScalingPolicy": Builder._scaling,
}

# The attribute holding each created SageMaker resource's name (Fn::GetAtt).
_NAME_ATTRIBUTE = {
    "AWS::SageMaker::Model": "ModelName",
    "AWS::SageMaker::EndpointConfig": "EndpointConfigName",
    "AWS::SageMaker::Endpoint": "EndpointName",
}


# PutMetricAlarm parameters taken from the alarm's properties as they are (same names, same types).
_ALARM_PROPERTIES = (
    "AlarmDescription",
    "Namespace",
    "MetricName",
    "Statistic",
    "ExtendedStatistic",
    "Unit",
    "ComparisonOperator",
    "TreatMissingData",
    "EvaluateLowSampleCountPercentile",
    "ThresholdMetricId",
    "Dimensions",
    "AlarmActions",
    "OKActions",
    "InsufficientDataActions",
)


def _true(value: Any) -> bool:
    return str(value).lower() == "true"


def _metric_query(query: dict[str, Any]) -> dict[str, Any]:
    """A CloudFormation ``MetricDataQuery`` as PutMetricAlarm takes it (numbers and booleans typed)."""
    result = dict(query)
    if "ReturnData" in result:
        result["ReturnData"] = _true(result["ReturnData"])
    if "Period" in result:
        result["Period"] = int(result["Period"])
    if "MetricStat" in result:
        result["MetricStat"] = {**result["MetricStat"], "Period": int(result["MetricStat"]["Period"])}
    return result


# Serverless behaviour offline, shortened: a cold start of 0.8 s after 30 s idle, MaxConcurrency 2.
SYNC_ENDPOINT_DEFAULTS: dict[str, dict[str, Any]] = {
    "realtime": {},
    "serverless": {"max_concurrency": 2, "cold_start_seconds": 0.8, "idle_seconds": 30},
}


def endpoint_config(state: StackState, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The SageMaker stand-in's configuration. Endpoints the stack creates (CreateAsyncEndpoint …) are
    served as their created EndpointConfig declares (local/scaling/created_endpoints.py). An endpoint brought by the
    user is the one the ``AsyncEndpointName`` parameter names, configured as the template's outputs
    document it (the output whose value lists ``OutputConfig.S3OutputPath=…`` and the topics)."""
    overrides = dict(overrides or {})
    name = state.parameters.get("AsyncEndpointName")
    documented = next((value for value in state.outputs.values() if "OutputConfig.S3OutputPath=" in value), None)
    if not name or not documented:
        raise ResourceError(
            "template.yaml must declare the parameter AsyncEndpointName and an output documenting the "
            "endpoint's OutputConfig (OutputConfig.S3OutputPath=…): the local stand-in is configured from them"
        )
    settings = dict(line.strip().split("=", 1) for line in documented.split() if "=" in line)
    endpoint = {
        "output_path": settings["OutputConfig.S3OutputPath"],
        "failure_path": settings.get("OutputConfig.S3FailurePath"),
        "success_topic": settings.get("OutputConfig.NotificationConfig.SuccessTopic"),
        "error_topic": settings.get("OutputConfig.NotificationConfig.ErrorTopic"),
    }
    created_async, created_sync = created_endpoints(
        state.sagemaker,
        state.scaling,
        clock_factor=state.scaling_clock_factor,
        startup_seconds=float(overrides.pop("instance_startup_seconds", DEFAULT_STARTUP_SECONDS)),
    )
    config: dict[str, Any] = {
        "region": state.region,
        "account_id": state.account_id,
        "aws_endpoint": state.aws_endpoint,
        "model_url": state.model_url,
        "endpoints": {name: endpoint} | created_async,
        # The synchronous endpoints the template's RealtimeEndpointName / ServerlessEndpointName name.
        "sync_endpoints": {
            state.parameters[parameter]: {"kind": kind, **(SYNC_ENDPOINT_DEFAULTS[kind])}
            for parameter, kind in (("RealtimeEndpointName", "realtime"), ("ServerlessEndpointName", "serverless"))
            if state.parameters.get(parameter)
        }
        | created_sync,
    }
    config.update(overrides)
    return config
