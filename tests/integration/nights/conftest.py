"""Fixtures the nightly tests share: batch configured, the transform stand-in, the two functions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.support.lambda_runtime import invoker
from tests.support.sagemaker import SageMakerStandIn, transform_jobs


@pytest.fixture(autouse=True)
def _batch_configured(batch_configured: None) -> None:
    """Every night needs batch transform configured."""


@pytest.fixture
def transform(interceptor) -> SageMakerStandIn:
    return transform_jobs().attach(interceptor)


@pytest.fixture
def nightly(stack, transform, calls, clock) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """One invocation of the nightly function."""
    return invoker("nightly")


@pytest.fixture
def finish(stack, transform, calls, clock) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """One invocation of the batch-result function."""
    return invoker("batch_result")


@pytest.fixture
def s3(aws) -> Any:
    return aws.client("s3")
