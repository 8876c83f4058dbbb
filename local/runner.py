"""The trigger runner: plays Lambda's side of the triggers, invoking the real handlers.

- **SQS event source mappings** (from the template): long-polls each queue, hands batches of
  ``BatchSize`` records to the function, and with ``ReportBatchItemFailures`` deletes only the
  records the function did not report; anything else stays in flight until the queue's
  visibility timeout, and moto moves it to the DLQ after ``maxReceiveCount`` receives.
- **EventBridge rules with a Lambda target**: a queue stands in for the function (moto cannot
  invoke one); each event it holds is an asynchronous invocation, retried as Lambda does
  (``MaximumRetryAttempts``, default 2), then sent to the on-failure destination if one is set.
- **Schedules** (EventBridge Scheduler): a ``rate(…)`` schedule fires by itself on a compressed
  clock, every ``--rate-schedule-seconds`` (``LOCAL_RATE_SCHEDULE_SECONDS``, default
  :data:`RATE_SCHEDULE_SECONDS`: the sweeper's ``rate(5 minutes)`` runs every 3 s); a ``cron(…)``
  schedule (a time of day: the nightly batch) runs on demand. Either way one asynchronous
  invocation per run, with the target's ``Input`` and its ``<aws.scheduler.*>`` placeholders
  filled in; every run is a JSON line in ``logs/schedules.log``. On demand:
  ``python -m local.runner --state <dir> --fire-schedule <schedule or function>`` prints the
  function's response.
- **The AWS side of S3 notifications**: moto's lack ``versionId`` and ``sequencer`` and encode
  ``/`` in keys. Real S3 sends both for a versioned bucket, so notifications bound for the router
  are completed here (from the bucket's versions) before the function sees them.

Each function runs in its own process (``local.triggers.function_host``) with the environment the template
gives it, plus the local endpoints. ``python -m local.runner --state local/.state/<stack>``.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import math
import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus, unquote_plus

from botocore.exceptions import BotoCoreError, ClientError

from local.aws.clients import TEST_CREDENTIALS, client_factory
from local.aws.state import EventSourceMapping, FunctionSpec, RuleTarget, ScheduleSpec, StackState
from local.aws.template import REPO
from local.scaling.player import ScalingPlayer, plan_of

POLL_WAIT_SECONDS = 1  # long-poll slices; short so that the runner stops promptly
# Within a batching window's last second (SQS waits whole seconds): how long between two looks.
WINDOW_RECHECK_SECONDS = 0.1


def window_wait(remaining: float) -> int:
    """``WaitTimeSeconds`` for a receive that completes a batch with ``remaining`` seconds of its
    window left: a long poll (it returns as soon as a message arrives) that never outlasts the window.
    An empty queue was once polled in a tight loop for the whole window, each receive a pass of moto
    over the queue: at 1,000 files, a fifth of the local AWS's time."""
    return max(0, min(POLL_WAIT_SECONDS, int(remaining)))


# How often a rate(...) schedule fires locally (LOCAL_RATE_SCHEDULE_SECONDS; 0: only on demand).
RATE_SCHEDULE_SECONDS = 3.0


def local_environment(state: StackState) -> dict[str, str]:
    """What the local stack adds to every function's environment: endpoints, region, credentials."""
    return {
        "AWS_REGION": state.region,
        "AWS_ENDPOINT_URL": state.aws_endpoint,
        "AWS_ENDPOINT_URL_SAGEMAKER": state.sagemaker_endpoint,
        "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME": state.sagemaker_endpoint,
        **TEST_CREDENTIALS,
    }


# ---------------------------------------------------------------- function processes


