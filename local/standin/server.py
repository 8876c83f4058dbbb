"""The stand-in's HTTP surface: ``sagemaker-runtime`` (REST-JSON) and ``sagemaker`` (JSON 1.1) on one
loopback port, and ``main``.

``python -m local.sagemaker_standin --config standin.json --port 4567``. Paths under ``/_local/``
serve the local stack's tests and demo (pausing an endpoint's capacity, ageing queued requests,
losing notifications, the log of what ran); they are not SageMaker APIs.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import traceback
import uuid
from typing import Any

from local.loopback import LoopbackHandler, LoopbackServer, check_port_free, serve
from local.standin.async_endpoints import DropRule
from local.standin.errors import ApiError
from local.standin.service import StandIn
from local.standin.wire import Answer, answer, error_answer, is_sagemaker_request


class StandInHandler(LoopbackHandler):
    log_name = "standin"
    server: StandInServer

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self._write(Answer(status, body, {"Content-Type": content_type, "x-amzn-RequestId": str(uuid.uuid4())}))

    def _write(self, answer: Answer) -> None:
        self.send_response(answer.status)
        self.send_header("Content-Length", str(len(answer.body)))
        for name, value in answer.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(answer.body)

    def do_GET(self) -> None:
        standin = self.server.standin
        if self.path == "/_local/health":
            self._send(200, b'{"ok": true}', "application/json")
        elif self.path == "/_local/history":
            with standin.lock:
                body = json.dumps(standin.history, default=str).encode()
            self._send(200, body, "application/json")
        elif self.path == "/_local/endpoints":
            self._send(200, json.dumps(standin.capacities()).encode(), "application/json")
        elif self.path == "/_local/notifications/drop":
            with standin.lock:
                body = json.dumps([rule.describe() for rule in standin.drops]).encode()
            self._send(200, body, "application/json")
        else:
            self._send(404, b'{"Message": "not found"}', "application/json")

    def do_POST(self) -> None:
        body = self._body()
        # http.server reads header bytes as Latin-1; botocore sends UTF-8 (e.g. an InputLocation with é).
        headers = {k.lower(): _utf8(v) for k, v in self.headers.items()}
        if is_sagemaker_request(self.path, headers):
            self._write(answer(self.server.standin, self.path, headers, body))
            return
        try:
            self._control(self.path, json.loads(body or b"{}"))
        except ApiError as error:
            self._write(error_answer(error, json_protocol=False))
        except Exception as exc:  # noqa: BLE001 - answered as the service's InternalFailure
            traceback.print_exc()
            self._write(error_answer(ApiError(500, "InternalFailure", str(exc)), json_protocol=False))

    def _control(self, path: str, request: dict[str, Any]) -> None:
        standin = self.server.standin
        if match := re.match(r"^/_local/endpoints/([^/]+)/(pause|resume)$", path):
            # Capacity: a paused endpoint keeps requests queued, as one scaled to zero does.
            endpoint = standin._endpoint(match.group(1))
            with standin.lock:
                endpoint.paused = match.group(2) == "pause"
                standin.lock.notify_all()
        elif match := re.match(r"^/_local/transform/(pause|resume)$", path):
            # Transform jobs: paused, new and waiting jobs stay InProgress without processing anything.
            if match.group(1) == "pause":
                standin.transforms_running.clear()
            else:
                standin.transforms_running.set()
        elif path == "/_local/notifications/drop":
            # Lose the next matching notification(s) (see DropRule); the result object is still written.
            rule = DropRule.parse(request)
            with standin.lock:
                standin.drops.append(rule)
        elif path == "/_local/notifications/reset":
            with standin.lock:
                standin.drops.clear()
        elif match := re.match(r"^/_local/endpoints/([^/]+)/age$", path):
            # Age the requests queued now by ``seconds``, as if they had waited that long.
            endpoint = standin._endpoint(match.group(1))
            with standin.lock:
                for queued in endpoint.queue:
                    queued.aged_seconds += float(request.get("seconds", 0))
        else:
            raise ApiError(404, "UnknownOperationException", f"{path} is not a stand-in control")
        self._send(200, b'{"ok": true}', "application/json")


def _utf8(value: str) -> str:
    try:
        return value.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return value


class StandInServer(LoopbackServer):
    def __init__(self, port: int, standin: StandIn, verbose: bool = False) -> None:
        super().__init__(port, StandInHandler, verbose)
        self.standin = standin


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="SageMaker stand-in for the local stack")
    parser.add_argument("--config", required=True, help="JSON: region, account_id, aws_endpoint, model_url, endpoints")
    parser.add_argument("--port", type=int, default=4567)
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args(argv)
    check_port_free(args.port, "LOCAL_SAGEMAKER_PORT")
    with open(args.config, encoding="utf-8") as handle:
        config = json.load(handle)
    return serve(StandInServer(args.port, StandIn(config), args.verbose), "SageMaker stand-in", args.port)


if __name__ == "__main__":
    sys.exit(main())
