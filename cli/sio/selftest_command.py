"""The ``sio selftest`` command: options, usage errors, and the one table (or ``-o json``).

Kept apart from :mod:`sio.cli` (which only registers it): the command receives sio's context object
(``App``, sio/app.py) through click's ``pass_obj`` and never imports the CLI module."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import click

from sio.app import App
from sio.errors import SioError
from sio.product import MODES
from sio.selftest import SelfTest
from sio.selftest_plan import BUILTIN, Plan, Sample, new_run_id, plan
from sio.selftest_report import NOT_TESTED, PASSED, Report, Row

DEFAULT_TIMEOUT = 1200.0  # a transform job on AWS takes minutes to start; an async endpoint at zero too
COLOURS = {PASSED: "green", NOT_TESTED: "yellow"}


def _output(ctx: click.Context, _: click.Parameter, value: str | None) -> None:
    if value:
        ctx.obj.output = value


@click.command("selftest")
@click.option("--stack", "stack_name", help="The deployed stack to check (as sio --stack NAME).")
@click.option("--local", is_flag=True, help="The local stack (as sio --local).")
@click.option(
    "--mode", "modes", multiple=True, type=click.Choice(MODES), help="Only these modes (repeat); default: every one."
)
@click.option(
    "--sample",
    "sample_path",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help="A file your model scores, sent to every mode (default: a 3-row numeric CSV).",
)
@click.option("--timeout", type=click.FloatRange(min=1), default=DEFAULT_TIMEOUT, show_default=True)
@click.option(
    "--interval", type=click.FloatRange(min=0.1), default=2.0, show_default=True, help="Seconds between polls."
)
@click.option(
    "--output", "-o", type=click.Choice(("table", "json")), expose_value=False, callback=_output, help="table or json."
)
@click.pass_obj
def selftest(
    app: App,
    stack_name: str | None,
    local: bool,
    modes: tuple[str, ...],
    sample_path: Path | None,
    timeout: float,
    interval: float,
) -> None:
    """Check a stack end to end: a tiny sample per configured mode, followed to its terminal status,
    checked (tracker item, result, the message on the right topic), then removed.

    The nightly mode is run by invoking the nightly function with a schedule-shaped event of the
    selftest's own (a far-future night). Exit 0 when every tested mode passed, 1 on a failed check,
    3 when only timeouts, 2 for usage errors.
    """
    if stack_name and local:
        raise SioError("give --stack NAME or --local, not both")
    if stack_name:
        app.stack_name = stack_name
    if local:
        app.local = True
    if not (app.stack_name or app.local or app.state_dir):
        raise SioError("sio selftest needs a stack: --stack NAME (a deployed stack) or --local (the local stack)")
    # Not the SIO_* variables: the run needs the stack's parameters (its modes and routing rules).
    stack = app.stack()
    run_plan = plan(stack.parameters, stack.input_prefix, run_id=new_run_id(), sample=_sample(sample_path), modes=modes)
    if not app.json:
        app.note(f"sio selftest of {stack.describe()}: run {run_plan.run_id}")
        for placement in run_plan.placements:
            app.note(f"  {placement.mode}: s3://{stack.bucket}/{placement.key} ({placement.size} B, {placement.rule})")
    runner = SelfTest(
        stack,
        run_plan,
        timeout=timeout,
        interval=interval,
        requested=modes,
        clock=time.monotonic,
        sleep=time.sleep,
        note=app.note if not app.json else lambda _: None,
    )
    report = runner.run()
    if app.json:
        app.emit(_document(stack.describe(), run_plan, report))
    else:
        _print(app, stack.describe(), run_plan, report)
    if report.exit_code:
        raise click.exceptions.Exit(report.exit_code)


def _sample(path: Path | None) -> Sample:
    if path is None:
        return BUILTIN
    body = path.read_bytes()
    if not body:
        raise SioError(f"the sample {path} is empty: the router would SKIP it")
    return Sample(path.name, body, builtin=False)


def _document(stack: str, run_plan: Plan, report: Report) -> dict[str, Any]:
    return {
        "stack": stack,
        "run_id": report.run_id,
        "passed": report.exit_code == 0,
        "exit_code": report.exit_code,
        "modes": [row.as_dict() for row in report.rows],
        "not_configured": report.not_configured,
        "sample": {"name": run_plan.sample.name, "builtin": run_plan.sample.builtin},
        "cleanup": {
            "removed": report.cleanup.removed,
            "left": report.cleanup.left,
            "errors": report.cleanup.errors,
            "tracker_items": "kept: they expire by the table's TTL (RecordRetentionDays)",
        },
    }


def _checked(row: Row) -> str:
    """What was checked (passed), or what failed and why; never rich markup (route reasons hold [rule])."""
    from rich.markup import escape

    if row.status != PASSED:
        return escape(row.reason)
    return escape("; ".join("result object exists" if c.name == "result" else c.detail for c in row.checks))


def _print(app: App, stack: str, run_plan: Plan, report: Report) -> None:
    from rich.markup import escape
    from rich.table import Table

    from sio.units import human_seconds

    table = Table(title=f"sio selftest of {stack} (run {report.run_id})")
    for column in ("mode", "status", "latency", "checked"):
        table.add_column(column, overflow="fold")
    for row in report.rows:
        colour = COLOURS.get(row.status, "red")
        latency = human_seconds(row.latency_seconds) if row.latency_seconds is not None else "-"
        table.add_row(row.mode, f"[{colour}]{row.status}[/]", latency, _checked(row))
    app.out.print(table)
    for row in report.rows:
        for note in row.notes:
            app.out.print(f"note: {row.mode}: {escape(note)}")
    if report.not_configured:
        shown = ", ".join(f"{mode} ({parameter} empty)" for mode, parameter in report.not_configured.items())
        app.out.print(f"not configured: {shown}")
    cleanup = report.cleanup
    app.out.print(
        f"removed: {len(cleanup.removed)} item(s) (samples, results, job folders, the 2 queues and their "
        "subscriptions); tracker items stay until their TTL (RecordRetentionDays)"
    )
    for left in cleanup.left:
        app.out.print(f"[yellow]left[/]: {escape(left)}")
    for error in cleanup.errors:
        app.out.print(f"[red]not removed[/]: {escape(error)}")
    if run_plan.sample.builtin and any(r.status not in (PASSED, NOT_TESTED) for r in report.rows):
        app.out.print("the sample is a 3-row numeric CSV: if your model takes other input, pass --sample FILE")
    sys.stdout.flush()
