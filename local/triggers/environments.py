"""Execution environments: the runner's side of the process a function runs in
(``python -m local.triggers.function_host``), with the environment the template gives the function plus
the local endpoints. A warm one (``FunctionHost``, pooled by ``HostPool``) serves invocation after
invocation; ``invoke_once`` starts one for a single invocation."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from local.aws.clients import TEST_CREDENTIALS
from local.aws.state import FunctionSpec, StackState
from local.aws.template import REPO

# How long an environment's init (its function's module loaded) may take before it is given up on.
INIT_SECONDS = 60


def local_environment(state: StackState) -> dict[str, str]:
    """What the local stack adds to every function's environment: endpoints, region, credentials."""
    sagemaker = state.sagemaker_endpoint  # one stand-in serves both the control plane and the runtime
    return {
        "AWS_REGION": state.region,
        "AWS_ENDPOINT_URL": state.aws_endpoint,
        "AWS_ENDPOINT_URL_SAGEMAKER": sagemaker,
        "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME": sagemaker,
        **TEST_CREDENTIALS,
    }


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

    def wait_ready(self, timeout: float) -> bool:
        """Until the process has loaded its function (Lambda's init phase), at most ``timeout`` seconds.
        An init that failed (the process exited) or outlasts that is left to the first invocation, which
        reports it as before."""
        if self.ready or self.process is None:
            return self.ready
        try:
            line = self._next_line(timeout)
        except TimeoutError:
            return False
        if line is None:
            self.lines.put(None)  # the invocation finds the process gone, as it would have
            return False
        self.ready = True
        return True

    def invoke(self, event: dict[str, Any]) -> dict[str, Any]:
        """Run the handler; a timeout or a crash ends this environment (the next call starts anew)."""
        if self.process is None or self.process.poll() is not None:
            self.start()
        assert self.process is not None and self.process.stdin is not None
        try:
            if not self.ready:
                line = self._next_line(INIT_SECONDS)
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

    def wait_ready(self, timeout: float) -> int:
        """Until every environment has loaded its function (their inits run at once, each in its process),
        at most ``timeout`` seconds in all; how many did."""
        deadline = time.monotonic() + timeout
        return sum(host.wait_ready(max(0.0, deadline - time.monotonic())) for host in self.all)

    def invoke(self, event: dict[str, Any]) -> dict[str, Any]:
        host = self.hosts.get()
        try:
            return host.invoke(event)
        finally:
            self.hosts.put(host)

    def stop(self) -> None:
        for host in self.all:
            host.stop()


def invoke_once(state: StackState, spec: FunctionSpec, payload: Any) -> dict[str, Any]:
    """One invocation in a fresh execution environment (a process started for it, then gone)."""
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
