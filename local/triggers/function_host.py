"""One Lambda function in a process of its own, as a warm Lambda execution environment.

The runner starts ``python -m local.triggers.function_host --spec spec.json`` and talks JSON lines over the
host's stdin and a dedicated pipe (fd 1 of the protocol is duplicated before the handler is
imported; the handler's own stdout, where Powertools logs and EMF metrics go, is sent to the
function's log file). The environment is the function's, resolved from template.yaml, set before
the handler module and the layer are imported, as in Lambda.

Request: ``{"request_id": …, "event": …, "deadline_ms": …}``
Response: ``{"ok": true, "result": …}`` or ``{"ok": false, "errorType": …, "errorMessage": …}``
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import resource
import sys
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass
class LambdaContext:
    function_name: str
    function_version: str
    invoked_function_arn: str
    memory_limit_in_mb: int
    aws_request_id: str
    log_group_name: str
    log_stream_name: str
    deadline_ms: int

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self.deadline_ms - int(time.time() * 1000))


def max_memory_used_mb() -> int:
    """The process's peak resident memory so far, in MB, as Lambda's REPORT line gives it ("Max Memory
    Used"): what a function's ``MemorySize`` must hold. Linux reports ``ru_maxrss`` in KiB."""
    return -(-resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)


def lambda_environment(spec: dict[str, Any], local_env: dict[str, str]) -> dict[str, str]:
    """The variables a Lambda execution environment for ``spec`` has, plus the local endpoints."""
    region = local_env["AWS_REGION"]
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "en_US.UTF-8",
        "TZ": ":UTC",
        "AWS_LAMBDA_FUNCTION_NAME": spec["name"],
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec["memory"]),
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{spec['name']}",
        "AWS_LAMBDA_LOG_STREAM_NAME": "local",
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
        "LAMBDA_TASK_ROOT": spec["code_dir"],
        "_HANDLER": spec["handler"],
        "AWS_DEFAULT_REGION": region,
        **spec["environment"],
        **local_env,
    }
    return env


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="host one Lambda function (local stack)")
    parser.add_argument("--spec", required=True, help="JSON file: the FunctionSpec and the local environment")
    parser.add_argument("--log", required=True, help="file the function's output goes to")
    parser.add_argument("--event", help="invoke once with this JSON file as the event, print the result, exit")
    args = parser.parse_args(argv)
    with open(args.spec, encoding="utf-8") as handle:
        document = json.load(handle)
    spec = document["function"]

    # The protocol keeps the original stdout; everything the function prints goes to its log.
    protocol = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
    log_fd = os.open(args.log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(log_fd, 1)
    os.dup2(log_fd, 2)
    sys.stdout = os.fdopen(1, "w", buffering=1, encoding="utf-8", closefd=False)
    sys.stderr = os.fdopen(2, "w", buffering=1, encoding="utf-8", closefd=False)

    os.environ.clear()
    os.environ.update(lambda_environment(spec, document["local_environment"]))
    # /var/task first, then the layers (/opt/python), then the runtime's own packages (the venv).
    sys.path[:0] = [spec["code_dir"], *spec["layer_dirs"]]
    module_name, handler_name = spec["handler"].rsplit(".", 1)
    module_path = Path(spec["code_dir"]) / (module_name.replace(".", "/") + ".py")
    module_spec = importlib.util.spec_from_file_location(module_name, module_path)
    if module_spec is None or module_spec.loader is None:
        raise SystemExit(f"cannot load {module_path}")
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[module_name] = module
    module_spec.loader.exec_module(module)
    handler = getattr(module, handler_name)

    def invoke(request: dict[str, Any]) -> dict[str, Any]:
        context = LambdaContext(
            function_name=spec["name"],
            function_version="$LATEST",
            invoked_function_arn=spec["arn"],
            memory_limit_in_mb=int(spec["memory"]),
            aws_request_id=request["request_id"],
            log_group_name=f"/aws/lambda/{spec['name']}",
            log_stream_name="local",
            deadline_ms=int(request["deadline_ms"]),
        )
        print(f"START RequestId: {context.aws_request_id} Version: $LATEST", flush=True)
        started = time.monotonic()
        try:
            result = handler(request["event"], context)
            response = {"ok": True, "result": result}
        except Exception as exc:  # noqa: BLE001 - reported to the invoker, as Lambda does
            traceback.print_exc()
            response = {"ok": False, "errorType": type(exc).__name__, "errorMessage": str(exc)}
        elapsed = (time.monotonic() - started) * 1000
        used = max_memory_used_mb()
        print(f"END RequestId: {context.aws_request_id}", flush=True)
        print(
            f"REPORT RequestId: {context.aws_request_id}\tDuration: {elapsed:.2f} ms\t"
            f"Memory Size: {spec['memory']} MB\tMax Memory Used: {used} MB",
            flush=True,
        )
        response["maxMemoryUsedMB"] = used
        return response

    if args.event:
        with open(args.event, encoding="utf-8") as handle:
            event = json.load(handle)
        deadline = int(time.time() * 1000) + int(spec["timeout"]) * 1000
        response = invoke({"request_id": "one-shot", "event": event, "deadline_ms": deadline})
        protocol.write(json.dumps(response, default=str) + "\n")
        return 0 if response["ok"] else 1

    protocol.write(json.dumps({"ready": True}) + "\n")
    for line in sys.stdin:
        if not line.strip():
            continue
        response = invoke(json.loads(line))
        try:
            protocol.write(json.dumps(response, default=str) + "\n")
        except BrokenPipeError:
            return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
