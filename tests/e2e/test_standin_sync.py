"""The stand-in's synchronous endpoints (local/sagemaker_standin.py), against the e2e stack's demo model:
payload limits, the serverless cold start after idle, and ThrottlingException above MaxConcurrency."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from local.sagemaker_standin import MB, ApiError, StandIn

ROW = b"1,2,3\n"


@pytest.fixture
def standin(stack: Any) -> StandIn:
    state = stack.state
    return StandIn(
        {
            "region": state.region,
            "account_id": state.account_id,
            "aws_endpoint": state.aws_endpoint,
            "model_url": state.model_url,
            "sync_endpoints": {
                "rt": {"kind": "realtime"},
                "sl": {"kind": "serverless", "max_concurrency": 2, "cold_start_seconds": 0.5, "idle_seconds": 0.2},
            },
        }
    )


HEADERS = {"content-type": "text/csv"}


@pytest.mark.parametrize(("name", "limit"), [("rt", 6 * MB), ("sl", 4 * MB)])
def test_a_payload_over_the_limit_is_a_validation_error(standin: StandIn, name: str, limit: int) -> None:
    with pytest.raises(ApiError) as caught:
        standin.invoke(name, b"x" * (limit + 1), HEADERS)
    assert (caught.value.status, caught.value.code) == (400, "ValidationError")
    assert str(limit) in caught.value.message


def test_serverless_is_cold_after_idle_and_warm_right_after(standin: StandIn) -> None:
    started = time.monotonic()
    standin.invoke("sl", ROW, HEADERS)
    cold = time.monotonic() - started
    started = time.monotonic()
    standin.invoke("sl", ROW, HEADERS)
    warm = time.monotonic() - started
    assert cold >= 0.5 > warm
    assert [h["coldStart"] for h in standin.history if h.get("endpoint") == "sl"] == [True, False]


def test_serverless_throttles_above_max_concurrency(standin: StandIn) -> None:
    outcomes: list[str] = []

    def call() -> None:
        try:
            standin.invoke("sl", ROW, HEADERS)
            outcomes.append("ok")
        except ApiError as error:
            outcomes.append(error.code)

    threads = [threading.Thread(target=call) for _ in range(3)]
    for thread in threads:  # all three arrive during the 0.5 s cold start of the first two
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["ThrottlingException", "ok", "ok"]


def test_a_model_4xx_is_a_model_error_with_the_documented_fields(standin: StandIn) -> None:
    with pytest.raises(ApiError) as caught:
        standin.invoke("rt", b"1,two,3\n", HEADERS)
    assert (caught.value.status, caught.value.code) == (424, "ModelError")
    assert caught.value.extra["OriginalStatusCode"] == 400
    assert {"OriginalMessage", "LogStreamArn"} <= set(caught.value.extra)
