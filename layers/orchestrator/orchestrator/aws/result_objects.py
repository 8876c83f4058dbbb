"""Result objects in S3: does a result exist, and what does a failure body say (bounded)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from orchestrator.aws import manifest
from orchestrator.errors import RetryableError

# Bytes of a failure body kept in a reason: the model's own words, bounded.
FAILURE_EXCERPT_BYTES = 2_048
_ABSENT = frozenset({"404", "NoSuchKey", "NotFound"})


def failure_excerpt(s3: Any, location: str, limit: int = FAILURE_EXCERPT_BYTES) -> str | None:
    """At most ``limit`` bytes of a failure object, as text; None when it does not exist."""
    bucket, key = manifest.split_uri(location)
    body = _unless_absent(
        lambda: s3.get_object(Bucket=bucket, Key=key, Range=f"bytes=0-{limit - 1}")["Body"].read(limit),
        "reading",
        location,
    )
    if body is None:
        return None
    text = body.decode("utf-8", errors="replace").strip()
    return text if len(body) < limit else text + " …"


def exists(s3: Any, location: str) -> bool:
    """HeadObject: True if the object is there, False on 404 (needs s3:ListBucket, else 403)."""
    bucket, key = manifest.split_uri(location)
    return _unless_absent(lambda: s3.head_object(Bucket=bucket, Key=key), "HeadObject", location) is not None


def _unless_absent[T](call: Callable[[], T], doing: str, location: str) -> T | None:
    """``call()``'s answer, None when the object does not exist; any other failure is retryable."""
    try:
        return call()
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in _ABSENT:
            return None
        raise RetryableError(f"{doing} {location} failed: {exc}", {"location": location}) from exc
    except BotoCoreError as exc:
        raise RetryableError(f"{doing} {location} failed: {exc}", {"location": location}) from exc
