"""The tracker table's items, read from outside the product: what `python -m local.stack` prints and
`local.observe` hands to the demo, the end-to-end tests and the bench. A module of its own so that the
stack and its watchers both use it without importing each other."""

from __future__ import annotations

from typing import Any

from boto3.dynamodb.types import TypeDeserializer

_deserialize = TypeDeserializer().deserialize


def scan_items(dynamodb: Any, table: str) -> list[dict[str, Any]]:
    """Every item of ``table``, consistently read and deserialized, page after page."""
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"TableName": table, "ConsistentRead": True}
    while True:
        page = dynamodb.scan(**kwargs)
        items += [{k: _deserialize(v) for k, v in item.items()} for item in page.get("Items", [])]
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
