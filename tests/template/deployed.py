"""CloudFormation evaluated offline for the root stack and its nested Endpoints stack: which conditions
hold, which resources and outputs exist, what the parent passes down (the template tier's endpoint and IAM
tests share it)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from tests.template.cfn import of_type
from tests.template.stack import PARAMETERS, ROOT, translate

NESTED = ROOT / "endpoints" / "template.yaml"
REGION, PARTITION = "us-east-1", "aws"
ACCOUNT = PARAMETERS["AWS::AccountId"]
PSEUDO = {"AWS::Region": REGION, "AWS::Partition": PARTITION} | {k: v for k, v in PARAMETERS.items() if "::" in k}

IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/churn-model:7"
MODEL_DATA = "s3://my-model-artifacts/churn/v7/model.tar.gz"
EXISTING_MODEL = "churn-model-v6"
REALTIME, SERVERLESS = "my-realtime-endpoint", "my-serverless-endpoint"

CREATE_ASYNC = {"CreateAsyncEndpoint": "true", "ModelImageUri": IMAGE}
CREATE_REALTIME = {"CreateRealtimeEndpoint": "true", "RealtimeEndpointName": REALTIME, "ModelImageUri": IMAGE}
CREATE_SERVERLESS = {"CreateServerlessEndpoint": "true", "ServerlessEndpointName": SERVERLESS, "ModelImageUri": IMAGE}
CREATE_ALL = CREATE_ASYNC | CREATE_REALTIME | CREATE_SERVERLESS
FLAGS = ("CreateAsyncEndpoint", "CreateRealtimeEndpoint", "CreateServerlessEndpoint")

ROLE = {"ExecutionRole"}
MODEL = {"Model"}
ASYNC = {"AsyncEndpointConfig", "AsyncEndpoint"}
ASYNC_SCALING = {
    "AsyncScalableTarget",
    "AsyncBacklogTracking",
    "AsyncScaleOutFromZero",
    "AsyncBacklogWithoutCapacityAlarm",
}
REALTIME_ENDPOINT = {"RealtimeEndpointConfig", "RealtimeEndpoint"}
REALTIME_SCALING = {"RealtimeScalableTarget", "RealtimeInvocationsTracking"}
SERVERLESS_ENDPOINT = {"ServerlessEndpointConfig", "ServerlessEndpoint"}

_NO_VALUE = object()
_SUB_VARIABLE = re.compile(r"\$\{([^!}][^}]*)\}")


# ---------------------------------------------------------------- CloudFormation, evaluated offline


@dataclass(frozen=True)
class Deployment:
    """A template with its parameter values: which conditions hold, which resources and outputs exist,
    and property values with Ref/Fn::If/Fn::Sub/Fn::Select/Fn::Split/Fn::Join resolved. References to
    resources (Ref, Fn::GetAtt, ``${Resource}`` in a Sub) stay as they are: they are known at deploy time."""

    template: dict[str, Any]
    values: dict[str, Any]

    def condition(self, name: str) -> bool:
        return self.holds(self.template["Conditions"][name])

    def holds(self, expression: Any) -> bool:
        [(function, argument)] = expression.items()
        if function == "Condition":
            return self.condition(argument)
        if function == "Fn::Equals":  # CloudFormation compares the strings: 0 equals "0"
            return str(self.resolve(argument[0])) == str(self.resolve(argument[1]))
        if function == "Fn::Not":
            return not self.holds(argument[0])
        if function == "Fn::And":
            return all(self.holds(item) for item in argument)
        if function == "Fn::Or":
            return any(self.holds(item) for item in argument)
        raise AssertionError(f"unexpected condition function {function}")

    def exists(self, resource: str) -> bool:
        body = self.template["Resources"][resource]
        return "Condition" not in body or self.condition(body["Condition"])

    def resources(self) -> set[str]:
        return {name for name in self.template["Resources"] if self.exists(name)}

    def outputs(self) -> set[str]:
        return {
            name
            for name, o in self.template.get("Outputs", {}).items()
            if "Condition" not in o or self.condition(o["Condition"])
        }

    def properties(self, resource: str) -> dict[str, Any]:
        assert self.exists(resource), f"{resource} is not created"
        resolved: dict[str, Any] = self.resolve(self.template["Resources"][resource].get("Properties", {}))
        return resolved

    def output(self, name: str) -> Any:
        assert name in self.outputs(), f"output {name} does not exist"
        return self.resolve(self.template["Outputs"][name]["Value"])

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [item for item in (self.resolve(v) for v in value) if item is not _NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            [(function, argument)] = value.items()
            if function == "Ref":
                if argument == "AWS::NoValue":
                    return _NO_VALUE
                return self.values.get(argument, PSEUDO.get(argument, value))
            if function == "Fn::If":
                condition, when_true, when_false = argument
                return self.resolve(when_true if self.condition(condition) else when_false)
            if function == "Fn::Sub":
                return self._sub(argument)
            if function == "Fn::Select":
                index, items = self.resolve(argument)
                return items[int(index)] if isinstance(items, list) else {function: [index, items]}
            if function == "Fn::Split":
                separator, joined = self.resolve(argument)
                return joined.split(separator) if isinstance(joined, str) else {function: [separator, joined]}
            if function == "Fn::Join":
                separator, items = self.resolve(argument)
                if isinstance(items, list) and all(isinstance(i, str) for i in items):
                    return separator.join(items)
                return {function: [separator, items]}
        resolved = {key: self.resolve(inner) for key, inner in value.items()}
        return {key: inner for key, inner in resolved.items() if inner is not _NO_VALUE}

    def _sub(self, argument: Any) -> Any:
        pattern, variables = (argument, {}) if isinstance(argument, str) else argument
        known = {**PSEUDO, **self.values, **{k: self.resolve(v) for k, v in variables.items()}}

        def substitute(match: re.Match[str]) -> str:
            name = match.group(1)
            return known[name] if isinstance(known.get(name), str) else match.group(0)

        rendered = _SUB_VARIABLE.sub(substitute, pattern)
        return rendered if not _SUB_VARIABLE.search(rendered) else {"Fn::Sub": rendered}


def parent_values(cfn: dict[str, Any], values: dict[str, str]) -> dict[str, Any]:
    """Every parent parameter: its default, conftest's PARAMETERS, then ``values``."""
    merged = {name: str(p.get("Default", "")) for name, p in cfn["Parameters"].items()}
    merged |= {k: v for k, v in PARAMETERS.items() if "::" not in k} | values
    lists = {name for name, p in cfn["Parameters"].items() if p["Type"] == "CommaDelimitedList"}
    return {name: value.split(",") if name in lists else value for name, value in merged.items()}


