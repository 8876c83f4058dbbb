"""The local stack: moto, the resources of template.yaml, the SageMaker stand-in, the demo model and
the trigger runner, each in a process of its own on loopback.

``python -m local.stack`` starts it and keeps it running for interactive use (Ctrl-C stops it);
the demo, the end-to-end tests and the bench use :class:`LocalStack` as a context manager.

Settings (environment variables of the same name override the defaults):
``LOCAL_AWS_PORT`` (4566), ``LOCAL_SAGEMAKER_PORT`` (4567), ``LOCAL_MODEL_PORT`` (8080),
``LOCAL_MODEL_URL`` (a model container of your own: the demo model is then not started),
``LOCAL_STACK_NAME`` (orchestrator-local), ``LOCAL_FUNCTION_CONCURRENCY`` (1), ``LOCAL_TEMPLATE``
(template.yaml), ``LOCAL_RATE_SCHEDULE_SECONDS`` (3: how often ``rate(…)`` schedules such as the
sweeper's fire; 0: only on demand), ``LOCAL_PARAMETER_OVERRIDES`` (template parameters on top of
``LOCAL_PARAMETERS``, as ``sam deploy --parameter-overrides`` takes them: ``Key=Value Key=Value``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from orchestrator.aws.tracker_reads import scan_items

from local.aws.clients import TEST_CREDENTIALS, client_factory
from local.aws.resources import ALARMS_NOT_EVALUATED, Builder, Overrides, endpoint_config
from local.aws.state import StackState
from local.aws.template import REPO, TEMPLATE, Template
from local.loopback import HOST, check_port_free, free_port, wait_for_http

# Parameter values of the local stack, for the parameters template.yaml declares: the endpoint the
# stand-in serves, and the model transform jobs use (the demo model, whatever the name).
# Both synchronous endpoints are configured too; RoutingRules sends only two prefixes to them and keeps
# everything else where the default table put it before (so the async tests see async files).
LOCAL_ROUTING_RULES = json.dumps(
    [
        {"name": "local: realtime prefix", "prefix": "incoming/realtime/", "mode": "realtime"},
        {"name": "local: serverless prefix", "prefix": "incoming/serverless/", "mode": "serverless"},
        {"name": "local: requested", "requested": "*"},
        {"name": "local: nightly prefix", "prefix": "incoming/nightly/", "mode": "nightly"},
        {"name": "local: batch prefix", "prefix": "incoming/batch/", "mode": "batch"},
        {"name": "local: async", "maxBytes": 1073741824, "mode": "async"},
    ],
    separators=(",", ":"),
)
LOCAL_PARAMETERS = {
    "AsyncEndpointName": "demo-async-endpoint",
    "TransformModelName": "demo-model",
    "RealtimeEndpointName": "demo-realtime-endpoint",
    "ServerlessEndpointName": "demo-serverless-endpoint",
    "RoutingRules": LOCAL_ROUTING_RULES,
}


# The stack creates its three endpoints under the local names above (`make demo`, `make stack`, the
# scaling tests and bench); the stand-in serves any image with the local model.
ENDPOINT_PARAMETERS = {
    "CreateAsyncEndpoint": "true",
    "CreateRealtimeEndpoint": "true",
    "CreateServerlessEndpoint": "true",
    "ModelImageUri": "123456789012.dkr.ecr.us-east-1.amazonaws.com/demo-model:latest",
}


@dataclass
class StackConfig:
    stack_name: str = "orchestrator-local"
    region: str = "us-east-1"
    aws_port: int = 4566
    sagemaker_port: int = 4567
    model_port: int = 8080
    model_url: str | None = None  # a model container of your own; None: start the demo model
    state_dir: Path | None = None
    parameters: dict[str, str] = field(default_factory=dict)  # on top of LOCAL_PARAMETERS
    template: Path = TEMPLATE
    overrides: Overrides = field(default_factory=Overrides)
    standin: dict[str, Any] = field(default_factory=dict)  # extra stand-in settings (async_concurrency …)
    concurrency: int = 1  # execution environments per function
    rate_schedule_seconds: float = 3.0  # rate(...) schedules (the sweeper) fire this often; 0: on demand only
    # Created endpoints' scaling runs this many times faster than AWS (periods, cooldowns, start-up).
    scaling_clock_factor: float = 60.0
    verbose: bool = False

    @classmethod
    def from_env(cls, **changes: Any) -> StackConfig:
        env = os.environ
        config = cls(
            stack_name=env.get("LOCAL_STACK_NAME", "orchestrator-local"),
            region=env.get("AWS_DEFAULT_REGION", "us-east-1"),
            aws_port=int(env.get("LOCAL_AWS_PORT", "4566")),
            sagemaker_port=int(env.get("LOCAL_SAGEMAKER_PORT", "4567")),
            model_port=int(env.get("LOCAL_MODEL_PORT", "8080")),
            model_url=env.get("LOCAL_MODEL_URL") or None,
            template=Path(env.get("LOCAL_TEMPLATE") or TEMPLATE),
            concurrency=int(env.get("LOCAL_FUNCTION_CONCURRENCY", "1")),
            rate_schedule_seconds=float(env.get("LOCAL_RATE_SCHEDULE_SECONDS") or 3.0),
            scaling_clock_factor=float(env.get("LOCAL_SCALING_CLOCK_FACTOR") or 60.0),
            parameters=parse_parameter_overrides(env.get("LOCAL_PARAMETER_OVERRIDES", "")),
        )
        if env.get("LOCAL_INSTANCE_STARTUP_SECONDS"):
            config.standin["instance_startup_seconds"] = float(env["LOCAL_INSTANCE_STARTUP_SECONDS"])
        for key, value in changes.items():
            setattr(config, key, value)
        return config

    @classmethod
    def on_free_ports(cls, **settings: Any) -> StackConfig:
        """A config on three distinct free loopback ports (tests, bench): the kernel may hand a port it
        just reported free out again, so they are drawn until three differ."""
        ports: set[int] = set()
        while len(ports) < 3:
            ports.add(free_port())
        aws_port, sagemaker_port, model_port = sorted(ports)
        return cls(aws_port=aws_port, sagemaker_port=sagemaker_port, model_port=model_port, **settings)

    @property
    def directory(self) -> Path:
        return self.state_dir or REPO / "local" / ".state" / self.stack_name


def parse_parameter_overrides(text: str) -> dict[str, str]:
    """``Key=Value Key=Value`` (sam's --parameter-overrides form) → a dict; a malformed pair is named."""
    parameters: dict[str, str] = {}
    for pair in text.split():
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise ValueError(f"LOCAL_PARAMETER_OVERRIDES: {pair!r} is not Key=Value")
        parameters[name] = value
    return parameters


class LocalStack:
    def __init__(self, config: StackConfig | None = None) -> None:
        self.config = config or StackConfig.from_env()
        self.directory = self.config.directory
        self.aws_endpoint = f"http://{HOST}:{self.config.aws_port}"
        self.sagemaker_endpoint = f"http://{HOST}:{self.config.sagemaker_port}"
        self.model_url = self.config.model_url or f"http://{HOST}:{self.config.model_port}"
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self._logs: dict[str, TextIO] = {}
        self._state: StackState | None = None
        self.client = client_factory(self.aws_endpoint, self.config.region, self.sagemaker_endpoint)
        self.started_in: float = 0.0

    # ------------------------------------------------------------ lifecycle

    def __enter__(self) -> LocalStack:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> StackState:
        began = time.monotonic()
        if not 1 <= self.config.scaling_clock_factor <= 60:
            raise ValueError(
                f"LOCAL_SCALING_CLOCK_FACTOR={self.config.scaling_clock_factor:g}: must be between 1 and 60 "
                "(a 60 s scaling period must last at least one real second; moto keeps whole seconds)"
            )
        check_port_free(self.config.aws_port, "LOCAL_AWS_PORT")
        check_port_free(self.config.sagemaker_port, "LOCAL_SAGEMAKER_PORT")
        if self.config.model_url is None:
            check_port_free(self.config.model_port, "LOCAL_MODEL_PORT")
        self._clean_state_dir()
        try:
            self._spawn("moto", ["local.aws", "--port", str(self.config.aws_port)])
            if self.config.model_url is None:
                self._spawn("model", ["local.model.server", "--port", str(self.config.model_port)])
            template = Template.load(
                stack_name=self.config.stack_name,
                region=self.config.region,
                parameters=self.config.parameters,
                aws_endpoint=self.aws_endpoint,
                path=self.config.template,
                defaults=LOCAL_PARAMETERS,
            )
            wait_for_http(f"{self.aws_endpoint}/moto-api/", 30, self.processes["moto"])
            state = Builder(template, self.client, self.config.overrides).build(
                sagemaker_endpoint=self.sagemaker_endpoint, model_url=self.model_url
            )
            state.state_dir = str(self.directory)
            state.scaling_clock_factor = self.config.scaling_clock_factor
            state.standin_config = endpoint_config(state, self.config.standin)
            state.save(self.directory / "stack.json")
            self._state = state
            config_file = self.directory / "standin.json"
            config_file.write_text(json.dumps(state.standin_config, indent=2), encoding="utf-8")
            self._spawn(
                "standin",
                ["local.sagemaker_standin", "--config", str(config_file), "--port", str(self.config.sagemaker_port)],
            )
            self.start_runner(wait=False)
            wait_for_http(f"{self.sagemaker_endpoint}/_local/health", 30, self.processes["standin"])
            wait_for_http(f"{self.model_url.rstrip('/')}/ping", 30, self.processes.get("model"))
            self._wait_runner()
        except BaseException:
            self.stop()
            raise
        self.started_in = time.monotonic() - began
        return state

    def stop(self) -> None:
        for name in ("runner", "standin", "model", "moto"):
            self._terminate(name)
        for handle in self._logs.values():
            handle.close()
        self._logs.clear()

    def start_runner(self, wait: bool = True) -> None:
        with contextlib.suppress(FileNotFoundError):
            (self.directory / "runner.ready").unlink()
        self._spawn(
            "runner",
            [
                "local.runner",
                "--state",
                str(self.directory),
                "--concurrency",
                str(self.config.concurrency),
                "--rate-schedule-seconds",
                str(self.config.rate_schedule_seconds),
            ],
        )
        if wait:
            self._wait_runner()

    def kill_runner(self) -> None:
        """SIGKILL the runner and its function processes at once: a crash, not a shutdown."""
        process = self.processes.pop("runner", None)
        if process is not None and process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)

    def fire_schedule(self, schedule_id: str | None = None) -> bool:
        """Run a schedule now (its logical id, name, or its function's logical id): True if it succeeded."""
        return bool(self.run_schedule(schedule_id).get("ok"))

    def run_schedule(self, schedule_id: str | None = None) -> dict[str, Any]:
        """Run a schedule now and return its function's response (``ok``, ``result`` or the error)."""
        from local.triggers.schedules import run_schedule

        return run_schedule(self.state, schedule_id, quiet=not self.config.verbose)

    def alarms(self) -> list[dict[str, Any]]:
        """The template's alarms as moto holds them: logical id, name, state, reason (moto evaluates none)."""
        names = {self.state.physical(lid): lid for lid in self.state.of_type("AWS::CloudWatch::Alarm")}
        names |= {self.state.physical(lid): lid for lid in self.state.of_type("AWS::CloudWatch::CompositeAlarm")}
        found: list[dict[str, Any]] = []
        if not names:
            return found
        pages = self.client("cloudwatch").get_paginator("describe_alarms")
        for page in pages.paginate(AlarmTypes=["MetricAlarm", "CompositeAlarm"]):
            for alarm in page.get("MetricAlarms", []) + page.get("CompositeAlarms", []):
                if alarm["AlarmName"] in names:
                    found.append(
                        {
                            "logical_id": names[alarm["AlarmName"]],
                            "name": alarm["AlarmName"],
                            "state": alarm["StateValue"],
                            "reason": alarm.get("StateReason", ""),
                        }
                    )
        return sorted(found, key=lambda a: str(a["logical_id"]))

    # ------------------------------------------------------------ helpers for callers

    @property
    def state(self) -> StackState:
        if self._state is None:
            raise RuntimeError("the local stack is not started")
        return self._state

    @property
    def bucket(self) -> str:
        buckets = self.state.of_type("AWS::S3::Bucket")
        return self.state.physical(buckets[0])

    @property
    def table(self) -> str:
        return self.state.physical(self.state.of_type("AWS::DynamoDB::Table")[0])

    def standin(self, path: str, payload: dict[str, Any] | None = None) -> Any:
        return _http_json(f"{self.sagemaker_endpoint}{path}", payload)

    def model(self, path: str, payload: dict[str, Any] | None = None) -> Any:
        return _http_json(f"{self.model_url.rstrip('/')}{path}", payload)

    def log_path(self, name: str) -> Path:
        return self.directory / "logs" / f"{name}.log"

    # ------------------------------------------------------------ processes

    def _clean_state_dir(self) -> None:
        for name in ("logs", "functions"):
            shutil.rmtree(self.directory / name, ignore_errors=True)
        for name in ("stack.json", "standin.json", "runner.ready", "scaling.jsonl"):
            with contextlib.suppress(FileNotFoundError):
                (self.directory / name).unlink()
        (self.directory / "logs").mkdir(parents=True, exist_ok=True)

    def _spawn(self, name: str, module_args: list[str]) -> None:
        log = self._logs.get(name) or (self.directory / "logs" / f"{name}.log").open("a", encoding="utf-8")
        self._logs[name] = log
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
            **TEST_CREDENTIALS,
            "AWS_DEFAULT_REGION": self.config.region,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
            "PYTHONUNBUFFERED": "1",
        }
        command = [sys.executable, "-m", *module_args]
        if self.config.verbose and name in ("moto", "standin", "model"):
            command.append("--verbose")
        self.processes[name] = subprocess.Popen(
            command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def _wait_runner(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        process = self.processes["runner"]
        while not (self.directory / "runner.ready").exists():
            if process.poll() is not None:
                raise RuntimeError(f"the trigger runner exited ({process.returncode}); see {self.log_path('runner')}")
            if time.monotonic() > deadline:
                raise TimeoutError("the trigger runner did not start in time")
            time.sleep(0.05)

    def _terminate(self, name: str) -> None:
        process = self.processes.pop(name, None)
        if process is None or process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)


def _http_json(url: str, payload: dict[str, Any] | None = None) -> Any:
    import urllib.request

    data = None if payload is None else json.dumps(payload).encode()
    request = urllib.request.Request(url, data=data, method="POST" if data is not None else "GET")
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read() or b"null")


