"""The package's exceptions. Each carries a message and structured details for the logs."""

from __future__ import annotations

from typing import Any


class OrchestratorError(Exception):
    """Base class: a message plus details that are logged as structured fields."""

    def __init__(self, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}


class ConfigError(OrchestratorError):
    """A setting is missing or malformed; names the variable."""


class BadEventError(OrchestratorError):
    """An event or message cannot be parsed. Not retryable: the record goes to the DLQ."""


class UnknownRequestError(OrchestratorError):
    """A result names a request the tracker has never seen. The record goes to the DLQ."""


class RetryableError(OrchestratorError):
    """A transient AWS failure (throttling, 5xx) left after the client's own retries."""


class InvocationRejectedError(OrchestratorError):
    """SageMaker rejected the request itself (ValidationError): retrying cannot help."""


class AmbiguousInvocationError(OrchestratorError):
    """A call that starts work on a model may have reached SageMaker (a read timeout, a 5xx after the
    request was sent): sending it again could score the file twice, so it is never repeated."""
