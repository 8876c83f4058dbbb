"""``python -m tests.bench [section ...]``: run the selected sections (all by default), print one table.

Exits 1 when a check row fails (e.g. the async happy path is not exactly 3 AWS calls); a missed
timing target is reported as MISS and fails only with ``--strict``.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import time

from tests.bench import SECTIONS
from tests.bench.common import Row, function_env, render


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tests.bench", description=__doc__)
    parser.add_argument("sections", nargs="*", metavar="section", help=f"any of: {', '.join(SECTIONS)} (default all)")
    parser.add_argument("--runs", type=int, default=15, help="cold start: fresh interpreters per variant (>= 10)")
    parser.add_argument("--repeats", type=int, default=25, help="cpu: timed repeats (the median is reported)")
    parser.add_argument("--profile", action="store_true", help="cold start: list the costliest extra imports")
    parser.add_argument("--strict", action="store_true", help="a missed target also fails the bench")
    parser.add_argument("--write", action="store_true", help="costs: write the measurement to cli/sio/measured.json")
    options = parser.parse_args(argv)
    unknown = [name for name in options.sections if name not in SECTIONS]
    if unknown:
        parser.error(f"unknown section(s) {', '.join(unknown)}; choose from {', '.join(SECTIONS)}")
    options.sections = options.sections or list(SECTIONS)
    return options


def main(argv: list[str] | None = None) -> int:
    options = parse_args(sys.argv[1:] if argv is None else argv)
    # Like a Lambda container, the environment is complete before the package is imported
    # (Powertools reads service name and metrics namespace at import time).
    os.environ.clear()
    os.environ.update(function_env())
    rows: list[Row] = []
    for name in options.sections:
        started = time.perf_counter()
        print(f"bench: {name} …", file=sys.stderr, flush=True)
        module = importlib.import_module(f"tests.bench.{name}")
        rows.extend(module.run(options))
        print(f"bench: {name} done in {time.perf_counter() - started:.1f} s", file=sys.stderr, flush=True)
    print(render(rows))
    failed = [row for row in rows if row.ok is False and (row.check or options.strict)]
    if failed:
        print(f"\nbench: {len(failed)} row(s) failed: " + "; ".join(row.metric for row in failed), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
