"""Run the real handlers (``functions/<name>/app.py``) in-process, as Lambda would."""

from __future__ import annotations

import importlib.util
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FUNCTIONS_DIR = Path(__file__).resolve().parents[2] / "functions"

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


@dataclass
class FakeLambdaContext:
    """The attributes Powertools reads from Lambda's context object."""

    function_name: str
    memory_limit_in_mb: int = 256
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:us-east-1:123456789012:function:{self.function_name}"

    remaining_ms: int = 120_000  # the router's timeout: every record of a batch may start

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


def load_handler(function: str) -> Handler:
    """``lambda_handler`` of ``functions/<function>/app.py`` (every function's module is named app)."""
    spec = importlib.util.spec_from_file_location(f"{function}_app", FUNCTIONS_DIR / function / "app.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.lambda_handler  # type: ignore[no-any-return]


def invoker(function: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """Call a function's handler with an event and a fresh context, as one Lambda invocation."""
    handler = load_handler(function)
    return lambda event: handler(event, FakeLambdaContext(function_name=f"sagemaker-inference-orchestrator-{function}"))


def failed_ids(response: dict[str, Any]) -> list[str]:
    """The message ids a partial batch response sends back to the queue."""
    return [failure["itemIdentifier"] for failure in response["batchItemFailures"]]
