"""The AWS side of S3 notifications: moto's lack ``versionId`` and ``sequencer`` and encode ``/`` in
keys. Real S3 sends both for a versioned bucket, so notifications bound for the router are completed
here (from the bucket's versions) before the function sees them."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote_plus, unquote_plus

from botocore.exceptions import BotoCoreError, ClientError


class NotificationCompleter:
    """Adds what moto's S3 notifications lack (``versionId``, ``sequencer``, S3's key encoding and
    identity fields), deterministically, so a redelivered message is completed the same way."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def complete(self, body: str) -> str:
        try:
            payload = json.loads(body)
        except ValueError:
            return body
        records = payload.get("Records") if isinstance(payload, dict) else None
        if not isinstance(records, list):
            return body
        changed = False
        for record in records:
            if not isinstance(record, dict) or record.get("eventSource") != "aws:s3" or "s3" not in record:
                continue
            obj = record["s3"].get("object", {})
            if "versionId" in obj and "sequencer" in obj:
                continue
            changed = True
            bucket = record["s3"]["bucket"]["name"]
            key = unquote_plus(obj["key"])
            obj["key"] = quote_plus(key, safe="/")
            version = self._version(bucket, key, obj.get("eTag"), record.get("eventTime", ""))
            if version:
                obj["versionId"] = version
            obj["sequencer"] = _sequencer(record.get("eventTime", ""), key)
            record.setdefault("userIdentity", {"principalId": "AWS:AIDALOCALSTACKUSER"})
            record.setdefault("requestParameters", {"sourceIPAddress": "127.0.0.1"})
            record.setdefault(
                "responseElements",
                {"x-amz-request-id": obj.get("eTag", "")[:16].upper(), "x-amz-id-2": "local"},
            )
            record["s3"]["bucket"].setdefault("ownerIdentity", {"principalId": "A3LOCALSTACKOWNER"})
        return json.dumps(payload) if changed else body

    def _version(self, bucket: str, key: str, etag: str | None, event_time: str) -> str | None:
        """The version the notification is about: the newest one with its ETag created by then.

        Usually the current version (one HeadObject); when the key was overwritten or deleted since,
        the bucket's version list (slower in moto: it walks the whole bucket)."""
        cutoff = _parse_time(event_time)
        try:
            head = self.client.head_object(Bucket=bucket, Key=key)
            if (not etag or head["ETag"].strip('"') == etag) and (cutoff is None or head["LastModified"] <= cutoff):
                return str(head["VersionId"]) if head.get("VersionId") else None
        except (ClientError, BotoCoreError):
            pass
        try:
            response = self.client.list_object_versions(Bucket=bucket, Prefix=key)
        except (ClientError, BotoCoreError):
            return None
        for version in response.get("Versions", []):  # newest first
            if version["Key"] != key or (etag and version["ETag"].strip('"') != etag):
                continue
            if cutoff is None or version["LastModified"] <= cutoff:
                return str(version["VersionId"])
        return None


def _parse_time(value: str) -> datetime | None:
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _sequencer(event_time: str, key: str) -> str:
    moment = _parse_time(event_time) or datetime.now(UTC)
    tail = hashlib.sha256(key.encode()).hexdigest()[:2].upper()
    return f"{int(moment.timestamp() * 1000):016X}{tail}"
