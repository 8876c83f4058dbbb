"""`sio redrive QUEUE` on moto: a queue's dead letters go back to its source queue (body and
attributes), a function's are invoked again and deleted only when the invocation succeeded, the
sweeper's are counted; --dry-run moves nothing; a queue the stack lacks is named with those it has.

moto does not run SQS's message-move task (its server answers HTTP 500): the CLI then moves by
receive → send → delete and says so. Both answers of StartMessageMoveTask, and ListMessageMoveTasks,
are played by botocore hooks answering as the service does.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sio import redrive as redriving
from sio.cli import cli
from sio.errors import SioError
from sio.invoke import Invocation
from sio.stack import resolve_environment

from tests.support.sio_moto import ENV, answer, moto_client


@pytest.fixture
def sqs() -> Iterator[Any]:
    yield from moto_client("sqs")


@pytest.fixture
def env(sqs: Any) -> dict[str, str]:
    """The stack's queues (all but the scorer's, as a stack without the synchronous modes)."""
    urls = {
        name: sqs.create_queue(QueueName=name)["QueueUrl"]
        for name in ("router", "router-dlq", "tracker", "tracker-dlq", "nightly-dlq", "batch-result-dlq", "sweeper-dlq")
    }
    return {
        **ENV,
        "SIO_ROUTER_QUEUE_URL": urls["router"],
        "SIO_ROUTER_DEAD_LETTER_QUEUE_URL": urls["router-dlq"],
        "SIO_TRACKER_QUEUE_URL": urls["tracker"],
        "SIO_TRACKER_DEAD_LETTER_QUEUE_URL": urls["tracker-dlq"],
        "SIO_NIGHTLY_FUNCTION_NAME": "nightly-fn",
        "SIO_NIGHTLY_DEAD_LETTER_QUEUE_URL": urls["nightly-dlq"],
        "SIO_BATCH_RESULT_DEAD_LETTER_QUEUE_URL": urls["batch-result-dlq"],
        "SIO_SWEEPER_DEAD_LETTER_QUEUE_URL": urls["sweeper-dlq"],
    }


def sio(env: dict[str, str], *args: str) -> Result:
    return CliRunner(mix_stderr=False).invoke(cli, list(args), env=env)


def bodies(sqs: Any, url: str) -> list[dict[str, Any]]:
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"])
    return [{"body": m["Body"], "attributes": m.get("MessageAttributes", {})} for m in got.get("Messages", [])]


@pytest.mark.parametrize(
    "unsupported",
    [
        (500, {"Error": {"Code": "InternalFailure", "Message": "not implemented"}}),
        (400, {"Error": {"Code": "InvalidAction"}}),
    ],
)
def test_router_dead_letters_go_back_to_the_router_queue_with_their_attributes(sqs, env, monkeypatch, unsupported):
    answer(monkeypatch, {"StartMessageMoveTask": [unsupported]})
    dlq, source = env["SIO_ROUTER_DEAD_LETTER_QUEUE_URL"], env["SIO_ROUTER_QUEUE_URL"]
    attribute = {"origin": {"DataType": "String", "StringValue": "s3"}}
    sqs.send_message(QueueUrl=dlq, MessageBody="first", MessageAttributes=attribute)
    sqs.send_message(QueueUrl=dlq, MessageBody="second")

    result = sio(env, "redrive", "router")

    assert result.exit_code == 0, result.stderr
    assert "router DLQ: 2 message(s); moved 2; failed 0; left 0" in result.stdout
    assert "does not run SQS's message-move task" in result.stdout  # and says how it moved them instead
    assert "why it is safe: each notification names one object version" in result.stdout
    moved = sorted(bodies(sqs, source), key=lambda m: m["body"])
    assert [m["body"] for m in moved] == ["first", "second"]
    assert moved[0]["attributes"]["origin"]["StringValue"] == "s3"
    assert bodies(sqs, dlq) == []


def test_dry_run_counts_and_moves_nothing(sqs, env):
    dlq = env["SIO_TRACKER_DEAD_LETTER_QUEUE_URL"]
    for n in range(3):
        sqs.send_message(QueueUrl=dlq, MessageBody=f"m{n}")

    result = sio(env, "-o", "json", "redrive", "tracker", "--dry-run")

    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert (data["messages_before"], data["moved"], data["left"]) == (3, 0, 3)
    assert data["notes"] == ["dry run: nothing moved"]
    assert bodies(sqs, env["SIO_TRACKER_QUEUE_URL"]) == []


def test_the_sweepers_dead_letters_are_counted_not_redriven(sqs, env):
    sqs.send_message(QueueUrl=env["SIO_SWEEPER_DEAD_LETTER_QUEUE_URL"], MessageBody="{}")

    result = sio(env, "-o", "json", "redrive", "sweeper")

    data = json.loads(result.stdout)
    assert result.exit_code == 0
    assert (data["method"], data["moved"], data["left"]) == ("none", 0, 1)
    assert "read its log group" in data["why_safe"]


def test_a_queue_the_stack_does_not_have_is_a_usage_error_naming_those_it_has(env):
    result = sio(env, "-o", "json", "redrive", "scorer")

    assert result.exit_code == 2
    message = "the SIO_* environment has no scorer dead-letter queue (output ScorerDeadLetterQueueUrl)"
    assert message in result.stderr
    assert "it has: router, tracker, nightly, batch-result, sweeper" in result.stderr
    assert json.loads(result.stdout)["details"] == {"output": "ScorerDeadLetterQueueUrl"}


def test_an_unknown_queue_is_refused_by_name(env):
    with pytest.raises(SioError, match="unknown queue 'other': one of router, tracker, scorer"):
        redriving.redrive(resolve_environment(env), "other")
    assert sio(env, "redrive", "other").exit_code == 2  # click names the choices


def test_nightly_events_are_invoked_again_and_only_the_successes_leave_the_queue(sqs, env, monkeypatch):
    dlq = env["SIO_NIGHTLY_DEAD_LETTER_QUEUE_URL"]
    on_failure = {"requestContext": {"condition": "RetriesExhausted"}, "requestPayload": {"date": "2026-12-01"}}
    sqs.send_message(QueueUrl=dlq, MessageBody=json.dumps(on_failure))  # Lambda's on-failure record
    sqs.send_message(QueueUrl=dlq, MessageBody=json.dumps({"date": "2026-12-02"}))  # Scheduler's own event
    sqs.send_message(QueueUrl=dlq, MessageBody="not json")
    invoked: list[Any] = []

    def invoke(stack: Any, output: str, event: Any) -> Invocation:
        invoked.append((output, event))
        if event["date"] == "2026-12-02":
            return Invocation("nightly-fn", False, error_type="RuntimeError", error_message="the job failed")
        return Invocation("nightly-fn", True, result={"started": True})

    monkeypatch.setattr(redriving, "invoke", invoke)

    result = sio(env, "redrive", "nightly")

    assert result.exit_code == 1
    assert sorted(invoked, key=str) == [
        ("NightlyFunctionName", {"date": "2026-12-01"}),
        ("NightlyFunctionName", {"date": "2026-12-02"}),
    ]
    assert "nightly DLQ: 3 message(s); re-invoked 1; failed 2; left 2" in result.stdout
    assert ": RuntimeError: the job failed" in result.stdout
    assert ": body is not JSON" in result.stdout
    # the failed ones are visible again at once, for the next attempt after a fix
    assert sorted(m["body"] for m in bodies(sqs, dlq)) == sorted(['{"date": "2026-12-02"}', "not json"])


def test_an_empty_dead_letter_queue_moves_nothing(env):
    result = sio(env, "-o", "json", "redrive", "batch-result")

    assert result.exit_code == 0
    assert json.loads(result.stdout)["messages_before"] == 0


def test_the_message_move_task_is_followed_until_it_ends(sqs, env, monkeypatch):
    sqs.send_message(QueueUrl=env["SIO_ROUTER_DEAD_LETTER_QUEUE_URL"], MessageBody="m")
    answer(
        monkeypatch,
        {
            "StartMessageMoveTask": [(200, {"TaskHandle": "task-1"})],
            "ListMessageMoveTasks": [
                (200, {"Results": [{"Status": "RUNNING"}]}),
                (200, {"Results": [{"Status": "COMPLETED", "ApproximateNumberOfMessagesMoved": 1}]}),
            ],
        },
    )
    slept: list[float] = []

    result = redriving.redrive(resolve_environment(env), "router", sleep=slept.append)

    assert (result.method, result.moved, result.failed, result.ok) == ("message-move-task", 1, 0, True)
    assert result.notes == ["message-move task task-1"]
    assert slept == [1.0]


def test_a_failed_message_move_task_counts_what_it_did_not_move(sqs, env, monkeypatch):
    for n in range(3):
        sqs.send_message(QueueUrl=env["SIO_ROUTER_DEAD_LETTER_QUEUE_URL"], MessageBody=f"m{n}")
    ended = {"Status": "FAILED", "ApproximateNumberOfMessagesMoved": 1, "FailureReason": "AccessDenied"}
    answer(
        monkeypatch,
        {"StartMessageMoveTask": [(200, {"TaskHandle": "t"})], "ListMessageMoveTasks": [(200, {"Results": [ended]})]},
    )

    result = redriving.redrive(resolve_environment(env), "router", sleep=lambda _: None)

    assert (result.moved, result.failed, result.ok) == (1, 2, False)
    assert result.notes[-1] == "task FAILED: AccessDenied"


def test_a_refused_message_move_task_is_an_error_not_a_silent_move_by_hand(sqs, env, monkeypatch):
    sqs.send_message(QueueUrl=env["SIO_ROUTER_DEAD_LETTER_QUEUE_URL"], MessageBody="m")
    refused = {"Error": {"Code": "AccessDenied", "Message": "not allowed"}}
    answer(monkeypatch, {"StartMessageMoveTask": [(403, refused)]})

    result = sio(env, "redrive", "router")

    assert result.exit_code == 2
    assert "sio: error: StartMessageMoveTask refused: AccessDenied: not allowed" in result.stderr
    assert bodies(sqs, env["SIO_ROUTER_QUEUE_URL"]) == []


def test_messages_the_source_queue_refuses_stay_in_the_dead_letter_queue(sqs, env, monkeypatch):
    dlq = env["SIO_ROUTER_DEAD_LETTER_QUEUE_URL"]
    sqs.send_message(QueueUrl=dlq, MessageBody="m")
    unsupported = {"Error": {"Code": "InvalidAction", "Message": "no"}}
    failed = {
        "Successful": [],
        "Failed": [{"Id": "0", "Code": "KmsThrottled", "Message": "slow down", "SenderFault": False}],
    }
    answer(monkeypatch, {"StartMessageMoveTask": [(400, unsupported)], "SendMessageBatch": [(200, failed)]})

    result = sio(env, "-o", "json", "redrive", "router")

    data = json.loads(result.stdout)
    assert result.exit_code == 1
    assert (data["method"], data["moved"], data["failed"]) == ("receive-send-delete", 0, 1)
    assert data["failures"] == [{"message": "0", "error": "slow down"}]
