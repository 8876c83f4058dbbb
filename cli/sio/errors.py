"""sio's exceptions: a message for the user, structured details, and the exit status they mean."""

from __future__ import annotations

from typing import Any

# Exit statuses scripts can use (the README's "Using it" lists them).
OK = 0
FAILED = 1  # the command ran, and what it reports failed (a file FAILED, a function error, …)
USAGE = 2  # bad arguments, or the stack cannot be found or reached
TIMED_OUT = 3  # --timeout ran out before every file was terminal
INTERRUPTED = 130  # Ctrl-C


class SioError(Exception):
    """Something the user must fix; ``message`` says what, ``details`` carry the facts."""

    exit_code = USAGE

    def __init__(self, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}


class StackError(SioError):
    """The stack cannot be resolved: no credentials, no such stack, not complete, not running,
    or an output a command needs is missing."""


class CommandFailed(SioError):
    """The command ran but its outcome is a failure (a function error, a failed move)."""

    exit_code = FAILED
