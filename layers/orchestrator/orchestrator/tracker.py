"""DynamoDB adapter for the tracker table (DESIGN §3, §4). Nothing else touches DynamoDB.

Every write is one conditional call: the claim (put), the confirmation (update from RECEIVED), and
an outcome (update only if it moves the status forward). Rank is stored so DynamoDB can compare.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from orchestrator import timeutil
from orchestrator.errors import RetryableError, UnknownRequestError
from orchestrator.status import Status, rank

_serialize = TypeSerializer().serialize
_deserialize = TypeDeserializer().deserialize


def _to_item(values: dict[str, Any]) -> dict[str, Any]:
    return {name: _serialize(value) for name, value in values.items() if value is not None}


def _from_item(item: dict[str, Any] | None) -> dict[str, Any] | None:
    return None if item is None else {name: _deserialize(value) for name, value in item.items()}


def _conditional_failure(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


@dataclass(frozen=True)
class OutcomeApplied:
    applied: bool  # False: stale or duplicate, acknowledged and ignored
    item: dict[str, Any]  # the item after the write (applied) or as it stood (not applied)


class Tracker:
    def __init__(
        self,
        table_name: str,
        client: Any,
        *,
        retention_days: int = 90,
        clock: Callable[[], datetime] = timeutil.now,
    ) -> None:
        self.table_name = table_name
        self._client = client
        self._retention = timedelta(days=retention_days)
        self._clock = clock

    def claim(self, request_id: str, fields: dict[str, Any], claim_timeout_seconds: int) -> bool:
        """Create the item in RECEIVED, or take over a claim that expired (a crash before confirm).

        Returns False when another delivery holds or finished this request: a duplicate.
        """
        moment = self._clock()
        stamp = timeutil.iso(moment)
        item = {
            **fields,
            "request_id": request_id,
            "status": Status.RECEIVED.value,
            "status_rank": rank(Status.RECEIVED),
            "status_since": stamp,
            "created_at": stamp,
            "updated_at": stamp,
            "claim_expires_at": int(moment.timestamp()) + claim_timeout_seconds,
            "expires_at": int((moment + self._retention).timestamp()),
        }
        try:
            self._client.put_item(
                TableName=self.table_name,
                Item=_to_item(item),
                ConditionExpression=(
                    "attribute_not_exists(request_id) OR (#status = :received AND claim_expires_at < :now)"
                ),
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":received": {"S": Status.RECEIVED.value},
                    ":now": {"N": str(int(moment.timestamp()))},
                },
            )
        except ClientError as exc:
            if _conditional_failure(exc):
                return False
            raise _translate(exc, "claim", request_id) from exc
        return True

    def confirm(self, request_id: str, status: Status, fields: dict[str, Any]) -> bool:
        """Move a claimed item from RECEIVED to ``status``. False if something already moved it."""
        return self._advance(request_id, status, fields, condition="#status = :received")

    def _advance(self, request_id: str, status: Status, fields: dict[str, Any], *, condition: str) -> bool:
        names, values, assignments = self._set_clause(status, fields)
        names["#status"] = "status"
        values[":received"] = {"S": Status.RECEIVED.value}
        try:
            self._client.update_item(
                TableName=self.table_name,
                Key={"request_id": {"S": request_id}},
                UpdateExpression="SET " + ", ".join(assignments) + " REMOVE claim_expires_at",
                ConditionExpression=condition,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
        except ClientError as exc:
            if _conditional_failure(exc):
                return False
            raise _translate(exc, "confirm", request_id) from exc
        return True

    def apply_outcome(self, request_id: str, status: Status, fields: dict[str, Any]) -> OutcomeApplied:
        """Record a result if it moves the item forward; one write, whatever happens.

        Raises ``UnknownRequestError`` (and writes nothing) when no such request exists.
        """
        names, values, assignments = self._set_clause(status, fields)
        values[":rank"] = {"N": str(rank(status))}
        try:
            response = self._client.update_item(
                TableName=self.table_name,
                Key={"request_id": {"S": request_id}},
                UpdateExpression="SET " + ", ".join(assignments) + " REMOVE claim_expires_at",
                ConditionExpression="attribute_exists(request_id) AND status_rank < :rank",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as exc:
            if not _conditional_failure(exc):
                raise _translate(exc, "record outcome", request_id) from exc
            current = _from_item(exc.response.get("Item"))  # type: ignore[arg-type]
            if current is None:
                raise UnknownRequestError(
                    f"no tracker item for request {request_id}", {"request_id": request_id}
                ) from exc
            return OutcomeApplied(False, current)
        return OutcomeApplied(True, _from_item(response.get("Attributes")) or {})

    def get(self, request_id: str) -> dict[str, Any] | None:
        response = self._client.get_item(
            TableName=self.table_name, Key={"request_id": {"S": request_id}}, ConsistentRead=True
        )
        return _from_item(response.get("Item"))

    def _set_clause(self, status: Status, fields: dict[str, Any]) -> tuple[dict[str, str], dict[str, Any], list[str]]:
        stamp = timeutil.iso(self._clock())
        updates = {
            **{k: v for k, v in fields.items() if v is not None},
            "status": status.value,
            "status_rank": rank(status),
            "status_since": stamp,
            "updated_at": stamp,
        }
        names = {f"#f{i}": name for i, name in enumerate(updates)}
        values = {f":v{i}": _serialize(value) for i, value in enumerate(updates.values())}
        assignments = [f"#f{i} = :v{i}" for i in range(len(updates))]
        return names, values, assignments


def _translate(exc: ClientError, action: str, request_id: str) -> Exception:
    code = exc.response.get("Error", {}).get("Code", "")
    return RetryableError(f"tracker {action} failed: {code}", {"request_id": request_id, "code": code})