def describe(stack: LocalStack) -> str:
    """What a user needs to use the running stack from another terminal."""
    state = stack.state
    prefix = state.parameters.get("InputPrefix", "incoming/")
    env = f"AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_DEFAULT_REGION={state.region}"
    overrides = stack.config.overrides.describe()
    lines = [
        f"local stack {state.stack_name!r} is running (started in {stack.started_in:.1f} s)",
        f"  AWS (moto)          {stack.aws_endpoint}",
        f"  SageMaker stand-in  {stack.sagemaker_endpoint}   endpoint {state.parameters.get('AsyncEndpointName')}",
        f"  model               {stack.model_url}",
        f"  input bucket        s3://{stack.bucket}/{prefix}",
        f"  tracker table       {stack.table}",
        f"  logs                {stack.directory / 'logs'}",
        *(f"  parameter           {k}={v}" for k, v in stack.config.parameters.items()),
        *(f"  override            {line}" for line in overrides),
        *topic_and_queue_lines(state),
        *endpoint_lines(stack),
        "",
        "Drop a file and watch it flow:",
        f"  {env} aws --endpoint-url {stack.aws_endpoint} s3 cp local/samples/customers.csv "
        f"s3://{stack.bucket}/{prefix}customers.csv",
        f"  {env} aws --endpoint-url {stack.aws_endpoint} dynamodb scan --table-name {stack.table}",
        f"  {env} aws --endpoint-url {stack.aws_endpoint} s3 ls --recursive s3://{stack.bucket}/",
    ]
    if state.schedules:
        lines += ["", f"Schedules (run one now and print its function's response, from {REPO}):"]
        for schedule in sorted(state.schedules.values(), key=lambda s: s.logical_id):
            if schedule.is_rate and stack.config.rate_schedule_seconds > 0:
                when = f"{schedule.expression}; here every {stack.config.rate_schedule_seconds:g} s by itself"
            else:
                when = f"{schedule.expression}; here on demand"
            lines.append(f"  {fire_command(stack, schedule.logical_id)}   # {schedule.function}: {when}")
        lines.append(f"  each run, on its own or on demand: {stack.log_path('schedules')}")
    lines += ["", *alarm_lines(stack)]
    lines.append("Ctrl-C stops the stack.")
    return "\n".join(lines)


