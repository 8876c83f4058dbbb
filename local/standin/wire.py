"""The stand-in's answers on the wire: one SageMaker request (path, headers, body) in, SageMaker's
status, headers and body out, errors rendered in the protocol of the call.

The one request path of every tier: the HTTP server (server.py) hands it what it read from its
socket; the integration tests and benches (tests/support/sagemaker.py) what botocore was about to
send.
"""

from __future__ import annotations

import json
import re
import traceback
import urllib.parse
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from local.standin.errors import ApiError

if TYPE_CHECKING:
    from local.standin.service import StandIn

_ASYNC_PATH = re.compile(r"^/endpoints/([^/]+)/async-invocations$")
_REALTIME_PATH = re.compile(r"^/endpoints/([^/]+)/invocations$")


@dataclass
class Answer:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


def is_sagemaker_request(path: str, headers: dict[str, str]) -> bool:
    """A SageMaker API call (else a ``/_local/`` control of the HTTP server)."""
    return headers.get("x-amz-target", "").startswith("SageMaker.") or not path.startswith("/_local/")


def answer(standin: StandIn, path: str, headers: dict[str, str], body: bytes) -> Answer:
    """``headers``: names in lower case, values decoded."""
    target = headers.get("x-amz-target", "")
    json_protocol = target.startswith("SageMaker.")
    try:
        if json_protocol:
            result = standin.control(target.split(".", 1)[1], json.loads(body or b"{}"))
            return _answer(200, json.dumps(result, default=str).encode(), "application/x-amz-json-1.1")
        if match := _ASYNC_PATH.match(urllib.parse.unquote(path)):
            accepted, extra = standin.invoke_async(match.group(1), headers)
            return _answer(202, json.dumps(accepted).encode(), "application/json", extra)
        if match := _REALTIME_PATH.match(urllib.parse.unquote(path)):
            response, extra = standin.invoke(match.group(1), body, headers)
            return _answer(200, response.body, response.content_type or "application/octet-stream", extra)
        raise ApiError(404, "UnknownOperationException", f"{path} is not served by the stand-in")
    except ApiError as error:
        return error_answer(error, json_protocol)
    except Exception as exc:  # noqa: BLE001 - answered as the service's InternalFailure
        traceback.print_exc()
        return error_answer(ApiError(500, "InternalFailure", str(exc)), json_protocol)


def error_answer(error: ApiError, json_protocol: bool) -> Answer:
    """JSON 1.1 (``sagemaker``): ``__type`` in the body; REST-JSON (``sagemaker-runtime``): ``x-amzn-ErrorType``."""
    if json_protocol:
        payload = {"__type": error.code, "Message": error.message, **error.extra}
        return _answer(error.status, json.dumps(payload).encode(), "application/x-amz-json-1.1")
    payload = {"Message": error.message, **error.extra}
    return _answer(error.status, json.dumps(payload).encode(), "application/json", {"x-amzn-ErrorType": error.code})


def _answer(status: int, body: bytes, content_type: str, extra: dict[str, str] | None = None) -> Answer:
    headers = {"Content-Type": content_type, "x-amzn-RequestId": str(uuid.uuid4()), **(extra or {})}
    return Answer(status, body, headers)
