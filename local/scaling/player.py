"""Application Auto Scaling for the created endpoints, played by the trigger runner on a compressed clock.

Every scaling period (60 s in the template) divided by the clock factor (``LOCAL_SCALING_CLOCK_FACTOR``,
60 by default: one virtual minute per real second), the player reads the period's metrics from
CloudWatch (moto), where the SageMaker stand-in publishes them, feeds them to the pure evaluator
(local/scaling/autoscaling.py: the template's alarm, step policy and target tracking, with their periods,
datapoints, target values and cooldowns in virtual seconds), and applies each decision as Application
Auto Scaling does: ``UpdateEndpointWeightsAndCapacities`` on the stand-in. Alarm state changes are set
on the alarms in moto. Everything that happens is appended to ``<state dir>/scaling.jsonl``.
"""

from __future__ import annotations

import contextlib
import json
import math
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from local.aws.clients import client_factory
from local.aws.state import StackState
from local.scaling.autoscaling import Autoscaler, MetricKey, ScalingPlan, ScalingResource, endpoint_variant


def plan_of(state: StackState) -> ScalingPlan | None:
    """The template's scaling, or None when the stack creates no scaled endpoint."""
    resources = [ScalingResource(**item) for item in state.scaling]
    return ScalingPlan.from_resources(resources) if resources else None


class ScalingPlayer:
    def __init__(self, state: StackState, plan: ScalingPlan, stopping: threading.Event, log: Any) -> None:
        self.state = state
        self.plan = plan
        self.stopping = stopping
        self.log = log
        self.factor = state.scaling_clock_factor
        self.client = client_factory(state.aws_endpoint, state.region, state.sagemaker_endpoint)
        self.journal = Path(state.state_dir) / "scaling.jsonl" if state.state_dir else None

    def start(self) -> list[threading.Thread]:
        thread = threading.Thread(target=self._loop, name="autoscaling", daemon=True)
        thread.start()
        return [thread]

    def _loop(self) -> None:
        autoscaler = Autoscaler(self.plan, self._current_capacities())
        window = self.plan.period / self.factor
        # Period k is [anchor + (k-1)·window, anchor + k·window) on whole seconds (all moto keeps), read a
        # second after it ends: a sample published late still counts, as CloudWatch evaluates alarms a
        # little after a period closes. After a stall each period still reads its own window.
        anchor = math.ceil(time.time())
        ticks = 0
        while not self.stopping.wait(max(0.0, anchor + (ticks + 1) * window + 1 - time.time())):
            ticks += 1
            start = datetime.fromtimestamp(math.floor(anchor + (ticks - 1) * window), UTC)
            end = datetime.fromtimestamp(math.floor(anchor + ticks * window), UTC)
            datapoints = {key: self._read(key, start, end) for key in self.plan.metrics()}
            try:
                tick = autoscaler.tick(ticks * self.plan.period, datapoints)
            except ValueError as exc:  # an evaluator bug must not stop the stack
                self.log(f"autoscaling: {exc}")
                continue
            for change in tick.alarms:
                self._record("alarm", tick.time, alarm=change.name, old=str(change.old), new=str(change.new))
                self._set_alarm_state(change.name, str(change.new))
            for decision in tick.decisions:
                name, variant = endpoint_variant(self._target(decision.target).resource_id)
                self._record(
                    "scale",
                    tick.time,
                    endpoint=name,
                    previous=decision.previous,
                    desired=decision.desired,
                    policy=decision.policy,
                    cause=decision.cause,
                )
                self.log(f"autoscaling: {name} {decision.previous} → {decision.desired} ({decision.cause})")
                try:
                    self.client("sagemaker").update_endpoint_weights_and_capacities(
                        EndpointName=name,
                        DesiredWeightsAndCapacities=[
                            {"VariantName": variant, "DesiredInstanceCount": decision.desired}
                        ],
                    )
                except (BotoCoreError, ClientError) as exc:
                    self.log(f"autoscaling: {name}: {exc}")

    def _target(self, ref: str) -> Any:
        return next(target for target in self.plan.targets if target.ref == ref)

    def _current_capacities(self) -> dict[str, int]:
        """Application Auto Scaling starts from what the variant runs now."""
        capacities = {}
        for target in self.plan.targets:
            name, variant = endpoint_variant(target.resource_id)
            try:
                described = self.client("sagemaker").describe_endpoint(EndpointName=name)
            except (BotoCoreError, ClientError):
                continue
            for production in described.get("ProductionVariants", []):
                if production["VariantName"] == variant:
                    capacities[target.ref] = int(production["DesiredInstanceCount"])
        return capacities

    def _read(self, key: MetricKey, start: datetime, end: datetime) -> float | None:
        """The metric's statistic over [start, end), or None when nothing was published."""
        try:
            points = self.client("cloudwatch").get_metric_statistics(
                Namespace=key.namespace,
                MetricName=key.name,
                Dimensions=[{"Name": name, "Value": value} for name, value in key.dimensions],
                StartTime=start,
                EndTime=end,
                Period=max(1, round((end - start).total_seconds())),
                Statistics=[key.statistic],
            )["Datapoints"]
        except (BotoCoreError, ClientError):
            return None
        values = [float(point[key.statistic]) for point in points if key.statistic in point]
        if not values:
            return None
        return sum(values) if key.statistic == "Sum" else sum(values) / len(values)

    def _set_alarm_state(self, name: str, state: str) -> None:
        if state not in ("OK", "ALARM", "INSUFFICIENT_DATA"):
            return
        # Target tracking's own alarms exist only in the evaluator: moto answers ResourceNotFound.
        with contextlib.suppress(BotoCoreError, ClientError):
            self.client("cloudwatch").set_alarm_state(
                AlarmName=name, StateValue=state, StateReason="local autoscaler (local/scaling/player.py)"
            )

    def _record(self, kind: str, virtual: float, **fields: Any) -> None:
        if self.journal is None:
            return
        line = {"kind": kind, "virtual_seconds": virtual, "time": datetime.now(UTC).isoformat(), **fields}
        with self.journal.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(line) + "\n")


def journal(state_dir: Path) -> list[dict[str, Any]]:
    """What the player recorded, oldest first."""
    path = state_dir / "scaling.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
