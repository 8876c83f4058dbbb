"""Alarms and the dashboard: every metric they read is one the code emits (names and dimensions, read
from the source with ``ast``), every dead-letter queue and every function is watched, and every alarm
reaches the alarm topic (README: "Alarms and dashboard")."""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from orchestrator.core.routing import Mode

from tests.template.cfn import as_list, dead_letter_queues, of_type, references, statements
from tests.template.stack import PARAMETERS, ROOT

PACKAGE = ROOT / "layers" / "orchestrator" / "orchestrator"
NAMESPACE = "SageMakerInferenceOrchestrator"
ALARM = "AWS::CloudWatch::Alarm"
# MetricsEmitter methods (orchestrator/observability.py) and the dimensions each adds to Powertools' ``service``.
RECORDER_METHODS = {"count", "timing", "level"}

Metric = tuple[str, frozenset[str]]  # name, dimension names


# ---------------------------------------------------------------- what the code emits


def _status_metric_names(tree: ast.Module) -> set[str]:
    """The values of a module-level ``STATUS_METRIC = {Status.X: "RequestsX", …}``."""
    names: set[str] = set()
    for node in tree.body:
        target = node.targets[0] if isinstance(node, ast.Assign) else getattr(node, "target", None)
        value = getattr(node, "value", None)
        if isinstance(target, ast.Name) and target.id == "STATUS_METRIC" and isinstance(value, ast.Dict):
            names |= {v.value for v in value.values if isinstance(v, ast.Constant) and isinstance(v.value, str)}
    return names


def _recorder_calls(tree: ast.Module) -> Iterator[ast.Call]:
    """``….recorder.count(…)`` / ``.timing(…)`` / ``.level(…)`` calls (not ``str.count`` and the like)."""
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in RECORDER_METHODS
            and isinstance(receiver := node.func.value, ast.Attribute | ast.Name)
            and (receiver.attr if isinstance(receiver, ast.Attribute) else receiver.id).endswith("recorder")
        ):
            yield node


def _dimensions(call: ast.Call) -> frozenset[str]:
    """What MetricsEmitter adds: ``Mode`` (count with mode=, timing always), ``level``'s keywords title-cased;
    Powertools adds ``service`` (POWERTOOLS_SERVICE_NAME) to every metric."""
    assert isinstance(call.func, ast.Attribute)
    keywords = {k.arg for k in call.keywords if k.arg}
    if call.func.attr == "timing":
        return frozenset({"Mode", "service"})
    if call.func.attr == "level":
        return frozenset({k.title() for k in keywords} | {"service"})
    return frozenset({"Mode", "service"} if "mode" in keywords else {"service"})


def emitted_metrics() -> set[Metric]:
    """Every (name, dimension names) the package emits: calls whose first argument is a literal, or
    ``STATUS_METRIC[…]`` (each value of that dict)."""
    trees = [ast.parse(path.read_text(), str(path)) for path in sorted(PACKAGE.rglob("*.py"))]
    status_names = set().union(*(_status_metric_names(tree) for tree in trees))
    assert status_names, "no STATUS_METRIC dict found in the package"
    emitted: set[Metric] = set()
    for tree in trees:
        for call in _recorder_calls(tree):
            first = call.args[0] if call.args else None
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                names = {first.value}
            elif isinstance(first, ast.Subscript) and isinstance(first.value, ast.Name):
                assert first.value.id == "STATUS_METRIC", ast.unparse(call)
                names = status_names
            else:  # pragma: no cover - a metric name the test cannot read is a finding in itself
                pytest.fail(f"metric name not readable: {ast.unparse(call)}")
            emitted |= {(name, _dimensions(call)) for name in names}
    return emitted


# ---------------------------------------------------------------- what alarms and the dashboard read


