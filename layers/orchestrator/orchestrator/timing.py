"""The router's coupled time numbers, derived in one place (DESIGN §6.4).

A record can need up to :data:`RECORD_CALLS` AWS calls (HeadObject when metadata is read, claim,
manifest, CreateTransformJob, DescribeTransformJob on ``ResourceInUse``, confirm), each bounded by
its client's budget: attempts x (connect + read timeout) + the standard retry mode's backoff. So:

- the router starts a record only while the time left exceeds :func:`record_budget_ms`, and hands
  the rest back as batch item failures (they come back and stop at their claim if already done);
- the function's ``Timeout`` must hold one whole record after the last start (template mapping
  ``RouterTiming``; ``tests/template`` checks every relation below on the translated template);
- the claim outlives one invocation (a running claim is never taken over) and expires before the
  queue's visibility timeout (the retry finds it expired);
- the visibility timeout is at least 6 x the function timeout (Lambda's advice for SQS sources).
"""

from __future__ import annotations

from dataclasses import dataclass

# botocore standard retry mode: delay before retry n is at most min(20, 2 ** (n - 1)) seconds.
_MAX_BACKOFF_SECONDS = 20


@dataclass(frozen=True)
class CallBudget:
    connect_timeout: float
    read_timeout: float
    attempts: int  # total_max_attempts: the first try included

    @property
    def worst_case_seconds(self) -> float:
        backoff = sum(min(_MAX_BACKOFF_SECONDS, 2 ** (n - 1)) for n in range(1, self.attempts))
        return self.attempts * (self.connect_timeout + self.read_timeout) + backoff


# The router's clients (DynamoDB, SageMaker, SNS, S3): control-plane calls that answer in
# milliseconds; a read timeout of seconds only matters when AWS is in trouble.
ROUTER_CALL = CallBudget(connect_timeout=1, read_timeout=4, attempts=3)
RECORD_CALLS = 6
# Logging and the partial-batch response after the last record.
MARGIN_SECONDS = 5


def record_budget_ms(call: CallBudget = ROUTER_CALL, calls: int = RECORD_CALLS) -> int:
    """What one record can need, at worst: below this much time left, the router starts no record."""
    return int(calls * call.worst_case_seconds * 1000)


def min_function_timeout_seconds(call: CallBudget = ROUTER_CALL, calls: int = RECORD_CALLS) -> float:
    return calls * call.worst_case_seconds + MARGIN_SECONDS
