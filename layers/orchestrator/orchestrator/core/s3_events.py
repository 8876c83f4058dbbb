"""S3 event notifications as they arrive in an SQS message body (docs/architecture.md §7.1)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

from orchestrator.core.payloads import json_object
from orchestrator.errors import BadEventError


@dataclass(frozen=True)
class ObjectCreated:
    """One S3 ObjectCreated record, the parts the product reads."""

    bucket: str
    key: str  # decoded
    size: int
    etag: str | None
    version_id: str | None
    sequencer: str | None
    event_name: str
    event_time: str

    @property
    def is_folder_marker(self) -> bool:
        """What the console's "Create folder" writes: an empty object whose key ends with ``/``.
        A key ending with ``/`` that has content is a file like any other (and will be SKIPPED)."""
        return self.key.endswith("/") and self.size == 0

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


def parse_body(body: str) -> list[ObjectCreated]:
    """Every ObjectCreated record of one SQS body; ``[]`` for S3's test event.

    Raises ``BadEventError`` naming the problem for anything else: such a record cannot be scored
    and retrying will not change it, so it belongs in the DLQ with the reason in the logs.
    """
    payload = json_object(body, "SQS body")
    if payload.get("Event") == "s3:TestEvent":
        return []
    records = payload.get("Records")
    if not isinstance(records, list) or not records:
        raise BadEventError("SQS body has no S3 'Records' list", {"keys": sorted(payload)})
    return [_parse_record(record, index) for index, record in enumerate(records)]


def _parse_record(record: Any, index: int) -> ObjectCreated:
    try:
        version = str(record.get("eventVersion", ""))
        if not version.startswith("2."):
            raise BadEventError(f"record {index}: unsupported eventVersion {version!r} (expected 2.x)")
        event_name = record["eventName"]
        if not event_name.startswith("ObjectCreated:"):
            raise BadEventError(f"record {index}: {event_name!r} is not an ObjectCreated event")
        s3 = record["s3"]
        obj = s3["object"]
        return ObjectCreated(
            bucket=s3["bucket"]["name"],
            key=unquote_plus(obj["key"]),
            size=int(obj.get("size", 0)),
            etag=obj.get("eTag"),
            version_id=obj.get("versionId") or None,
            sequencer=obj.get("sequencer") or None,
            event_name=event_name,
            event_time=record.get("eventTime", ""),
        )
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        raise BadEventError(f"record {index}: malformed S3 record ({exc!r})") from exc
