"""moto in server mode on loopback: ``python -m local.aws --port 4566``.

Also the small helpers every local process shares: checking that a port is free (with an error
that names it), waiting for a server, and boto3 clients aimed at the local endpoints.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import socket
import sys
import threading
import time
import urllib.request
from typing import Any

HOST = "127.0.0.1"
# Placeholder credentials: moto accepts any, and they keep a real profile from being used.
TEST_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing"}


class PortInUseError(RuntimeError):
    pass


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


def session(region: str) -> Any:
    import boto3

    return boto3.Session(
        aws_access_key_id=TEST_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=TEST_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=TEST_CREDENTIALS["AWS_SESSION_TOKEN"],
        region_name=region,
    )


def client_factory(aws_endpoint: str, region: str, sagemaker_endpoint: str | None = None) -> Any:
    """``factory(service)`` → a boto3 client for the local endpoints (cached per service and thread)."""
    from botocore.config import Config

    boto_session = session(region)
    config = Config(retries={"mode": "standard", "total_max_attempts": 3}, connect_timeout=3, read_timeout=30)
    local = threading.local()

    def factory(service: str) -> Any:
        """``service``, or ``<service>-unvalidated`` for a client that skips its parameter validation."""
        cache = local.__dict__.setdefault("clients", {})
        if service not in cache:
            name = service.removesuffix("-unvalidated")
            url = sagemaker_endpoint if name in ("sagemaker", "sagemaker-runtime") else aws_endpoint
            settings = config.merge(Config(parameter_validation=False)) if name != service else config
            cache[service] = boto_session.client(name, endpoint_url=url, config=settings)
        return cache[service]

    return factory


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="moto server on loopback for the local stack")
    parser.add_argument("--port", type=int, default=int(os.environ.get("LOCAL_AWS_PORT", "4566")))
    parser.add_argument("--verbose", action="store_true", help="log every request (one line each)")
    args = parser.parse_args(argv)
    check_port_free(args.port, "LOCAL_AWS_PORT")

    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
    from werkzeug.serving import make_server

    from local.aws import moto_patches

    moto_patches.apply()
    if not args.verbose:  # a line per request cost the server a tenth of its time under a drop of files
        logging.getLogger("werkzeug").setLevel(logging.WARNING)

    app = atomic_dynamodb(DomainDispatcherApplication(create_backend_app))
    server = make_server(HOST, args.port, app, threaded=True, request_handler=MotoRequestHandler)
    threading.Thread(target=server.serve_forever, name="moto", daemon=True).start()
    print(f"moto listening on http://{HOST}:{args.port}", flush=True)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    with contextlib.suppress(Exception):
        server.shutdown()
    return 0


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


if __name__ == "__main__":
    sys.exit(main())
