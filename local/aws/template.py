"""template.yaml, translated offline and resolved: the one source of the local stack's wiring.

``aws-sam-translator`` turns the SAM template into plain CloudFormation (as ``sam deploy`` would,
with a stub managed-policy map and placeholders for local code paths, as ``sam build`` does). A
small resolver then evaluates the intrinsic functions the template uses (``Ref``, ``Fn::GetAtt``,
``Fn::Sub``, ``Fn::Join``, ``Fn::If`` and the condition functions, ``Fn::Select``, ``Fn::Split``,
``Fn::FindInMap``)
with the parameter values and the physical names the local stack gives each resource.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = REPO / "template.yaml"
ACCOUNT_ID = "123456789012"  # moto's default account
PARTITION = "aws"
CODE_BUCKET = "local-code"  # placeholder bucket for local CodeUri / ContentUri paths


class TemplateError(Exception):
    """The template uses something the local stack cannot evaluate; the message names it."""


class _NoValue:
    def __repr__(self) -> str:
        return "AWS::NoValue"


NO_VALUE = _NoValue()


# ---------------------------------------------------------------- loading and translation


class _CfnLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short-form tags (``!Ref``, ``!GetAtt A.B``, ``!Sub`` …)."""


def _construct_tag(loader: _CfnLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = suffix if suffix in ("Ref", "Condition") else f"Fn::{suffix}"
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {name: value}


_CfnLoader.add_multi_constructor("!", _construct_tag)


def load_yaml(path: Path = TEMPLATE) -> dict[str, Any]:
    with path.open(encoding="utf-8") as handle:
        document = yaml.load(handle, Loader=_CfnLoader)
    if not isinstance(document, dict) or "Resources" not in document:
        raise TemplateError(f"{path} is not a CloudFormation/SAM template")
    return document


def translate(sam: dict[str, Any], parameters: Mapping[str, str], region: str, base: Path = REPO) -> dict[str, Any]:
    """The CloudFormation template SAM would deploy. Local code paths, relative to ``base`` (the template's
    folder, as for `sam build`), become ``s3://local-code/<path from the repository>``."""
    import boto3
    from samtranslator.parser.parser import Parser
    from samtranslator.translator.translator import Translator

    sam = copy.deepcopy(sam)
    for resource in sam.get("Resources", {}).values():
        props = resource.get("Properties") or {}
        for key in ("CodeUri", "ContentUri"):
            value = props.get(key)
            if isinstance(value, str) and not value.startswith("s3://"):
                props[key] = f"s3://{CODE_BUCKET}/{(base / value).resolve().relative_to(REPO).as_posix()}"
    translator = Translator(None, Parser(), boto_session=boto3.Session(region_name=region))
    try:
        return translator.translate(sam, parameter_values=dict(parameters), get_managed_policy_map=lambda: {})
    except Exception as exc:  # the translator raises its own exception types with the details
        raise TemplateError(f"SAM translation failed: {exc}") from exc


def code_path(code: Any) -> Path | None:
    """The local directory behind a translated ``Code`` / ``Content`` property, if it is one."""
    if isinstance(code, dict) and code.get("S3Bucket") == CODE_BUCKET:
        return REPO / str(code["S3Key"])
    return None


# ---------------------------------------------------------------- naming

# Attributes each resource type exposes through Fn::GetAtt, computed from its physical name.
_ARN_PATTERNS = {
    "AWS::SQS::Queue": "arn:{p}:sqs:{r}:{a}:{name}",
    "AWS::SNS::Topic": "arn:{p}:sns:{r}:{a}:{name}",
    "AWS::DynamoDB::Table": "arn:{p}:dynamodb:{r}:{a}:table/{name}",
    "AWS::S3::Bucket": "arn:{p}:s3:::{name}",
    "AWS::Lambda::Function": "arn:{p}:lambda:{r}:{a}:function:{name}",
    "AWS::IAM::Role": "arn:{p}:iam::{a}:role/{name}",
    "AWS::Events::Rule": "arn:{p}:events:{r}:{a}:rule/{name}",
    "AWS::Scheduler::Schedule": "arn:{p}:scheduler:{r}:{a}:schedule/default/{name}",
    "AWS::Logs::LogGroup": "arn:{p}:logs:{r}:{a}:log-group:{name}:*",
    "AWS::CloudWatch::Alarm": "arn:{p}:cloudwatch:{r}:{a}:alarm:{name}",
    "AWS::CloudWatch::CompositeAlarm": "arn:{p}:cloudwatch:{r}:{a}:alarm:{name}",
    "AWS::CloudWatch::Dashboard": "arn:{p}:cloudwatch::{a}:dashboard/{name}",
}
_NAME_PROPERTY = {
    "AWS::SQS::Queue": "QueueName",
    "AWS::SNS::Topic": "TopicName",
    "AWS::DynamoDB::Table": "TableName",
    "AWS::S3::Bucket": "BucketName",
    "AWS::Lambda::Function": "FunctionName",
    "AWS::IAM::Role": "RoleName",
    "AWS::Events::Rule": "Name",
    "AWS::Scheduler::Schedule": "Name",
    "AWS::Logs::LogGroup": "LogGroupName",
    "AWS::CloudWatch::Alarm": "AlarmName",
    "AWS::CloudWatch::CompositeAlarm": "AlarmName",
    "AWS::CloudWatch::Dashboard": "DashboardName",
    "AWS::SageMaker::Model": "ModelName",
    "AWS::SageMaker::EndpointConfig": "EndpointConfigName",
    "AWS::SageMaker::Endpoint": "EndpointName",
    "AWS::ApplicationAutoScaling::ScalingPolicy": "PolicyName",
}


@dataclass
class Resource:
    logical_id: str
    type: str
    properties: dict[str, Any]
    depends_on: list[str]
    metadata: dict[str, Any]


@dataclass
class Template:
    """A translated template with its parameters, conditions and the physical names of its resources."""

    cfn: dict[str, Any]
    parameters: dict[str, str]
    stack_name: str
    region: str
    account_id: str = ACCOUNT_ID
    aws_endpoint: str = "http://127.0.0.1:4566"
    # Physical ids known once a resource exists (subscription ARNs, queue URLs as moto returns them).
    created: dict[str, dict[str, str]] = field(default_factory=dict)
    path: Path = TEMPLATE  # nested stacks' TemplateURLs are relative to it

    def __post_init__(self) -> None:
        self._conditions: dict[str, bool] = {}
        for name in self.cfn.get("Conditions", {}):
            self._conditions[name] = self._condition(name)

    # ------------------------------------------------------------ construction

    @classmethod
    def load(
        cls,
        *,
        stack_name: str,
        region: str,
        parameters: Mapping[str, str],
        path: Path = TEMPLATE,
        aws_endpoint: str = "http://127.0.0.1:4566",
        defaults: Mapping[str, str] | None = None,
    ) -> Template:
        """``parameters`` must be declared by the template; ``defaults`` apply to those it declares."""
        sam = load_yaml(path)
        declared = sam.get("Parameters", {})
        given = {k: v for k, v in (defaults or {}).items() if k in declared} | dict(parameters)
        values = _parameter_values(declared, given)
        # A nested stack's template in plain CloudFormation has nothing to translate.
        cfn = translate(sam, values, region, path.parent) if "Transform" in sam else sam
        return cls(cfn, values, stack_name, region, aws_endpoint=aws_endpoint, path=path)

    # ------------------------------------------------------------ resources

    def resources(self) -> list[Resource]:
        """Resources whose Condition holds, in an order where each comes after what it references."""
        raw = self.cfn.get("Resources", {})
        present = {
            logical_id: body
            for logical_id, body in raw.items()
            if "Condition" not in body or self._conditions.get(body["Condition"], False)
        }
        result = {
            logical_id: Resource(
                logical_id,
                body["Type"],
                body.get("Properties") or {},
                _as_list(body.get("DependsOn")),
                body.get("Metadata") or {},
            )
            for logical_id, body in present.items()
        }
        return _topological(result)

    def physical_name(self, logical_id: str) -> str:
        body = self._resource(logical_id)
        prop = _NAME_PROPERTY.get(body["Type"])
        if prop and prop in (body.get("Properties") or {}):
            return str(self.resolve(body["Properties"][prop]))
        name = f"{self.stack_name}-{logical_id}"
        if body["Type"] == "AWS::SQS::Queue" and self.resolve((body.get("Properties") or {}).get("FifoQueue")) in (
            True,
            "true",
        ):
            name += ".fifo"
        if body["Type"] == "AWS::S3::Bucket":
            name = name.lower()
        return name

    def ref(self, logical_id: str) -> str:
        if logical_id in self.parameters:
            return self.parameters[logical_id]
        pseudo = self._pseudo(logical_id)
        if pseudo is not None:
            return pseudo
        if logical_id in self.created and "Ref" in self.created[logical_id]:
            return self.created[logical_id]["Ref"]
        body = self._resource(logical_id)
        kind = body["Type"]
        name = self.physical_name(logical_id)
        if kind == "AWS::SQS::Queue":
            return f"{self.aws_endpoint}/{self.account_id}/{name}"
        if kind == "AWS::SNS::Topic":
            return self._arn(kind, name)
        if kind == "AWS::Lambda::LayerVersion":
            return f"arn:{PARTITION}:lambda:{self.region}:{self.account_id}:layer:{name}:1"
        return name

    def get_att(self, logical_id: str, attribute: str) -> str:
        created = self.created.get(logical_id, {})
        if attribute in created:
            return created[attribute]
        body = self._resource(logical_id)
        kind = body["Type"]
        name = self.physical_name(logical_id)
        if attribute == "Arn" and _ARN_PATTERNS.get(kind):
            return self._arn(kind, name)
        simple = {
            ("AWS::SQS::Queue", "QueueName"): name,
            ("AWS::SQS::Queue", "QueueUrl"): self.ref(logical_id),
            ("AWS::SNS::Topic", "TopicName"): name,
            ("AWS::SNS::Topic", "TopicArn"): self._arn(kind, name),
            ("AWS::S3::Bucket", "DomainName"): f"{name}.s3.amazonaws.com",
            ("AWS::S3::Bucket", "RegionalDomainName"): f"{name}.s3.{self.region}.amazonaws.com",
            ("AWS::DynamoDB::Table", "StreamArn"): f"{self._arn(kind, name)}/stream/local",
            ("AWS::IAM::Role", "RoleId"): "AROA" + hashlib.sha256(name.encode()).hexdigest()[:16].upper(),
            ("AWS::SageMaker::Model", "ModelName"): name,
            ("AWS::SageMaker::EndpointConfig", "EndpointConfigName"): name,
            ("AWS::SageMaker::Endpoint", "EndpointName"): name,
        }
        if (kind, attribute) in simple:
            return simple[(kind, attribute)]
        raise TemplateError(f"Fn::GetAtt {logical_id}.{attribute} ({kind}) is not known to the local stack")

    def _arn(self, kind: str, name: str) -> str:
        return _ARN_PATTERNS[kind].format(p=PARTITION, r=self.region, a=self.account_id, name=name)

    def _resource(self, logical_id: str) -> dict[str, Any]:
        try:
            return self.cfn["Resources"][logical_id]
        except KeyError:
            raise TemplateError(f"reference to unknown resource or parameter {logical_id!r}") from None

    def _pseudo(self, name: str) -> str | None:
        return {
            "AWS::AccountId": self.account_id,
            "AWS::Region": self.region,
            "AWS::StackName": self.stack_name,
            "AWS::StackId": (
                f"arn:{PARTITION}:cloudformation:{self.region}:{self.account_id}:stack/{self.stack_name}/local"
            ),
            "AWS::Partition": PARTITION,
            "AWS::URLSuffix": "amazonaws.com",
        }.get(name)

    # ------------------------------------------------------------ intrinsic functions

    def resolve(self, value: Any) -> Any:
        """``value`` with every intrinsic function evaluated; ``AWS::NoValue`` entries removed."""
        if isinstance(value, list):
            return [item for item in (self.resolve(v) for v in value) if item is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, arg),) = value.items()
            handler = _INTRINSICS.get(key)
            if handler is not None:
                return handler(self, arg)
        return {k: v for k, v in ((k, self.resolve(v)) for k, v in value.items()) if v is not NO_VALUE}

    def outputs(self) -> dict[str, str]:
        result = {}
        for name, output in self.cfn.get("Outputs", {}).items():
            if "Condition" in output and not self._conditions.get(output["Condition"], False):
                continue
            result[name] = str(self.resolve(output["Value"]))
        return result

    def _condition(self, name: str) -> bool:
        if name in self._conditions:
            return self._conditions[name]
        try:
            expression = self.cfn["Conditions"][name]
        except KeyError:
            raise TemplateError(f"unknown condition {name!r}") from None
        result = bool(self.resolve(expression))
        self._conditions[name] = result
        return result

    def _ref(self, arg: Any) -> Any:
        if arg == "AWS::NoValue":
            return NO_VALUE
        return self.ref(str(arg))

    def _getatt(self, arg: Any) -> str:
        logical_id, attribute = arg.split(".", 1) if isinstance(arg, str) else arg
        return self.get_att(str(logical_id), str(self.resolve(attribute)))

    def _sub(self, arg: Any) -> str:
        text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], self.resolve(arg[1]))

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in variables:
                return str(variables[name])
            if "." in name and not name.startswith("AWS::"):
                return str(self._getatt(name))
            return str(self.ref(name))

        return re.sub(r"\$\{([^}]+)\}", replace, text)

    def _join(self, arg: Any) -> str:
        delimiter, items = arg
        return str(delimiter).join(str(v) for v in self.resolve(items))

    def _if(self, arg: Any) -> Any:
        name, when_true, when_false = arg
        return self.resolve(when_true if self._condition(name) else when_false)

    def _select(self, arg: Any) -> Any:
        index, items = arg
        return self.resolve(items)[int(self.resolve(index))]

    def _split(self, arg: Any) -> list[str]:
        delimiter, text = arg
        return str(self.resolve(text)).split(delimiter)

    def _find_in_map(self, arg: Any) -> Any:
        name, top, second = (self.resolve(v) for v in arg)
        return self.cfn["Mappings"][name][top][second]

    def _equals(self, arg: Any) -> bool:
        left, right = (self.resolve(v) for v in arg)
        return str(left) == str(right)


