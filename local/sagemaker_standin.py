"""The SageMaker stand-in's entry point: ``python -m local.sagemaker_standin --config standin.json --port 4567``
(local/stack.py starts it so).

The stand-in lives in ``local/standin/``, one module per concern (its ``__init__`` lists them); this
module keeps the names it had when it was one file.
"""

from __future__ import annotations

import sys

from local.standin.async_endpoints import AsyncRequest, DropRule, Endpoint
from local.standin.core import MB, Clock, iso_ms, join_s3, split_s3
from local.standin.errors import ApiError, validation_error, validation_exception
from local.standin.model import ModelResponse, call_model
from local.standin.server import StandInHandler, StandInServer, main
from local.standin.service import StandIn
from local.standin.sync_endpoints import SyncEndpoint

__all__ = [
    "MB",
    "ApiError",
    "AsyncRequest",
    "Clock",
    "DropRule",
    "Endpoint",
    "ModelResponse",
    "StandIn",
    "StandInHandler",
    "StandInServer",
    "SyncEndpoint",
    "call_model",
    "iso_ms",
    "join_s3",
    "main",
    "split_s3",
    "validation_error",
    "validation_exception",
]

if __name__ == "__main__":
    sys.exit(main())
