"""The trigger runner: plays Lambda's side of the triggers, invoking the real handlers, each trigger
from its module in ``local/triggers/``:

- **SQS event source mappings** (``sqs_pollers``): batches of ``BatchSize``, ``ReportBatchItemFailures``,
  the queue's visibility timeout and moto's redrive to the DLQ.
- **EventBridge rules with a Lambda target** (``rules``): a queue stands in for the function; each event
  is an asynchronous invocation (``async_invocation``: Lambda's retries, then the on-failure destination).
- **Schedules** (``schedules``): ``rate(…)`` on a compressed clock, ``cron(…)`` on demand:
  ``python -m local.runner --state <dir> --fire-schedule <schedule or function>`` prints the
  function's response.
- **The AWS side of S3 notifications** (``s3_notifications``): completed as S3 sends them before the
  router sees them.
- **Scaling** of created endpoints (``local/scaling/player.py``).

Each function runs in its own process (``local.triggers.function_host``, ``environments``) with the
environment the template gives it, plus the local endpoints. ``python -m local.runner --state local/.state/<stack>``.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from pathlib import Path

from local.aws.clients import client_factory
from local.aws.state import StackState
from local.scaling.player import ScalingPlayer, plan_of
from local.triggers.environments import INIT_SECONDS, HostPool
from local.triggers.rules import RuleTargetPoller
from local.triggers.s3_notifications import NotificationCompleter
from local.triggers.schedules import RATE_SCHEDULE_SECONDS, SchedulePlayer, run_schedule
from local.triggers.sqs_pollers import POLL_WAIT_SECONDS, QueuePoller


class Runner:
    def __init__(
        self, state: StackState, concurrency: int = 1, quiet: bool = False, rate_period: float = RATE_SCHEDULE_SECONDS
    ) -> None:
        self.state = state
        self.concurrency = concurrency
        self.quiet = quiet
        self.rate_period = rate_period
        self.client = client_factory(state.aws_endpoint, state.region)
        self.completer = NotificationCompleter(self.client("s3"))
        self.stopping = threading.Event()
        self.pools: dict[str, HostPool] = {}
        self.threads: list[threading.Thread] = []
        self.lock = threading.Lock()
        self.counts: dict[str, list[int]] = {}

    def log(self, text: str) -> None:
        if not self.quiet:
            print(f"runner: {text}", file=sys.stderr, flush=True)

    def count(self, function: str, succeeded: int, failed: int) -> None:
        with self.lock:
            totals = self.counts.setdefault(function, [0, 0])
            totals[0] += succeeded
            totals[1] += failed

    def start(self) -> None:
        players: list[QueuePoller | RuleTargetPoller | SchedulePlayer] = []
        for mapping in self.state.event_source_mappings:
            if not mapping.enabled:
                continue
            size = max(1, min(self.concurrency, mapping.maximum_concurrency or self.concurrency))
            players.append(QueuePoller(self, mapping, self._pool(mapping.function, size), size))
        for target in self.state.rule_targets:
            players.append(RuleTargetPoller(self, target, self._pool(target.function, 1)))
        for schedule in self.state.schedules.values():
            if schedule.is_rate and schedule.state == "ENABLED" and self.rate_period > 0:
                players.append(SchedulePlayer(self, schedule, self._pool(schedule.function, 1), self.rate_period))
        # Lambda runs an environment's init before it takes an event: the runner is ready once every
        # environment has loaded its function, so the first files do not share the CPUs with the inits.
        for pool in self.pools.values():
            pool.wait_ready(INIT_SECONDS)
        for player in players:
            self.threads += player.start()
        plan = plan_of(self.state)
        if plan is not None:
            self.threads += ScalingPlayer(self.state, plan, self.stopping, self.log).start()

    def _pool(self, function: str, size: int) -> HostPool:
        """The function's execution environments (the first trigger that names it decides how many)."""
        if function not in self.pools:
            self.pools[function] = HostPool(self.state.functions[function], self.state, size)
        return self.pools[function]

    def stop(self) -> None:
        self.stopping.set()
        for thread in self.threads:
            thread.join(POLL_WAIT_SECONDS + 5)
        for pool in self.pools.values():
            pool.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="trigger runner of the local stack")
    parser.add_argument("--state", required=True, help="state directory of a running local stack")
    parser.add_argument("--concurrency", type=int, default=int(os.environ.get("LOCAL_FUNCTION_CONCURRENCY", "1")))
    parser.add_argument(
        "--fire-schedule",
        nargs="?",
        const="",
        metavar="SCHEDULE",
        help="run a schedule now (its logical id, e.g. SweeperFunctionSweep, or its function's), print the "
        "function's response and exit",
    )
    parser.add_argument(
        "--rate-schedule-seconds",
        type=float,
        default=float(os.environ.get("LOCAL_RATE_SCHEDULE_SECONDS") or RATE_SCHEDULE_SECONDS),
        help="how often rate(...) schedules fire locally (0: only on demand)",
    )
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    state = StackState.load(Path(args.state) / "stack.json")
    if args.fire_schedule is not None:
        return _fire_and_print(state, args.fire_schedule or None, args.quiet)
    runner = Runner(state, args.concurrency, args.quiet, args.rate_schedule_seconds)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    runner.start()
    (Path(args.state) / "runner.ready").write_text(str(os.getpid()), encoding="utf-8")
    print("runner: started", flush=True)
    stop.wait()
    runner.stop()
    return 0


def _fire_and_print(state: StackState, schedule_id: str | None, quiet: bool) -> int:
    try:
        schedule = state.schedule(schedule_id)
    except KeyError as exc:
        print(f"runner: {exc.args[0]}", file=sys.stderr)
        return 2
    print(f"runner: {schedule.logical_id} ({schedule.expression}) → {schedule.function}", file=sys.stderr, flush=True)
    response = run_schedule(state, schedule.logical_id, quiet)
    if response.get("ok"):
        print(json.dumps(response.get("result"), indent=2, default=str))
        return 0
    print(f"{schedule.function} failed: {response.get('errorType')}: {response.get('errorMessage')}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
