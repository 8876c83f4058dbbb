"""The ``sio`` command: ``sio [--stack NAME | --local] COMMAND …``. ``sio --help`` lists the
commands, ``sio COMMAND --help`` their options. Every command takes ``--output table|json``; exit
statuses are in :mod:`sio.errors` (0 ok, 1 a failure reported, 2 usage or stack, 3 timed out, 130
interrupted)."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path, PurePosixPath
from typing import Any

import click

from sio import __version__, errors
from sio.app import App
from sio.errors import SioError
from sio.product import IN_FLIGHT, MODES, STATUSES, TERMINAL, UNSUCCESSFUL, looks_like_request_id
from sio.selftest_command import selftest as selftest_command
from sio.stack import Stack

OUTPUTS = ("table", "json")


# ---------------------------------------------------------------- context


def finish(code: int) -> None:
    if code:
        raise click.exceptions.Exit(code)


def _aws_error(exc: Exception) -> str:
    from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError

    if isinstance(exc, NoCredentialsError):
        return "no AWS credentials found: configure them (aws configure, AWS_PROFILE), or use --local"
    if isinstance(exc, EndpointConnectionError):
        return f"cannot reach AWS: {exc}"
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        operation = getattr(exc, "operation_name", "the call")
        return f"AWS refused {operation}: {error.get('Code')}: {error.get('Message')}"
    return str(exc)


class SioGroup(click.Group):
    """Errors as one line (and a JSON object with ``--output json``), never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return super().invoke(ctx)
        except SioError as exc:
            _report(ctx, exc.message, exc.details)
            ctx.exit(exc.exit_code)
        except (BotoCoreError, ClientError) as exc:
            _report(ctx, _aws_error(exc), {})
            ctx.exit(errors.USAGE)
        except KeyboardInterrupt:
            click.echo("sio: interrupted", err=True)
            ctx.exit(errors.INTERRUPTED)


def _report(ctx: click.Context, message: str, details: dict[str, Any]) -> None:
    click.echo(f"sio: error: {message}", err=True)
    app = ctx.find_object(App)
    if app is not None and app.json:
        click.echo(json.dumps({"error": message, "details": details}, default=str))


def output_option(function: Callable[..., Any]) -> Callable[..., Any]:
    def remember(ctx: click.Context, _: click.Parameter, value: str | None) -> None:
        if value:
            ctx.ensure_object(App).output = value

    return click.option(
        "--output",
        "-o",
        type=click.Choice(OUTPUTS),
        expose_value=False,
        callback=remember,
        help="table (for people) or json (for scripts).",
    )(function)


pass_app = click.make_pass_decorator(App, ensure=True)


