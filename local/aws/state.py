"""What a running local stack is made of, as plain data written to ``<state dir>/stack.json``.

The stack controller writes it once the resources exist; the trigger runner, the demo, the tests
and the bench read it. Everything in it was derived from ``template.yaml``.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class FunctionSpec:
    logical_id: str
    name: str
    arn: str
    handler: str  # "app.lambda_handler"
    code_dir: str
    layer_dirs: list[str]
    environment: dict[str, str]
    timeout: int
    memory: int
    # Asynchronous invocations (EventBridge rules, schedules): Lambda's retries and on-failure target.
    max_retry_attempts: int = 2
    on_failure_arn: str | None = None


@dataclass
class EventSourceMapping:
    logical_id: str
    function: str  # logical id
    queue_arn: str
    queue_url: str
    batch_size: int = 10
    batching_window: float = 0.0
    report_batch_item_failures: bool = False
    maximum_concurrency: int | None = None
    enabled: bool = True


@dataclass
class RuleTarget:
    """An EventBridge rule's Lambda target, played by an SQS queue the runner drains."""

    rule: str  # logical id
    rule_name: str
    target_id: str
    function: str  # logical id
    queue_arn: str
    queue_url: str


@dataclass
class ScheduleSpec:
    logical_id: str
    name: str
    expression: str
    function: str  # logical id
    input: str | None
    state: str = "ENABLED"
    arn: str = ""  # what EventBridge Scheduler puts in <aws.scheduler.schedule-arn>

    @property
    def is_rate(self) -> bool:
        """``rate(…)`` schedules run by themselves on the local stack's compressed clock (local/triggers/schedules.py);
        ``cron(…)`` ones (a time of day) run on demand."""
        return self.expression.startswith("rate(")


@dataclass
class StackState:
    stack_name: str
    region: str
    account_id: str
    aws_endpoint: str
    sagemaker_endpoint: str
    model_url: str
    parameters: dict[str, str]
    resources: dict[str, dict[str, str]]  # logical id -> type, ref and known attributes
    functions: dict[str, FunctionSpec]
    event_source_mappings: list[EventSourceMapping]
    rule_targets: list[RuleTarget]
    schedules: dict[str, ScheduleSpec]
    notification_queues: list[str]  # queue ARNs that receive the bucket's S3 notifications
    outputs: dict[str, str]
    not_created: dict[str, str]  # logical id -> why the local stack does not create it
    standin_config: dict[str, Any] = field(default_factory=dict)
    state_dir: str = ""
    # Created endpoints' SageMaker resources and their scaling (targets, policies, scaling alarms),
    # resolved; local/scaling/created_endpoints.py and the runner's autoscaler read them.
    sagemaker: list[dict[str, Any]] = field(default_factory=list)
    scaling: list[dict[str, Any]] = field(default_factory=list)
    scaling_clock_factor: float = 60.0

    # ------------------------------------------------------------ lookups

    def physical(self, logical_id: str) -> str:
        return self.resources[logical_id]["ref"]

    def attribute(self, logical_id: str, name: str) -> str:
        return self.resources[logical_id][name]

    def of_type(self, kind: str) -> list[str]:
        return [logical_id for logical_id, info in self.resources.items() if info["type"] == kind]

    def schedule(self, name: str | None = None) -> ScheduleSpec:
        """A schedule by its logical id (``SweeperFunctionSweep``), its physical name, or the logical id of
        the function it runs (``SweeperFunction``); ``None`` only when there is one."""
        if name is None:
            if len(self.schedules) == 1:
                return next(iter(self.schedules.values()))
            raise KeyError(f"several schedules: name one of {', '.join(sorted(self.schedules))}")
        for schedule in self.schedules.values():
            if name in (schedule.logical_id, schedule.name, schedule.function):
                return schedule
        raise KeyError(f"no schedule {name!r}: name one of {', '.join(sorted(self.schedules)) or '(none)'}")

    def mapping_for(self, function: str) -> EventSourceMapping:
        for mapping in self.event_source_mappings:
            if mapping.function == function:
                return mapping
        raise KeyError(f"no SQS event source mapping for {function}")

    # ------------------------------------------------------------ persistence

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=2, sort_keys=True), encoding="utf-8")
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> StackState:
        raw = json.loads(path.read_text(encoding="utf-8"))
        raw["functions"] = {k: FunctionSpec(**v) for k, v in raw["functions"].items()}
        raw["event_source_mappings"] = [EventSourceMapping(**v) for v in raw["event_source_mappings"]]
        raw["rule_targets"] = [RuleTarget(**v) for v in raw["rule_targets"]]
        raw["schedules"] = {k: ScheduleSpec(**v) for k, v in raw["schedules"].items()}
        return cls(**raw)