def render(value: Any, cfn: dict[str, Any], *, condition: bool = True) -> str:
    """A Fn::Sub (with its variable map, Fn::If branches taken as ``condition``) as CloudFormation would
    produce it: parameters become their defaults (or conftest's PARAMETERS), resources their logical id,
    ``${!…}`` stays ``${…}`` for CloudWatch."""
    if isinstance(value, str):
        return value
    if "Fn::If" in value:
        _, when_true, when_false = value["Fn::If"]
        return render(when_true if condition else when_false, cfn, condition=condition)
    pattern, variables = (value["Fn::Sub"], {}) if isinstance(value["Fn::Sub"], str) else value["Fn::Sub"]
    values = {name: render(v, cfn, condition=condition) for name, v in variables.items()}

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in values:
            return values[name]
        if name in PARAMETERS:
            return str(PARAMETERS[name])
        if name.startswith("AWS::"):
            return {"AWS::Region": "us-east-1", "AWS::Partition": "aws"}.get(name, "pseudo")
        if name in cfn["Parameters"]:
            return str(cfn["Parameters"][name].get("Default", ""))
        assert name.split(".")[0] in cfn["Resources"], f"${{{name}}} names nothing"
        return name.replace(".", "-")

    return re.sub(r"\$\{([^!}][^}]*)\}", substitute, pattern).replace("${!", "${")


def dashboard(cfn: dict[str, Any], *, condition: bool = True) -> dict[str, Any]:
    [body] = of_type(cfn, "AWS::CloudWatch::Dashboard").values()
    parsed: dict[str, Any] = json.loads(render(body["Properties"]["DashboardBody"], cfn, condition=condition))
    return parsed


_SEARCH_SCHEMA = re.compile(r"SEARCH\('\{([^}]*)\}")
_SEARCH_TERM = re.compile(r'(\w+)="([^"]*)"')


def widget_metrics(cfn: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, str | None]]]:
    """(namespace, metric name, {dimension: value, or None when a SEARCH matches any}) for every metric
    of every dashboard widget: explicit ``[ns, name, dim, value, …, {options}]`` rows and SEARCH schemas."""
    for widget in dashboard(cfn)["widgets"]:
        for row in widget["properties"].get("metrics", []):
            plain = [item for item in row if not isinstance(item, dict)]
            if plain:
                namespace, name, *pairs = plain
                yield namespace, name, dict(zip(pairs[::2], pairs[1::2], strict=True))
            for options in (item for item in row if isinstance(item, dict) and "expression" in item):
                [schema] = _SEARCH_SCHEMA.findall(options["expression"])
                namespace, *dimension_names = (part.strip().strip('"') for part in schema.split(","))
                terms = _SEARCH_TERM.findall(options["expression"])
                given = {key: value for key, value in terms if key != "MetricName"}
                for name in (value for key, value in terms if key == "MetricName"):
                    yield namespace, name, {d: given.get(d) for d in dimension_names}


def alarm_metrics(cfn: dict[str, Any]) -> Iterator[tuple[str, str, str, dict[str, Any]]]:
    """(alarm, namespace, metric name, {dimension: value}) for every metric every alarm reads."""
    for name, alarm in of_type(cfn, ALARM).items():
        p = alarm["Properties"]
        metrics = [p] + [q["MetricStat"]["Metric"] for q in p.get("Metrics", []) if "MetricStat" in q]
        for metric in metrics:
            if "MetricName" in metric:
                dimensions = {d["Name"]: d["Value"] for d in metric.get("Dimensions", [])}
                yield name, metric["Namespace"], metric["MetricName"], dimensions


def custom_metrics_read(cfn: dict[str, Any]) -> dict[Metric, set[str]]:
    """(name, dimension names) → where it is read, for the product's own namespace."""
    found: dict[Metric, set[str]] = {}
    for alarm, namespace, name, dimensions in alarm_metrics(cfn):
        if namespace == NAMESPACE:
            found.setdefault((name, frozenset(dimensions)), set()).add(alarm)
    for namespace, name, dimensions in widget_metrics(cfn):
        if namespace == NAMESPACE:
            found.setdefault((name, frozenset(dimensions)), set()).add("Dashboard")
    return found


@pytest.fixture(scope="module")
def cfn(monitored: dict[str, Any]) -> dict[str, Any]:
    """The alarms and the dashboard live in the nested stack Monitoring (monitoring/template.yaml): every
    test here reads the parent with that stack inlined, its parameters replaced by what the parent passes."""
    return monitored


def globals_env(source_template: dict[str, Any]) -> dict[str, Any]:
    variables: dict[str, Any] = source_template["Globals"]["Function"]["Environment"]["Variables"]
    return variables


# ---------------------------------------------------------------- metric names and dimensions


