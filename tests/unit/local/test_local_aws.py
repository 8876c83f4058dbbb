"""The local AWS keeps DynamoDB's atomic conditional writes (its DynamoDB requests run one at a time),
keeps connections alive, answers what botocore sends, and stops at once."""

from __future__ import annotations

import contextlib
import http.client
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from local.aws.clients import client_factory
from local.aws.moto_server import _logged, atomic_dynamodb
from local.loopback import HOST, free_port, wait_for_http


class SlowApp:
    """A WSGI app that notes how many requests it handles at once."""

    def __init__(self) -> None:
        self.inside = 0
        self.most = 0
        self.lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        with self.lock:
            self.inside += 1
            self.most = max(self.most, self.inside)
        time.sleep(0.05)  # a condition check, then a write
        with self.lock:
            self.inside -= 1
        start_response("200 OK", [])
        return [b"{}"]


def _concurrently(app: Any, target: str, calls: int = 4) -> list[Any]:
    answers: list[Any] = []
    threads = [
        threading.Thread(target=lambda: answers.append(app({"HTTP_X_AMZ_TARGET": target}, lambda *a: None)))
        for _ in range(calls)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def test_dynamodb_requests_run_one_at_a_time_and_others_do_not_wait():
    """Given four concurrent DynamoDB requests, then the app never handles two at once; given four
    concurrent requests of another service, then they overlap (only DynamoDB is serialized)."""
    inner = SlowApp()
    app = atomic_dynamodb(inner)

    answers = _concurrently(app, "DynamoDB_20120810.UpdateItem")
    assert inner.most == 1
    assert answers == [[b"{}"]] * 4

    _concurrently(app, "AmazonSQS.ReceiveMessage")
    assert inner.most > 1


def test_the_profile_counts_each_action_and_leaves_the_answers_alone(tmp_path: Any) -> None:
    """Given requests of three kinds through a profiled server, then its file lists each action with
    its number of requests, and each request got the app's answer."""
    from local.aws.moto_server import Profile

    path = tmp_path / "moto.profile"
    profile = Profile(str(path), calls=False)
    app = profile.tally(lambda environ, start_response: [b"{}"])
    requests = [
        {"HTTP_X_AMZ_TARGET": "DynamoDB_20120810.UpdateItem"},
        {"HTTP_X_AMZ_TARGET": "DynamoDB_20120810.UpdateItem"},
        {"QUERY_STRING": "Action=Publish&Version=2010-03-31"},
        {
            "REQUEST_METHOD": "PUT",
            "HTTP_AUTHORIZATION": "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/s3/aws4_request",
        },
    ]
    answers = [app(environ, lambda *a: None) for environ in requests]
    profile.dump()
    assert answers == [[b"{}"]] * 4
    counts = {line.rsplit(None, 4)[0]: int(line.rsplit(None, 4)[1]) for line in path.read_text().splitlines()[1:]}
    assert counts == {"DynamoDB_20120810.UpdateItem": 2, "Publish": 1, "s3 PUT": 1}
    assert not (tmp_path / "moto.profile.pstats").exists()  # cProfile only when asked for


def test_verbose_logs_each_request_s_action_and_status(caplog: pytest.LogCaptureFixture) -> None:
    """``--verbose``: a line per request naming its action and status, the answer passed on unchanged."""
    app = _logged(lambda environ, start_response: start_response("400 Bad Request", []) or [b"{}"])
    with caplog.at_level("INFO", logger="local.aws"):
        answer = app({"HTTP_X_AMZ_TARGET": "DynamoDB_20120810.PutItem"}, lambda *a: None)
    assert answer == [b"{}"]
    assert [r.getMessage() for r in caplog.records if r.name == "local.aws"] == [
        "DynamoDB_20120810.PutItem 400 Bad Request"
    ]


@pytest.fixture
def moto_server() -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """``python -m local.aws`` on a free loopback port, as the local stack starts it."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "local.aws", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://{HOST}:{port}"
    try:
        wait_for_http(f"{url}/moto-api/", 30, process)
        yield url, process
    finally:
        process.kill()
        process.wait()


def _client(url: str, service: str) -> Any:
    return client_factory(url, "us-east-1")(service)


def test_the_server_keeps_connections_alive(moto_server: tuple[str, Any]) -> None:
    """Given two requests on one connection, then the second goes over the first one's socket: moto's own
    development server closed every connection, a TCP handshake and a server thread per AWS call."""
    url, _ = moto_server
    connection = http.client.HTTPConnection(url.removeprefix("http://"), timeout=5)
    sockets = []
    for _ in range(2):
        connection.request("GET", "/moto-api/")
        response = connection.getresponse()
        response.read()
        assert response.status == 200 and response.getheader("Connection", "").lower() != "close"
        sockets.append(connection.sock)
    assert sockets[0] is not None and sockets[0] is sockets[1]


def test_an_empty_put_object_is_answered(moto_server: tuple[str, Any]) -> None:
    """botocore sends an empty ``PutObject`` with ``Expect: 100-continue``: the server answers it (an
    empty file is a product case, skipped and announced), and the object reads back empty."""
    s3 = _client(moto_server[0], "s3")
    s3.create_bucket(Bucket="local-aws-test")
    s3.put_object(Bucket="local-aws-test", Key="empty.csv", Body=b"")
    assert s3.get_object(Bucket="local-aws-test", Key="empty.csv")["Body"].read() == b""


# Keys whose path the server must not decode twice (the first is in tests/integration/test_router.py).
KEYS = ["incoming/100%25 off.csv", "incoming/what?.csv", "incoming/d/e%2Ff.csv", "incoming/a+b c.csv", "incoming/ü.csv"]


def test_object_keys_are_stored_as_sent(moto_server: tuple[str, Any]) -> None:
    """Each key reads back under its own name, listed as it was put: moto reads the path as sent
    (``RAW_URI``); from the decoded one, S3 would decode ``%25`` twice and cut the key at ``?``."""
    s3 = _client(moto_server[0], "s3")
    s3.create_bucket(Bucket="local-aws-keys")
    for key in KEYS:
        s3.put_object(Bucket="local-aws-keys", Key=key, Body=key.encode())
    listed = [entry["Key"] for entry in s3.list_objects_v2(Bucket="local-aws-keys")["Contents"]]
    assert sorted(listed) == sorted(KEYS)
    assert [s3.get_object(Bucket="local-aws-keys", Key=key)["Body"].read() for key in KEYS] == [
        k.encode() for k in KEYS
    ]


def test_the_server_stops_without_waiting_for_a_long_poll(moto_server: tuple[str, Any]) -> None:
    """Given a 20 s long poll under way, then SIGTERM ends the server at once (the stack stops quickly)."""
    url, process = moto_server
    sqs = _client(url, "sqs")
    queue = sqs.create_queue(QueueName="local-aws-test")["QueueUrl"]
    threading.Thread(
        target=lambda: _ignore(lambda: sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=20)), daemon=True
    ).start()
    time.sleep(0.5)  # the receive is waiting in the server
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=10) == 0


def _ignore(call: Any) -> None:
    with contextlib.suppress(Exception):
        call()
