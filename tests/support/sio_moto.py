"""`sio` against moto in-process: its settings for a tracker table of the template's schema, and the
AWS calls its own clients make (not the test's)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from click.testing import CliRunner, Result
from moto import mock_aws
from sio import stack as sio_stack
from sio.cli import cli

from tests.support.aws import create_tracker_table

TABLE = "tracker"
ENV = {
    "SIO_TRACKER_TABLE_NAME": TABLE,
    "SIO_INPUT_BUCKET_NAME": "bucket",
    "SIO_INPUT_PREFIX": "incoming/",
    "AWS_REGION": "us-east-1",
}


def moto_client(service: str) -> Iterator[Any]:
    """A client of ``service`` on moto, in the stack's region (use as a fixture body: ``yield from``)."""
    with mock_aws():
        yield boto3.client(service, region_name="us-east-1")


def tracker_table() -> Iterator[Any]:
    """A DynamoDB client on moto holding the tracker table (use as a fixture body: ``yield from``)."""
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        create_tracker_table(client, TABLE)
        yield client


def sio(*args: str, env: dict[str, str] = ENV) -> Result:
    """The ``sio`` command run in-process, against the stack ``env`` names."""
    return CliRunner(mix_stderr=False).invoke(cli, list(args), env=env)


@contextmanager
def sio_calls() -> Iterator[list[str]]:
    """``service.Operation`` of every AWS call sio's clients make inside the block."""
    made: list[str] = []
    original = sio_stack.Stack.client

    def counted(self: sio_stack.Stack, service: str, **config: Any) -> Any:
        client = original(self, service, **config)
        client.meta.events.register("before-call", lambda event_name, **_: made.append(event_name.split(".", 1)[1]))
        return client

    sio_stack.Stack.client = counted  # type: ignore[method-assign]
    try:
        yield made
    finally:
        sio_stack.Stack.client = original  # type: ignore[method-assign]


def answer(monkeypatch: pytest.MonkeyPatch, answers: dict[str, list[tuple[int, dict[str, Any]]]]) -> None:
    """Operations of sio's clients (``StartMessageMoveTask``, ``Invoke`` …) answered in turn by
    (HTTP status, parsed response), the last answer repeating: what moto in-process does not play."""
    original = sio_stack.Stack.client

    def hooked(self: sio_stack.Stack, service: str, **config: Any) -> Any:
        client = original(self, service, **config)

        def reply(model: Any, **_: Any) -> Any:
            queue = answers.get(model.name)
            if not queue:
                return None
            status, parsed = queue.pop(0) if len(queue) > 1 else queue[0]
            parsed = {**parsed, "ResponseMetadata": {"HTTPStatusCode": status}}
            return AWSResponse("https://aws.test", status, {}, None), parsed

        client.meta.events.register("before-call", reply)
        return client

    monkeypatch.setattr(sio_stack.Stack, "client", hooked)
