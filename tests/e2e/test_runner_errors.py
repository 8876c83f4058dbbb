"""The local runner reports a function's real error, not only that its process died (issue 11)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from local.stack import LocalStack
from local.triggers.environments import FunctionHost


def test_a_function_that_cannot_import_reports_the_import_error(stack: LocalStack, tmp_path: Path) -> None:
    # Given a function whose module fails at import (a dependency missing from the runtime)
    code = tmp_path / "code"
    code.mkdir()
    (code / "app.py").write_text(
        "import no_such_dependency_anywhere\n\ndef lambda_handler(event, context):\n    return {}\n"
    )
    spec = dataclasses.replace(
        stack.state.functions["SweeperFunction"], logical_id="BrokenFunction", code_dir=str(code)
    )
    state = dataclasses.replace(stack.state, state_dir=str(tmp_path / "state"))
    host = FunctionHost(spec, state)

    # When it is invoked
    try:
        result = host.invoke({})
    finally:
        host.stop()

    # Then the outcome names the real error and where the full output is
    assert result["ok"] is False and result["errorType"] == "Runtime.ExitError"
    assert "ModuleNotFoundError: No module named 'no_such_dependency_anywhere'" in result["errorMessage"]
    assert "BrokenFunction" in result["errorMessage"]


def _host(stack: LocalStack, tmp_path: Path, source: str) -> FunctionHost:
    code = tmp_path / "code"
    code.mkdir()
    (code / "app.py").write_text(source)
    spec = dataclasses.replace(
        stack.state.functions["SweeperFunction"], logical_id="LoadingFunction", code_dir=str(code)
    )
    return FunctionHost(spec, dataclasses.replace(stack.state, state_dir=str(tmp_path / "state")))


def test_an_environment_is_ready_once_its_function_is_loaded_and_still_answers(
    stack: LocalStack, tmp_path: Path
) -> None:
    # Given a function whose module takes a moment to load, and leaves a mark when it has
    marker = tmp_path / "loaded"
    host = _host(
        stack,
        tmp_path,
        f"import pathlib, time\ntime.sleep(0.5)\npathlib.Path({str(marker)!r}).write_text('1')\n\n"
        "def lambda_handler(event, context):\n    return {'echo': event}\n",
    )
    host.start()
    try:
        # When the runner waits for the environment's init (before any event, as Lambda's init phase)
        ready = host.wait_ready(30)
        # Then it is ready only once the module is loaded, and the first invocation gets its own answer
        assert ready and marker.exists()
        result = host.invoke({"n": 1})
    finally:
        host.stop()
    assert result["ok"] is True and result["result"] == {"echo": {"n": 1}}


def test_an_init_that_fails_is_reported_by_the_first_invocation_as_before(stack: LocalStack, tmp_path: Path) -> None:
    host = _host(stack, tmp_path, "import no_such_dependency_anywhere\n")
    host.start()
    try:
        assert host.wait_ready(30) is False
        result = host.invoke({})
    finally:
        host.stop()
    assert result["ok"] is False and "ModuleNotFoundError" in result["errorMessage"]