class FunctionHost:
    """A warm execution environment: one process, one invocation at a time."""

    def __init__(self, spec: FunctionSpec, state: StackState, index: int = 0) -> None:
        self.spec = spec
        self.state = state
        self.index = index
        self.process: subprocess.Popen[str] | None = None
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.ready = False

    def start(self) -> None:
        directory = Path(self.state.state_dir)
        spec_file = directory / "functions" / f"{self.spec.logical_id}.json"
        spec_file.parent.mkdir(parents=True, exist_ok=True)
        spec_file.write_text(
            json.dumps({"function": self.spec.__dict__, "local_environment": local_environment(self.state)}),
            encoding="utf-8",
        )
        log = directory / "logs" / f"{self.spec.logical_id}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        # What the process itself prints when it dies (an import error at init): kept to be reported.
        stderr = (directory / "logs" / f"{self.spec.logical_id}.stderr.log").open("a", encoding="utf-8")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "local.triggers.function_host", "--spec", str(spec_file), "--log", str(log)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
            cwd=REPO,
            text=True,
            bufsize=1,
            env={**os.environ, "PYTHONPATH": str(REPO)},
        )
        self.lines = queue.Queue()
        self.ready = False
        threading.Thread(target=self._read, args=(self.process, self.lines), daemon=True).start()

    @staticmethod
    def _read(process: subprocess.Popen[str], lines: queue.Queue[str | None]) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line)
        lines.put(None)

    def _next_line(self, timeout: float) -> str | None:
        try:
            return self.lines.get(timeout=timeout)
        except queue.Empty:
            raise TimeoutError from None

    def invoke(self, event: dict[str, Any]) -> dict[str, Any]:
        """Run the handler; a timeout or a crash ends this environment (the next call starts anew)."""
        if self.process is None or self.process.poll() is not None:
            self.start()
        assert self.process is not None and self.process.stdin is not None
        try:
            if not self.ready:
                line = self._next_line(60)
                if line is None:
                    raise RuntimeError("the function process exited during its init")
                self.ready = True
            request_id = str(uuid.uuid4())
            deadline = time.time() + self.spec.timeout
            self.process.stdin.write(
                json.dumps({"request_id": request_id, "event": event, "deadline_ms": int(deadline * 1000)}) + "\n"
            )
            self.process.stdin.flush()
            line = self._next_line(self.spec.timeout + 1)
            if line is None:
                raise RuntimeError("the function process exited during the invocation")
            return json.loads(line)
        except TimeoutError:
            self.stop()
            return {
                "ok": False,
                "errorType": "Sandbox.Timedout",
                "errorMessage": f"Task timed out after {self.spec.timeout} seconds",
            }
        except (RuntimeError, BrokenPipeError, OSError, ValueError) as exc:
            self.stop()
            return {"ok": False, "errorType": "Runtime.ExitError", "errorMessage": f"{exc}{self._last_words()}"}

    def _last_words(self) -> str:
        """The real error of a process that died (e.g. ``ModuleNotFoundError``), not only that it died:
        the host's own output (it failed before the function's log was set up), else the last error
        line of the function's log (the handler's module failed at import)."""
        directory = Path(self.state.state_dir) / "logs"
        for path in (directory / f"{self.spec.logical_id}.stderr.log", directory / f"{self.spec.logical_id}.log"):
            if not path.exists():
                continue
            lines = [line.strip() for line in path.read_text(encoding="utf-8", errors="replace").splitlines()]
            errors = [line for line in lines if line.split(":", 1)[0].endswith(("Error", "Exception"))]
            if errors:
                return f": {errors[-1]} (full output: {path})"
        return ""

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(5)
        self.process = None


class HostPool:
    """Up to ``size`` concurrent invocations of one function."""

    def __init__(self, spec: FunctionSpec, state: StackState, size: int) -> None:
        self.hosts: queue.Queue[FunctionHost] = queue.Queue()
        self.all = [FunctionHost(spec, state, i) for i in range(size)]
        for host in self.all:
            host.start()
            self.hosts.put(host)

    def invoke(self, event: dict[str, Any]) -> dict[str, Any]:
        host = self.hosts.get()
        try:
            return host.invoke(event)
        finally:
            self.hosts.put(host)

    def stop(self) -> None:
        for host in self.all:
            host.stop()


# ---------------------------------------------------------------- S3 notifications as S3 sends them


