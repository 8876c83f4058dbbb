"""Result objects in S3: does a result exist, and what does a failure body say (bounded)."""

from __future__ import annotations

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
    try:
        body = s3.get_object(Bucket=bucket, Key=key, Range=f"bytes=0-{limit - 1}")["Body"].read(limit)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in _ABSENT:
            return None
        raise RetryableError(f"reading {location} failed: {exc}", {"location": location}) from exc
    except BotoCoreError as exc:
        raise RetryableError(f"reading {location} failed: {exc}", {"location": location}) from exc
    text = body.decode("utf-8", errors="replace").strip()
    return text if len(body) < limit else text + " …"


def exists(s3: Any, location: str) -> bool:
    """HeadObject: True if the object is there, False on 404 (needs s3:ListBucket, else 403)."""
    bucket, key = manifest.split_uri(location)
    try:
        s3.head_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in _ABSENT:
            return False
        raise RetryableError(f"HeadObject {location} failed: {exc}", {"location": location}) from exc
    except BotoCoreError as exc:
        raise RetryableError(f"HeadObject {location} failed: {exc}", {"location": location}) from exc
    return True
