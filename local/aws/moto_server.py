"""moto in server mode on loopback: ``python -m local.aws --port 4566``, with its patches and
DynamoDB's atomic conditional writes."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import threading
from typing import Any

from local.loopback import HOST, check_port_free


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