class NotificationCompleter:
    """Adds what moto's S3 notifications lack (``versionId``, ``sequencer``, S3's key encoding and
    identity fields), deterministically, so a redelivered message is completed the same way."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def complete(self, body: str) -> str:
        try:
            payload = json.loads(body)
        except ValueError:
            return body
        records = payload.get("Records") if isinstance(payload, dict) else None
        if not isinstance(records, list):
            return body
        changed = False
        for record in records:
            if not isinstance(record, dict) or record.get("eventSource") != "aws:s3" or "s3" not in record:
                continue
            obj = record["s3"].get("object", {})
            if "versionId" in obj and "sequencer" in obj:
                continue
            changed = True
            bucket = record["s3"]["bucket"]["name"]
            key = unquote_plus(obj["key"])
            obj["key"] = quote_plus(key, safe="/")
            version = self._version(bucket, key, obj.get("eTag"), record.get("eventTime", ""))
            if version:
                obj["versionId"] = version
            obj["sequencer"] = _sequencer(record.get("eventTime", ""), key)
            record.setdefault("userIdentity", {"principalId": "AWS:AIDALOCALSTACKUSER"})
            record.setdefault("requestParameters", {"sourceIPAddress": "127.0.0.1"})
            record.setdefault(
                "responseElements",
                {"x-amz-request-id": obj.get("eTag", "")[:16].upper(), "x-amz-id-2": "local"},
            )
            record["s3"]["bucket"].setdefault("ownerIdentity", {"principalId": "A3LOCALSTACKOWNER"})
        return json.dumps(payload) if changed else body

    def _version(self, bucket: str, key: str, etag: str | None, event_time: str) -> str | None:
        """The version the notification is about: the newest one with its ETag created by then.

        Usually the current version (one HeadObject); when the key was overwritten or deleted since,
        the bucket's version list (slower in moto: it walks the whole bucket)."""
        cutoff = _parse_time(event_time)
        try:
            head = self.client.head_object(Bucket=bucket, Key=key)
            if (not etag or head["ETag"].strip('"') == etag) and (cutoff is None or head["LastModified"] <= cutoff):
                return str(head["VersionId"]) if head.get("VersionId") else None
        except (ClientError, BotoCoreError):
            pass
        try:
            response = self.client.list_object_versions(Bucket=bucket, Prefix=key)
        except (ClientError, BotoCoreError):
            return None
        for version in response.get("Versions", []):  # newest first
            if version["Key"] != key or (etag and version["ETag"].strip('"') != etag):
                continue
            if cutoff is None or version["LastModified"] <= cutoff:
                return str(version["VersionId"])
        return None


def _parse_time(value: str) -> datetime | None:
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _sequencer(event_time: str, key: str) -> str:
    moment = _parse_time(event_time) or datetime.now(UTC)
    tail = hashlib.sha256(key.encode()).hexdigest()[:2].upper()
    return f"{int(moment.timestamp() * 1000):016X}{tail}"


# ---------------------------------------------------------------- event source mappings


def sqs_record(message: dict[str, Any], mapping_arn: str, region: str, body: str) -> dict[str, Any]:
    """An SQS message as Lambda hands it to the function."""
    attributes = {
        name: message.get("Attributes", {})[name]
        for name in (
            "ApproximateReceiveCount",
            "SentTimestamp",
            "SenderId",
            "ApproximateFirstReceiveTimestamp",
            "AWSTraceHeader",
            "MessageGroupId",
            "MessageDeduplicationId",
            "SequenceNumber",
        )
        if name in message.get("Attributes", {})
    }
    message_attributes = {
        name: {
            "stringValue": value.get("StringValue"),
            "binaryValue": value.get("BinaryValue"),
            "stringListValues": value.get("StringListValues", []),
            "binaryListValues": value.get("BinaryListValues", []),
            "dataType": value["DataType"],
        }
        for name, value in message.get("MessageAttributes", {}).items()
    }
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": body,
        "attributes": attributes,
        "messageAttributes": message_attributes,
        "md5OfBody": hashlib.md5(body.encode()).hexdigest(),
        "eventSource": "aws:sqs",
        "eventSourceARN": mapping_arn,
        "awsRegion": region,
    }