def endpoint_lines(stack: LocalStack) -> list[str]:
    """The endpoints the stack created, how the async one scales here, and how to look at it."""
    state = stack.state
    created = [r for r in state.sagemaker if r["type"] == "AWS::SageMaker::Endpoint"]
    if not created:
        return []
    lines = [""]
    for endpoint in created:
        served = state.standin_config["endpoints"].get(endpoint["name"], {}).get("instances")
        kind = state.standin_config["sync_endpoints"].get(endpoint["name"], {}).get("kind", "async")
        how = (
            f"{served['initial']} instances now, {served['min']}-{served['max']} by the template's scaling, "
            f"{state.scaling_clock_factor:g}x faster than AWS; an instance starts in "
            f"{served['startup_seconds']:g} s"
            if served
            else "no scaling here"
        )
        lines.append(f"  endpoint created    {endpoint['name']} ({kind}; {how})")
    env = f"AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_DEFAULT_REGION={state.region}"
    lines.append(
        f"  instances:          {env} aws --endpoint-url {stack.sagemaker_endpoint} sagemaker describe-endpoint "
        f"--endpoint-name {created[0]['name']}"
    )
    if state.scaling:
        lines.append(f"  scaling decisions:  {stack.directory / 'scaling.jsonl'}")
    return lines


