"""The stand-in's error answers. Validation errors carry the codes the real services use:
``ValidationError`` (runtime), ``ValidationException`` / ``ResourceInUse`` (control plane).

The HTTP surface (server.py) renders an ``ApiError`` in the protocol of the call: REST-JSON with
``x-amzn-ErrorType`` for ``sagemaker-runtime``, JSON 1.1 with ``__type`` for ``sagemaker``.
"""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, extra: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.extra = extra or {}


def validation_error(message: str) -> ApiError:  # sagemaker-runtime
    return ApiError(400, "ValidationError", message)


def validation_exception(message: str) -> ApiError:  # sagemaker control plane
    return ApiError(400, "ValidationException", message)
