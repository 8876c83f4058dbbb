"""The created async endpoint's scale to zero and back, on the local stack's compressed clock.

A stack that creates its endpoints (the template's scalable target, target tracking, step policy and
alarm, played by the runner's autoscaler) starts the async endpoint at zero instances; a burst of
small files arrives; the figures are the timeline (first file → first instance serving → backlog
drained → scaled in to zero) and the instance-minutes used, against one always-on instance a day.
Times are virtual: what AWS would take with these policies and an instance start-up of
``STARTUP_SECONDS``; the local clock runs ``FACTOR`` times faster. Start-up in AWS is minutes and
varies; the bench measures the policies' reaction, not SageMaker.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from local.observe import tracker_items, wait_for
from local.scaling.timeline import ScalingWatch
from local.stack import ENDPOINT_PARAMETERS, LocalStack, StackConfig
from tests.bench.common import Row

SECTION = "scaling"
FACTOR = 60
STARTUP_SECONDS = 120
FILES = 4  # under the target of 5 per instance: one instance is the right answer
IDLE_PERIODS = 16
ENDPOINT = "demo-async-endpoint"


def run(options: argparse.Namespace) -> list[Row]:
    with tempfile.TemporaryDirectory(prefix="bench-scaling-") as state_dir:
        config = StackConfig.on_free_ports(
            stack_name="orchestrator-bench-scaling",
            state_dir=Path(state_dir),
            parameters=dict(ENDPOINT_PARAMETERS),
            scaling_clock_factor=FACTOR,
            standin={"instance_startup_seconds": STARTUP_SECONDS},
        )
        with LocalStack(config) as stack:
            return _measure(stack)


def _measure(stack: LocalStack) -> list[Row]:
    watch = ScalingWatch(stack, ENDPOINT)
    # A quiet quarter-hour first (15 periods), as before a real burst: the low alarm's window is then full
    # of zeros, so scale-in follows the drain by what the policy needs, not by the stack's age.
    time.sleep(IDLE_PERIODS * 60 / FACTOR)
    watch.poll()
    at_start = watch.instances
    watch.mark(f"{FILES} files arrive")
    keys = [f"incoming/bench/scale-{n}.csv" for n in range(FILES)]
    for key in keys:
        stack.client("s3").put_object(Bucket=stack.bucket, Key=key, Body=b"1.5,2.0,-1.25\n")

    def scored() -> bool:
        watch.poll()
        items = [i for i in tracker_items(stack) if i["key"] in keys]
        return len(items) == FILES and all(i["status"] == "SUCCEEDED" for i in items)

    began = time.monotonic()
    wait_for(scored, 120, interval=0.2, what=f"{FILES} files scored")
    scored_in = time.monotonic() - began

    def back_at_zero() -> bool:
        watch.poll()
        return watch.instances == 0 and watch.figures()["scale_in_s"] is not None

    wait_for(back_at_zero, 120, interval=0.2, what="scale in to zero")
    figures = watch.figures()
    history = stack.standin("/_local/history")
    invoked = [e for e in history if e.get("operation") == "InvokeEndpointAsync" and e.get("status") == "Completed"]
    last = [m.text for m in watch.moments if m.kind == "scale"][-1:] or [""]
    decisions = sum(1 for m in watch.moments if m.kind == "scale")
    used = float(figures["instance_minutes"] or 0)
    note = f"virtual: local clock {FACTOR}x faster; start-up {STARTUP_SECONDS} s"
    return [
        Row(SECTION, "instances when the files arrive", str(at_start), "MinCapacity 0", at_start == 0, check=True),
        Row(SECTION, "first file → first instance serving", _minutes(figures["first_instance_s"]), note),
        Row(SECTION, "instance serving → backlog drained", _minutes(figures["drain_s"]), note),
        Row(
            SECTION,
            "backlog drained → scaled in to zero",
            _minutes(figures["scale_in_s"]),
            "15 low periods, last empty",
        ),
        Row(SECTION, "files scored (real seconds on the local stack)", f"{FILES} in {scored_in:.1f} s", ""),
        Row(
            SECTION,
            "invocations per file",
            f"{len(invoked)}/{FILES}",
            "none lost, none twice",
            len(invoked) == FILES,
            check=True,
        ),
        Row(SECTION, "scaling decisions (the last one)", f"{decisions}: {last[0][:60]}", ""),
        Row(
            SECTION,
            "instance-minutes for the burst vs one always-on instance a day",
            f"{used:.1f} vs 1,440 ({1440 / used:,.0f}x)" if used else "0",
            "start-up + work + the wait for scale-in",
        ),
    ]


def _minutes(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds / 60:.1f} min"