def topic_and_queue_lines(state: StackState) -> list[str]:
    """Every topic and queue output of the template, and two ways to subscribe to the results."""
    outputs = state.outputs
    topics = [(name, value) for name, value in sorted(outputs.items()) if name.endswith("TopicArn")]
    queues = [(name, value) for name, value in sorted(outputs.items()) if name.endswith("QueueUrl")]
    lines = [f"  {name:<32} {value}" for name, value in topics + queues]
    env = f"AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_DEFAULT_REGION={state.region}"
    if "SuccessTopicArn" in outputs:
        lines += [
            "",
            "Subscribe to the results (a live view; its queue and subscriptions are removed on exit):",
            "  .venv/bin/sio --local watch",
            "  or by hand: "
            f"{env} aws --endpoint-url {state.aws_endpoint} sns subscribe --topic-arn {outputs['SuccessTopicArn']} "
            "--protocol sqs --notification-endpoint <your queue ARN> --attributes RawMessageDelivery=true",
        ]
    return ["", "Topics and queues:", *lines] if lines else []


def fire_command(stack: LocalStack, schedule_id: str) -> str:
    """The command that runs a schedule now, as a user types it from the repository root."""
    python = Path(sys.executable)
    shown = os.path.relpath(python, REPO) if python.is_relative_to(REPO) else str(python)
    return f"{shown} -m local.runner --state {stack.directory} --fire-schedule {schedule_id}"


