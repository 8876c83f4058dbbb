"""Sample events from ``events/`` (the same files ``sam local invoke -e`` uses), and copies of them
changed in one place. Nothing here writes an event by hand: every record starts from a sample."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

EVENTS_DIR = Path(__file__).resolve().parents[2] / "events"

_UNSET: Any = object()


def load_event(name: str) -> dict[str, Any]:
    """A fresh copy of ``events/<name>.json``: callers may mutate it."""
    return json.loads((EVENTS_DIR / f"{name}.json").read_text(encoding="utf-8"))


def sqs_event(*records: dict[str, Any]) -> dict[str, Any]:
    """An SQS event (what Lambda's event source mapping passes) holding ``records``."""
    return {"Records": list(records)}


def body_of(record: dict[str, Any]) -> dict[str, Any]:
    return json.loads(record["body"])


def with_body(record: dict[str, Any], body: dict[str, Any] | str, message_id: str | None = None) -> dict[str, Any]:
    """A copy of an SQS ``record`` carrying ``body`` (a dict is JSON-encoded), optionally renamed."""
    copy = json.loads(json.dumps(record))
    copy["body"] = body if isinstance(body, str) else json.dumps(body)
    if message_id is not None:
        copy["messageId"] = message_id
    return copy


def s3_put_record(
    key: str | None = None,
    *,
    size: int | None = None,
    version_id: str | None = _UNSET,
    sequencer: str | None = _UNSET,
    message_id: str | None = None,
    sample: str = "s3-put",
    bucket: str | None = None,
) -> dict[str, Any]:
    """One SQS record from ``events/<sample>.json`` with its S3 object changed.

    ``key`` is the decoded key; it is encoded the way S3 encodes keys in notifications
    (form encoding: space → ``+``, UTF-8 percent-encoded). ``None`` for version or sequencer
    removes the field.
    """
    record = load_event(sample)["Records"][0]
    body = body_of(record)
    obj = body["Records"][0]["s3"]["object"]
    if bucket is not None:
        body["Records"][0]["s3"]["bucket"]["name"] = bucket
    if key is not None:
        obj["key"] = quote_plus(key, safe="/")
    if size is not None:
        obj["size"] = size
    for field, value in (("versionId", version_id), ("sequencer", sequencer)):
        if value is None:
            obj.pop(field, None)
        elif value is not _UNSET:
            obj[field] = value
    return with_body(record, body, message_id)


def s3_object(record: dict[str, Any]) -> dict[str, Any]:
    """The ``s3`` part of the first S3 record inside an SQS record's body."""
    return body_of(record)["Records"][0]["s3"]


def sagemaker_notification(kind: str, inference_id: str, **changes: Any) -> dict[str, Any]:
    """SageMaker's async notification from ``events/sns-async-<kind>.json`` for ``inference_id``.

    The sample's own id is replaced everywhere it appears (e.g. inside output locations);
    ``changes`` overwrite top-level fields.
    """
    record = load_event(f"sns-async-{kind}")["Records"][0]
    original = body_of(record)["inferenceId"]
    message = json.loads(record["body"].replace(original, inference_id))
    message.update(changes)
    return message


def tracker_record(message: dict[str, Any] | str, message_id: str | None = None) -> dict[str, Any]:
    """An SQS record of the tracker queue (raw SNS delivery) whose body is ``message``."""
    return with_body(load_event("sns-async-success")["Records"][0], message, message_id)


def tracker_event_from(messages: list[dict[str, Any]]) -> dict[str, Any]:
    """The SQS event Lambda would build from messages received (boto3 ``receive_message``)."""
    return sqs_event(*(tracker_record(m["Body"], m["MessageId"]) for m in messages))


def one_message(*records: dict[str, Any]) -> dict[str, Any]:
    """One SQS record whose S3 body holds the S3 records of all ``records`` (S3 may batch them)."""
    s3_records = [s3 for record in records for s3 in body_of(record)["Records"]]
    return with_body(records[0], {"Records": s3_records})
