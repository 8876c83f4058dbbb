"""The local AWS keeps DynamoDB's atomic conditional writes: its DynamoDB requests run one at a time."""

from __future__ import annotations

import threading
import time
from typing import Any

from local.aws.moto_server import atomic_dynamodb


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