class QueuePoller:
    """One SQS event source mapping."""

    def __init__(self, runner: Runner, mapping: EventSourceMapping, pool: HostPool, concurrency: int) -> None:
        self.runner = runner
        self.mapping = mapping
        self.pool = pool
        self.concurrency = concurrency
        self.complete = mapping.queue_arn in runner.state.notification_queues

    def start(self) -> list[threading.Thread]:
        threads = [
            threading.Thread(target=self._loop, name=f"{self.mapping.logical_id}-{i}", daemon=True)
            for i in range(self.concurrency)
        ]
        for thread in threads:
            thread.start()
        return threads

    def _loop(self) -> None:
        sqs = self.runner.client("sqs")
        while not self.runner.stopping.is_set():
            try:
                messages = self._receive(sqs)
                if messages:
                    self._deliver(sqs, messages)
            except (ClientError, BotoCoreError) as exc:
                self.runner.log(f"{self.mapping.logical_id}: {exc}")
                time.sleep(0.5)

    def _receive(self, sqs: Any) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = []
        deadline = time.monotonic() + self.mapping.batching_window
        while len(messages) < self.mapping.batch_size and not self.runner.stopping.is_set():
            response = sqs.receive_message(
                QueueUrl=self.mapping.queue_url,
                MaxNumberOfMessages=min(10, self.mapping.batch_size - len(messages)),
                WaitTimeSeconds=window_wait(deadline - time.monotonic()) if messages else POLL_WAIT_SECONDS,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            )
            batch = response.get("Messages", [])
            messages += batch
            if not messages:
                return []
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            if not batch and window_wait(remaining) == 0:
                time.sleep(min(WINDOW_RECHECK_SECONDS, remaining))
        return messages

    def _deliver(self, sqs: Any, messages: list[dict[str, Any]]) -> None:
        records = []
        for message in messages:
            body = message["Body"]
            if self.complete:
                body = self.runner.completer.complete(body)
            records.append(sqs_record(message, self.mapping.queue_arn, self.runner.state.region, body))
        response = self.pool.invoke({"Records": records})
        if not response.get("ok"):
            self.runner.log(
                f"{self.mapping.function}: invocation failed ({response.get('errorType')}: "
                f"{response.get('errorMessage')}); {len(records)} message(s) stay in the queue"
            )
            return
        failed = self._failed_ids(response.get("result"), {r["messageId"] for r in records})
        done = [m for m in messages if m["MessageId"] not in failed]
        for start in range(0, len(done), 10):
            chunk = done[start : start + 10]
            sqs.delete_message_batch(
                QueueUrl=self.mapping.queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)],
            )
        self.runner.count(self.mapping.function, len(done), len(failed))

    def _failed_ids(self, result: Any, batch: set[str]) -> set[str]:
        """Message ids to leave in the queue, read as Lambda reads a partial batch response."""
        if not self.mapping.report_batch_item_failures or not isinstance(result, dict):
            return set()
        items = result.get("batchItemFailures")
        if not items:
            return set()
        failed = {item.get("itemIdentifier") for item in items if isinstance(item, dict)}
        if None in failed or "" in failed or not failed <= batch:
            return batch  # an invalid response fails the whole batch
        return {str(i) for i in failed}


class RuleTargetPoller:
    """An EventBridge rule's Lambda target: each event is an asynchronous invocation."""

    def __init__(self, runner: Runner, target: RuleTarget, pool: HostPool) -> None:
        self.runner = runner
        self.target = target
        self.pool = pool

    def start(self) -> list[threading.Thread]:
        thread = threading.Thread(target=self._loop, name=f"{self.target.rule}-{self.target.target_id}", daemon=True)
        thread.start()
        return [thread]

    def _loop(self) -> None:
        sqs = self.runner.client("sqs")
        spec = self.runner.state.functions[self.target.function]
        while not self.runner.stopping.is_set():
            try:
                response = sqs.receive_message(
                    QueueUrl=self.target.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=POLL_WAIT_SECONDS
                )
                for message in response.get("Messages", []):
                    invoke_async(self.runner, spec, json.loads(message["Body"]), self.pool.invoke)
                    sqs.delete_message(QueueUrl=self.target.queue_url, ReceiptHandle=message["ReceiptHandle"])
            except (ClientError, BotoCoreError) as exc:
                self.runner.log(f"{self.target.rule}: {exc}")
                time.sleep(0.5)


def invoke_async(runner: Any, spec: FunctionSpec, event: Any, invoke: Any, retry_delay: float = 0.5) -> dict[str, Any]:
    """Lambda's asynchronous invocation: retries, then the on-failure destination. Returns the last
    attempt's response (``{"ok": true, "result": …}`` or ``{"ok": false, "errorType": …}``)."""
    attempts = 1 + spec.max_retry_attempts
    response: dict[str, Any] = {}
    for attempt in range(1, attempts + 1):
        response = invoke(event)
        if response.get("ok"):
            runner.count(spec.logical_id, 1, 0)
            return response
        runner.log(
            f"{spec.logical_id}: attempt {attempt}/{attempts} failed: {response.get('errorType')}: "
            f"{response.get('errorMessage')}"
        )
        if attempt < attempts:
            time.sleep(retry_delay * attempt)
    runner.count(spec.logical_id, 0, 1)
    if spec.on_failure_arn and ":sqs:" in spec.on_failure_arn:
        record = {
            "version": "1.0",
            "timestamp": datetime.now(UTC).isoformat(),
            "requestContext": {
                "requestId": str(uuid.uuid4()),
                "functionArn": f"{spec.arn}:$LATEST",
                "condition": "RetriesExhausted",
                "approximateInvokeCount": attempts,
            },
            "requestPayload": event,
            "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
            "responsePayload": {"errorType": response.get("errorType"), "errorMessage": response.get("errorMessage")},
        }
        sqs = runner.client("sqs")
        url = sqs.get_queue_url(QueueName=spec.on_failure_arn.rsplit(":", 1)[1])["QueueUrl"]
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps(record))
    return response