def test_the_code_is_read_for_every_kind_of_metric_it_emits():
    """Given the package's source, then the reader finds the per-mode counts, the STATUS_METRIC outcomes,
    the timings and the per-status levels (a reader that finds nothing would make the next test vacuous)."""
    emitted = emitted_metrics()
    assert ("RequestsRouted", frozenset({"Mode", "service"})) in emitted
    assert ("RequestsFailed", frozenset({"Mode", "service"})) in emitted
    assert ("QueueTime", frozenset({"Mode", "service"})) in emitted
    assert ("DuplicateDeliveries", frozenset({"service"})) in emitted


def test_every_custom_metric_the_alarms_and_dashboard_read_is_one_the_code_emits(cfn):
    """Given every metric of namespace SageMakerInferenceOrchestrator that an alarm or a dashboard widget
    reads, then the code emits that name with exactly those dimensions (CloudWatch matches a metric by
    namespace, name and the full set of dimensions: one missing or extra dimension reads nothing)."""
    read = custom_metrics_read(cfn)
    assert read, "no alarm or widget reads a custom metric"
    emitted = emitted_metrics()
    missing = sorted(
        f"{name} {sorted(dims)} (read by {', '.join(sorted(where))})"
        for (name, dims), where in read.items()
        if (name, dims) not in emitted
    )
    assert not missing, "read but never emitted: " + "; ".join(missing)


def test_custom_metrics_are_read_in_the_namespace_and_service_the_functions_emit_them_with(cfn, source_template):
    """Given the Powertools namespace and service name of every function (Globals), then every alarm and
    widget reading the product's metrics uses that namespace and that ``service`` value."""
    variables = globals_env(source_template)
    assert variables["POWERTOOLS_METRICS_NAMESPACE"] == NAMESPACE
    service = variables["POWERTOOLS_SERVICE_NAME"]
    custom = [(ns, d) for _, ns, _, d in alarm_metrics(cfn) if ns == NAMESPACE]
    custom += [(ns, d) for ns, _, d in widget_metrics(cfn) if ns == NAMESPACE]
    assert custom
    for _, dimensions in custom:
        assert dimensions["service"] == service, dimensions


def test_the_dashboard_body_is_json_with_and_without_an_async_endpoint(cfn):
    """Given the dashboard's DashboardBody, then it renders to a JSON object with widgets whether the
    async endpoint's widgets are in (HasAsyncEndpoint) or out, and only the endpoint widgets go."""
    with_endpoint, without = dashboard(cfn, condition=True), dashboard(cfn, condition=False)
    titles = [w["properties"].get("title", "") for w in with_endpoint["widgets"]]
    assert [w["properties"].get("title", "") for w in without["widgets"]] == [t for t in titles if "endpoint" not in t]
    assert len(with_endpoint["widgets"]) - len(without["widgets"]) == 3


def test_the_dashboard_shows_what_the_readme_lists(cfn):
    """Given the dashboard, then it shows files per mode, every outcome, the three timings at p50 and p95,
    the in-flight and overdue counts, unknown notifications, every dead-letter queue, every function's
    errors and throttles, and the endpoint's backlog and instances."""
    shown = {(ns, name) for ns, name, _ in widget_metrics(cfn)}
    for name in (
        "RequestsRouted", "RequestsSucceeded", "RequestsFailed", "RequestsExpired", "RequestsStopped",
        "RequestsSkipped", "QueueTime", "ProcessingTime", "EndToEndLatency", "InFlightItems", "OverdueItems",
        "UnknownNotifications",
    ):  # fmt: skip
        assert (NAMESPACE, name) in shown, name
    assert {("AWS/Lambda", "Errors"), ("AWS/Lambda", "Throttles")} <= shown
    assert {("AWS/SageMaker", "ApproximateBacklogSize"), ("/aws/sagemaker/Endpoints", "CPUUtilization")} <= shown
    expressions = json.dumps(dashboard(cfn))
    for timing in ("QueueTime", "ProcessingTime", "EndToEndLatency"):
        for stat in ("p50", "p95"):
            assert f"MetricName=\\\"{timing}\\\"', '{stat}'" in expressions, (timing, stat)
    queues = {d["QueueName"] for ns, name, d in widget_metrics(cfn) if name == "ApproximateNumberOfMessagesVisible"}
    assert {f"{q}-QueueName" for q in dead_letter_queues(cfn)} <= queues
    functions = {d["FunctionName"] for ns, name, d in widget_metrics(cfn) if ns == "AWS/Lambda"}
    assert functions == set(of_type(cfn, "AWS::Lambda::Function"))


