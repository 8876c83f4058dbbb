"""What `make stack` prints about a running stack (endpoints, topics, schedules, alarms) and the
settings it refuses, computed from the stack's state; the alarms come from CloudWatch on moto."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from local import stack as local_stack
from local.aws.state import ScheduleSpec
from local.stack import LocalStack, StackConfig, alarm_lines, describe, endpoint_lines, parse_parameter_overrides
from tests.support.environment import set_variables
from tests.support.local_state import BUCKET, stack, state


@pytest.fixture
def cloudwatch() -> Iterator[Any]:
    with mock_aws():
        yield boto3.client("cloudwatch", region_name="us-east-1")


def _errors_alarm(cloudwatch: Any, name: str) -> None:
    cloudwatch.put_metric_alarm(
        AlarmName=name,
        MetricName="Errors",
        Namespace="AWS/Lambda",
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
    )


def with_alarms(cloudwatch: Any, states: dict[str, str]) -> LocalStack:
    """A stack whose template declared these alarms (logical id → state moto reports)."""
    resources = {
        "Bucket": {"type": "AWS::S3::Bucket", "ref": BUCKET},
        "Table": {"type": "AWS::DynamoDB::Table", "ref": "t"},
    }
    for logical_id, value in states.items():
        name = f"orchestrator-{logical_id}"
        resources[logical_id] = {"type": "AWS::CloudWatch::Alarm", "ref": name}
        _errors_alarm(cloudwatch, name)
        if value != "OK":
            cloudwatch.set_alarm_state(AlarmName=name, StateValue=value, StateReason="test")
    _errors_alarm(cloudwatch, "someone-elses")  # not the template's: never listed
    local = stack(resources=resources)
    local.client = lambda service, **_: boto3.client(service, region_name="us-east-1")  # type: ignore[method-assign]
    return local


def test_alarm_lines_group_the_templates_alarms_by_the_state_moto_reports(cloudwatch):
    local = with_alarms(cloudwatch, {"RouterErrors": "ALARM", "TrackerErrors": "OK", "SweeperErrors": "OK"})

    lines = alarm_lines(local)

    assert lines[0] == "Alarms: 3 created in moto from template.yaml, with the state moto reports:"
    assert lines[1].split() == ["ALARM", "RouterErrors"]
    assert lines[2].split() == ["OK", "SweeperErrors,", "TrackerErrors"]
    assert lines[3].startswith("  Not evaluated offline: moto stores alarms but never evaluates them")
    assert not any("someone-elses" in line for line in lines)


def test_no_alarm_in_the_template_means_no_alarm_lines_and_no_call():
    local = stack()
    local.client = lambda *_: pytest.fail("no CloudWatch call without alarms")  # type: ignore[method-assign]

    assert alarm_lines(local) == []


def test_alarms_that_cannot_be_listed_are_a_summary_line_not_a_failure():
    local = stack(resources={"A": {"type": "AWS::CloudWatch::Alarm", "ref": "a"}})

    def refuse(*_: Any, **__: Any) -> Any:
        raise ConnectionError("moto is stopping")

    local.client = refuse  # type: ignore[method-assign]

    assert alarm_lines(local) == ["Alarms: could not be listed (moto is stopping)"]


def test_describe_names_endpoints_topics_schedules_and_how_to_subscribe(cloudwatch):
    local = with_alarms(cloudwatch, {"RouterErrors": "OK"})
    local.config.parameters = {"RequestTTLSeconds": "60"}
    local.started_in = 4.25
    sweep = ScheduleSpec("SweeperFunctionSweep", "sweep", "rate(5 minutes)", "SweeperFunction", None)
    nightly = ScheduleSpec("NightlyFunctionSchedule", "nightly", "cron(0 2 * * ? *)", "NightlyFunction", None)
    local._state = state(
        resources=local.state.resources,
        schedules={"SweeperFunctionSweep": sweep, "NightlyFunctionSchedule": nightly},
        outputs={"SuccessTopicArn": "arn:aws:sns:us-east-1:123456789012:ok", "RouterQueueUrl": "http://q/router"},
        sagemaker=[
            {"type": "AWS::SageMaker::Endpoint", "name": "demo-async-endpoint"},
            {"type": "AWS::SageMaker::Endpoint", "name": "demo-realtime-endpoint"},
            {"type": "AWS::SageMaker::Model", "name": "demo-model"},
        ],
        standin_config={
            "endpoints": {
                "demo-async-endpoint": {"instances": {"initial": 1, "min": 0, "max": 4, "startup_seconds": 2}}
            },
            "sync_endpoints": {"demo-realtime-endpoint": {"kind": "realtime"}},
        },
        scaling=[{"any": "scaling"}],
        scaling_clock_factor=60.0,
    )

    text = describe(local)

    assert "local stack 'orchestrator-demo' is running (started in 4.2 s)" in text
    assert f"input bucket        s3://{BUCKET}/incoming/" in text
    assert "parameter           RequestTTLSeconds=60" in text
    assert "endpoint created    demo-async-endpoint (async; 1 instances now, 0-4 by the template's scaling" in text
    assert "endpoint created    demo-realtime-endpoint (realtime; no scaling here)" in text
    assert "describe-endpoint --endpoint-name demo-async-endpoint" in text
    assert "scaling decisions:" in text and "scaling.jsonl" in text
    assert "SuccessTopicArn" in text and "RouterQueueUrl" in text and "sio --local watch" in text
    assert "--fire-schedule SweeperFunctionSweep   # SweeperFunction: rate(5 minutes); here every 3 s by itself" in text
    assert "--fire-schedule NightlyFunctionSchedule   # NightlyFunction: cron(0 2 * * ? *); here on demand" in text
    assert "Alarms: 1 created in moto" in text
    assert text.endswith("Ctrl-C stops the stack.")


def test_a_stack_that_creates_no_endpoint_has_no_endpoint_lines():
    assert endpoint_lines(stack()) == []


def test_parameter_overrides_are_sams_key_value_pairs():
    assert parse_parameter_overrides(" A=1  B=x=y C= ") == {"A": "1", "B": "x=y", "C": ""}
    for bad in ("A", "=1"):
        with pytest.raises(ValueError, match=f"LOCAL_PARAMETER_OVERRIDES: '{bad}' is not Key=Value"):
            parse_parameter_overrides(bad)


def test_settings_come_from_the_environment(monkeypatch, tmp_path):
    settings = {
        "LOCAL_STACK_NAME": "mine",
        "LOCAL_AWS_PORT": "5000",
        "LOCAL_MODEL_URL": "http://model:9000",
        "LOCAL_RATE_SCHEDULE_SECONDS": "0",
        "LOCAL_INSTANCE_STARTUP_SECONDS": "1.5",
        "LOCAL_PARAMETER_OVERRIDES": "RequestTTLSeconds=60",
    }
    set_variables(monkeypatch, settings)

    config = StackConfig.from_env(state_dir=tmp_path)

    assert (config.stack_name, config.aws_port, config.model_url) == ("mine", 5000, "http://model:9000")
    assert config.rate_schedule_seconds == 0.0  # schedules on demand only
    assert config.standin == {"instance_startup_seconds": 1.5}
    assert config.parameters == {"RequestTTLSeconds": "60"}
    assert config.directory == tmp_path
    assert LocalStack(config).model_url == "http://model:9000"


def test_free_ports_are_three_distinct_ones():
    config = StackConfig.on_free_ports(stack_name="x")

    assert len({config.aws_port, config.sagemaker_port, config.model_port}) == 3


@pytest.mark.parametrize("factor", [0.5, 61])
def test_a_scaling_clock_outside_1_to_60_is_refused_before_anything_starts(factor, tmp_path):
    local = LocalStack(StackConfig(scaling_clock_factor=factor, state_dir=tmp_path))

    with pytest.raises(ValueError, match=f"LOCAL_SCALING_CLOCK_FACTOR={factor:g}: must be between 1 and 60"):
        local.start()
    assert local.processes == {} and not (tmp_path / "logs").exists()


def test_a_stack_not_started_has_no_state():
    with pytest.raises(RuntimeError, match="the local stack is not started"):
        _ = LocalStack(StackConfig()).state


def test_main_names_a_malformed_override_and_exits_1(monkeypatch, capsys):
    monkeypatch.setenv("LOCAL_PARAMETER_OVERRIDES", "oops")

    assert local_stack.main([]) == 1
    assert "local stack: LOCAL_PARAMETER_OVERRIDES: 'oops' is not Key=Value" in capsys.readouterr().err
