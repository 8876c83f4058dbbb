"""What a trigger needs from the runner that plays it (``local.runner.Runner``), and what an
asynchronous invocation reports to (the runner, or the console for a schedule run on demand)."""

from __future__ import annotations

import threading
from typing import Any, Protocol

from local.aws.state import StackState
from local.triggers.s3_notifications import NotificationCompleter


class Reporter(Protocol):
    def client(self, service: str) -> Any: ...

    def log(self, text: str) -> None: ...

    def count(self, function: str, succeeded: int, failed: int) -> None: ...


class RunnerContext(Reporter, Protocol):
    state: StackState
    stopping: threading.Event
    completer: NotificationCompleter
