"""moto in server mode on loopback: ``python -m local.aws --port 4566``, with its patches and
DynamoDB's atomic conditional writes.

moto's application is served by waitress rather than moto's own werkzeug development server, which
answers every request with ``Connection: close``: each AWS call then cost a TCP connection on both
sides and a new thread in the server, a fifth of a request's CPU under a drop of files. waitress keeps
the SDKs' connections alive and runs requests on a pool of threads (cheroot, tried too, cost a tenth
more CPU a file). One difference: waitress drops request headers with ``_`` in their name (werkzeug's
server kept them for moto), so S3 user metadata keys with ``_`` do not reach the local S3 (the
product's key is ``inference-mode``)."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import threading
import time
from typing import Any

from local.loopback import HOST, check_port_free

# Requests served at once. A long poll (SQS ReceiveMessage, up to 20 s) holds a thread for its wait, and
# the runner keeps one poll per execution environment and queue: 16 environments a function stay under.
SERVER_THREADS = 128
# Connections kept open (waitress's default is 100): every environment's clients, the runner's, the bench's.
CONNECTIONS = 1000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="moto server on loopback for the local stack")
    parser.add_argument("--port", type=int, default=int(os.environ.get("LOCAL_AWS_PORT", "4566")))
    parser.add_argument("--verbose", action="store_true", help="log every request (one line each)")
    args = parser.parse_args(argv)
    check_port_free(args.port, "LOCAL_AWS_PORT")

    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    from local.aws import moto_patches

    moto_patches.apply()
    profile = Profile.from_env()

    app = atomic_dynamodb(raw_uri(DomainDispatcherApplication(create_backend_app)))
    if args.verbose:
        app = _logged(app)
    if profile is not None:
        app = profile.tally(app)
    server = _server(app, args.port)  # bound and listening before the line below says so
    threading.Thread(target=server.run, name="moto", daemon=True).start()
    print(f"moto listening on http://{HOST}:{args.port}", flush=True)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    if profile is not None:
        profile.dump()
    # The requests under way (a long poll waits up to 20 s) are not waited for: the process ends here.
    os._exit(0)


def _server(app: Any, port: int) -> Any:
    """waitress serving ``app`` on loopback, its warnings about queued requests off (under a drop of
    files, every request waits behind others a moment)."""
    from waitress.channel import HTTPChannel
    from waitress.parser import HTTPRequestParser
    from waitress.server import create_server

    class Parser(HTTPRequestParser):
        """waitress 3.0.2 answers ``Expect: 100-continue`` with ``100 Continue`` and then waits for the
        body, also when the request is already complete (``Content-Length: 0``, or refused): it never
        answers. botocore sends every ``PutObject`` so, an empty file's too. A complete request gets
        its final answer at once (RFC 9110 §10.1.1 lets a server answer without the ``100``)."""

        def received(self, data: bytes) -> int:
            consumed = int(super().received(data))
            if self.completed:
                self.expect_continue = False
            return consumed

    class Channel(HTTPChannel):
        parser_class = Parser

    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    server = create_server(
        app,
        host=HOST,
        port=port,
        threads=SERVER_THREADS,
        connection_limit=CONNECTIONS,
        asyncore_use_poll=True,  # select() fails on a descriptor above 1023
    )
    server.channel_class = Channel
    return server


class Profile:
    """``LOCAL_AWS_PROFILE=<file>``: where the server's time goes under a drop of files. When it stops,
    ``<file>`` lists each action with its requests and the CPU their threads spent (a thread's CPU
    time, not the wall time a request waited on a lock or on another thread). With
    ``LOCAL_AWS_PROFILE_CALLS=1`` also ``<file>.pstats``: cProfile of every thread (Python 3.12+; its
    call graph mixes the threads' stacks, and it slows the server about threefold)."""

    def __init__(self, path: str, calls: bool) -> None:
        self.path = path
        self.cpu: dict[str, list[float]] = {}
        self._lock = threading.Lock()
        self._profile: Any = None
        if calls:
            import cProfile

            self._profile = cProfile.Profile()
            self._profile.enable()

    @classmethod
    def from_env(cls) -> Profile | None:
        path = os.environ.get("LOCAL_AWS_PROFILE")
        return cls(path, calls=bool(os.environ.get("LOCAL_AWS_PROFILE_CALLS"))) if path else None

    def tally(self, app: Any) -> Any:
        def tallied(environ: dict[str, Any], start_response: Any) -> Any:
            started = time.thread_time()
            try:
                return list(app(environ, start_response))
            finally:
                spent = time.thread_time() - started
                with self._lock:
                    entry = self.cpu.setdefault(_action(environ), [0, 0.0])
                    entry[0] += 1
                    entry[1] += spent

        return tallied

    def dump(self) -> None:
        if self._profile is not None:
            self._profile.disable()
            self._profile.dump_stats(f"{self.path}.pstats")
        with self._lock:  # the server still answers while the profile is written
            tallied = {action: (entry[0], entry[1]) for action, entry in self.cpu.items()}
        total = sum(cpu for _, cpu in tallied.values()) or 1.0
        lines = [f"{'action':44} {'calls':>7} {'cpu s':>8} {'ms each':>8} {'share':>6}"]
        for action, (calls, cpu) in sorted(tallied.items(), key=lambda kv: -kv[1][1]):
            lines.append(f"{action:44} {calls:7.0f} {cpu:8.2f} {cpu / calls * 1000:8.2f} {cpu / total:6.1%}")
        with open(self.path, "w", encoding="utf-8") as handle:
            handle.write("\n".join(lines) + "\n")


def _action(environ: dict[str, Any]) -> str:
    """A request's action: its JSON target (DynamoDB, SQS), its query's Action, else method and service."""
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:
        return str(target)
    query = environ.get("QUERY_STRING", "")
    for part in query.split("&"):
        if part.startswith("Action="):
            return part[len("Action=") :]
    auth = environ.get("HTTP_AUTHORIZATION", "")
    service = auth.split("/")[3] if auth.count("/") >= 3 else "?"
    return f"{service} {environ.get('REQUEST_METHOD')}"


def raw_uri(app: Any) -> Any:
    """The request's path as sent (``RAW_URI``, which werkzeug's server set and waitress does not):
    without it moto takes the decoded path and S3 decodes it again, so a key ``100%25 off.csv`` would
    be stored as ``100% off.csv`` and ``what%3F.csv`` as ``what``."""

    def with_raw_uri(environ: dict[str, Any], start_response: Any) -> Any:
        environ.setdefault("RAW_URI", environ.get("REQUEST_URI", ""))
        return app(environ, start_response)

    return with_raw_uri


def _logged(app: Any) -> Any:
    """``--verbose``: one line per request (action and status), as werkzeug's server printed them."""
    log = logging.getLogger("local.aws")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")

    def logging_app(environ: dict[str, Any], start_response: Any) -> Any:
        def start(status: str, headers: Any, *rest: Any) -> Any:
            log.info("%s %s", _action(environ), status)
            return start_response(status, headers, *rest)

        return app(environ, start)

    return logging_app


def atomic_dynamodb(app: Any) -> Any:
    """moto's server with DynamoDB requests one at a time. DynamoDB applies a conditional write
    atomically; moto checks the condition and then writes, on the request's thread, with no lock, so
    two concurrent conditional writes (the router's confirm and the tracker's result) can both pass and
    the later one undo the other. The product relies on that atomicity; the local AWS must keep it."""
    lock = threading.Lock()

    def serialized(environ: dict[str, Any], start_response: Any) -> Any:
        if not environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB_"):
            return app(environ, start_response)
        with lock:  # the response is computed inside the call; only its bytes are sent after
            return list(app(environ, start_response))

    return serialized
