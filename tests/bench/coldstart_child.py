"""One cold start, in a fresh interpreter: ``python coldstart_child.py <router|tracker|scorer> <function|floor>``.

Prints the seconds spent on the work only, wall clock (``time.perf_counter``) then CPU
(``time.process_time``), so interpreter start-up is excluded from both variants alike:
- ``function``: import ``functions/<fn>/app.py`` as Lambda does, then build its clients (wiring);
- ``floor``: ``import boto3`` and create the same clients with the same settings' region;
- ``floor-paused``: the same with the cyclic collector paused meanwhile, as the package pauses it.
Run as a script (not ``-m``) so nothing of the bench package is imported before the clock starts.
``BENCH_ABSENT`` names modules to treat as not installed (comma-separated), set before the clock.
"""

import gc
import os
import sys
import time

for _name in filter(None, os.environ.get("BENCH_ABSENT", "").split(",")):
    sys.modules[_name] = None  # type: ignore[assignment]  # import raises ImportError, as if absent

FLOOR_SERVICES = {
    "router": ("dynamodb", "sagemaker-runtime"),  # SNS is made on first use (a file it cannot score)
    "tracker": ("dynamodb",),
    "scorer": ("sns", "dynamodb", "sagemaker-runtime", "s3"),
}
WIRING = {"router": "router", "tracker": "outcome_recorder", "scorer": "scorer"}


def main() -> None:
    function, variant, path = sys.argv[1], sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else ""
    started, started_cpu = time.perf_counter(), time.process_time()
    if variant in ("floor", "floor-paused"):
        if variant == "floor-paused":  # what the function's package does in Lambda (orchestrator/coldstart.py)
            gc.disable()
        import boto3

        for service in FLOOR_SERVICES[function]:
            boto3.client(service)
        if variant == "floor-paused":
            gc.freeze()
            gc.enable()
    else:
        import importlib.util

        spec = importlib.util.spec_from_file_location("app", path)
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        sys.modules["app"] = module
        spec.loader.exec_module(module)
        getattr(sys.modules["orchestrator.wiring"], WIRING[function])()
    elapsed, elapsed_cpu = time.perf_counter() - started, time.process_time() - started_cpu
    print(f"{elapsed:.9f} {elapsed_cpu:.9f}")


main()
