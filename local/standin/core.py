"""What every part of the stand-in shares: the one lock, the clock, the history of what ran, the AWS
clients (moto), the region and account; and the small S3 and time helpers they all use."""

from __future__ import annotations

import re
import threading
from datetime import UTC, datetime
from typing import Any

from local.aws.clients import client_factory

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


class StandInCore:
    """The state the stand-in's parts share; ``StandIn`` (service.py) is the one object holding it."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.region = config["region"]
        self.account_id = config["account_id"]
        self.client = client_factory(config["aws_endpoint"], self.region)
        self.model_url = config["model_url"]
        self.clock = Clock()
        self.lock = threading.Condition()
        self.history: list[dict[str, Any]] = []  # what ran, for the tests' assertions
        self.stopping = threading.Event()

    def _log(self, operation: str, **fields: Any) -> None:
        with self.lock:
            self.history.append({"operation": operation, "time": iso_ms(self.clock.now()), **fields})
