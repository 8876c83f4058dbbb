"""boto3 clients built from the call budgets of ``core/budgets.py``: explicit timeouts, standard retries.

Endpoints come from the standard ``AWS_ENDPOINT_URL`` / ``AWS_ENDPOINT_URL_<SERVICE>`` variables
(botocore reads them; an empty value counts as unset), so no code here knows about local stacks.
"""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config

from orchestrator.core.budgets import CONTROL_CALL, CallBudget


def client(
    service: str,
    budget: CallBudget = CONTROL_CALL,
    *,
    retried: bool = True,
    session: boto3.Session | None = None,
) -> Any:
    """A client whose every call stays within ``budget``. ``retried=False``: one attempt per call,
    for calls that start work on a model: the caller decides what may be sent again (sagemaker.py)."""
    attempts = budget.attempts if retried else 1
    config = Config(
        retries={"mode": "standard", "total_max_attempts": attempts},
        connect_timeout=budget.connect_timeout,
        read_timeout=budget.read_timeout,
    )
    return (session or boto3).client(service, config=config)  # type: ignore[call-overload]
