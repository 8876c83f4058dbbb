"""Small readers for CloudFormation JSON: resources by type, references, IAM statements."""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from typing import Any

_SUB_VARIABLE = re.compile(r"\$\{([^}!][^}]*)\}")


def of_type(cfn: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {name: r for name, r in cfn["Resources"].items() if r["Type"] == resource_type}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def references(value: Any) -> set[str]:
    """Logical IDs and parameters a value names through Ref, Fn::GetAtt or Fn::Sub (no pseudo parameters)."""
    return {name for name in _references(value) if not name.startswith("AWS::")}


def _references(value: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(value, dict):
        for key, inner in value.items():
            if key == "Ref":
                found.add(inner)
            elif key == "Fn::GetAtt":
                found.add(inner[0] if isinstance(inner, list) else inner.split(".")[0])
            elif key == "Fn::Sub":
                pattern, variables = (inner, {}) if isinstance(inner, str) else inner
                found |= {name.split(".")[0] for name in _SUB_VARIABLE.findall(pattern)} - set(variables)
                found |= _references(variables)
            else:
                found |= _references(inner)
    elif isinstance(value, list):
        for inner in value:
            found |= _references(inner)
    return found


def text(value: Any) -> str:
    """A comparable string for a literal or a Fn::Sub pattern; Ref/GetAtt render as ${Name}."""
    if isinstance(value, str):
        return value
    if "Fn::Sub" in value:
        inner = value["Fn::Sub"]
        return inner if isinstance(inner, str) else inner[0]
    if "Ref" in value:
        return "${" + value["Ref"] + "}"
    if "Fn::GetAtt" in value:
        inner = value["Fn::GetAtt"]
        return "${" + (".".join(inner) if isinstance(inner, list) else inner) + "}"
    raise AssertionError(f"cannot render {value!r}")


def statements(document: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every statement of a policy document, both branches of a Fn::If, none for AWS::NoValue."""

    def expand(item: Any) -> Iterator[dict[str, Any]]:
        if isinstance(item, dict) and "Fn::If" in item:
            for branch in item["Fn::If"][1:]:
                yield from expand(branch)
        elif isinstance(item, dict) and item.get("Ref") == "AWS::NoValue":
            return
        else:
            yield item

    for item in as_list(document["Statement"]):
        yield from expand(item)


def role_statements(cfn: dict[str, Any], role: str) -> list[dict[str, Any]]:
    policies = cfn["Resources"][role]["Properties"].get("Policies", [])
    return [s for policy in policies for s in statements(policy["PolicyDocument"])]


def actions(statement: dict[str, Any]) -> list[str]:
    return as_list(statement["Action"])


def schedule_of(cfn: dict[str, Any], function: str) -> dict[str, Any]:
    """The one Scheduler schedule whose target is ``function``."""
    [schedule] = [
        body
        for body in of_type(cfn, "AWS::Scheduler::Schedule").values()
        if body["Properties"]["Target"]["Arn"] == {"Fn::GetAtt": [function, "Arn"]}
    ]
    return schedule


def number(cfn: dict[str, Any], value: Any) -> int:
    """A numeric property, literal or from the template's ``Mappings`` (``Fn::FindInMap``)."""
    if isinstance(value, dict) and "Fn::FindInMap" in value:
        name, top, second = value["Fn::FindInMap"]
        value = cfn["Mappings"][name][top][second]
    if isinstance(value, dict) and "Ref" in value:  # a parameter: its default
        value = cfn["Parameters"][value["Ref"]]["Default"]
    return int(value)


def _evaluate(expression: Any, parameters: dict[str, str]) -> Any:
    """The rule functions the template uses, as CloudFormation evaluates them."""
    if isinstance(expression, dict):
        [(function, argument)] = expression.items()
        if function == "Ref":
            return parameters[argument]
        if function == "Fn::Contains":
            values, value = argument
            return _evaluate(value, parameters) in [_evaluate(v, parameters) for v in values]
        if function == "Fn::Equals":
            return _evaluate(argument[0], parameters) == _evaluate(argument[1], parameters)
        if function == "Fn::EachMemberEquals":  # of a CommaDelimitedList: "" is one empty member
            values, value = argument
            members = _evaluate(values, parameters)
            members = members.split(",") if isinstance(members, str) else members
            return all(member == _evaluate(value, parameters) for member in members)
        if function == "Fn::Not":
            return not _evaluate(argument[0], parameters)
        if function == "Fn::And":
            return all(_evaluate(item, parameters) for item in argument)
        if function == "Fn::Or":
            return any(_evaluate(item, parameters) for item in argument)
        raise AssertionError(f"unexpected rule function {function}")
    return expression


# What every deployment the tests describe gives on top of the template's defaults: by default the async
# endpoint is the user's own, and the Rules want its execution role named (ResultPublisherRoleArns).
# tests/template/test_trust_boundaries.py shows the Rule with the parameter left empty.
DEPLOYED = {"ResultPublisherRoleArns": "arn:aws:iam::123456789012:role/endpoint-execution"}


def rejected_by(source_template: dict[str, Any], **values: str) -> list[str]:
    """The AssertDescriptions CloudFormation would show for these parameter values (:data:`DEPLOYED`
    and the template's defaults otherwise)."""
    parameters = {name: str(p.get("Default", "")) for name, p in source_template["Parameters"].items()}
    parameters.update(DEPLOYED)
    parameters.update(values)
    failures = []
    for rule in source_template["Rules"].values():
        if "RuleCondition" in rule and not _evaluate(rule["RuleCondition"], parameters):
            continue
        failures += [a["AssertDescription"] for a in rule["Assertions"] if not _evaluate(a["Assert"], parameters)]
    return failures


def inline_nested(cfn: dict[str, Any], stack: str, nested: dict[str, Any]) -> dict[str, Any]:
    """``cfn`` with the nested stack ``stack`` replaced by ``nested``'s resources, conditions and outputs,
    each of its parameters replaced by what the parent passes (a Ref or GetAtt of the parent's own
    resources or parameters), and ``Fn::GetAtt [stack, Outputs.X]`` by that output's value: the parent
    as one template, so assertions about what the nested stack watches name the parent's resources."""
    view = copy.deepcopy(cfn)
    passed: dict[str, Any] = view["Resources"].pop(stack)["Properties"]["Parameters"]
    assert set(passed) == set(nested["Parameters"]), f"{stack}: passed and declared parameters differ"

    def in_sub(value: Any) -> str:
        if isinstance(value, dict) and "Ref" in value:
            return "${" + value["Ref"] + "}"
        if isinstance(value, dict) and "Fn::GetAtt" in value:
            return "${" + ".".join(value["Fn::GetAtt"]) + "}"
        raise AssertionError(f"{stack}: cannot substitute {value!r} in a Fn::Sub")

    def substitute(value: Any) -> Any:
        if isinstance(value, list):
            return [substitute(v) for v in value]
        if not isinstance(value, dict):
            return value
        if set(value) == {"Ref"} and value["Ref"] in passed:
            return copy.deepcopy(passed[value["Ref"]])
        if set(value) == {"Fn::Sub"}:
            pattern, variables = (value["Fn::Sub"], {}) if isinstance(value["Fn::Sub"], str) else value["Fn::Sub"]
            pattern = _SUB_VARIABLE.sub(
                lambda m: (
                    in_sub(passed[m.group(1)]) if m.group(1) in passed and m.group(1) not in variables else m.group(0)
                ),
                pattern,
            )
            variables = substitute(variables)
            return {"Fn::Sub": [pattern, variables] if variables else pattern}
        return {k: substitute(v) for k, v in value.items()}

    for name, condition in nested.get("Conditions", {}).items():
        resolved = substitute(condition)
        assert view["Conditions"].setdefault(name, resolved) == resolved, f"{stack}: condition {name} differs"
    for name, resource in nested["Resources"].items():
        assert name not in view["Resources"], f"{stack}: {name} is a parent resource too"
        view["Resources"][name] = substitute(resource)
    outputs = {f"Outputs.{name}": substitute(o["Value"]) for name, o in nested.get("Outputs", {}).items()}

    def read_outputs(value: Any) -> Any:
        if isinstance(value, list):
            return [read_outputs(v) for v in value]
        if not isinstance(value, dict):
            return value
        if set(value) == {"Fn::GetAtt"} and value["Fn::GetAtt"][0] == stack:
            return outputs[value["Fn::GetAtt"][1]]
        return {k: read_outputs(v) for k, v in value.items()}

    view["Resources"] = read_outputs(view["Resources"])
    view["Outputs"] = read_outputs(view["Outputs"])
    return view


# Every function reads these (Globals): what a deadline is computed from.
DEADLINE_ENV = {
    "CLAIM_TIMEOUT_SECONDS", "REQUEST_TTL_SECONDS",
    "INVOCATION_TIMEOUT_SECONDS", "TRANSFORM_MAX_RUNTIME_SECONDS", "NIGHTLY_INTERVAL_SECONDS",
    "NIGHTLY_RETRY_WINDOW_SECONDS", "DEADLINE_GRACE_SECONDS",
    "QUEUE_RETENTION_SECONDS",
}  # fmt: skip


# Read by several functions and declared once (Globals): the result topics, where results and jobs go,
# the batch transform's settings. A function may carry one of these without reading it, never more.
TRANSFORM_ENV = {
    "TRANSFORM_MODEL_NAME", "TRANSFORM_JOB_PREFIX", "TRANSFORM_INSTANCE_TYPE", "TRANSFORM_INSTANCE_COUNT",
    "TRANSFORM_MAX_PAYLOAD_MB", "TRANSFORM_MAX_CONCURRENT_TRANSFORMS", "TRANSFORM_BATCH_STRATEGY",
    "TRANSFORM_SPLIT_TYPE", "TRANSFORM_ASSEMBLE_WITH", "TRANSFORM_ACCEPT", "TRANSFORM_CONTENT_TYPE",
    "TRANSFORM_JOIN_SOURCE", "TRANSFORM_INPUT_FILTER", "TRANSFORM_OUTPUT_FILTER",
}  # fmt: skip
SHARED_ENV = {
    "SUCCESS_TOPIC_ARN",
    "ERROR_TOPIC_ARN",
    "ASYNC_ENDPOINT_NAME",
    "INPUT_BUCKET",
    "OUTPUT_PREFIX",
} | TRANSFORM_ENV


def assert_environment(variables: dict[str, Any], reads: set[str], every: set[str], function: str) -> None:
    """``variables`` declare what the function reads and what every function gets, and beyond that at most
    the shared variables of the Globals."""
    assert reads | every <= set(variables), (function, reads | every - set(variables))
    assert set(variables) - reads - every <= SHARED_ENV, (function, set(variables) - reads - every - SHARED_ENV)


def props(cfn: dict[str, Any], name: str) -> dict[str, Any]:
    return cfn["Resources"][name]["Properties"]


def env(cfn: dict[str, Any], function: str) -> dict[str, Any]:
    return props(cfn, function)["Environment"]["Variables"]


def role_of(cfn: dict[str, Any], function: str) -> str:
    return props(cfn, function)["Role"]["Fn::GetAtt"][0]


def accepts(parameter: dict, value: str) -> bool:
    """CloudFormation's own checks: AllowedValues, AllowedPattern (whole string), MinValue/MaxValue."""
    if "AllowedValues" in parameter and value not in [str(v) for v in parameter["AllowedValues"]]:
        return False
    if "AllowedPattern" in parameter and not re.fullmatch(parameter["AllowedPattern"], value):
        return False
    if parameter["Type"] == "Number":
        number = float(value)
        return parameter.get("MinValue", number) <= number <= parameter.get("MaxValue", number)
    return True


def dead_letter_queues(cfn: dict[str, Any]) -> set[str]:
    """Queues that hold what failed elsewhere: a queue's redrive target, a schedule's or a rule's
    dead-letter queue, a function's on-failure destination."""
    redrives = {
        name
        for queue in of_type(cfn, "AWS::SQS::Queue").values()
        if "RedrivePolicy" in queue["Properties"]
        for name in references(queue["Properties"]["RedrivePolicy"]["deadLetterTargetArn"])
    }
    schedules = {
        name
        for schedule in of_type(cfn, "AWS::Scheduler::Schedule").values()
        for name in references(schedule["Properties"]["Target"].get("DeadLetterConfig", {}))
    }
    rules = {
        name
        for rule in of_type(cfn, "AWS::Events::Rule").values()
        for target in rule["Properties"]["Targets"]
        for name in references(target.get("DeadLetterConfig", {}))
    }
    destinations = {
        name
        for config in of_type(cfn, "AWS::Lambda::EventInvokeConfig").values()
        for name in references(config["Properties"].get("DestinationConfig", {}).get("OnFailure", {}))
    }
    return redrives | schedules | rules | destinations
