"""What every part of the stand-in shares: the one lock, the clock, the history of what ran, the AWS
clients (moto), the model, the region and account; and the small S3 and time helpers they all use."""

from __future__ import annotations

import re
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from local.aws.clients import client_factory
from local.standin.model import Model, call_model

MB = 1024 * 1024
S3_URI = re.compile(r"^s3://([^/]+)/?(.*)$")


def iso_ms(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def split_s3(uri: str) -> tuple[str, str]:
    match = S3_URI.match(uri)
    if not match:
        raise ValueError(f"{uri!r} is not an s3:// URI")
    return match.group(1), match.group(2)


def join_s3(prefix: str, name: str) -> str:
    return prefix + name if prefix.endswith("/") else f"{prefix}/{name}"


class Clock:
    def now(self) -> datetime:
        return datetime.now(UTC)


def random_output_name(inference_id: str) -> str:
    """SageMaker names an async output with an id of its own, not the caller's inference id."""
    return str(uuid.uuid4())


class StandInCore:
    """The state the stand-in's parts share; ``StandIn`` (service.py) is the one object holding it.

    In the local stack its clients reach moto's server (``aws_endpoint``) and its model is
    ``call_model`` over HTTP (``model_url``). In process (tests/support/sagemaker.py) the caller gives
    ``clients`` (a factory ``service → client`` of the stand-in's own, so its writes are not the
    product's calls), a ``model`` function and ``output_name`` (outputs named by inference id, known
    to a test ahead).
    """

    def __init__(
        self,
        config: dict[str, Any],
        *,
        clients: Callable[[str], Any] | None = None,
        model: Model | None = None,
        output_name: Callable[[str], str] = random_output_name,
    ) -> None:
        self.region = config["region"]
        self.account_id = config["account_id"]
        self.client = clients or client_factory(config["aws_endpoint"], self.region)
        self.model_url = config.get("model_url", "")
        self.model = model or call_model
        self.output_name = output_name
        self.clock = Clock()
        self.lock = threading.Condition()
        self.history: list[dict[str, Any]] = []  # what ran, for the tests' assertions
        self.stopping = threading.Event()

    def _log(self, operation: str, **fields: Any) -> None:
        with self.lock:
            self.history.append({"operation": operation, "time": iso_ms(self.clock.now()), **fields})
