"""What the bench sections share: result rows, the table, environments and sample events."""

from __future__ import annotations

import contextlib
import json
import os
import sys
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "events"
LAYER = ROOT / "layers" / "orchestrator"
REGION = "us-east-1"
ACCOUNT = "123456789012"
INHERITED = frozenset({"PATH", "HOME", "USER", "LANG", "TMPDIR", "TZ", "VIRTUAL_ENV", "SYSTEMROOT"})


@dataclass(frozen=True)
class Row:
    section: str
    metric: str
    value: str
    target: str = ""  # the target or a note
    ok: bool | None = None  # None: informational; False marks a miss
    check: bool = False  # a miss of a check row makes the bench exit non-zero

    @property
    def status(self) -> str:
        if self.ok is None:
            return ""
        if self.ok:
            return "ok"
        return "FAIL" if self.check else "MISS"


def render(rows: list[Row]) -> str:
    header = ("section", "metric", "value", "target / notes", "")
    table = [header, *((r.section, r.metric, r.value, r.target, r.status) for r in rows)]
    widths = [max(len(line[i]) for line in table) for i in range(len(header))]
    out = []
    for n, line in enumerate(table):
        out.append("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(line)).rstrip())
        if n == 0:
            out.append("  ".join("-" * w for w in widths).rstrip())
    return "\n".join(out)


def function_env(region: str = REGION, **overrides: str) -> dict[str, str]:
    """The variables both functions need (names from the README's design reference), every other
    setting at its default, fake credentials as Lambda provides real ones through the environment,
    no endpoint override. Nothing else is inherited but the basics of a process environment."""
    env = {key: value for key, value in os.environ.items() if key in INHERITED or key.startswith(("LC_", "PYTHON"))}
    env.update(
        {
            "AWS_DEFAULT_REGION": region,
            "AWS_REGION": region,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "TRACKER_TABLE": "bench-tracker",
            "SUCCESS_TOPIC_ARN": f"arn:aws:sns:{region}:{ACCOUNT}:bench-success",
            "ERROR_TOPIC_ARN": f"arn:aws:sns:{region}:{ACCOUNT}:bench-error",
            # The samples' endpoint (events/): the tracker records only its own endpoint's notifications.
            "ASYNC_ENDPOINT_NAME": "demo-async-endpoint",
            "POWERTOOLS_SERVICE_NAME": "sagemaker-inference-orchestrator",
            "POWERTOOLS_METRICS_NAMESPACE": "SageMakerInferenceOrchestrator",
        }
    )
    env.update(overrides)
    return env


@contextlib.contextmanager
def patched_environ(env: dict[str, str]) -> Iterator[None]:
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def load_event(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / name).read_text())


def s3_records(event: dict[str, Any]) -> list[dict[str, Any]]:
    """The S3 records inside the SQS bodies of ``event``."""
    return [s3 for record in event["Records"] for s3 in json.loads(record["body"])["Records"]]


def sqs_event(bodies: list[str], template: dict[str, Any]) -> dict[str, Any]:
    """An SQS event with one record per body, shaped like ``template``'s first record."""
    base = template["Records"][0]
    return {
        "Records": [
            {**base, "messageId": f"{base['messageId'][:-4]}{n:04d}", "body": body} for n, body in enumerate(bodies)
        ]
    }


class LambdaContext:
    """The attributes Powertools reads from Lambda's context object."""

    function_name = "bench"
    function_version = "$LATEST"
    memory_limit_in_mb = 512
    invoked_function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:bench"
    aws_request_id = "00000000-0000-0000-0000-000000000000"
    log_group_name = "/aws/lambda/bench"
    log_stream_name = "bench"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 300_000


def load_handler(function: str) -> Any:
    """``functions/<function>/app.py`` as its own module (both files are called ``app``)."""
    import importlib.util

    name = f"bench_{function}_app"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, ROOT / "functions" / function / "app.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@contextlib.contextmanager
def quiet_powertools() -> Iterator[None]:
    """Logs and EMF metrics still formatted (their CPU counts) but written to /dev/null."""
    from orchestrator.observability import logger

    handler = logger.registered_handler
    with open(os.devnull, "w") as devnull, contextlib.redirect_stdout(devnull):
        previous = handler.setStream(devnull)  # type: ignore[attr-defined]
        try:
            yield
        finally:
            handler.setStream(previous)  # type: ignore[attr-defined]


@contextlib.contextmanager
def quiet_handlers() -> Iterator[None]:
    """The handlers run as in Lambda, their output discarded: Powertools quiet, and its UserWarning
    "No application metrics to publish" ignored."""
    with quiet_powertools(), warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        yield
