"""The local stack: moto, the resources of template.yaml, the SageMaker stand-in, the demo model and
the trigger runner, each in a process of its own on loopback.

``python -m local.stack`` starts it and keeps it running for interactive use (Ctrl-C stops it);
the demo, the end-to-end tests and the bench use :class:`LocalStack` as a context manager.

Settings (environment variables of the same name override the defaults):
``LOCAL_AWS_PORT`` (4566), ``LOCAL_SAGEMAKER_PORT`` (4567), ``LOCAL_MODEL_PORT`` (8080),
``LOCAL_MODEL_URL`` (a model container of your own: the demo model is then not started),
``LOCAL_STACK_NAME`` (orchestrator-local), ``LOCAL_FUNCTION_CONCURRENCY`` (1), ``LOCAL_TEMPLATE``
(template.yaml).
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
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from local.aws import HOST, TEST_CREDENTIALS, check_port_free, client_factory, wait_for_http
from local.resources import Builder, Overrides, endpoint_config
from local.state import StackState
from local.template import REPO, TEMPLATE, Template

# Parameter values of the local stack, for the parameters template.yaml declares: the endpoint the
# stand-in serves, and the model transform jobs use (the demo model, whatever the name).
LOCAL_PARAMETERS = {"AsyncEndpointName": "demo-async-endpoint", "TransformModelName": "demo-model"}


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
        )
        for key, value in changes.items():
            setattr(config, key, value)
        return config

    @property
    def directory(self) -> Path:
        return self.state_dir or REPO / "local" / ".state" / self.stack_name


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
        check_port_free(self.config.aws_port, "LOCAL_AWS_PORT")
        check_port_free(self.config.sagemaker_port, "LOCAL_SAGEMAKER_PORT")
        if self.config.model_url is None:
            check_port_free(self.config.model_port, "LOCAL_MODEL_PORT")
        self._clean_state_dir()
        try:
            self._spawn("moto", ["local.aws", "--port", str(self.config.aws_port)])
            if self.config.model_url is None:
                self._spawn("model", ["local.model_server", "--port", str(self.config.model_port)])
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
            ["local.runner", "--state", str(self.directory), "--concurrency", str(self.config.concurrency)],
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
        from local.runner import fire_schedule

        return fire_schedule(self.state, schedule_id, quiet=not self.config.verbose)

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
        for name in ("stack.json", "standin.json", "runner.ready"):
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
        if self.config.verbose and name in ("standin", "model"):
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
        *(f"  override            {line}" for line in overrides),
        "",
        "Drop a file and watch it flow:",
        f"  {env} aws --endpoint-url {stack.aws_endpoint} s3 cp local/samples/customers.csv "
        f"s3://{stack.bucket}/{prefix}customers.csv",
        f"  {env} aws --endpoint-url {stack.aws_endpoint} dynamodb scan --table-name {stack.table}",
        f"  {env} aws --endpoint-url {stack.aws_endpoint} s3 ls --recursive s3://{stack.bucket}/",
    ]
    if state.schedules:
        lines.append(f"Run the nightly schedule now:  python -m local.runner --state {stack.directory} --fire-schedule")
    lines.append("Ctrl-C stops the stack.")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="run the local stack until Ctrl-C")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args(argv)
    stack = LocalStack(StackConfig.from_env(verbose=args.verbose))
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
    from local.observe import tracker_items

    seen: dict[str, str] = {}
    try:
        while not stop.wait(1):
            for name, process in list(stack.processes.items()):
                if process.poll() is not None:
                    print(f"local stack: {name} exited ({process.returncode}); see {stack.log_path(name)}")
                    stop.set()
            with contextlib.suppress(Exception):  # the stack may be stopping
                for item in sorted(tracker_items(stack), key=lambda i: str(i.get("created_at"))):
                    request, status = str(item["request_id"]), str(item.get("status"))
                    if seen.get(request) != status:
                        seen[request] = status
                        detail = item.get("output_location") if status == "SUCCEEDED" else item.get("failure_reason")
                        print(f"  {item.get('key')}  {item.get('mode') or '-'}  {status}  {detail or ''}", flush=True)
    finally:
        stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
