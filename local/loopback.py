"""Loopback helpers every local process shares: the host they listen on, the HTTP server and handler
the model server and the stand-in build on, checking that a port is free (with an error that names it),
serving until interrupted, a free port, and waiting for a server to answer."""

from __future__ import annotations

import contextlib
import socket
import sys
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from socketserver import BaseServer
from typing import Any

HOST = "127.0.0.1"


class PortInUseError(RuntimeError):
    pass


class LoopbackServer(ThreadingHTTPServer):
    """A threaded HTTP server on :data:`HOST` whose handlers log only when it is ``verbose``."""

    daemon_threads = True

    def __init__(self, port: int, handler: type[LoopbackHandler], verbose: bool = False) -> None:
        super().__init__((HOST, port), handler)
        self.verbose = verbose


class LoopbackHandler(BaseHTTPRequestHandler):
    """HTTP/1.1 (kept-alive connections, as SDKs use them); each request logged as ``<log_name>: …``."""

    protocol_version = "HTTP/1.1"
    log_name = "local"
    server: LoopbackServer

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.verbose:
            sys.stderr.write(f"{self.log_name}: " + format % args + "\n")

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""


def check_port_free(port: int, what: str) -> None:
    """Raise ``PortInUseError`` naming ``what`` (e.g. ``LOCAL_AWS_PORT``) when ``port`` is taken."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # As the servers themselves do: connections of a previous run in TIME-WAIT do not count.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((HOST, port))
            probe.listen(1)
        except OSError as exc:
            raise PortInUseError(
                f"port {port} on {HOST} ({what}) is already in use: stop what listens there "
                f"(e.g. a stack left running: `ss -ltnp 'sport = :{port}'`) or choose another port with {what}=…"
            ) from exc


def serve(server: BaseServer, what: str, port: int) -> int:
    """Serve until interrupted (Ctrl-C), having said where; the exit status of a server's ``main``."""
    print(f"{what} listening on http://{HOST}:{port}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    return 0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def wait_for_http(url: str, timeout: float, process: Any = None) -> None:
    """Until ``url`` answers (any HTTP status) or ``timeout`` passes; fails early if ``process`` exits."""
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{url}: the server exited with status {process.returncode} before it was ready")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except urllib.error.HTTPError:
            return
        except OSError as exc:
            last = exc
            time.sleep(0.05)
    raise TimeoutError(f"{url} did not answer within {timeout:.0f} s ({last})")