_INTRINSICS: dict[str, Any] = {
    "Ref": Template._ref,
    "Fn::GetAtt": Template._getatt,
    "Fn::Sub": Template._sub,
    "Fn::Join": Template._join,
    "Fn::If": Template._if,
    "Fn::Select": Template._select,
    "Fn::Split": Template._split,
    "Fn::Equals": Template._equals,
    "Fn::FindInMap": Template._find_in_map,
    "Fn::Not": lambda t, arg: not bool(t.resolve(arg[0])),
    "Fn::And": lambda t, arg: all(bool(t.resolve(v)) for v in arg),
    "Fn::Or": lambda t, arg: any(bool(t.resolve(v)) for v in arg),
    "Condition": lambda t, arg: t._condition(str(arg)),
    "Fn::ToJsonString": lambda t, arg: json.dumps(t.resolve(arg)),
}


# ---------------------------------------------------------------- helpers


def _parameter_values(declared: dict[str, Any], given: Mapping[str, str]) -> dict[str, str]:
    unknown = sorted(set(given) - set(declared))
    if unknown:
        raise TemplateError(f"parameters not declared in the template: {', '.join(unknown)}")
    values: dict[str, str] = {}
    for name, spec in declared.items():
        if name in given:
            value = str(given[name])
        elif "Default" in spec:
            value = str(spec["Default"])
        else:
            raise TemplateError(f"parameter {name} has no default: give it a value")
        allowed = spec.get("AllowedValues")
        if allowed and value not in [str(v) for v in allowed]:
            raise TemplateError(f"parameter {name}={value!r} is not one of {allowed}")
        pattern = spec.get("AllowedPattern")
        if pattern and not re.fullmatch(pattern, value):
            raise TemplateError(f"parameter {name}={value!r} does not match {pattern}")
        values[name] = value
    return values


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def references(value: Any) -> set[str]:
    """Logical ids (and parameter names) a property value refers to."""
    found: set[str] = set()
    if isinstance(value, list):
        for item in value:
            found |= references(item)
    elif isinstance(value, dict):
        for key, arg in value.items():
            if key == "Ref" and isinstance(arg, str):
                found.add(arg)
            elif key == "Fn::GetAtt":
                found.add(arg.split(".", 1)[0] if isinstance(arg, str) else str(arg[0]))
            elif key == "Fn::Sub":
                text = arg if isinstance(arg, str) else arg[0]
                for name in re.findall(r"\$\{([^}!][^}]*)\}", text):
                    found.add(name.split(".", 1)[0])
                if not isinstance(arg, str):
                    found |= references(arg[1])
            else:
                found |= references(arg)
    return found


def _topological(resources: dict[str, Resource]) -> list[Resource]:
    order: list[Resource] = []
    state: dict[str, int] = {}

    def visit(logical_id: str, path: tuple[str, ...]) -> None:
        if state.get(logical_id) == 2:
            return
        if state.get(logical_id) == 1:
            # A cycle through names only (e.g. a log group naming its function) is harmless:
            # creation order among those resources does not matter.
            return
        state[logical_id] = 1
        resource = resources[logical_id]
        needs = (references(resource.properties) | set(resource.depends_on)) & set(resources)
        for dependency in sorted(needs - {logical_id}):
            visit(dependency, (*path, logical_id))
        state[logical_id] = 2
        order.append(resource)

    for logical_id in resources:
        visit(logical_id, ())
    return order
