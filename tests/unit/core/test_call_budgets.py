"""One source for time: the clients are built from the same per-call budgets the functions' time
budgets and the template's timeouts are computed from (orchestrator/core/budgets.py)."""

from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError, ConnectTimeoutError, EndpointConnectionError, ReadTimeoutError
from orchestrator import wiring
from orchestrator.aws import clients, sagemaker_runtime
from orchestrator.core import budgets
from orchestrator.errors import AmbiguousInvocationError

from tests.support.wiring import reset_wiring


@pytest.fixture
def session() -> boto3.Session:
    return boto3.Session(region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")


def _config(client):
    config = client.meta.config
    return config.connect_timeout, config.read_timeout, config.retries["total_max_attempts"]


def test_a_client_takes_its_timeouts_and_attempts_from_its_budget(session):
    budget = budgets.CallBudget(connect_timeout=2, read_timeout=7, attempts=4)
    assert _config(clients.client("dynamodb", budget, session=session)) == (2, 7, 4)
    assert _config(clients.client("sagemaker-runtime", budget, retried=False, session=session)) == (2, 7, 1)


def test_the_router_builds_its_clients_from_the_budget_its_time_budget_assumes(monkeypatch):
    """The router starts a record only with record_budget_ms() left: that figure is computed from
    ROUTER_CALL, so every client the router calls must be built with exactly ROUTER_CALL (the model call
    with one attempt per call: the invoker repeats only refusals, within the same attempts)."""
    for name, value in {
        "TRACKER_TABLE": "t",
        "SUCCESS_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:s",
        "ERROR_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:e",
        "ASYNC_ENDPOINT_NAME": "e",
        "READ_OBJECT_METADATA": "true",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    reset_wiring()
    try:
        router = wiring.router()
        budget = budgets.ROUTER_CALL
        expected = (budget.connect_timeout, budget.read_timeout, budget.attempts)
        assert _config(router.tracker._client) == expected
        assert _config(router.publisher._client) == expected
        assert _config(router.s3) == expected
        invoke = router.invoker._client
        assert _config(invoke) == (budget.connect_timeout, budget.read_timeout, 1)
        assert router.invoker._attempts == budget.attempts
    finally:
        reset_wiring()


def _client_error(code: str, status: int) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": code}, "ResponseMetadata": {"HTTPStatusCode": status}}, "Op")


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (_client_error("ThrottlingException", 400), "refused"),
        (_client_error("ModelNotReadyException", 429), "refused"),
        (EndpointConnectionError(endpoint_url="https://x"), "refused"),
        (ConnectTimeoutError(endpoint_url="https://x"), "refused"),
        (ReadTimeoutError(endpoint_url="https://x"), "ambiguous"),
        (_client_error("ServiceUnavailable", 503), "ambiguous"),
        (_client_error("InternalFailure", 500), "ambiguous"),
        (_client_error("ModelError", 424), "answered"),
        (_client_error("ValidationError", 400), "answered"),
        (_client_error("AccessDeniedException", 400), "answered"),
    ],
)
def test_only_a_provable_refusal_is_sent_again(error, kind):
    """Refused: repeated up to the attempts, then raised as is. Ambiguous: raised at once as
    AmbiguousInvocationError. Answered (the model's or SageMaker's definite answer): raised at once."""
    calls: list[int] = []
    slept: list[float] = []

    def call() -> None:
        calls.append(1)
        raise error

    expected = AmbiguousInvocationError if kind == "ambiguous" else type(error)
    with pytest.raises(expected):
        sagemaker_runtime.send_once(call, operation="Invoke", endpoint_name="e", attempts=3, sleep=slept.append)
    assert len(calls) == (3 if kind == "refused" else 1)
    assert len(slept) == (2 if kind == "refused" else 0)
    assert all(0 <= s <= budgets.backoff_seconds(n + 1) for n, s in enumerate(slept))


def test_the_scorers_timeout_holds_one_file_at_its_clients_budgets():
    """The template's scorer Timeout (240 s) is checked against this figure in tests/template."""
    worst = budgets.SCORER_INVOKE.worst_case_seconds + 5 * budgets.CONTROL_CALL.worst_case_seconds
    assert budgets.scorer_min_function_timeout_seconds() == worst + budgets.MARGIN_SECONDS
