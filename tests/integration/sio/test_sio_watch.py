"""`sio watch` on moto: a temporary queue subscribed to both result topics (filtered on the message
body by --prefix and --failures), each message printed as it arrives, and the queue and its
subscriptions removed on exit; a cleanup that fails is reported and exits 1."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from click.testing import CliRunner, Result
from sio import watch as sio_watch
from sio.cli import cli

from tests.support.sio_moto import ENV, answer, moto_client


@pytest.fixture
def sns() -> Iterator[Any]:
    yield from moto_client("sns")


@pytest.fixture
def env(sns: Any) -> dict[str, str]:
    return {
        **ENV,
        "SIO_SUCCESS_TOPIC_ARN": sns.create_topic(Name="success")["TopicArn"],
        "SIO_ERROR_TOPIC_ARN": sns.create_topic(Name="error")["TopicArn"],
    }


def sio(env: dict[str, str], *args: str) -> Result:
    return CliRunner(mix_stderr=False).invoke(cli, list(args), env=env)


def result_message(key: str, status: str, **extra: Any) -> str:
    return json.dumps(
        {
            "eventTime": "2026-12-06T10:00:00.000Z",
            "invocationStatus": status,
            "eventSource": "aws:sagemaker",
            "inferenceId": key,
            "requestParameters": {"inputLocation": f"s3://bucket/incoming/{key}"},
            **extra,
        }
    )


class Publishing:
    """Publishes once the watcher's queue is subscribed (sio creates it inside the command)."""

    def __init__(self, sns: Any, env: dict[str, str], messages: list[tuple[str, str]]) -> None:
        self.sns, self.env, self.messages = sns, env, messages

    def __call__(self, *args: Any, **kwargs: Any) -> None:
        for topic, body in self.messages:
            self.sns.publish(TopicArn=self.env[topic], Message=body)


def watching(monkeypatch: pytest.MonkeyPatch, publish: Publishing) -> None:
    original = sio_watch.Watcher._create

    def create(self: Any) -> None:
        original(self)
        publish()

    monkeypatch.setattr(sio_watch.Watcher, "_create", create)


def queues() -> list[str]:
    return boto3.client("sqs", region_name="us-east-1").list_queues().get("QueueUrls", [])


def test_failures_under_a_prefix_only_one_json_line_each_then_the_queue_is_gone(sns, env, monkeypatch):
    failed = result_message("customers/a.csv", "Failed", failureReason="ModelError")
    watching(
        monkeypatch,
        Publishing(
            sns,
            env,
            [
                ("SIO_SUCCESS_TOPIC_ARN", result_message("customers/b.csv", "Completed")),  # not a failure
                ("SIO_ERROR_TOPIC_ARN", result_message("orders/c.csv", "Failed")),  # another prefix
                ("SIO_ERROR_TOPIC_ARN", failed),
            ],
        ),
    )

    result = sio(env, "-o", "json", "watch", "--prefix", "customers/", "--failures", "--count", "1", "--timeout", "5")

    assert result.exit_code == 0, result.stderr
    assert [json.loads(line) for line in result.stdout.splitlines()] == [json.loads(failed)]
    assert "watching prefix customers/ on both topics" in result.stderr
    assert "1 message(s); removed: queue sio-watch-" in result.stderr
    assert queues() == []
    assert sns.list_subscriptions()["Subscriptions"] == []


def test_each_result_is_one_line_for_people_and_bodies_that_are_not_json_are_shown_as_is(sns, env, monkeypatch):
    done = result_message("a.csv", "Completed", responseParameters={"outputLocation": "s3://bucket/results/a.out"})
    watching(monkeypatch, Publishing(sns, env, [("SIO_SUCCESS_TOPIC_ARN", done), ("SIO_ERROR_TOPIC_ARN", "oops")]))

    result = sio(env, "watch", "--count", "2", "--timeout", "5")

    assert result.exit_code == 0, result.stderr
    assert "2026-12-06T10:00:00.000  Completed  s3://bucket/incoming/a.csv  async  s3://bucket/results/a.out" in (
        result.stdout
    )
    assert f"watching s3://{ENV['SIO_INPUT_BUCKET_NAME']}/ on both topics" in result.stderr


def test_a_timeout_with_nothing_arriving_stops_with_zero_messages(env):
    result = sio(env, "watch", "--timeout", "0")

    assert result.exit_code == 0
    assert "0 message(s); removed" in result.stderr


def test_a_cleanup_that_fails_is_reported_and_exits_1(sns, env, monkeypatch):
    answer(monkeypatch, {"DeleteQueue": [(400, {"Error": {"Code": "AccessDenied", "Message": "not yours"}})]})

    result = sio(env, "watch", "--timeout", "0")

    assert result.exit_code == 1
    assert "could not remove everything" in result.stderr
    assert "  delete queue " in result.stderr and "AccessDenied" in result.stderr


def test_a_stack_without_an_error_topic_is_named_and_nothing_is_left_behind(sns, env):
    del env["SIO_ERROR_TOPIC_ARN"]

    result = sio(env, "watch", "--timeout", "0")

    assert result.exit_code == 2
    assert "has no output ErrorTopicArn: set SIO_ERROR_TOPIC_ARN" in result.stderr
    assert queues() == []


def test_ctrl_c_stops_watching_removes_the_queue_and_exits_130(sns, env, monkeypatch):
    def interrupted(*_: Any, **__: Any) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr(sio_watch, "run", interrupted)

    result = sio(env, "watch")

    assert result.exit_code == 130
    assert "0 message(s); removed: queue sio-watch-" in result.stderr
    assert queues() == []
