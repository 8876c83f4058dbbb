"""The scaling player (local/scaling/player.py) against CloudWatch on moto, in-process: each period
it reads the window's metrics, sets the alarms' state changes in moto, journals the decisions, and
asks SageMaker for the new capacity; a refused call is logged, never fatal.

The player's clock (``time.time`` and its stop event's waits) is a fake one that jumps a period per
wait, so three periods take no real time."""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from moto import mock_aws

from local.scaling import player as player_module
from local.scaling.autoscaling import MetricKey, ScalingPlan, ScalingResource
from local.scaling.player import ScalingPlayer, journal, plan_of
from tests.support.local_state import state
from tests.support.scaling import ALARM, ENDPOINT, NO_CAPACITY_ALARM, SCALABLE_TARGET, STEP_POLICY, TARGET

STEP = "arn:aws:autoscaling:us-east-1:123456789012:scalingPolicy:1:resource/sagemaker/from-zero"
NO_CAPACITY = MetricKey("AWS/SageMaker", "HasBacklogWithoutCapacity", (("EndpointName", ENDPOINT),), "Average")
SCALING = [
    {
        "logical_id": "AsyncScalableTarget",
        "type": "AWS::ApplicationAutoScaling::ScalableTarget",
        "ref": TARGET,
        "properties": SCALABLE_TARGET,
    },
    {
        "logical_id": "AsyncScaleOutFromZeroPolicy",
        "type": "AWS::ApplicationAutoScaling::ScalingPolicy",
        "ref": STEP,
        "properties": STEP_POLICY,
    },
    {
        "logical_id": ALARM,
        "type": "AWS::CloudWatch::Alarm",
        "ref": ALARM,
        "properties": {**NO_CAPACITY_ALARM, "AlarmActions": [STEP]},
    },
]


@pytest.fixture
def cloudwatch() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("cloudwatch", region_name="us-east-1")
        client.put_metric_alarm(AlarmName=ALARM, **NO_CAPACITY_ALARM)
        yield client


class Periods:
    """The player's stop event and clock: each wait moves the clock to the moment it waited for."""

    def __init__(self, start: float, periods: int) -> None:
        self.now, self.left = start, periods

    def time(self) -> float:
        return self.now

    def wait(self, timeout: float) -> bool:
        if self.left == 0:
            return True
        self.left -= 1
        self.now += timeout
        return False


def player(tmp_path: Path, log: list[str], stopping: Any = None) -> ScalingPlayer:
    played = state(scaling=SCALING, state_dir=str(tmp_path), scaling_clock_factor=60.0)
    plan = plan_of(played)
    assert plan is not None
    shown = ScalingPlayer(played, plan, stopping, log.append)
    shown.client = lambda service, **_: boto3.client(service, region_name="us-east-1")  # type: ignore[assignment]
    return shown


def publish(cloudwatch: Any, start: float, seconds: int, value: float) -> None:
    for second in range(seconds):
        cloudwatch.put_metric_data(
            Namespace="AWS/SageMaker",
            MetricData=[
                {
                    "MetricName": "HasBacklogWithoutCapacity",
                    "Dimensions": [{"Name": "EndpointName", "Value": ENDPOINT}],
                    "Timestamp": datetime.fromtimestamp(start + second + 0.5, UTC),
                    "Value": value,
                }
            ],
        )


def test_a_backlog_without_capacity_for_two_periods_sets_the_alarm_and_scales_out_from_zero(
    cloudwatch, tmp_path, monkeypatch
):
    start = float(math.floor(time.time()) - 120)  # recent enough for CloudWatch, whole seconds as moto keeps
    publish(cloudwatch, start, 4, 1.0)
    periods = Periods(start, 3)
    monkeypatch.setattr(player_module, "time", SimpleNamespace(time=periods.time))
    log: list[str] = []

    player(tmp_path, log, periods)._loop()

    recorded = journal(tmp_path)
    assert [(r["kind"], r["virtual_seconds"]) for r in recorded] == [("alarm", 120.0), ("scale", 120.0)]
    assert recorded[0] | {"time": None} == {
        "kind": "alarm",
        "virtual_seconds": 120.0,
        "time": None,
        "alarm": ALARM,
        "old": "INSUFFICIENT_DATA",
        "new": "ALARM",
    }
    assert (recorded[1]["endpoint"], recorded[1]["previous"], recorded[1]["desired"]) == (ENDPOINT, 0, 1)
    alarm = cloudwatch.describe_alarms(AlarmNames=[ALARM])["MetricAlarms"][0]
    assert (alarm["StateValue"], alarm["StateReason"]) == ("ALARM", "local autoscaler (local/scaling/player.py)")
    # moto holds no such endpoint: the update is refused and logged, the player goes on
    assert log[0] == f"autoscaling: {ENDPOINT} 0 → 1 ({recorded[1]['cause']})"
    assert log[1].startswith(f"autoscaling: {ENDPOINT}: An error occurred")


def test_a_window_with_no_datapoint_reads_as_none_and_sums_add_up(cloudwatch, tmp_path):
    start = float(math.floor(time.time()) - 120)
    publish(cloudwatch, start, 3, 2.0)
    shown = player(tmp_path, [])
    window = (datetime.fromtimestamp(start, UTC), datetime.fromtimestamp(start + 3, UTC))
    later = (datetime.fromtimestamp(start + 10, UTC), datetime.fromtimestamp(start + 13, UTC))

    assert shown._read(NO_CAPACITY, *window) == 2.0
    assert shown._read(dataclasses.replace(NO_CAPACITY, statistic="Sum"), *window) == 6.0
    assert shown._read(NO_CAPACITY, *later) is None


def test_unreachable_cloudwatch_reads_as_no_data_and_alarm_states_are_best_effort(tmp_path):
    shown = player(tmp_path, [])  # no moto: the client's endpoint refuses
    shown.client = lambda service, **_: boto3.client(  # type: ignore[assignment]
        service, region_name="us-east-1", endpoint_url="http://127.0.0.1:9", aws_access_key_id="x",
        aws_secret_access_key="x", config=__import__("botocore.config").config.Config(retries={"max_attempts": 0}),
    )  # fmt: skip
    now = datetime.now(UTC)

    assert shown._read(NO_CAPACITY, now, now) is None
    shown._set_alarm_state(ALARM, "ALARM")  # no exception
    assert shown._current_capacities() == {}


def test_states_cloudwatch_has_no_word_for_are_not_set(cloudwatch, tmp_path):
    shown = player(tmp_path, [])
    shown._set_alarm_state(ALARM, "PENDING")

    assert cloudwatch.describe_alarms(AlarmNames=[ALARM])["MetricAlarms"][0]["StateValue"] == "OK"


def test_no_journal_without_a_state_directory_and_none_read_before_anything_ran(tmp_path):
    played = state(scaling=SCALING, state_dir="")
    plan = plan_of(played)
    assert plan is not None
    silent = ScalingPlayer(played, plan, None, print)  # type: ignore[arg-type]

    silent._record("scale", 60.0, endpoint=ENDPOINT)

    assert silent.journal is None
    assert journal(tmp_path) == []


def test_a_stack_without_scaled_endpoints_has_no_plan():
    assert plan_of(state()) is None
    assert isinstance(plan_of(state(scaling=SCALING)), ScalingPlan)
    assert ScalingResource(**SCALING[0]).ref == TARGET