# ---------------------------------------------------------------- coverage and wiring of the alarms


def _watching(cfn: dict[str, Any], namespace: str, metric: str) -> dict[str, set[str]]:
    """Alarm → the resources named in the dimensions of its ``namespace``/``metric``."""
    found: dict[str, set[str]] = {}
    for alarm, ns, name, dimensions in alarm_metrics(cfn):
        if (ns, name) == (namespace, metric):
            found.setdefault(alarm, set()).update(references(list(dimensions.values())))
    return found


def test_every_dead_letter_queue_has_an_alarm_on_its_visible_messages(cfn):
    """Given every queue that holds what failed elsewhere, then an alarm fires when one message is visible."""
    watching = _watching(cfn, "AWS/SQS", "ApproximateNumberOfMessagesVisible")
    watched = {queue for queues in watching.values() for queue in queues}
    assert dead_letter_queues(cfn) == {
        "RouterDLQ",
        "TrackerDLQ",
        "NightlyDLQ",
        "BatchResultDLQ",
        "SweeperDLQ",
        "ScorerDLQ",
    }
    assert dead_letter_queues(cfn) <= watched
    for alarm in watching:
        p = cfn["Resources"][alarm]["Properties"]
        assert (p["Threshold"], p["ComparisonOperator"]) == (1, "GreaterThanOrEqualToThreshold"), alarm


@pytest.mark.parametrize("metric", ["Errors", "Throttles"])
def test_every_function_has_an_errors_and_a_throttles_alarm(cfn, metric):
    """Given every Lambda function of the stack, then an alarm watches its Errors and one its Throttles."""
    watching = _watching(cfn, "AWS/Lambda", metric)
    assert all(len(functions) == 1 for functions in watching.values()), watching
    assert {f for functions in watching.values() for f in functions} == set(of_type(cfn, "AWS::Lambda::Function"))


def test_every_alarm_notifies_the_alarm_topic_on_alarm_and_on_ok(cfn):
    """Given every alarm, then its ALARM and OK actions are exactly the alarm topic."""
    alarms = of_type(cfn, ALARM)
    assert len(alarms) >= 20
    for name, alarm in alarms.items():
        p = alarm["Properties"]
        assert p["AlarmActions"] == [{"Ref": "AlarmTopic"}], name
        assert p["OKActions"] == [{"Ref": "AlarmTopic"}], name
        assert p.get("AlarmDescription"), name
        assert "AlarmName" not in p, f"{name}: a fixed name collides when two stacks share an account"


def test_every_alarm_decides_how_missing_data_counts(cfn):
    """Given every alarm, then TreatMissingData is set: SQS alarms keep their state (ignore, SQS stops
    publishing for idle queues), the others treat silence as nothing happening (notBreaching) — but
    the sweeper's silence alarm, for which silence is the fault (breaching)."""
    for name, alarm in of_type(cfn, ALARM).items():
        p = alarm["Properties"]
        expected = "ignore" if p.get("Namespace") == "AWS/SQS" else "notBreaching"
        if name == "SweeperSilentAlarm":
            expected = "breaching"
        assert p.get("TreatMissingData") == expected, name


def test_failure_ratio_reads_every_inference_mode_within_the_ten_metric_limit(cfn):
    """Given the failure-ratio alarm, then it reads RequestsFailed and RequestsSucceeded for every
    inference mode, at most 10 metrics (CloudWatch's hard limit for metric math), returns one series,
    and fires at FailureRatioAlarmPercent for three 5-minute periods in a row."""
    p = cfn["Resources"]["FailureRatioAlarm"]["Properties"]
    stats = [q["MetricStat"] for q in p["Metrics"] if "MetricStat" in q]
    assert len(stats) <= 10
    for metric in ("RequestsFailed", "RequestsSucceeded"):
        modes = {
            d["Value"]
            for s in stats
            if s["Metric"]["MetricName"] == metric
            for d in s["Metric"]["Dimensions"]
            if d["Name"] == "Mode"
        }
        assert modes == {mode.value for mode in Mode}, metric
    assert all((s["Stat"], s["Period"]) == ("Sum", 300) for s in stats)
    [returned] = [q for q in p["Metrics"] if q.get("ReturnData", True)]
    assert "100 * failed / finished" in returned["Expression"]
    assert (p["EvaluationPeriods"], p["DatapointsToAlarm"]) == (3, 3)
    assert p["Threshold"] == {"Ref": "FailureRatioAlarmPercent"}


