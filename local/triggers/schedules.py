"""Schedules (EventBridge Scheduler): a ``rate(…)`` schedule fires by itself on a compressed clock,
every ``LOCAL_RATE_SCHEDULE_SECONDS`` (default :data:`RATE_SCHEDULE_SECONDS`: the sweeper's
``rate(5 minutes)`` runs every 3 s); a ``cron(…)`` schedule (a time of day: the nightly batch) runs on
demand. Either way one asynchronous invocation per run, with the target's ``Input`` and its
``<aws.scheduler.*>`` placeholders filled in; every run is a JSON line in ``logs/schedules.log``."""

from __future__ import annotations

import json
import math
import sys
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from local.aws.clients import client_factory
from local.aws.state import ScheduleSpec, StackState
from local.triggers.async_invocation import invoke_async
from local.triggers.context import RunnerContext
from local.triggers.environments import HostPool, invoke_once

# How often a rate(...) schedule fires locally (LOCAL_RATE_SCHEDULE_SECONDS; 0: only on demand).
RATE_SCHEDULE_SECONDS = 3.0


def schedule_input(text: str | None, schedule_arn: str) -> Any:
    """The payload Scheduler delivers: the target's Input with its context attributes filled in."""
    if not text:
        return {}
    # "Now", rounded up to Scheduler's whole seconds: everything that happened before the run counts.
    now = datetime.fromtimestamp(math.ceil(time.time()), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    for name, value in {
        "<aws.scheduler.schedule-arn>": schedule_arn,
        "<aws.scheduler.scheduled-time>": now,
        "<aws.scheduler.execution-id>": str(uuid.uuid4()),
        "<aws.scheduler.attempt-number>": "1",
    }.items():
        text = text.replace(name, value)
    return json.loads(text)


class _Console:
    """Logging and clients for invocations made outside a running runner (schedules on demand)."""

    def __init__(self, client: Any, quiet: bool = False) -> None:
        self.client = client
        self.quiet = quiet

    def log(self, text: str) -> None:
        if not self.quiet:
            print(f"runner: {text}", file=sys.stderr, flush=True)

    def count(self, function: str, succeeded: int, failed: int) -> None:
        pass


def record_run(state: StackState, schedule: ScheduleSpec, how: str, event: Any, response: dict[str, Any]) -> None:
    """One line per schedule run in ``logs/schedules.log``: what Scheduler delivered and what came back."""
    line = {
        "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "schedule": schedule.logical_id,
        "function": schedule.function,
        "how": how,
        "event": event,
        **response,
    }
    path = Path(state.state_dir) / "logs" / "schedules.log"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(line, default=str) + "\n")


def fire_schedule(state: StackState, schedule_id: str | None = None, quiet: bool = False) -> bool:
    """Run a schedule now; True if its function succeeded (see :func:`run_schedule`)."""
    return bool(run_schedule(state, schedule_id, quiet).get("ok"))


def run_schedule(state: StackState, schedule_id: str | None = None, quiet: bool = False) -> dict[str, Any]:
    """Run a schedule now (named by its logical id, its name or its function's logical id; None when
    there is only one): one asynchronous invocation of its target in a fresh execution environment,
    with Lambda's retries. Returns the function's response; ``KeyError`` names the schedules."""
    schedule = state.schedule(schedule_id)
    spec = state.functions[schedule.function]
    console = _Console(client_factory(state.aws_endpoint, state.region), quiet)
    event = schedule_input(schedule.input, schedule.arn or schedule.name)

    response = invoke_async(console, spec, event, lambda payload: invoke_once(state, spec, payload))
    record_run(state, schedule, "on demand", event, response)
    return response


class SchedulePlayer:
    """A ``rate(…)`` schedule on the local clock: every ``period`` seconds one asynchronous invocation
    of its target in the runner's warm environment. A run that outlasts the period delays the next
    one (Scheduler would start it anyway; every write the sweeper makes is conditional, so it only
    saves work)."""

    def __init__(self, runner: RunnerContext, schedule: ScheduleSpec, pool: HostPool, period: float) -> None:
        self.runner = runner
        self.schedule = schedule
        self.pool = pool
        self.period = period

    def start(self) -> list[threading.Thread]:
        thread = threading.Thread(target=self._loop, name=self.schedule.logical_id, daemon=True)
        thread.start()
        return [thread]

    def _loop(self) -> None:
        state = self.runner.state
        spec = state.functions[self.schedule.function]
        arn = self.schedule.arn or self.schedule.name
        while not self.runner.stopping.wait(self.period):
            event = schedule_input(self.schedule.input, arn)
            try:
                response = invoke_async(self.runner, spec, event, self.pool.invoke)
            except (ClientError, BotoCoreError) as exc:  # the on-failure destination could not be reached
                self.runner.log(f"{self.schedule.logical_id}: {exc}")
                continue
            record_run(state, self.schedule, f"every {self.period:g} s", event, response)
