"""The scorer queue's backlog, the fact a spill rule decides on (README "Which mode a file gets").

Read with one ``GetQueueAttributes`` at most once per ``SPILLOVER_CHECK_SECONDS`` per router
environment, and only when a spill rule matched a file: a burst of thousands of files costs a call
every few seconds, and the async happy path none. The depth counts messages waiting and in flight
(received, not yet deleted): both are ahead of a new file. SQS reports no age of the oldest message
here (only the CloudWatch metric ``ApproximateAgeOfOldestMessage``, per minute and minutes late), so
a spill bound is a depth.

A failed read is remembered for the same window (a struggling SQS is not asked once per file) and
routing goes on without spilling, saying so in the reason; it never fails a file.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from orchestrator.core.routing import Backlog
from orchestrator.observability import logger

DEPTH_ATTRIBUTES = ("ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible")


def monotonic() -> float:
    """Seconds on a clock that never goes back (a module function, so a test can move it)."""
    return time.monotonic()


class ScorerBacklog:
    """``backlog()`` → :class:`Backlog`, read again once ``ttl_seconds`` have passed since the last read."""

    def __init__(self, sqs: Any, queue_url: str, ttl_seconds: float, clock: Callable[[], float] | None = None) -> None:
        self.sqs = sqs
        self.queue_url = queue_url
        self.ttl_seconds = ttl_seconds
        self._clock = clock or (lambda: monotonic())
        self._seen: Backlog | None = None
        self._read_at = 0.0

    def __call__(self) -> Backlog:
        now = self._clock()
        if self._seen is None or now - self._read_at >= self.ttl_seconds:
            self._seen, self._read_at = self._read(), now
        return self._seen

    def _read(self) -> Backlog:
        try:
            attributes = self.sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=list(DEPTH_ATTRIBUTES))
            depth = sum(int(attributes["Attributes"][name]) for name in DEPTH_ATTRIBUTES)
        except (ClientError, BotoCoreError) as exc:
            code = getattr(exc, "response", {}).get("Error", {}).get("Code") or type(exc).__name__
            problem = f"GetQueueAttributes failed: {code}"
        except (KeyError, ValueError, TypeError) as exc:
            problem = f"GetQueueAttributes answered without a depth ({exc!r})"
        else:
            return Backlog(depth)
        logger.warning("scorer queue backlog unknown: files are not spilled", extra={"reason": problem})
        return Backlog(None, problem)
