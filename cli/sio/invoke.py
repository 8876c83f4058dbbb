"""Invoking one of the stack's functions synchronously, as ``aws lambda invoke`` does
(``RequestResponse``: one attempt, the function's own answer or its error).

On a deployed stack: Lambda's ``Invoke``. On the local stack there is no Lambda service (moto's
cannot run our functions): the function runs the way the local runner runs it, in a fresh
``local.triggers.function_host`` process with the environment the template gives it plus the local endpoints
(``local.triggers.environments.local_environment``, imported read-only from the repository). That needs the
repository and its environment (``.venv``): a standalone ``pip install .`` can reach a local stack's
AWS APIs but cannot run its functions.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sio.errors import SioError
from sio.stack import Stack

# Longer than any function's timeout (15 min): a nightly run may take most of it.
READ_TIMEOUT = 960


@dataclass(frozen=True)
class Invocation:
    function: str
    ok: bool
    result: Any = None  # the function's answer
    error_type: str | None = None
    error_message: str | None = None
    log: str | None = None  # where the local function's output went

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"function": self.function, "ok": self.ok}
        if self.ok:
            data["response"] = self.result
        else:
            data["errorType"] = self.error_type
            data["errorMessage"] = self.error_message
        if self.log:
            data["log"] = self.log
        return data


def invoke(stack: Stack, output: str, event: Any) -> Invocation:
    """Invoke the function named by the stack output ``output`` (e.g. ``NightlyFunctionName``)."""
    name = stack.output(output)
    if stack.source == "local":
        return invoke_local(stack, name, event)
    client = stack.client("lambda", read_timeout=READ_TIMEOUT, retries={"mode": "standard", "total_max_attempts": 1})
    response = client.invoke(FunctionName=name, InvocationType="RequestResponse", Payload=json.dumps(event).encode())
    raw = response["Payload"].read()
    try:
        payload = json.loads(raw) if raw else None
    except ValueError:
        payload = raw.decode("utf-8", "replace")
    if response.get("FunctionError"):
        details = payload if isinstance(payload, dict) else {}
        return Invocation(
            name,
            False,
            error_type=str(details.get("errorType", response["FunctionError"])),
            error_message=str(details.get("errorMessage", payload)),
        )
    return Invocation(name, True, result=payload)


def _repository(spec: dict[str, Any]) -> Path:
    """The repository the local stack runs from: the function's code is ``<repo>/functions/<fn>``."""
    for folder in Path(spec["code_dir"]).resolve().parents:
        if (folder / "local" / "triggers" / "function_host.py").exists():
            return folder
    raise SioError(f"cannot find the repository of the local stack's function code ({spec['code_dir']})")


def invoke_local(stack: Stack, name: str, event: Any) -> Invocation:
    functions = stack.local_state.get("functions", {})
    spec = next((f for f in functions.values() if f.get("name") == name), None)
    if spec is None:
        raise SioError(f"the local stack has no function {name!r}: functions are {', '.join(sorted(functions))}")
    repo = _repository(spec)
    if str(repo) not in sys.path:
        sys.path.insert(0, str(repo))
    try:
        from local.aws.state import StackState  # type: ignore[attr-defined,unused-ignore]
        from local.triggers.environments import local_environment  # type: ignore[attr-defined,unused-ignore]
    except ImportError as exc:
        raise SioError(
            f"running the local stack's functions needs the repository's environment ({exc}): use the sio of "
            f"{repo}/.venv (make venv), e.g. {repo}/.venv/bin/sio --local …"
        ) from None
    assert stack.state_dir is not None
    state = StackState.load(stack.state_dir / "stack.json")
    directory = Path(state.state_dir or stack.state_dir)
    log = directory / "logs" / f"{spec['logical_id']}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    document = {"function": spec, "local_environment": local_environment(state)}
    with tempfile.TemporaryDirectory(prefix="sio-invoke-") as scratch:
        spec_file, event_file = Path(scratch) / "spec.json", Path(scratch) / "event.json"
        spec_file.write_text(json.dumps(document), encoding="utf-8")
        event_file.write_text(json.dumps(event), encoding="utf-8")
        command = [sys.executable, "-m", "local.triggers.function_host", "--spec", str(spec_file), "--log", str(log)]
        try:
            completed = subprocess.run(
                [*command, "--event", str(event_file)],
                capture_output=True,
                text=True,
                cwd=repo,
                timeout=int(spec.get("timeout", 900)) + 30,
                env={
                    **os.environ,
                    "PYTHONPATH": os.pathsep.join(filter(None, [str(repo), os.environ.get("PYTHONPATH")])),
                },
                check=False,
            )
        except subprocess.TimeoutExpired:
            return Invocation(name, False, error_type="Sandbox.Timedout", error_message="timed out", log=str(log))
    lines = completed.stdout.strip().splitlines()
    if not lines:
        tail = completed.stderr.strip()[-2000:] or f"exit status {completed.returncode}, nothing printed"
        return Invocation(name, False, error_type="Runtime.ExitError", error_message=tail, log=str(log))
    response = json.loads(lines[-1])
    if response.get("ok"):
        return Invocation(name, True, result=response.get("result"), log=str(log))
    return Invocation(
        name, False, error_type=response.get("errorType"), error_message=response.get("errorMessage"), log=str(log)
    )