# ---------------------------------------------------------------- schedules


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
    event = schedule_input(schedule.input, state.resources[schedule.logical_id].get("Arn", schedule.name))

    def one_shot(payload: Any) -> dict[str, Any]:
        directory = Path(state.state_dir)
        spec_file = directory / "functions" / f"{spec.logical_id}.json"
        spec_file.parent.mkdir(parents=True, exist_ok=True)
        spec_file.write_text(
            json.dumps({"function": spec.__dict__, "local_environment": local_environment(state)}), encoding="utf-8"
        )
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False, dir=directory) as handle:
            json.dump(payload, handle)
        log = directory / "logs" / f"{spec.logical_id}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        try:
            completed = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "local.triggers.function_host",
                    "--spec",
                    str(spec_file),
                    "--log",
                    str(log),
                    "--event",
                    handle.name,
                ],
                capture_output=True,
                text=True,
                cwd=REPO,
                timeout=spec.timeout + 30,
                env={**os.environ, "PYTHONPATH": str(REPO)},
                check=False,
            )
        except subprocess.TimeoutExpired:
            return {"ok": False, "errorType": "Sandbox.Timedout", "errorMessage": "timed out"}
        finally:
            os.unlink(handle.name)
        lines = completed.stdout.strip().splitlines()
        if not lines:
            return {"ok": False, "errorType": "Runtime.ExitError", "errorMessage": completed.stderr[-500:]}
        return dict(json.loads(lines[-1]))

    response = invoke_async(console, spec, event, one_shot)
    record_run(state, schedule, "on demand", event, response)
    return response


class SchedulePlayer:
    """A ``rate(…)`` schedule on the local clock: every ``period`` seconds one asynchronous invocation
    of its target in the runner's warm environment. A run that outlasts the period delays the next
    one (Scheduler would start it anyway; every write the sweeper makes is conditional, so it only
    saves work)."""

    def __init__(self, runner: Runner, schedule: ScheduleSpec, pool: HostPool, period: float) -> None:
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
        arn = state.resources[self.schedule.logical_id].get("Arn", self.schedule.name)
        while not self.runner.stopping.wait(self.period):
            event = schedule_input(self.schedule.input, arn)
            try:
                response = invoke_async(self.runner, spec, event, self.pool.invoke)
            except (ClientError, BotoCoreError) as exc:  # the on-failure destination could not be reached
                self.runner.log(f"{self.schedule.logical_id}: {exc}")
                continue
            record_run(state, self.schedule, f"every {self.period:g} s", event, response)


# ---------------------------------------------------------------- the runner


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
        for mapping in self.state.event_source_mappings:
            if not mapping.enabled:
                continue
            size = max(1, min(self.concurrency, mapping.maximum_concurrency or self.concurrency))
            pool = self.pools.setdefault(
                mapping.function, HostPool(self.state.functions[mapping.function], self.state, size)
            )
            self.threads += QueuePoller(self, mapping, pool, size).start()
        for target in self.state.rule_targets:
            pool = self.pools.setdefault(
                target.function, HostPool(self.state.functions[target.function], self.state, 1)
            )
            self.threads += RuleTargetPoller(self, target, pool).start()
        for schedule in self.state.schedules.values():
            if schedule.is_rate and schedule.state == "ENABLED" and self.rate_period > 0:
                pool = self.pools.setdefault(
                    schedule.function, HostPool(self.state.functions[schedule.function], self.state, 1)
                )
                self.threads += SchedulePlayer(self, schedule, pool, self.rate_period).start()
        plan = plan_of(self.state)
        if plan is not None:
            self.threads += ScalingPlayer(self.state, plan, self.stopping, self.log).start()

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
