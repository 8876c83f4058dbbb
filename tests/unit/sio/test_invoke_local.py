"""`sio --local` running one of the local stack's functions (sio/invoke.py): a function the stack
does not have is named with those it has; code outside a checkout is refused; a function that times
out or dies without answering comes back as Lambda's own error types, with its log."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from sio import invoke as invoking
from sio.errors import SioError
from sio.stack import Stack

from local.aws.template import REPO
from tests.support.local_state import state

NIGHTLY = {
    "logical_id": "NightlyFunction",
    "name": "orchestrator-local-nightly",
    "code_dir": str(REPO / "functions" / "nightly"),
    "timeout": 5,
}


def local_stack(tmp_path: Path, **function: Any) -> Stack:
    state(state_dir=str(tmp_path)).save(tmp_path / "stack.json")
    functions = {"NightlyFunction": {**NIGHTLY, **function}}
    return Stack(
        "orchestrator-local", "local", "us-east-1", {}, state_dir=tmp_path, local_state={"functions": functions}
    )


def test_a_function_the_local_stack_does_not_have_is_named_with_those_it_has(tmp_path):
    with pytest.raises(SioError, match="the local stack has no function 'other': functions are NightlyFunction"):
        invoking.invoke_local(local_stack(tmp_path), "other", {})


def test_function_code_outside_a_checkout_is_refused(tmp_path):
    stack = local_stack(tmp_path, code_dir=str(tmp_path / "functions" / "nightly"))

    with pytest.raises(SioError, match="cannot find the repository of the local stack's function code"):
        invoking.invoke_local(stack, NIGHTLY["name"], {})


def test_a_function_that_outlives_its_timeout_is_sandbox_timedout(tmp_path, monkeypatch):
    ran: list[Any] = []

    def run(command: list[str], **options: Any) -> Any:
        ran.append(options["timeout"])
        raise subprocess.TimeoutExpired(command, options["timeout"])

    monkeypatch.setattr(invoking.subprocess, "run", run)

    outcome = invoking.invoke_local(local_stack(tmp_path), NIGHTLY["name"], {"rerun": 1})

    assert ran == [35]  # the function's timeout and a margin for the process to start
    assert (outcome.ok, outcome.error_type, outcome.error_message) == (False, "Sandbox.Timedout", "timed out")
    assert outcome.log == str(tmp_path / "logs" / "NightlyFunction.log")


@pytest.mark.parametrize(
    ("stderr", "message"),
    [("Traceback …\nImportError: app", "Traceback …\nImportError: app"), ("", "exit status 1, nothing printed")],
)
def test_a_function_that_dies_without_answering_is_an_exit_error_with_its_last_words(
    tmp_path, monkeypatch, stderr, message
):
    monkeypatch.setattr(
        invoking.subprocess, "run", lambda command, **_: subprocess.CompletedProcess(command, 1, "", stderr)
    )

    outcome = invoking.invoke_local(local_stack(tmp_path), NIGHTLY["name"], {})

    assert (outcome.ok, outcome.error_type, outcome.error_message) == (False, "Runtime.ExitError", message)
    assert outcome.as_dict() == {
        "function": NIGHTLY["name"],
        "ok": False,
        "errorType": "Runtime.ExitError",
        "errorMessage": message,
        "log": outcome.log,
    }