@click.group(cls=SioGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.option("--stack", "stack_name", envvar="SIO_STACK", help="A deployed stack, by name (CloudFormation outputs).")
@click.option("--local", is_flag=True, envvar="SIO_LOCAL", help="The local stack that `make stack` runs.")
@click.option(
    "--state-dir",
    type=click.Path(path_type=Path, file_okay=False),
    envvar="SIO_LOCAL_STATE",
    help="The local stack's state directory (default local/.state/<LOCAL_STACK_NAME or orchestrator-local>).",
)
@click.option("--region", help="AWS region of the stack (default: AWS_REGION or your profile's).")
@click.option("--profile", envvar="AWS_PROFILE", help="AWS profile to use.")
@click.option("--output", "-o", type=click.Choice(OUTPUTS), default="table", envvar="SIO_OUTPUT", show_default=True)
@click.version_option(__version__, prog_name="sio")
@click.pass_context
def cli(
    ctx: click.Context,
    stack_name: str | None,
    local: bool,
    state_dir: Path | None,
    region: str | None,
    profile: str | None,
    output: str,
) -> None:
    """sio: drop files for scoring, follow them, fetch the results, run the stack, and choose a mode.

    Find the stack with --stack NAME (a deployed stack), --local (`make stack`), or SIO_* variables
    (SIO_INPUT_BUCKET_NAME, SIO_TRACKER_TABLE_NAME, …: one per stack output).
    """
    app = ctx.ensure_object(App)
    app.stack_name, app.local, app.state_dir, app.region, app.profile = stack_name, local, state_dir, region, profile
    app.output = output


# ---------------------------------------------------------------- stack


@cli.command("stack")
@output_option
@pass_app
def stack_command(app: App) -> None:
    """Where the stack is: bucket, prefixes, topics, table, queues, and how to subscribe."""
    stack = app.stack()
    data = {
        "name": stack.name,
        "source": stack.source,
        "region": stack.region,
        "endpoint_url": stack.endpoint_url,
        "outputs": dict(stack.outputs),
        "parameters": {k: stack.parameter(k) for k in ("InputPrefix", "NightlyPrefix", "BatchPrefix", "OutputPrefix")},
    }
    if app.json:
        app.emit(data)
        return
    from rich.table import Table

    table = Table(title=f"{stack.describe()} ({stack.region}{', ' + stack.endpoint_url if stack.endpoint_url else ''})")
    table.add_column("output")
    table.add_column("value", overflow="fold")
    for name, value in sorted(stack.outputs.items()):
        table.add_row(name, value)
    app.out.print(table)
    app.out.print(
        f"Drop files:   {app.command('submit PATH… [--wait]')}\n"
        f"Results live: {app.command('watch')}\n"
        f"Subscribe:    aws sns subscribe --topic-arn {stack.outputs.get('SuccessTopicArn', '<SuccessTopicArn>')} "
        "--protocol sqs --notification-endpoint <your queue ARN> --attributes RawMessageDelivery=true"
    )


# ---------------------------------------------------------------- submit and wait


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--prefix", default="", help="Under the input prefix (or the mode's prefix): e.g. customers/2026-12/.")
@click.option("--mode", type=click.Choice(MODES), help="Ask for a mode: its prefix (nightly, batch) or the metadata.")
@click.option("--wait", is_flag=True, help="Then show each file's status until every one is terminal.")
@click.option("--timeout", type=float, help="With --wait: give up after this many seconds (exit 3).")
@click.option("--interval", type=float, default=1.0, show_default=True, help="With --wait: seconds between polls.")
@click.option("--progress/--no-progress", default=None, help="Progress bar (default: when stderr is a terminal).")
@output_option
@pass_app
def submit(
    app: App,
    paths: tuple[Path, ...],
    prefix: str,
    mode: str | None,
    wait: bool,
    timeout: float | None,
    interval: float,
    progress: bool | None,
) -> None:
    """Upload files and folders for scoring (a folder keeps its name: DIR/a.csv → <prefix>DIR/a.csv)."""
    from sio import submit as submitting

    stack = app.stack()
    target = submitting.target(stack, mode=mode, prefix=prefix)
    uploads = submitting.plan(paths, target.base)
    if not uploads:
        raise SioError("nothing to upload: the folders are empty")
    for line in (*target.notes, *submitting.warnings_for(stack, uploads, mode)):
        app.note(f"note: {line}")
    client = stack.client("s3")
    total = sum(u.size for u in uploads)
    show = sys.stderr.isatty() and not app.json if progress is None else progress
    started = time.perf_counter()
    results = _upload(app, client, stack.bucket, uploads, target.metadata, show, total)
    seconds = time.perf_counter() - started
    failed = [r for r in results if r.error]
    if wait:
        submitting.complete_versions(client, stack.bucket, [r for r in results if not r.error])
    summary = {
        "bucket": stack.bucket,
        "files": len(results),
        "bytes": total,
        "failed_uploads": len(failed),
        "seconds": round(seconds, 3),
        "uploaded": [
            {"key": r.key, "size": r.size, "version_id": r.version_id, "request_id": r.request_id, "error": r.error}
            for r in results
        ],
    }
    if not wait:
        if app.json:
            app.emit(summary)
        else:
            _print_uploads(app, results, seconds, total)
        finish(errors.FAILED if failed else errors.OK)
        return
    if not app.json:
        _print_uploads(app, results, seconds, total, brief=True)
    code = _wait(app, stack, [r for r in results if r.request_id], timeout, interval, uploaded=summary)
    finish(code if not failed else errors.FAILED)


def _upload(
    app: App, client: Any, bucket: str, uploads: Sequence[Any], metadata: dict[str, str], show: bool, total: int
) -> list[Any]:
    from sio import submit as submitting

    if not show:
        return submitting.upload_all(client, bucket, uploads, metadata=metadata)
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn, TransferSpeedColumn

    done = [0]
    columns = (TextColumn("[bold]{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn())
    with Progress(*columns, TimeRemainingColumn(), console=app.err) as bar:
        task = bar.add_task(f"0/{len(uploads)} files", total=total)

        def file_done(_upload: Any, _error: str | None) -> None:
            done[0] += 1
            bar.update(task, description=f"{done[0]}/{len(uploads)} files")

        return submitting.upload_all(  # s3transfer reports each 256 KB read: 800 updates for 200 MB
            client,
            bucket,
            uploads,
            metadata=metadata,
            on_bytes=lambda n: bar.advance(task, n),
            on_file=file_done,
        )


def _print_uploads(app: App, results: Sequence[Any], seconds: float, total: int, brief: bool = False) -> None:
    from sio.units import human_size

    ok = [r for r in results if not r.error]
    rate = total / seconds / 1024**2 if seconds > 0 else 0.0
    app.err.print(
        f"uploaded {len(ok)} of {len(results)} file(s), {human_size(total)} in {seconds:.1f} s "
        f"({len(results) / seconds if seconds else 0:.0f} files/s, {rate:.1f} MB/s)"
    )
    for r in results:
        if r.error:
            app.err.print(f"[red]upload failed[/red] {r.key}: {r.error}")
    if brief:
        return
    from rich.table import Table

    table = Table()
    for column in ("key", "size", "request id"):
        table.add_column(column, overflow="fold")
    for r in ok[:50]:
        table.add_row(r.key, human_size(r.size), r.request_id or "(after routing)")
    if len(ok) > 50:
        table.caption = f"… and {len(ok) - 50} more (--output json lists all)"
    app.out.print(table)


@cli.command("wait")
@click.argument("targets", nargs=-1, required=True)
@click.option("--timeout", type=float, help="Give up after this many seconds (exit 3).")
@click.option("--interval", type=float, default=1.0, show_default=True)
@output_option
@pass_app
def wait_command(app: App, targets: tuple[str, ...], timeout: float | None, interval: float) -> None:
    """Watch files until terminal: a receipt sio submit saved, request ids, or keys (their newest version)."""
    from sio import submit as submitting
    from sio.tracker import TrackerReader

    stack = app.stack()
    entries: list[Any] = []
    reader = TrackerReader(stack.client("dynamodb"), stack.table)
    for target in targets:
        if Path(target).is_file():
            entries += submitting.load_receipt(Path(target))
        elif looks_like_request_id(target):
            entries.append(submitting.Submitted(key="", size=0, request_id=target))
        else:
            newest = next(reader.history(_object_uri(stack, target), limit=1), None)
            if newest is None:
                raise SioError(f"no tracker item for {_object_uri(stack, target)}")
            entries.append(submitting.Submitted(key=str(newest["key"]), size=0, request_id=str(newest["request_id"])))
    finish(_wait(app, stack, entries, timeout, interval))


def _wait(
    app: App,
    stack: Stack,
    entries: Sequence[Any],
    timeout: float | None,
    interval: float,
    uploaded: dict[str, Any] | None = None,
) -> int:
    """Poll until every file is terminal: a live table on a terminal, status changes otherwise."""
    from sio import submit as submitting
    from sio.tracker import TrackerReader

    reader = TrackerReader(stack.client("dynamodb"), stack.table)
    ids = [str(e.request_id) for e in entries]
    keys = {str(e.request_id): e.key for e in entries}
    live = None
    seen: dict[str, str] = {}
    items: dict[str, dict[str, Any]] = {}
    done = False
    try:
        if not app.json and sys.stdout.isatty():
            from rich.live import Live

            live = Live(_status_view(ids, keys, {}), console=app.out, refresh_per_second=4)
            live.start()
        for items, done in submitting.poll(reader, ids, timeout=timeout, interval=interval):  # noqa: B007
            if live is not None:
                live.update(_status_view(ids, keys, items))
            elif not app.json:
                for rid in ids:
                    status = str(items.get(rid, {}).get("status", "UPLOADED"))
                    if seen.get(rid) != status:
                        seen[rid] = status
                        item = items.get(rid, {})
                        app.out.print(
                            f"{item.get('key') or keys[rid]}  {item.get('mode') or '-'}  {status}  {_detail(item)}"
                        )
    except KeyboardInterrupt:
        if live is not None:
            live.stop()
        receipt = submitting.save_receipt(stack, entries)
        app.note(
            f"interrupted: the {len(ids)} file(s) keep scoring. Resume watching with:\n"
            f"  {app.command(f'wait {receipt}')}"
        )
        return errors.INTERRUPTED
    if live is not None:
        live.stop()
    rows = [
        {"request_id": rid, "key": items.get(rid, {}).get("key") or keys[rid], **_brief(items.get(rid))} for rid in ids
    ]
    counts: dict[str, int] = {}
    for row in rows:
        counts[row["status"]] = counts.get(row["status"], 0) + 1
    code = errors.OK if all(row["status"] == "SUCCEEDED" for row in rows) else errors.FAILED
    receipt_path = None
    if not done:
        code = errors.TIMED_OUT
        receipt_path = str(submitting.save_receipt(stack, entries))
    if app.json:
        app.emit({**(uploaded or {}), "files": rows, "counts": counts, "all_terminal": done, "receipt": receipt_path})
    else:
        if live is None:
            app.out.print(_status_view(ids, keys, items))
        app.out.print(", ".join(f"{n} {status.lower()}" for status, n in sorted(counts.items())))
        if not done:
            app.note(f"timed out with files in flight: resume with  {app.command(f'wait {receipt_path}')}")
    return code


def _brief(item: dict[str, Any] | None) -> dict[str, Any]:
    item = item or {}
    return {
        "status": str(item.get("status", "UPLOADED")),
        "mode": item.get("mode"),
        "version_id": item.get("version_id"),
        "output_location": item.get("output_location"),
        "failure_reason": item.get("failure_reason"),
    }


def _detail(item: dict[str, Any]) -> str:
    if not item:
        return "(not routed yet)"
    if item.get("status") == "SUCCEEDED":
        return str(item.get("output_location") or "")
    return str(item.get("failure_reason") or item.get("job_name") or item.get("endpoint_name") or "")


def _status_view(ids: Sequence[str], keys: dict[str, str], items: dict[str, dict[str, Any]]) -> Any:
    from rich.table import Table

    table = Table(expand=False)
    for column in ("file", "mode", "status", "output or reason"):
        table.add_column(column, overflow="fold")
    order = sorted(ids, key=lambda rid: (items.get(rid, {}).get("status") == "SUCCEEDED", keys.get(rid, "")))
    for rid in order[:40]:
        item = items.get(rid, {})
        status = str(item.get("status", "UPLOADED"))
        colour = "green" if status == "SUCCEEDED" else "red" if status in TERMINAL else "yellow"
        table.add_row(
            str(item.get("key") or keys.get(rid)), str(item.get("mode") or "-"), f"[{colour}]{status}[/]", _detail(item)
        )
    finished = sum(1 for rid in ids if items.get(rid, {}).get("status") in TERMINAL)
    table.caption = f"{finished} of {len(ids)} terminal" + (f" (showing 40 of {len(ids)})" if len(ids) > 40 else "")
    return table


# ---------------------------------------------------------------- status


def _object_uri(stack: Stack, target: str) -> str:
    """``s3://bucket/key``, a key, or a path under the input prefix → the tracker's ``object_uri``."""
    if target.startswith("s3://"):
        return target
    key = target.lstrip("/")
    if not key.startswith(stack.input_prefix):
        key = stack.input_prefix + key
    return f"s3://{stack.bucket}/{key}"


@cli.command()
@click.argument("target", required=False)
@click.option("--status", "status", type=click.Choice(STATUSES, case_sensitive=False), help="Only this status.")
@click.option("--since", help="Only since then: 30m, 2h, 1d, or an ISO date/time (UTC).")
@click.option("--mode", type=click.Choice(MODES), help="Only this mode.")
@click.option("--limit", type=click.IntRange(min=1), help="At most this many items (with an outcome: the newest).")
@output_option
@pass_app
def status(
    app: App, target: str | None, status: str | None, since: str | None, mode: str | None, limit: int | None
) -> None:
    """One file's history (every version of KEY, or one REQUEST_ID), or the files in a --status.

    Reads only through the table's key and indexes, never a Scan: REQUEST_ID → GetItem; KEY →
    the ByObject index (keys only), newest first, then BatchGetItem for the items; --status
    RECEIVED|SCHEDULED|SUBMITTED|IN_PROGRESS → the
    InFlight index's 16 shards; --status FAILED|EXPIRED|STOPPED|SKIPPED → the ByOutcome index's
    16 shards, newest first, --since in the key condition (e.g. --status FAILED --since 1h).
    SUCCEEDED has no index of its own: give a KEY.
    """
    from sio import units
    from sio.tracker import TrackerReader

    status = status.upper() if status else None
    try:
        after = units.since(since) if since is not None else None
    except ValueError as exc:
        raise SioError(f"bad --since: {exc}", {"since": since}) from None
    if target is None and status is None:
        raise SioError(
            "give a KEY, a REQUEST_ID, or --status STATUS (in flight: "
            + ", ".join(IN_FLIGHT)
            + "; an outcome: "
            + ", ".join(UNSUCCESSFUL)
            + ")"
        )
    stack = app.stack()
    reader = TrackerReader(stack.client("dynamodb"), stack.table)
    query: dict[str, Any] = {"since": after, "status": status, "mode": mode}
    items: list[dict[str, Any]] = []
    if target is not None and looks_like_request_id(target):
        item = reader.get(target)
        if item is not None:
            items, query["by"] = [item], "request id (GetItem)"
    if target is not None and not items:
        uri = _object_uri(stack, target)
        items = list(reader.history(uri, since=after, status=status, mode=mode, limit=limit))
        query |= {"by": "object (ByObject index)", "object_uri": uri}
    elif target is None and status in UNSUCCESSFUL:
        items = list(reader.outcomes(status, since=after, mode=mode, limit=limit))
        query["by"] = "outcome (ByOutcome index, 16 shards, newest first)"
    elif target is None:
        assert status is not None
        items = list(reader.in_status(status, since=after, mode=mode, limit=limit))
        items.sort(key=lambda i: str(i.get("status_since", "")))
        query["by"] = "in-flight status (InFlight index, 16 shards)"
    if app.json:
        app.emit({"query": query, "count": len(items), "items": items})
    else:
        _print_items(app, items, query)
    finish(errors.FAILED if target is not None and not items else errors.OK)


def _print_items(app: App, items: Sequence[dict[str, Any]], query: dict[str, Any]) -> None:
    from rich.table import Table

    title = f"{len(items)} item(s) by {query.get('by')}" + (
        f": {query['object_uri']}" if query.get("object_uri") else ""
    )
    table = Table(title=title)
    for column in ("created", "key", "version", "request id", "mode", "status", "since", "output or reason"):
        table.add_column(column, overflow="fold")
    for item in items:
        table.add_row(
            str(item.get("created_at", ""))[:19],
            str(item.get("key", "")),
            str(item.get("version_id") or "")[:12],
            str(item.get("request_id", "")),
            str(item.get("mode") or "-"),
            str(item.get("status", "")),
            str(item.get("status_since", ""))[:19],
            _detail(item),
        )
    app.out.print(table)
    if not items:
        app.note("no tracker item: a file under the input prefix appears once the router has seen its notification")


# ---------------------------------------------------------------- watch


@cli.command()
@click.option("--prefix", help="Only files under this prefix (of the input prefix).")
@click.option("--failures", is_flag=True, help="Only Failed, Expired, Skipped and Stopped results.")
@click.option("--count", type=int, help="Stop after this many messages.")
@click.option("--timeout", type=float, help="Stop after this many seconds.")
@output_option
@pass_app
def watch(app: App, prefix: str | None, failures: bool, count: int | None, timeout: float | None) -> None:
    """Results as they arrive, from both topics (a temporary queue, removed on exit and on Ctrl-C).

    With --output json: one JSON message per line, exactly as subscribers receive it.
    """
    from sio import watch as watching

    stack = app.stack()
    statuses = ("Failed", "Expired", "Skipped", "Stopped") if failures else ()
    watcher = watching.Watcher(stack, watching.body_filter(stack, prefix, statuses))

    received = [0]  # counted here: an interruption leaves run() before it returns its count

    def emit(message: dict[str, Any]) -> None:
        received[0] += 1
        if app.json:
            click.echo(json.dumps(message, default=str))
            sys.stdout.flush()
            return
        row = watching.summarize(message)
        colour = "green" if row["status"] == "Completed" else "red"
        app.out.print(
            f"{str(row['time'] or '')[:23]}  [{colour}]{row['status']}[/]  {row['input']}  "
            f"{row['mode'] or '-'}  {row['result'] or ''}"
        )

    interrupted = False
    try:
        with watcher:
            app.note(
                f"watching {'s3://' + stack.bucket + '/' if prefix is None else 'prefix ' + prefix} on both topics "
                f"(queue {watcher.name}); Ctrl-C to stop"
            )
            watching.run(watcher, emit, count=count, timeout=timeout, clock=time.monotonic)
    except KeyboardInterrupt:
        interrupted = True
    removed = "removed" if not watcher.cleanup_errors else "could not remove everything"
    app.note(f"{received[0]} message(s); {removed}: queue {watcher.name} and its 2 subscriptions")
    for problem in watcher.cleanup_errors:
        app.note(f"  {problem}")
    if watcher.cleanup_errors:
        finish(errors.FAILED)
    finish(errors.INTERRUPTED if interrupted else errors.OK)


# ---------------------------------------------------------------- results


@cli.command()
@click.argument("target")
@click.option(
    "--download", "directory", type=click.Path(path_type=Path, file_okay=False), help="Fetch the result here."
)
@click.option("--all-versions", is_flag=True, help="Every version of the key, not only the newest.")
@output_option
@pass_app
def results(app: App, target: str, directory: Path | None, all_versions: bool) -> None:
    """Where a file's result is (output, or failure and reason), and fetch it with --download DIR."""
    from sio.tracker import TrackerReader

    stack = app.stack()
    reader = TrackerReader(stack.client("dynamodb"), stack.table)
    items: list[dict[str, Any]] = []
    if looks_like_request_id(target):
        item = reader.get(target)
        items = [item] if item else []
    if not items:
        items = list(reader.history(_object_uri(stack, target), limit=None if all_versions else 1))
    if not items:
        raise SioError(f"no tracker item for {target}", {"target": target})
    s3 = stack.client("s3")
    rows = []
    for item in items:
        row = {
            "request_id": item.get("request_id"),
            "key": item.get("key"),
            "version_id": item.get("version_id"),
            "status": item.get("status"),
            "mode": item.get("mode"),
            "output_location": item.get("output_location"),
            "failure_location": item.get("failure_location"),
            "failure_reason": item.get("failure_reason"),
            "downloaded": None,
        }
        succeeded = item.get("status") == "SUCCEEDED"
        location = item.get("output_location") if succeeded else item.get("failure_location")
        if directory is not None and location and item.get("status") in TERMINAL:
            name = PurePosixPath(str(item.get("key", "result"))).name
            if len(items) > 1:
                name += "." + str(item.get("version_id") or item.get("request_id"))[:8]
            name += ".out" if succeeded else ".error"
            directory.mkdir(parents=True, exist_ok=True)
            bucket, _, key = str(location).removeprefix("s3://").partition("/")
            s3.download_file(bucket, key, str(directory / name))
            row["downloaded"] = str(directory / name)
        rows.append(row)
    if app.json:
        app.emit({"count": len(rows), "results": rows})
    else:
        for row in rows:
            colour = "green" if row["status"] == "SUCCEEDED" else "red" if row["status"] in TERMINAL else "yellow"
            app.out.print(
                f"[bold]{row['key']}[/] ({row['request_id']}): [{colour}]{row['status']}[/] ({row['mode'] or '-'})"
            )
            for label in ("output_location", "failure_location", "failure_reason", "downloaded"):
                if row[label] and not (label == "failure_location" and row["status"] == "SUCCEEDED"):
                    app.out.print(f"  {label.replace('_', ' ')}: {row[label]}")
            if row["status"] not in TERMINAL:
                app.out.print("  not finished yet: sio wait KEY, or sio watch")
    finish(errors.OK if all(r["status"] == "SUCCEEDED" for r in rows) else errors.FAILED)


# ---------------------------------------------------------------- operators


@cli.command()
@click.argument("queue", type=click.Choice(["router", "tracker", "scorer", "nightly", "batch-result", "sweeper"]))
@click.option("--dry-run", is_flag=True, help="Only count the messages.")
@output_option
@pass_app
def redrive(app: App, queue: str, dry_run: bool) -> None:
    """Move a dead-letter queue's messages back (router, tracker, scorer), or invoke its function again
    with each event (nightly, batch-result), and say why that is safe."""
    from sio import redrive as redriving

    result = redriving.redrive(app.stack(), queue, dry_run=dry_run)
    data = {
        "queue": result.queue,
        "dlq": result.dlq_url,
        "method": result.method,
        "messages_before": result.waiting,
        "moved": result.moved,
        "failed": result.failed,
        "left": result.left,
        "notes": result.notes,
        "failures": result.failures,
        "why_safe": result.why,
    }
    if app.json:
        app.emit(data)
    else:
        verb = "re-invoked" if result.method == "invoke" else "moved"
        app.out.print(
            f"{queue} DLQ: {result.waiting} message(s); {verb} {result.moved}; "
            f"failed {result.failed}; left {result.left}"
        )
        for note in result.notes:
            app.out.print(f"  note: {note}")
        for failure in result.failures:
            app.out.print(f"  [red]failed[/red] {failure['message']}: {failure['error']}")
        app.out.print(f"  why it is safe: {result.why}")
    finish(errors.OK if result.ok else errors.FAILED)


@cli.group()
def night() -> None:
    """The nightly batch."""


@night.command("rerun")
@click.argument("night_date", metavar="DATE")
@click.option(
    "--attempt", type=click.IntRange(1), default=1, show_default=True, help="Re-run number: 2 for the second re-run, …"
)
@output_option
@pass_app
def rerun(app: App, night_date: str, attempt: int) -> None:
    """Re-run a failed night (DATE: YYYY-MM-DD, the night's name): invokes the nightly function with its documented
    re-run input {"rerun": N, "date": DATE} and shows its answer. Invoking the same re-run again
    starts no second job."""
    from sio.invoke import invoke

    try:  # the night's name; the function checks the rest (e.g. the -HHMM of a sub-daily schedule)
        date.fromisoformat(night_date[:10])
        if len(night_date) > 10 and night_date[10] != "-":
            raise ValueError(night_date)
    except ValueError:
        raise SioError(
            f"DATE must be the night's name, YYYY-MM-DD (YYYY-MM-DD-HHMM for a schedule that runs several times a "
            f"day), got {night_date!r}"
        ) from None
    event = {"rerun": attempt, "date": night_date}
    outcome = invoke(app.stack(), "NightlyFunctionName", event)
    data = {"event": event, **outcome.as_dict()}
    if app.json:
        app.emit(data)
    else:
        if outcome.ok:
            app.out.print(f"{outcome.function} answered:")
            app.out.print_json(json.dumps(outcome.result, default=str))
            if isinstance(outcome.result, dict) and outcome.result.get("waiting"):
                app.out.print("the re-run is waiting (see above): invoke it again later")
        else:
            app.out.print(f"[red]{outcome.function} failed[/red]: {outcome.error_type}: {outcome.error_message}")
        if outcome.log:
            app.out.print(f"log: {outcome.log}")
    finish(errors.OK if outcome.ok else errors.FAILED)


# ---------------------------------------------------------------- cost and recommend


def workload_options(function: Callable[..., Any]) -> Callable[..., Any]:
    from sio.costs import SHAPES

    options = [
        # A volume, a burst or a history of zero or less has no cost to show: refused naming the option.
        click.option("--requests-per-day", type=click.FloatRange(0, min_open=True), help="Files (requests) a day."),
        click.option("--payload", default="100KB", show_default=True, help="Payload size: 512, 200KB, 5MB, 2GB."),
        click.option("--response", help="Response size (default: the payload's)."),
        click.option("--processing", default="200ms", show_default=True, help="Instance time per request: 200ms, 2s."),
        click.option("--traffic", type=click.Choice(sorted(SHAPES)), default="steady", show_default=True),
        click.option(
            "--bursts-per-day",
            type=click.FloatRange(0, min_open=True),
            help="A shape of your own: this many bursts a day …",
        ),
        click.option("--burst-minutes", type=click.FloatRange(0, min_open=True), help="… of this many minutes each."),
        click.option("--instance-type", default="ml.m5.large", show_default=True),
        click.option(
            "--serverless-memory",
            type=click.Choice(["1024", "2048", "3072", "4096", "5120", "6144"]),
            help="Serverless endpoint memory, MB (default: the price file's assumption, 2048).",
        ),
        click.option(
            "--concurrency",
            type=click.IntRange(1),
            default=1,
            show_default=True,
            help="Requests an instance runs at once.",
        ),
        click.option(
            "--prices",
            "prices_file",
            type=click.Path(path_type=Path, dir_okay=False, exists=True),
            help="Prices to override (JSON).",
        ),
        click.option(
            "--from-tracker", is_flag=True, help="Take the workload from the tracker (a Scan of the last --days)."
        ),
        click.option(
            "--days", type=click.FloatRange(0, min_open=True), default=7, show_default=True, help="With --from-tracker."
        ),
    ]
    for option in reversed(options):
        function = option(function)
    return function


def _workload(app: App, options: dict[str, Any]) -> tuple[Any, Any, dict[str, Any]]:
    from sio import units
    from sio.costs import SHAPES, Traffic, Workload, load_prices

    try:
        prices = load_prices(options["prices_file"])
    except (OSError, ValueError) as exc:
        raise SioError(f"cannot read the prices: {exc}") from None
    info: dict[str, Any] = {}
    if options["from_tracker"]:
        from datetime import UTC, datetime, timedelta

        from sio.history import ATTRIBUTES, workload_from_items
        from sio.tracker import scan_since

        stack = app.stack()
        since = units.iso(datetime.now(UTC) - timedelta(days=options["days"]))
        app.note(f"reading the tracker items since {since} (a Scan of {stack.table}: about 1 read unit per 8 KB)")
        items = scan_since(stack.client("dynamodb"), stack.table, since, ATTRIBUTES)
        workload, info = workload_from_items(items, options["days"], options["instance_type"])
        return workload, prices, info
    if options["requests_per_day"] is None:
        raise SioError("give --requests-per-day N (or --from-tracker)")
    traffic = SHAPES[options["traffic"]]
    if options["bursts_per_day"] or options["burst_minutes"]:
        if not (options["bursts_per_day"] and options["burst_minutes"]):
            raise SioError("a shape of your own needs both --bursts-per-day and --burst-minutes")
        try:
            traffic = Traffic("custom", options["bursts_per_day"], options["burst_minutes"] / 60)
        except ValueError as exc:
            raise SioError(str(exc)) from None
    try:
        workload = Workload(
            requests_per_day=options["requests_per_day"],
            payload_bytes=units.size(options["payload"]),
            processing_seconds=units.duration(options["processing"]),
            traffic=traffic,
            instance_type=options["instance_type"],
            response_bytes=units.size(options["response"]) if options["response"] else None,
            concurrency=options["concurrency"],
            serverless_memory_mb=int(options["serverless_memory"]) if options["serverless_memory"] else None,
        )
    except ValueError as exc:
        raise SioError(str(exc)) from None
    return workload, prices, info


def _workload_dict(workload: Any) -> dict[str, Any]:
    return {
        "requests_per_day": workload.requests_per_day,
        "payload_bytes": workload.payload_bytes,
        "response_bytes": workload.response,
        "processing_seconds": workload.processing_seconds,
        "traffic": {
            "name": workload.traffic.name,
            "bursts_per_day": workload.traffic.bursts_per_day,
            "burst_hours": workload.traffic.burst_hours,
        },
        "peak_requests_per_second": workload.peak_rate,
        "instance_type": workload.instance_type,
        "concurrency": workload.concurrency,
        "serverless_memory_mb": workload.serverless_memory_mb,
    }


def _prices_dict(prices: Any) -> dict[str, Any]:
    return {
        "as_of": prices.as_of,
        "checked": prices.checked,
        "origin": prices.origin,
        "sources": prices.data.get("sources", {}),
        # Write and read units and log bytes per file: measured, not assumed (python -m tests.bench costs)
        "measured_on": prices.data.get("measured", {}).get("measured_on"),
    }


@cli.command()
@workload_options
@click.option(
    "--plot", "plot_file", type=click.Path(path_type=Path, dir_okay=False), help="Save cost vs daily volume (PNG)."
)
@output_option
@pass_app
def cost(app: App, plot_file: Path | None, **options: Any) -> None:
    """Monthly cost of each inference mode, and the orchestration's own, for a workload."""
    from sio.costs import CROSSOVER_SETS, OPTIONAL_FIXED, compare, crossovers

    try:
        workload, prices, info = _workload(app, options)
        comparison = compare(workload, prices)
        crossings = {name: crossovers(workload, prices, modes=modes) for name, modes in CROSSOVER_SETS.items()}
    except (KeyError, ValueError) as exc:
        raise SioError(str(exc.args[0])) from None
    plotted = None
    if plot_file is not None:
        from sio.plot import plot

        plot(workload, prices, plot_file)
        plotted = str(plot_file)
    cheapest = comparison.cheapest()
    data = {
        "workload": _workload_dict(workload),
        "from_tracker": info or None,
        "modes": [m.as_dict() for m in comparison.modes],
        "cheapest": cheapest.mode if cheapest else None,
        "orchestration_per_million_files": {k: round(v, 2) for k, v in comparison.per_million.items()},
        "fixed_monthly": {k: round(v, 2) for k, v in comparison.fixed.items()},
        "fixed_monthly_optional": {line: f"{parameter}=false" for line, parameter in OPTIONAL_FIXED.items()},
        "crossovers": {
            name: [
                {
                    "requests_per_day": round(c.requests_per_day),
                    "below": c.below,
                    "above": c.above,
                    "monthly": round(c.monthly, 2),
                    "settled": round(c.settled) if c.settled else None,
                }
                for c in found
            ]
            for name, found in crossings.items()
        },
        "prices": _prices_dict(prices),
        "notes": comparison.notes,
        "plot": plotted,
    }
    if app.json:
        app.emit(data)
        return
    _print_cost(app, comparison, crossings, prices, plotted)


def _crossing(c: Any) -> str:
    settled = f" (for good from {c.settled:,.0f}/day: real-time's instances step)" if c.settled else ""
    return f"{c.below} → {c.above} at {c.requests_per_day:,.0f}/day{settled}"


def _print_cost(app: App, comparison: Any, crossings: dict[str, Any], prices: Any, plotted: str | None) -> None:
    from rich.table import Table

    from sio.units import human_seconds, human_size

    w = comparison.workload
    cheapest = comparison.cheapest()
    table = Table(
        title=(
            f"{w.requests_per_day:,.0f} requests/day, {human_size(w.payload_bytes)}, "
            f"{human_seconds(w.processing_seconds)} each on {w.instance_type}, {w.traffic.name} traffic "
            f"(peak {w.peak_rate:,.2f}/s)"
        )
    )
    for column in ("mode", "$/month", "SageMaker", "orchestration", "latency typical / worst", "how"):
        table.add_column(
            column,
            overflow="fold",
            justify="right" if "$" in column or column in ("SageMaker", "orchestration") else "left",
        )
    for m in comparison.modes:
        name = m.mode + (" ◀ cheapest" if cheapest is not None and m.mode == cheapest.mode else "")
        if not m.applicable:
            table.add_row(f"[dim]{m.mode}[/]", "—", "", "", "", f"[dim]does not fit: {m.sizing}[/]")
            continue
        table.add_row(
            name,
            f"{m.total:,.2f}",
            f"{m.sagemaker_total:,.2f}",
            f"{m.orchestration_total:,.2f}",
            f"{human_seconds(m.latency[0])} / {human_seconds(m.latency[1])}",
            m.sizing,
        )
    app.out.print(table)
    per_million = ", ".join(f"{k} ${v:,.2f}" for k, v in comparison.per_million.items())
    app.out.print(f"Orchestration per million files: {per_million}")
    fixed = ", ".join(f"{k} ${v:,.2f}" for k, v in comparison.fixed.items())
    app.out.print(f"The stack's fixed monthly cost (any volume): ${sum(comparison.fixed.values()):,.2f} ({fixed})")
    from sio.costs import OPTIONAL_FIXED

    optional = ", ".join(f"{line} with {parameter}=false" for line, parameter in OPTIONAL_FIXED.items())
    app.out.print(f"Optional fixed costs (template parameters): {optional}")
    for name, found in crossings.items():
        text = "; ".join(_crossing(c) for c in found) or "none"
        app.out.print(f"Crossovers, cheapest for an answer {name} (10 to 10,000,000 a day, this shape): {text}")
    app.out.print(
        f"Prices: {prices.origin}, as of {prices.as_of}"
        + ("" if prices.checked else " (not re-checked: see the file's note)")
    )
    if plotted:
        app.out.print(f"Plot: {plotted}")


@cli.command()
@workload_options
@click.option(
    "--needs",
    type=click.Choice(["seconds", "minutes", "next-day"]),
    default="minutes",
    show_default=True,
    help="How soon a result is needed.",
)
@output_option
@pass_app
def recommend(app: App, needs: str, **options: Any) -> None:
    """The decision framework applied to a workload: the mode, the rule that decided, the runner-up."""
    from sio.costs import compare
    from sio.recommend import RULES
    from sio.recommend import recommend as decide

    try:
        workload, prices, _ = _workload(app, options)
        comparison = compare(workload, prices)
    except (KeyError, ValueError) as exc:
        raise SioError(str(exc.args[0])) from None
    choice = decide(comparison, needs)
    data = {
        "workload": _workload_dict(workload),
        "needs": needs,
        **choice.as_dict(comparison),
        "modes": [m.as_dict() for m in comparison.modes],
        "prices": _prices_dict(prices),
    }
    if app.json:
        app.emit(data)
        return
    out = app.out
    decided = comparison.mode(choice.mode)
    out.print(f"[bold]Recommended: {choice.mode}[/] (${decided.total:,.2f} a month): {choice.why}.")
    out.print(f"  rule {choice.rule!r}: {RULES[choice.rule]}")
    if choice.runner_up:
        runner = comparison.mode(choice.runner_up)
        out.print(f"  runner-up: {choice.runner_up} (${runner.total:,.2f} a month), {choice.runner_up_why}")
    for note in choice.notes:
        out.print(f"  note: {note}")
    out.print(f"  today: {data['today']}")
    out.print(
        "  RoutingRules value (for stacks that have that parameter; first match wins): "
        + json.dumps(data["routing_rules"])
    )
    out.print("The decision framework as the router applies it today (orchestrator/core/routing.py), per file:")
    for n, step in enumerate(data["framework_today"], 1):
        out.print(f"  {n}. {step}")


cli.add_command(selftest_command)  # sio selftest (sio/selftest_command.py)


def main(argv: Sequence[str] | None = None) -> None:
    cli.main(args=list(argv) if argv is not None else None, prog_name="sio")


if __name__ == "__main__":
    main()
