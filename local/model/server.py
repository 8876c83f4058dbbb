"""A model server following SageMaker's container contract, serving the demo model.

``GET /ping`` answers 200 when the model is loaded; ``POST /invocations`` scores the body with its
``Content-Type`` and answers in the ``Accept`` type. Malformed input gets a 400 with a JSON reason.
``python -m local.model.server --port 8080`` (SageMaker's port). A user's own container answering
the same two paths can replace it (``LOCAL_MODEL_URL``).

Paths under ``/_local/`` are for the local stack's tests only (they are not part of the contract):
counting invocations, injecting a status or a delay into the next invocations.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from typing import Any

from local.loopback import LoopbackHandler, LoopbackServer, check_port_free, serve
from local.model import demo_model


class Faults:
    """Injected behaviour for the next invocations: an HTTP status, a delay (tests only)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.status: int | None = None
        self.count = 0
        self.delay = 0.0
        self.invocations = 0
        self.by_status: dict[str, int] = {}

    def take(self) -> tuple[int | None, float]:
        with self.lock:
            self.invocations += 1
            status = None
            if self.count > 0 and self.status:
                status = self.status
                self.count -= 1
            return status, self.delay

    def record(self, status: int) -> None:
        with self.lock:
            self.by_status[str(status)] = self.by_status.get(str(status), 0) + 1


class ModelHandler(LoopbackHandler):
    log_name = "model"
    server: ModelServer

    def _send(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, payload: Any) -> None:
        self._send(status, json.dumps(payload).encode())

    def do_GET(self) -> None:
        if self.path == "/ping":
            self._json(200, {"status": "healthy"})
        elif self.path == "/_local/stats":
            faults = self.server.faults
            with faults.lock:
                self._json(200, {"invocations": faults.invocations, "by_status": dict(faults.by_status)})
        else:
            self._json(404, {"error": f"no such path {self.path}"})

    def do_POST(self) -> None:
        body = self._body()
        if self.path == "/invocations":
            self._invoke(body)
        elif self.path == "/_local/faults":
            request = json.loads(body or b"{}")
            faults = self.server.faults
            with faults.lock:
                faults.status = request.get("status")
                faults.count = int(request.get("count", 1)) if faults.status else 0
                faults.delay = float(request.get("delay", faults.delay))
            self._json(200, {"ok": True})
        elif self.path == "/_local/reset":
            self.server.faults = Faults()
            self._json(200, {"ok": True})
        else:
            self._json(404, {"error": f"no such path {self.path}"})

    def _invoke(self, body: bytes) -> None:
        status, delay = self.server.faults.take()
        if delay:
            time.sleep(delay)
        if status:
            self.server.faults.record(status)
            self._json(status, {"error": f"injected failure ({status})"})
            return
        try:
            output, content_type = demo_model.predict(
                body, self.headers.get("Content-Type", demo_model.CSV), self.headers.get("Accept", "")
            )
        except demo_model.BadInput as exc:
            self.server.faults.record(400)
            self._json(400, {"error": str(exc)})
            return
        self.server.faults.record(200)
        self._send(200, output, content_type)


class ModelServer(LoopbackServer):
    def __init__(self, port: int, verbose: bool = False) -> None:
        super().__init__(port, ModelHandler, verbose)
        self.faults = Faults()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="demo model behind SageMaker's container contract")
    parser.add_argument("--port", type=int, default=int(os.environ.get("LOCAL_MODEL_PORT", "8080")))
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args(argv)
    check_port_free(args.port, "LOCAL_MODEL_PORT")
    return serve(ModelServer(args.port, args.verbose), "demo model", args.port)


if __name__ == "__main__":
    sys.exit(main())
