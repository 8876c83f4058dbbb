"""Cold start: each function's module plus its clients, as a ratio to boto3 plus the same clients.

Every measurement is one fresh interpreter (``coldstart_child.py``) timing only its own work, so
interpreter start-up is excluded from both sides alike. Function and floor alternate in one loop
(order rotated each round), after warm-up runs; the medians are compared. The ratio is taken on
CPU time (``time.process_time`` in the child): on an idle machine it equals wall time (the files
are in the page cache after the warm-up), and it drifts far less than wall time when other work
shares the CPUs. The ratio of the fastest runs and the wall-clock ratio are shown beside it.

Two things make a developer's venv unlike Lambda, and both would flatter the ratio or hide a cost:

- *Optional packages.* botocore imports ``awscrt`` and urllib3 imports ``pyOpenSSL`` (with
  ``cryptography``) when they are installed, which the dev tool chain does (aws-sam-cli, checkov);
  that is ~50 ms added to both sides here. Lambda's Python runtime ships neither, so the children
  treat them as absent (:data:`ABSENT`).
- *Bytecode.* Children read and write ``.pyc`` under a private ``PYTHONPYCACHEPREFIX`` (nothing in
  the tree). The issue's ratio is measured with bytecode cached for everything, which is what the
  deployed layer has: its makefile build (``layers/orchestrator/Makefile``) ships ``.pyc`` compiled
  by 3.13. SAM's default ``BuildMethod: python3.13`` would not (it drops ``*.pyc`` and ``/opt`` is
  read-only, so every cold start would compile Powertools and the package): the "without layer
  bytecode" rows measure that alternative, with boto3 (part of the runtime) still cached.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

from tests.bench.common import LAYER, ROOT, Row, function_env

SECTION = "coldstart"
CHILD = Path(__file__).with_name("coldstart_child.py")
TARGET = {"router": 1.10, "scorer": 1.25}  # the issues' targets; the tracker has none
FUNCTIONS = ("router", "tracker", "scorer")
ABSENT = ("awscrt", "OpenSSL")
# What the layer's requirements install next to the package (aws-lambda-powertools and its dependencies).
LAYER_PACKAGES = ("aws_lambda_powertools", "jmespath", "typing_extensions")
WARMUP = 2
VARIANTS = ("function", "floor", "deployed", "collected", "floor-paused")
CACHED = "module + clients"
DEPLOYED = "module + clients, without layer bytecode"
COLLECTED = "module + clients, the collector not paused"
LAMBDA_NAME = "bench-function"  # Lambda sets AWS_LAMBDA_FUNCTION_NAME: the package then pauses the collector


def _mirror(prefix: Path, path: Path) -> Path:
    """Where ``PYTHONPYCACHEPREFIX`` keeps the bytecode of ``path`` (a file's or a directory's)."""
    return prefix / path.resolve().relative_to(path.resolve().anchor)


def _uncached_prefix(cached: Path, target: Path) -> Path:
    """A copy of ``cached`` without the bytecode of what the layer and the functions ship."""
    shutil.copytree(cached, target)
    for name in LAYER_PACKAGES:
        spec = importlib.util.find_spec(name)
        assert spec and spec.origin
        for location in spec.submodule_search_locations or []:
            shutil.rmtree(_mirror(target, Path(location)), ignore_errors=True)
        if not spec.submodule_search_locations:
            origin = Path(spec.origin)
            for pyc in _mirror(target, origin.parent).glob(f"{origin.stem}.*.pyc"):
                pyc.unlink()
    for tree in (LAYER, ROOT / "functions"):
        shutil.rmtree(_mirror(target, tree), ignore_errors=True)
    return target


class Runner:
    def __init__(self, cached: Path) -> None:
        env = function_env(REALTIME_ENDPOINT_NAME="demo-realtime-endpoint")  # the scorer needs an endpoint
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPATH"] = os.pathsep.join([str(LAYER), str(ROOT)])
        env["PYTHONPYCACHEPREFIX"] = str(cached)
        env["BENCH_ABSENT"] = ",".join(ABSENT)
        self.collected_env = dict(env)  # not a Lambda environment: the collector runs through the cold start
        env["AWS_LAMBDA_FUNCTION_NAME"] = LAMBDA_NAME
        self.env = env
        self.uncached_env: dict[str, str] | None = None

    def use_uncached(self, prefix: Path) -> None:
        self.uncached_env = {**self.env, "PYTHONPYCACHEPREFIX": str(prefix), "PYTHONDONTWRITEBYTECODE": "1"}

    def argv(self, function: str, variant: str, *flags: str) -> list[str]:
        return [sys.executable, *flags, str(CHILD), function, variant, str(ROOT / "functions" / function / "app.py")]

    def time(self, function: str, variant: str) -> tuple[float, float]:
        """(wall, CPU) seconds of one cold start, of one of :data:`VARIANTS`."""
        env = {"deployed": self.uncached_env, "collected": self.collected_env}.get(variant, self.env)
        assert env is not None
        kind = variant if variant.startswith("floor") else "function"
        done = subprocess.run(self.argv(function, kind), env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"cold start child {function}/{variant} failed:\n{done.stderr}")
        wall, cpu = done.stdout.split()[-2:]
        return float(wall), float(cpu)

    def importtime(self, function: str, variant: str) -> dict[str, int]:
        """Self time (µs) per module imported, from ``-X importtime``."""
        env = self.uncached_env if variant == "deployed" else self.env
        assert env is not None
        kind = "floor" if variant == "floor" else "function"
        argv = self.argv(function, kind, "-X", "importtime")
        done = subprocess.run(argv, env=env, capture_output=True, text=True, check=True)
        selves: dict[str, int] = {}
        for line in done.stderr.splitlines():
            if line.startswith("import time:") and "self [us]" not in line:
                own, _, name = line.removeprefix("import time:").split("|")
                selves[name.strip()] = int(own)
        return selves


def run(options: argparse.Namespace) -> list[Row]:
    runs = max(options.runs, 10)
    samples: dict[tuple[str, str], list[tuple[float, float]]] = defaultdict(list)
    with tempfile.TemporaryDirectory(prefix="bench-pyc-") as tmp:
        runner = Runner(Path(tmp) / "cached")
        for _ in range(WARMUP):  # compiles everything into the cached prefix, warms the page cache
            for function in FUNCTIONS:
                runner.time(function, "function")
                runner.time(function, "floor")
        runner.use_uncached(_uncached_prefix(Path(tmp) / "cached", Path(tmp) / "uncached"))
        for function in FUNCTIONS:
            runner.time(function, "deployed")
        for n in range(runs):
            order = VARIANTS[n % len(VARIANTS) :] + VARIANTS[: n % len(VARIANTS)]
            for function in FUNCTIONS:
                for variant in order:
                    samples[function, variant].append(runner.time(function, variant))
        rows = _rows(samples, runs)
        load = os.getloadavg()[0]
        if load > (os.cpu_count() or 1):
            note = f"load average {load:.1f} on {os.cpu_count()} CPUs: wall times are unreliable, CPU ratios hold"
            rows.append(Row(SECTION, "machine busy", "", note))
        missed = {row.metric for row in rows if row.ok is False}
        for variant, label in (("function", "router: " + CACHED), ("deployed", "router: " + DEPLOYED)):
            if options.profile or label in missed:
                rows += _profile(runner, "router", variant)
    return rows


def _rows(samples: dict[tuple[str, str], list[tuple[float, float]]], runs: int) -> list[Row]:
    rows = []
    for function in FUNCTIONS:
        wall, cpu = (
            {variant: statistics.median(t[clock] for t in samples[function, variant]) * 1000 for variant in VARIANTS}
            for clock in (0, 1)
        )
        least = {variant: min(t[1] for t in samples[function, variant]) * 1000 for variant in VARIANTS}
        target = TARGET.get(function)
        rows.append(
            Row(
                SECTION,
                f"{function}: floor (import boto3 + same clients)",
                f"{cpu['floor']:.1f} ms CPU",
                f"median of {runs}; wall {wall['floor']:.1f} ms",
            )
        )
        for variant, label in (("function", CACHED), ("collected", COLLECTED), ("deployed", DEPLOYED)):
            ratio = cpu[variant] / cpu["floor"]
            extra, wall_ratio = cpu[variant] - cpu["floor"], wall[variant] / wall["floor"]
            least_ratio = least[variant] / least["floor"]
            note = f"+{extra:.1f} ms; fastest runs {least_ratio:.2f}x; wall {wall[variant]:.1f} ms = {wall_ratio:.2f}x"
            if variant == "function":
                paused = cpu[variant] / cpu["floor-paused"]
                note += f"; {paused:.2f}x a floor that pauses its collector too ({cpu['floor-paused']:.1f} ms)"
            if variant == "collected":
                note = "what pausing the collector saves (orchestrator/coldstart.py); " + note
            if variant == "deployed":
                note = "why the layer ships .pyc: compiled from source at each cold start; " + note
            if target is not None:
                note = f"target ≤ {target}x; " + note
            ok = None if target is None or variant != "function" else ratio <= target
            rows.append(Row(SECTION, f"{function}: {label}", f"{cpu[variant]:.1f} ms = {ratio:.2f}x floor", note, ok))
    return rows


def _profile(runner: Runner, function: str, variant: str, repeats: int = 5) -> list[Row]:
    """Where the function's imports beyond the floor's go, by package and by module (median self time)."""
    mine = [runner.importtime(function, variant) for _ in range(repeats)]
    floor = set().union(*(runner.importtime(function, "floor") for _ in range(repeats)))
    extra: dict[str, float] = {}
    for module in set().union(*mine) - floor:
        extra[module] = statistics.median(selves.get(module, 0) for selves in mine) / 1000
    by_package: dict[str, float] = defaultdict(float)
    for module, ms in extra.items():
        by_package[module.split(".")[0]] += ms
    label = "without layer bytecode" if variant == "deployed" else "bytecode cached"
    packages = sorted(by_package.items(), key=lambda item: -item[1])
    modules = sorted(extra.items(), key=lambda item: -item[1])[:6]
    return [
        Row(
            SECTION,
            f"{function}: imports beyond the floor ({label})",
            f"{sum(extra.values()):.1f} ms, {len(extra)} modules",
            "by package (ms): " + ", ".join(f"{name} {ms:.1f}" for name, ms in packages[:6]),
        ),
        Row(
            SECTION,
            "  costliest modules",
            "-X importtime",
            "self ms, inflated by the tracing: " + ", ".join(f"{name} {ms:.1f}" for name, ms in modules),
        ),
    ]
