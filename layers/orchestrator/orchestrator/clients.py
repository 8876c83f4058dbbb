"""boto3 clients with settings that fit Lambda: standard retries, explicit timeouts (DESIGN §6.4).

Endpoints come from the standard ``AWS_ENDPOINT_URL`` / ``AWS_ENDPOINT_URL_<SERVICE>`` variables
(botocore reads them; an empty value counts as unset), so no code here knows about local stacks.
"""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config

# total_max_attempts counts the first try: 3 = one call plus two retries, with jittered backoff.
_RETRIES = {"mode": "standard", "total_max_attempts": 3}


def client(service: str, *, read_timeout: float = 10.0, attempts: int = 3, session: boto3.Session | None = None) -> Any:
    retries = _RETRIES if attempts == 3 else {**_RETRIES, "total_max_attempts": attempts}
    config = Config(retries=retries, connect_timeout=3, read_timeout=read_timeout)  # type: ignore[arg-type]
    return (session or boto3).client(service, config=config)  # type: ignore[call-overload]
