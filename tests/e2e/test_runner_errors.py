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