def test_overdue_items_alarm_fires_on_the_first_overdue_file(cfn):
    p = cfn["Resources"]["OverdueItemsAlarm"]["Properties"]
    assert (p["Namespace"], p["MetricName"], p["Statistic"], p["Threshold"]) == (NAMESPACE, "OverdueItems", "Sum", 1)


def test_work_queue_age_alarm_thresholds(cfn):
    """Router and scorer queues: a parameter each (900 s); the tracker queue: 5 minutes."""
    thresholds = {
        next(iter(references(props["Dimensions"]))): props["Threshold"]
        for props in (
            cfn["Resources"][a]["Properties"] for a in _watching(cfn, "AWS/SQS", "ApproximateAgeOfOldestMessage")
        )
    }
    assert thresholds == {
        "RouterQueue": {"Ref": "RouterQueueAgeAlarmSeconds"},
        "ScorerQueue": {"Ref": "ScorerQueueAgeAlarmSeconds"},
        "TrackerQueue": 300,
    }
    assert cfn["Parameters"]["RouterQueueAgeAlarmSeconds"]["Default"] == 900
    assert cfn["Parameters"]["ScorerQueueAgeAlarmSeconds"]["Default"] == 900


def test_endpoint_alarms_watch_the_configured_endpoint_and_hang_on_its_condition(cfn):
    """Given the async endpoint's alarms, then they read AWS/SageMaker for AsyncEndpointName, exist only
    under HasAsyncEndpoint, and fire on a backlog without capacity for 10 minutes and on an old request."""
    stuck = cfn["Resources"]["EndpointStuckAtZeroAlarm"]
    age = cfn["Resources"]["EndpointRequestAgeAlarm"]
    for alarm in (stuck, age):
        assert alarm["Condition"] == "HasAsyncEndpoint"
        assert alarm["Properties"]["Namespace"] == "AWS/SageMaker"
        assert alarm["Properties"]["Dimensions"] == [{"Name": "EndpointName", "Value": {"Ref": "AsyncEndpointName"}}]
    p = stuck["Properties"]
    assert (p["MetricName"], p["Threshold"], p["ComparisonOperator"]) == (
        "HasBacklogWithoutCapacity",
        1,
        "GreaterThanOrEqualToThreshold",
    )
    assert p["Period"] * p["EvaluationPeriods"] == 600 and p["DatapointsToAlarm"] == p["EvaluationPeriods"]
    assert age["Properties"]["MetricName"] == "ApproximateAgeOfOldestRequest"
    assert age["Properties"]["Threshold"] == {"Ref": "EndpointRequestAgeAlarmSeconds"}
    assert cfn["Conditions"]["HasAsyncEndpoint"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "AsyncEndpointName"}, ""]}]}


# ---------------------------------------------------------------- the alarm topic


def _condition(cfn: dict[str, Any], name: str, parameters: dict[str, str]) -> bool:
    """The condition functions the template uses, for the given parameter values."""

    def evaluate(expression: Any) -> Any:
        if isinstance(expression, dict):
            [(function, argument)] = expression.items()
            if function == "Ref":
                return parameters[argument]
            if function == "Fn::Not":
                return not evaluate(argument[0])
            if function == "Fn::Equals":
                return evaluate(argument[0]) == evaluate(argument[1])
            raise AssertionError(f"unexpected condition function {function}")
        return expression

    return bool(evaluate(cfn["Conditions"][name]))


@pytest.mark.parametrize(("email", "subscribed"), [("", False), ("ops@example.com", True)])
def test_the_email_subscription_exists_only_when_alarm_email_is_set(cfn, email, subscribed):
    """Given AlarmEmail empty (the default) or set, then the e-mail subscription to the alarm topic exists
    exactly when it is set, and sends to that address."""
    [(name, subscription)] = [
        (n, s) for n, s in of_type(cfn, "AWS::SNS::Subscription").items() if s["Properties"]["Protocol"] == "email"
    ]
    assert subscription["Properties"]["TopicArn"] == {"Ref": "AlarmTopic"}
    assert subscription["Properties"]["Endpoint"] == {"Ref": "AlarmEmail"}
    assert _condition(cfn, subscription["Condition"], {"AlarmEmail": email}) is subscribed, name
    assert cfn["Parameters"]["AlarmEmail"]["Default"] == ""


