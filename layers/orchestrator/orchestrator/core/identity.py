"""Request identity: derived from the S3 object version, never random, so redeliveries collide."""

from __future__ import annotations

import hashlib
import re

from orchestrator.errors import BadEventError

# 32 hex chars = 128 bits: fits InferenceId (<= 64) and leaves room for a job-name prefix (<= 63).
REQUEST_ID_LENGTH = 32
JOB_NAME_PATTERN = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
# The pattern alone admits longer names (dashes are not counted): SageMaker also limits the length.
JOB_NAME_MAX_LENGTH = 63


def request_id(bucket: str, key: str, version_id: str | None, sequencer: str | None) -> str:
    """Hash of bucket, decoded key and version (or sequencer when the bucket has no versioning).

    A re-upload is a new version, hence a new request; a redelivered notification is the same one.
    """
    if version_id:
        revision = f"v:{version_id}"
    elif sequencer:
        revision = f"s:{sequencer}"
    else:
        raise BadEventError(
            "S3 notification carries neither versionId nor sequencer: cannot derive a request id",
            {"bucket": bucket, "key": key},
        )
    digest = hashlib.sha256("\0".join((bucket, key, revision)).encode("utf-8")).hexdigest()
    return digest[:REQUEST_ID_LENGTH]


def looks_like_request_id(text: str) -> bool:
    """Whether ``text`` has the shape of a request id (``sio`` tells an id from an S3 key by it)."""
    return len(text) == REQUEST_ID_LENGTH and all(c in "0123456789abcdef" for c in text)


def job_name(prefix: str, identity: str) -> str:
    """A transform job name for ``identity``; ``ResourceInUse`` on it means "already started"."""
    name = f"{prefix}-{identity}"
    if len(name) > JOB_NAME_MAX_LENGTH:
        raise ValueError(f"transform job name {name!r} is longer than {JOB_NAME_MAX_LENGTH} characters")
    if not JOB_NAME_PATTERN.match(name):
        raise ValueError(f"transform job name {name!r} does not match {JOB_NAME_PATTERN.pattern}")
    return name
