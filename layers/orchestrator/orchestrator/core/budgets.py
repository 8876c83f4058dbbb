"""The functions' coupled time numbers, derived in one place (docs: README "The terminal-status promise").

Every boto3 client is built from a :class:`CallBudget` here (``clients.client``), so the time the
code budgets for a call is the time the client can really take. A router record can need up to
:data:`RECORD_CALLS` AWS calls (HeadObject when metadata is read, claim, manifest,
CreateTransformJob, DescribeTransformJob on ``ResourceInUse``, confirm; a spill rule's file, which
never becomes a job: HeadObject, GetQueueAttributes, claim, a takeover's reroute, hand-off or invoke,
confirm), each bounded by :attr:`CallBudget.worst_case_seconds`: attempts x (connect + read timeout)
+ the backoff. So:

- the router starts a record only while the time left exceeds :func:`record_budget_ms`, and hands
  the rest back as batch item failures (they come back and stop at their claim if already done);
- the function's ``Timeout`` must hold one whole record after the last start (template mapping
  ``Timing``; ``tests/template`` checks every relation below on the translated template);
- the claim outlives one invocation (a running claim is never taken over) and expires before the
  queue's visibility timeout (the retry finds it expired);
- the visibility timeout is at least 6 x the function timeout (Lambda's advice for SQS sources).

Calls that start work on a model (``InvokeEndpointAsync``, ``InvokeEndpoint``) are never retried by
the client: their clients make one attempt each, and ``sagemaker.py`` repeats only a call SageMaker
provably did not take (throttled, refused, never connected), within the same budget.
"""

from __future__ import annotations

from dataclasses import dataclass

# botocore standard retry mode: delay before retry n is at most min(20, 2 ** (n - 1)) seconds.
MAX_BACKOFF_SECONDS = 20


def backoff_seconds(retry: int) -> float:
    """The longest wait before retry number ``retry`` (1-based), as botocore's standard mode."""
    return float(min(MAX_BACKOFF_SECONDS, 2 ** (retry - 1)))


@dataclass(frozen=True)
class CallBudget:
    """One AWS call's timeouts and attempts, and the longest it can take in all."""

    connect_timeout: float
    read_timeout: float
    attempts: int  # total_max_attempts: the first try included

    @property
    def worst_case_seconds(self) -> float:
        backoff = sum(backoff_seconds(n) for n in range(1, self.attempts))
        return self.attempts * (self.connect_timeout + self.read_timeout) + backoff


# Control-plane calls (DynamoDB, SNS, SQS, S3, InvokeEndpointAsync, CreateTransformJob) answer in
# milliseconds; a read timeout of seconds only matters when AWS is in trouble.
CONTROL_CALL = CallBudget(connect_timeout=1, read_timeout=4, attempts=3)
ROUTER_CALL = CONTROL_CALL
RECORD_CALLS = 6
# Logging and the partial-batch response after the last record.
MARGIN_SECONDS = 5

# The scorer: a container answers InvokeEndpoint within 60 s; 65 s of read timeout leaves it room.
# One file is claim, GetObject, InvokeEndpoint, PutObject, Publish, confirm.
SCORER_INVOKE = CallBudget(connect_timeout=1, read_timeout=65, attempts=2)
SCORER_OTHER_CALLS = 5


def record_budget_ms(call: CallBudget = ROUTER_CALL, calls: int = RECORD_CALLS) -> int:
    """What one record can need, at worst: below this much time left, the router starts no record."""
    return int(calls * call.worst_case_seconds * 1000)


def min_function_timeout_seconds(call: CallBudget = ROUTER_CALL, calls: int = RECORD_CALLS) -> float:
    return calls * call.worst_case_seconds + MARGIN_SECONDS


def scorer_min_function_timeout_seconds() -> float:
    """One file at worst: the model call and the five others, each at its client's budget."""
    return SCORER_INVOKE.worst_case_seconds + SCORER_OTHER_CALLS * CONTROL_CALL.worst_case_seconds + MARGIN_SECONDS