def alarm_lines(stack: LocalStack) -> list[str]:
    """The alarms' states as moto reports them, and why they say little offline."""
    try:
        alarms = stack.alarms()
    except Exception as exc:  # noqa: BLE001 - a summary line, not a failure
        return [f"Alarms: could not be listed ({exc})"]
    if not alarms:
        return []
    by_state: dict[str, list[str]] = {}
    for alarm in alarms:
        by_state.setdefault(str(alarm["state"]), []).append(str(alarm["logical_id"]))
    lines = [f"Alarms: {len(alarms)} created in moto from template.yaml, with the state moto reports:"]
    for state, names in sorted(by_state.items()):
        lines += textwrap.wrap(
            ", ".join(names), width=110, initial_indent=f"  {state:<17} ", subsequent_indent=" " * 20
        )
    lines += textwrap.wrap(f"Not evaluated offline: {ALARMS_NOT_EVALUATED}.", width=110, initial_indent="  ",
                           subsequent_indent="  ")  # fmt: skip
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="run the local stack until Ctrl-C")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args(argv)
    try:
        config = StackConfig.from_env(verbose=args.verbose)
        config.parameters = {**ENDPOINT_PARAMETERS, **config.parameters}  # the stack creates its endpoints
        stack = LocalStack(config)
    except ValueError as exc:
        print(f"local stack: {exc}", file=sys.stderr)
        return 1
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        stack.start()
    except Exception as exc:  # noqa: BLE001 - a clear message, not a traceback
        print(f"local stack: {exc}", file=sys.stderr)
        return 1
    print(describe(stack), flush=True)
    print("\nWatching the tracker table (file, mode, status):", flush=True)
    seen: dict[str, str] = {}
    alarm_states = {str(a["logical_id"]): str(a["state"]) for a in stack.alarms()}
    try:
        while not stop.wait(1):
            for name, process in list(stack.processes.items()):
                if process.poll() is not None:
                    print(f"local stack: {name} exited ({process.returncode}); see {stack.log_path(name)}")
                    stop.set()
            with contextlib.suppress(Exception):  # the stack may be stopping
                items = scan_items(stack.client("dynamodb"), stack.table)
                for item in sorted(items, key=lambda i: str(i.get("created_at"))):
                    request, status = str(item["request_id"]), str(item.get("status"))
                    if seen.get(request) != status:
                        seen[request] = status
                        detail = item.get("output_location") if status == "SUCCEEDED" else item.get("failure_reason")
                        if item.get("resolved_by"):
                            detail = f"(resolved by the {item['resolved_by']}) {detail or ''}"
                        print(f"  {item.get('key')}  {item.get('mode') or '-'}  {status}  {detail or ''}", flush=True)
                for alarm in stack.alarms():  # moto changes a state only when told (set-alarm-state)
                    if alarm_states.get(str(alarm["logical_id"])) != alarm["state"]:
                        alarm_states[str(alarm["logical_id"])] = str(alarm["state"])
                        print(f"  alarm {alarm['logical_id']}: {alarm['state']} ({alarm['reason']})", flush=True)
    finally:
        stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