def test_the_alarm_topic_is_encrypted_with_a_key_cloudwatch_may_use(cfn):
    """Given the alarm topic, then its key is a rotated customer managed key that CloudWatch may use (the
    AWS managed SNS key's policy does not admit CloudWatch, whose notifications would then be lost), and
    only alarms of this account and region may publish."""
    assert cfn["Resources"]["AlarmTopic"]["Properties"]["KmsMasterKeyId"] == {
        "Fn::If": ["HasAlarmTopicKey", {"Ref": "AlarmTopicKey"}, {"Ref": "AWS::NoValue"}]
    }
    key = cfn["Resources"]["AlarmTopicKey"]["Properties"]
    assert key["EnableKeyRotation"] is True
    [cloudwatch] = [
        s for s in statements(key["KeyPolicy"]) if s["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    ]
    assert set(as_list(cloudwatch["Action"])) == {"kms:Decrypt", "kms:GenerateDataKey*"}
    [policy] = [
        p
        for p in of_type(cfn, "AWS::SNS::TopicPolicy").values()
        if p["Properties"]["Topics"] == [{"Ref": "AlarmTopic"}]
    ]
    [allow] = statements(policy["Properties"]["PolicyDocument"])
    assert (allow["Effect"], allow["Principal"], allow["Action"]) == (
        "Allow",
        {"Service": "cloudwatch.amazonaws.com"},
        "sns:Publish",
    )
    assert allow["Condition"]["StringEquals"]["aws:SourceAccount"] == {"Ref": "AWS::AccountId"}
    assert ":alarm:*" in allow["Condition"]["ArnLike"]["aws:SourceArn"]["Fn::Sub"]


@pytest.mark.parametrize(("value", "kept"), [("true", True), ("false", False)])
def test_the_optional_fixed_costs_follow_their_parameters(cfn, value, kept):
    """Given AlarmTopicEncryption / CreateDashboard (both "true" by default), then the key ($1 a month) and the
    dashboard ($3) exist exactly when theirs is "true", the topic is encrypted exactly when its key
    exists, and the dashboard's output goes with it (sio cost: "The stack's fixed monthly cost")."""
    resources = cfn["Resources"]
    key = resources["AlarmTopicKey"]["Condition"]
    dashboard = resources["Dashboard"]["Condition"]
    assert _condition(cfn, key, {"AlarmTopicEncryption": value}) is kept
    assert _condition(cfn, dashboard, {"CreateDashboard": value}) is kept
    assert resources["AlarmTopic"]["Properties"]["KmsMasterKeyId"]["Fn::If"][0] == key
    assert cfn["Outputs"]["DashboardName"]["Condition"] == dashboard
    for name in ("AlarmTopicEncryption", "CreateDashboard"):
        assert cfn["Parameters"][name]["Default"] == "true"
        assert cfn["Parameters"][name]["AllowedValues"] == ["true", "false"]


def test_outputs_name_the_alarm_topic_and_the_dashboard(cfn):
    assert cfn["Outputs"]["AlarmTopicArn"]["Value"] == {"Ref": "AlarmTopic"}
    assert cfn["Outputs"]["DashboardName"]["Value"] == {"Ref": "Dashboard"}
    name = cfn["Resources"]["Dashboard"]["Properties"]["DashboardName"]
    assert name == {"Fn::Sub": "${AWS::StackName}-${AWS::Region}"}  # dashboards are global to an account


def test_the_cost_model_bills_every_metric_the_alarms_read(cfn):
    """CloudWatch bills an alarm per metric it reads: the cost model's count is the template's."""
    import json
    from pathlib import Path

    metrics = 0
    for props in (cfn["Resources"][a]["Properties"] for a in of_type(cfn, "AWS::CloudWatch::Alarm")):
        metrics += sum(1 for m in props["Metrics"] if "MetricStat" in m) if "Metrics" in props else 1
    prices = json.loads((Path(__file__).resolve().parents[2] / "cli/sio/prices/us-east-1.json").read_text())
    assert prices["assumptions"]["alarm_metrics"] == metrics == 35
