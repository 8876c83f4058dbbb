"""``make demo``: the whole product, offline, on the local stack, in about a minute and a half.

Starts the stack, subscribes a demo queue to every topic, drops the sample files (async, real-time
and serverless through the scorer, one real-time file malformed, a file with a batch transform job
of its own, two files for the nightly batch, a malformed file, a file type the router does not
score, and one file whose success notification the SageMaker stand-in loses, as SNS might), shows
each file's progress, runs the nightly schedule once the nightly files wait for it, waits for the
sweeper to resolve the file whose notification was lost (from its output object, at its deadline),
and ends with the tracker table, the messages the subscriber received on each topic, the alarms,
the latency each file saw per mode and ``demo: N succeeded (K resolved by the sweeper), M failed,
S skipped``. Exit 0 only if every file reached the outcome it should.

The deadlines are shortened with template parameters, as a deployment would set them (nothing in
the functions knows it is a demo): an async request is overdue RequestTTLSeconds (60, SageMaker's
minimum) + InvocationTimeoutSeconds (5) + DeadlineGraceSeconds (0) after it was submitted.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from local.aws.template import REPO
from local.observe import Subscriber, tracker_items
from local.scaling.timeline import ScalingWatch
from local.stack import ENDPOINT_PARAMETERS, LocalStack, StackConfig, alarm_lines

SAMPLES = REPO / "local" / "samples"
TERMINAL = ("SUCCEEDED", "FAILED", "EXPIRED", "STOPPED", "SKIPPED")
# Files that do not wait for a deadline are done within this; the lost notification adds its deadline.
TIME_LIMIT = 60.0
# Template parameters of the demo stack: deadlines short enough to watch the sweeper at work.
DEMO_PARAMETERS = {"RequestTTLSeconds": "60", "InvocationTimeoutSeconds": "5", "DeadlineGraceSeconds": "0"}
# How long the demo waits, after the files, for the async endpoint to scale back in to zero.
SCALE_IN_LIMIT = 60.0


@dataclass(frozen=True)
class DemoFile:
    sample: str
    key: str  # under the input prefix
    mode: str | None
    outcome: str
    why: str
    lost: bool = False  # the stand-in loses its success notification: the sweeper must resolve it


FILES = (
    DemoFile("customers.csv", "customers.csv", "async", "SUCCEEDED", "small CSV: the async endpoint"),
    DemoFile("orders.csv", "orders/2026-11-28.csv", "async", "SUCCEEDED", "a key with a folder"),
    DemoFile("transactions.csv", "batch/transactions.csv", "batch", "SUCCEEDED", "batch prefix: a job of its own"),
    DemoFile("nightly-store-1.csv", "nightly/store-1.csv", "nightly", "SUCCEEDED", "waits for the nightly job"),
    DemoFile("nightly-store-2.csv", "nightly/store-2.csv", "nightly", "SUCCEEDED", "waits for the nightly job"),
    DemoFile("malformed.csv", "malformed.csv", "async", "FAILED", "row 4 is not numeric: the model answers 400"),
    DemoFile("notes.md", "notes.md", None, "SKIPPED", "no content type for .md"),
    DemoFile("customers.csv", "realtime/customers.csv", "realtime", "SUCCEEDED", "a rule: InvokeEndpoint, real-time"),
    DemoFile("orders.csv", "serverless/orders.csv", "serverless", "SUCCEEDED", "a rule: serverless, cold start first"),
    DemoFile("malformed.csv", "realtime/malformed.csv", "realtime", "FAILED", "the model answers 400: ModelError"),
    DemoFile(
        "sensors.csv",
        "sensors.csv",
        "async",
        "SUCCEEDED",
        "its success notification will be lost: the sweeper resolves it",
        lost=True,
    ),
)


def _parse(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def _latency(item: dict[str, Any]) -> str:
    start, end = item.get("s3_event_time") or item.get("created_at"), item.get("completed_at")
    if not start or not end:
        return "-"
    return f"{(_parse(end) - _parse(start)).total_seconds():.1f} s"


def _short(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


class Demo:
    def __init__(self, stack: LocalStack, out: Any = sys.stdout) -> None:
        self.stack = stack
        self.out = out
        self.began = time.monotonic()
        self.prefix = stack.state.parameters.get("InputPrefix", "incoming/")
        self.seen: dict[str, str] = {}
        async_endpoint = stack.state.parameters.get("AsyncEndpointName", "")
        self.scaling = ScalingWatch(stack, async_endpoint) if stack.state.scaling else None

    def say(self, text: str) -> None:
        print(f"[{time.monotonic() - self.began:5.1f}s] {text}", file=self.out, flush=True)

    def items(self) -> dict[str, dict[str, Any]]:
        return {str(item["key"]): item for item in tracker_items(self.stack)}

    def progress(self) -> dict[str, dict[str, Any]]:
        if self.scaling is not None:
            for moment in self.scaling.poll():
                self.say(f"  scaling: {moment.text}")
        items = self.items()
        for key, item in sorted(items.items()):
            status = str(item.get("status"))
            if self.seen.get(key) != status:
                before = self.seen.get(key, "")
                arrow = f"{before} → {status}" if before else status
                by = f"   (resolved by the {item['resolved_by']})" if item.get("resolved_by") else ""
                self.say(f"  {key:<36} {item.get('mode') or '-':<8} {arrow}{by}")
                self.seen[key] = status
        return items

    def wait(self, done: Any, limit: float, heartbeat: Any = None) -> dict[str, dict[str, Any]]:
        deadline = time.monotonic() + limit
        next_beat = time.monotonic() + 15
        while True:
            items = self.progress()
            if done(items) or time.monotonic() > deadline:
                return items
            if heartbeat is not None and time.monotonic() >= next_beat:
                heartbeat(items)
                next_beat += 15
            time.sleep(0.3)

    def run(self) -> int:
        subscriber = Subscriber(self.stack)
        s3 = self.stack.client("s3")
        bucket = self.stack.bucket
        keys = {self.prefix + f.key: f for f in FILES}
        lost = [k for k, f in keys.items() if f.lost]
        nightly = [k for k, f in keys.items() if f.mode == "nightly"]
        for key in lost:
            self.stack.standin(
                "/_local/notifications/drop", {"inputLocation": f"s3://{bucket}/{key}", "status": "Completed"}
            )
            self.say(
                f"the SageMaker stand-in will lose the success notification of {key} (as if SNS lost it); "
                "its output object is still written"
            )
        if self.scaling is not None:
            self.scaling.poll()
            self.say(
                f"the async endpoint {self.scaling.endpoint} was created by the stack and runs "
                f"{self.scaling.instances} instances: its requests wait until scaling adds one"
            )
            self.scaling.mark(f"files arrive; {self.scaling.instances} instances")
        self.say(f"dropping {len(FILES)} files into s3://{bucket}/{self.prefix}")
        for demo_file in FILES:
            body = (SAMPLES / demo_file.sample).read_bytes()
            s3.put_object(Bucket=bucket, Key=self.prefix + demo_file.key, Body=body)
            self.say(f"  put {self.prefix + demo_file.key} ({len(body)} B): {demo_file.why}")

        def routed(items: dict[str, dict[str, Any]]) -> bool:
            waiting = {k: "SCHEDULED" for k in nightly} | {k: "SUBMITTED" for k in lost}
            return all(k in items and items[k]["status"] in (*TERMINAL, waiting.get(k)) for k in keys)

        self.wait(routed, TIME_LIMIT / 2)
        if self.stack.state.schedules:
            self.say("running the nightly schedule now (it would fire at night)")
            if not self.stack.fire_schedule("NightlyFunction"):
                self.say("  the nightly function failed: see " + str(self.stack.log_path("NightlyFunction")))
        else:
            self.say("template.yaml declares no schedule: the nightly files cannot be scored")
        items = self.wait(
            lambda items: all(k in items and items[k]["status"] in TERMINAL for k in keys if k not in lost),
            max(5.0, TIME_LIMIT - (time.monotonic() - self.began)),
        )
        items = self.wait_for_the_sweeper(lost, items)
        items = self.wait_for_scale_in(items)
        time.sleep(0.5)  # the last notifications reach the subscriber
        subscriber.stop()
        return self.report(items, keys, subscriber)

    def wait_for_the_sweeper(self, lost: list[str], items: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        """Say what the files whose notification was lost wait for, and wait for the sweeper."""
        open_items = [items[k] for k in lost if k in items and items[k]["status"] not in TERMINAL]
        if not open_items:
            return items
        parameters = self.stack.state.parameters
        numbers = " + ".join(
            f"{name} {parameters[name]}"
            for name in ("RequestTTLSeconds", "InvocationTimeoutSeconds", "DeadlineGraceSeconds")
            if name in parameters
        )
        sweep = next((s for s in self.stack.state.schedules.values() if s.function == "SweeperFunction"), None)
        period = self.stack.config.rate_schedule_seconds
        if sweep is None or period <= 0:
            self.say("the sweeper does not run by itself on this stack: the lost notification stays SUBMITTED")
            return items
        latest = max(_parse(str(item["deadline_at"])) for item in open_items if item.get("deadline_at"))
        remaining = max(0.0, (latest - datetime.now(UTC)).total_seconds())
        for item in open_items:
            self.say(
                f"{item['key']} stays {item['status']}: its success notification was lost. Its deadline is "
                f"{item.get('deadline_at')} (submitted + {numbers} s)."
            )
        self.say(
            f"waiting about {remaining + period:.0f} s for the sweeper ({sweep.expression} in the template, every "
            f"{period:g} s here): at the deadline it looks for the output object and announces the outcome"
        )

        def countdown(_: dict[str, dict[str, Any]]) -> None:
            left = (latest - datetime.now(UTC)).total_seconds()
            self.say(f"  … {left:.0f} s to the deadline" if left > 0 else "  … deadline passed; the next sweep")

        return self.wait(
            lambda items: all(items.get(k, {}).get("status") in TERMINAL for k in lost),
            remaining + period + 30,
            heartbeat=countdown,
        )

    def wait_for_scale_in(self, items: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        """Once the files are done, the async endpoint goes back to zero instances (target tracking's
        low alarm: 15 periods under the target), and what it cost is known."""
        watch = self.scaling
        if watch is None or (watch.instances == 0 and not watch.backlog):
            return items
        self.say(
            f"waiting for {watch.endpoint} to scale in to zero (15 quiet periods, {15 * 60 / watch.factor:g} s here)"
        )
        return self.wait(lambda _: watch.instances == 0, SCALE_IN_LIMIT)

    def report(self, items: dict[str, dict[str, Any]], keys: dict[str, DemoFile], subscriber: Subscriber) -> int:
        print(file=self.out)
        print("Tracker table", file=self.out)
        header = f"  {'file':<36} {'mode':<8} {'status':<10} {'latency':>8}  output or reason"
        print(header, file=self.out)
        print("  " + "-" * (len(header) + 30), file=self.out)
        wrong = []
        for key, expected in keys.items():
            item = items.get(key, {})
            status, mode = item.get("status", "MISSING"), item.get("mode")
            detail = item.get("output_location") if status == "SUCCEEDED" else item.get("failure_reason")
            detail = str(detail or "-").replace(f"s3://{self.stack.bucket}/", "")
            if item.get("resolved_by"):
                detail = f"[resolved by the {item['resolved_by']}] {detail}"
            problem = self._problem(item, expected, subscriber)
            if problem:
                wrong.append(key)
            print(
                f"  {key:<36} {mode or '-':<8} {status:<10} {_latency(item):>8}  "
                f"{_short(detail, 90)}{f'   ✗ {problem}' if problem else ''}",
                file=self.out,
            )
        print(file=self.out)
        # The result topics, and any other topic (the alarm topic) only if something arrived on it.
        result_topics = {"SuccessTopic", "ErrorTopic"} & set(subscriber.topics.values())
        for topic in sorted(result_topics | {r.topic for r in subscriber.received}):
            received = subscriber.messages(topic=topic)
            print(f"Messages the demo subscriber received on {topic} ({len(received)})", file=self.out)
            for r in received:
                m = r.message
                where = str(m.get("requestParameters", {}).get("inputLocation", "")).split(f"/{self.prefix}", 1)[-1]
                extra = m.get("failureReason") or m.get("responseParameters", {}).get("outputLocation") or ""
                extra = str(extra).replace(f"s3://{self.stack.bucket}/", "")
                if m.get("resolvedBy"):
                    extra = f"resolvedBy {m['resolvedBy']}: {extra}"
                print(
                    f"  {m.get('invocationStatus', '?'):<10} {m.get('eventSource', '?'):<34} "
                    f"{m.get('mode') or '-'!s:<8} {where:<28} {_short(str(extra), 70)}",
                    file=self.out,
                )
            print(file=self.out)
        for line in alarm_lines(self.stack):
            print(line, file=self.out)
        print(file=self.out)
        if self.scaling is not None:
            for line in self.scaling.lines():
                print(line, file=self.out)
            print(file=self.out)
            if self.scaling.instances:
                wrong.append(f"{self.scaling.endpoint} (did not scale in to zero)")
        counts = {
            s: sum(1 for k in keys if items.get(k, {}).get("status") == s) for s in ("SUCCEEDED", "FAILED", "SKIPPED")
        }
        swept = sum(1 for k in keys if items.get(k, {}).get("status") == "SUCCEEDED" and items[k].get("resolved_by"))
        elapsed = time.monotonic() - self.began
        if wrong:
            print(f"not as expected: {', '.join(wrong)}", file=self.out)
        print(f"(files flowed in {elapsed:.1f} s)", file=self.out)
        for line in latency_lines(items, keys):
            print(line, file=self.out)
        by_sweeper = f" ({swept} resolved by the sweeper)" if swept else ""
        print(
            f"demo: {counts['SUCCEEDED']} succeeded{by_sweeper}, {counts['FAILED']} failed, "
            f"{counts['SKIPPED']} skipped",
            file=self.out,
        )
        return 1 if wrong else 0

    def _problem(self, item: dict[str, Any], expected: DemoFile, subscriber: Subscriber) -> str:
        """Why a file did not end as it should ("" when it did)."""
        status, mode = item.get("status", "MISSING"), item.get("mode")
        if (status, mode) != (expected.outcome, expected.mode):
            return f"expected {expected.outcome}"
        resolved_by = item.get("resolved_by")
        if expected.lost and resolved_by != "sweeper":
            return "expected the sweeper to resolve it"
        if not expected.lost and resolved_by:
            return f"resolved by the {resolved_by}: a notification went missing"
        announced = subscriber.messages(request_id=str(item["request_id"]))
        if len(announced) != 1 or (expected.lost and announced[0].message.get("resolvedBy") != "sweeper"):
            return f"announced {len(announced)} times, expected once"
        return ""


def latency_lines(items: dict[str, dict[str, Any]], keys: dict[str, DemoFile]) -> list[str]:
    """Per mode, the latency each file saw (S3 event → outcome), in the order the files were dropped."""
    by_mode: dict[str, list[str]] = {}
    for key in keys:
        item = items.get(key, {})
        if item.get("mode") and item.get("status") in TERMINAL:
            by_mode.setdefault(str(item["mode"]), []).append(_latency(item))
    return [f"latency {mode:<10} {', '.join(seen)}" for mode, seen in by_mode.items()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="the product, offline, end to end")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args(argv)
    try:
        config = StackConfig.from_env(stack_name="orchestrator-demo", verbose=args.verbose)
    except ValueError as exc:
        print(f"demo: {exc}", file=sys.stderr)
        return 1
    config.parameters = {**ENDPOINT_PARAMETERS, **config.parameters, **DEMO_PARAMETERS}
    stack = LocalStack(config)
    print("starting the local stack (moto, SageMaker stand-in, demo model, trigger runner)…", flush=True)
    print(
        "deadlines shortened for the demo (template parameters): "
        + ", ".join(f"{k}={v}" for k, v in DEMO_PARAMETERS.items())
        + f" — an async request is overdue {sum(int(v) for v in DEMO_PARAMETERS.values())} s after its submission"
        " (defaults: 21600 + 900 + 900 s)",
        flush=True,
    )
    try:
        stack.start()
    except Exception as exc:  # noqa: BLE001 - a clear message, not a traceback
        print(f"demo: could not start the local stack: {exc}", file=sys.stderr)
        return 1
    try:
        print(f"stack up in {stack.started_in:.1f} s; logs in {Path(stack.directory, 'logs')}", flush=True)
        code = Demo(stack).run()
    finally:
        stack.stop()
    return code


if __name__ == "__main__":
    sys.exit(main())