def endpoints_stack(cfn: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The Endpoints nested stack (SAM turns the application into a CloudFormation stack); the others:
    Monitoring holds the alarms (tests/template/test_monitoring.py), Batch the nightly and batch-result
    functions (inlined by the ``cfn`` fixture)."""
    stacks = of_type(cfn, "AWS::CloudFormation::Stack")
    assert "Endpoints" in stacks and set(stacks) <= {"Endpoints", "Monitoring", "Batch"}
    return "Endpoints", stacks["Endpoints"]


@dataclass(frozen=True)
class Stacks:
    parent: Deployment
    nested: Deployment | None  # None: the parent creates no Endpoints stack

    @property
    def endpoints(self) -> Deployment:
        assert self.nested is not None, "the parent creates no Endpoints stack"
        return self.nested


def deploy(source_template: dict[str, Any], nested_template: dict[str, Any], **values: str) -> Stacks:
    """The parent translated by SAM with these parameter values, and the nested stack with what the
    parent passes it (its own defaults otherwise)."""
    cfn = translate(source_template, PARAMETERS | values)
    parent = Deployment(cfn, parent_values(cfn, values))
    name, stack = endpoints_stack(cfn)
    if not parent.exists(name):
        return Stacks(parent, None)
    passed = parent.resolve(stack["Properties"]["Parameters"])
    defaults = {n: str(p["Default"]) for n, p in nested_template["Parameters"].items() if "Default" in p}
    return Stacks(parent, Deployment(nested_template, defaults | passed))


def get_atts(value: Any, resource: str) -> set[str]:
    """The attributes of ``resource`` that ``value`` reads through Fn::GetAtt (or ``${resource.X}``)."""
    found: set[str] = set()
    if isinstance(value, dict):
        for key, inner in value.items():
            if key == "Fn::GetAtt":
                name, attribute = inner if isinstance(inner, list) else inner.split(".", 1)
                found |= {attribute} if name == resource else set()
            elif key == "Fn::Sub":
                pattern = inner if isinstance(inner, str) else inner[0]
                found |= {n.split(".", 1)[1] for n in _SUB_VARIABLE.findall(pattern) if n.startswith(f"{resource}.")}
                found |= get_atts(inner, resource) if isinstance(inner, list) else set()
            else:
                found |= get_atts(inner, resource)
    elif isinstance(value, list):
        for inner in value:
            found |= get_atts(inner, resource)
    return found
