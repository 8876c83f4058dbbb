"""``make demo``: the whole product, offline, on the local stack, in well under two minutes.

Starts the stack, subscribes a demo queue to both topics, drops the sample files (async, a file
with a batch transform job of its own, two files for the nightly batch, a malformed file, a file
type the router does not score), shows each file's progress, runs the nightly schedule once the
nightly files wait for it, and ends with the tracker table, the messages the subscriber received
on each topic and ``demo: N succeeded, M failed, K skipped``. Exit 0 only if every file reached
the outcome it should.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from local.observe import Subscriber, tracker_items
from local.stack import LocalStack, StackConfig
from local.template import REPO

SAMPLES = REPO / "local" / "samples"
TERMINAL = ("SUCCEEDED", "FAILED", "EXPIRED", "STOPPED", "SKIPPED")
TIME_LIMIT = 90.0


@dataclass(frozen=True)
class DemoFile:
    sample: str
    key: str  # under the input prefix
    mode: str | None
    outcome: str
    why: str


FILES = (
    DemoFile("customers.csv", "customers.csv", "async", "SUCCEEDED", "small CSV: the async endpoint"),
    DemoFile("orders.csv", "orders/2026-11-28.csv", "async", "SUCCEEDED", "a key with a folder"),
    DemoFile("transactions.csv", "batch/transactions.csv", "batch", "SUCCEEDED", "batch prefix: a job of its own"),
    DemoFile("nightly-store-1.csv", "nightly/store-1.csv", "nightly", "SUCCEEDED", "waits for the nightly job"),
    DemoFile("nightly-store-2.csv", "nightly/store-2.csv", "nightly", "SUCCEEDED", "waits for the nightly job"),
    DemoFile("malformed.csv", "malformed.csv", "async", "FAILED", "row 4 is not numeric: the model answers 400"),
    DemoFile("notes.md", "notes.md", None, "SKIPPED", "no content type for .md"),
)


def _latency(item: dict[str, Any]) -> str:
    from datetime import datetime

    start, end = item.get("s3_event_time") or item.get("created_at"), item.get("completed_at")
    if not start or not end:
        return "-"
    seconds = (
        datetime.fromisoformat(end.replace("Z", "+00:00")) - datetime.fromisoformat(start.replace("Z", "+00:00"))
    ).total_seconds()
    return f"{seconds:.1f} s"


def _short(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


class Demo:
    def __init__(self, stack: LocalStack, out: Any = sys.stdout) -> None:
        self.stack = stack
        self.out = out
        self.began = time.monotonic()
        self.prefix = stack.state.parameters.get("InputPrefix", "incoming/")
        self.seen: dict[str, str] = {}

    def say(self, text: str) -> None:
        print(f"[{time.monotonic() - self.began:5.1f}s] {text}", file=self.out, flush=True)

    def items(self) -> dict[str, dict[str, Any]]:
        return {str(item["key"]): item for item in tracker_items(self.stack)}

    def progress(self) -> dict[str, dict[str, Any]]:
        items = self.items()
        for key, item in sorted(items.items()):
            status = str(item.get("status"))
            if self.seen.get(key) != status:
                before = self.seen.get(key, "")
                arrow = f"{before} → {status}" if before else status
                self.say(f"  {key:<36} {item.get('mode') or '-':<8} {arrow}")
                self.seen[key] = status
        return items

    def wait(self, done: Any, limit: float) -> dict[str, dict[str, Any]]:
        deadline = time.monotonic() + limit
        while True:
            items = self.progress()
            if done(items) or time.monotonic() > deadline:
                return items
            time.sleep(0.3)

    def run(self) -> int:
        subscriber = Subscriber(self.stack)
        s3 = self.stack.client("s3")
        self.say(f"dropping {len(FILES)} files into s3://{self.stack.bucket}/{self.prefix}")
        for demo_file in FILES:
            body = (SAMPLES / demo_file.sample).read_bytes()
            s3.put_object(Bucket=self.stack.bucket, Key=self.prefix + demo_file.key, Body=body)
            self.say(f"  put {self.prefix + demo_file.key} ({len(body)} B): {demo_file.why}")
        keys = {self.prefix + f.key: f for f in FILES}
        nightly = [k for k, f in keys.items() if f.mode == "nightly"]

        def routed(items: dict[str, dict[str, Any]]) -> bool:
            return all(
                k in items and (items[k]["status"] in TERMINAL or (k in nightly and items[k]["status"] == "SCHEDULED"))
                for k in keys
            )

        self.wait(routed, TIME_LIMIT / 2)
        if self.stack.state.schedules:
            self.say("running the nightly schedule now (it would fire at night)")
            if not self.stack.fire_schedule():
                self.say("  the nightly function failed: see " + str(self.stack.log_path("NightlyFunction")))
        else:
            self.say("template.yaml declares no schedule: the nightly files cannot be scored")
        items = self.wait(
            lambda items: all(k in items and items[k]["status"] in TERMINAL for k in keys),
            max(5.0, TIME_LIMIT - (time.monotonic() - self.began)),
        )
        time.sleep(0.5)  # the last notifications reach the subscriber
        subscriber.stop()
        return self.report(items, keys, subscriber)

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
            mark = "" if (status, mode) == (expected.outcome, expected.mode) else f"   ✗ expected {expected.outcome}"
            if mark:
                wrong.append(key)
            print(
                f"  {key:<36} {mode or '-':<8} {status:<10} {_latency(item):>8}  "
                f"{_short(str(detail or '-'), 90)}{mark}",
                file=self.out,
            )
        print(file=self.out)
        for topic in sorted({r.topic for r in subscriber.received} | set(subscriber.topics.values())):
            received = subscriber.messages(topic=topic)
            print(f"Messages the demo subscriber received on {topic} ({len(received)})", file=self.out)
            for r in received:
                m = r.message
                where = str(m.get("requestParameters", {}).get("inputLocation", "")).split(f"/{self.prefix}", 1)[-1]
                extra = m.get("failureReason") or m.get("responseParameters", {}).get("outputLocation") or ""
                extra = str(extra).replace(f"s3://{self.stack.bucket}/", "")
                print(
                    f"  {m.get('invocationStatus', '?'):<10} {m.get('eventSource', '?'):<34} "
                    f"{m.get('mode') or '-'!s:<8} {where:<28} {_short(str(extra), 70)}",
                    file=self.out,
                )
            print(file=self.out)
        counts = {
            s: sum(1 for k in keys if items.get(k, {}).get("status") == s) for s in ("SUCCEEDED", "FAILED", "SKIPPED")
        }
        elapsed = time.monotonic() - self.began
        if wrong:
            print(f"not as expected: {', '.join(wrong)}", file=self.out)
        print(f"(files flowed in {elapsed:.1f} s)", file=self.out)
        print(
            f"demo: {counts['SUCCEEDED']} succeeded, {counts['FAILED']} failed, {counts['SKIPPED']} skipped",
            file=self.out,
        )
        return 1 if wrong else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="the product, offline, end to end")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args(argv)
    stack = LocalStack(StackConfig.from_env(stack_name="orchestrator-demo", verbose=args.verbose))
    print("starting the local stack (moto, SageMaker stand-in, demo model, trigger runner)…", flush=True)
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
