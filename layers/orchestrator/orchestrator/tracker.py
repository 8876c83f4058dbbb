"""DynamoDB adapter for the tracker table (DESIGN §3, §4). Nothing else touches DynamoDB.

Every write is one conditional call: the claim (put), the confirmation (update from RECEIVED), and
an outcome (update only if it moves the status forward). Rank is stored so DynamoDB can compare.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from orchestrator import timeutil
from orchestrator.errors import RetryableError, UnknownRequestError
from orchestrator.status import Status, rank

STATUS_INDEX = "ByStatus"  # status + status_since: "what is in status X since T?"
BATCH_GET_MAX = 100  # keys per BatchGetItem call
QUERY_PAGE_SIZE = 1000  # items per Query page
_UNPROCESSED_ATTEMPTS = 8

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
        names, values, assignments = self._set_clause(status, fields)
        names["#status"] = "status"
        values[":received"] = {"S": Status.RECEIVED.value}
        expression = "SET " + ", ".join(assignments) + " REMOVE claim_expires_at"
        return self._conditional_update(request_id, expression, "#status = :received", names, values, "confirm")

    def apply_outcome(
        self, request_id: str, status: Status, fields: dict[str, Any], *, job_name: str | None = None
    ) -> OutcomeApplied:
        """Record a result if it moves the item forward; one write, whatever happens.

        With ``job_name`` (a transform job's result), only while the item is not now another job's:
        a late result of a night that was re-run since must not overwrite the re-run.
        Raises ``UnknownRequestError`` (and writes nothing) when no such request exists.
        """
        names, values, assignments = self._set_clause(status, fields)
        values[":rank"] = {"N": str(rank(status))}
        condition = "attribute_exists(request_id) AND status_rank < :rank"
        if job_name is not None:
            names["#job"] = "job_name"
            values[":job"] = {"S": job_name}
            condition += " AND (attribute_not_exists(#job) OR #job = :job)"
        try:
            response = self._client.update_item(
                TableName=self.table_name,
                Key={"request_id": {"S": request_id}},
                UpdateExpression="SET " + ", ".join(assignments) + " REMOVE claim_expires_at",
                ConditionExpression=condition,
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

    # ---------------------------------------------------------------- batch transform jobs

    def in_status(
        self, status: Status, *, until: str, attributes: Sequence[str], page_size: int = QUERY_PAGE_SIZE
    ) -> Iterator[dict[str, Any]]:
        """Items in ``status`` entered at or before ``until`` (ISO-8601), oldest first, one page of at
        most ``page_size`` items at a time from the ``ByStatus`` index (eventually consistent, like
        every GSI read). The page size bounds memory; DynamoDB also caps a page at 1 MB."""
        names = {f"#a{i}": name for i, name in enumerate(attributes)}
        names["#status"] = "status"
        params: dict[str, Any] = {
            "TableName": self.table_name,
            "IndexName": STATUS_INDEX,
            "KeyConditionExpression": "#status = :status AND status_since <= :until",
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": {":status": {"S": status.value}, ":until": {"S": until}},
            "ProjectionExpression": ", ".join(n for n in names if n != "#status"),
            "Limit": page_size,
        }
        while True:
            try:
                page = self._client.query(**params)
            except ClientError as exc:
                raise _translate(exc, "query", status.value) from exc
            items, last_key = page.get("Items", []), page.get("LastEvaluatedKey")
            del page
            for item in items:
                yield _from_item(item) or {}
            del items  # one page in memory at a time: release it before fetching the next
            if last_key is None:
                return
            params["ExclusiveStartKey"] = last_key

    def get_many(self, request_ids: Sequence[str], attributes: Sequence[str]) -> list[dict[str, Any]]:
        """The items of up to 100 requests (BatchGetItem), in no particular order; missing ones left out."""
        unique = list(dict.fromkeys(request_ids))
        if len(unique) > BATCH_GET_MAX:
            raise ValueError(f"at most {BATCH_GET_MAX} keys per call, got {len(unique)}")
        names = {f"#a{i}": name for i, name in enumerate(dict.fromkeys(["request_id", *attributes]))}
        request: dict[str, Any] = {
            self.table_name: {
                "Keys": [{"request_id": {"S": request_id}} for request_id in unique],
                "ProjectionExpression": ", ".join(names),
                "ExpressionAttributeNames": names,
            }
        }
        found: list[dict[str, Any]] = []
        for attempt in range(_UNPROCESSED_ATTEMPTS):
            try:
                response = self._client.batch_get_item(RequestItems=request)
            except ClientError as exc:
                raise _translate(exc, "batch get", unique[0] if unique else "") from exc
            found.extend(_from_item(item) or {} for item in response.get("Responses", {}).get(self.table_name, []))
            request = response.get("UnprocessedKeys") or {}
            if not request:
                return found
            time.sleep(min(0.05 * 2**attempt, 1.0))  # DynamoDB asks for backoff before the rest
        raise RetryableError(f"tracker batch get left keys unprocessed {_UNPROCESSED_ATTEMPTS} times")

    def submit_to_job(
        self,
        request_id: str,
        job_name: str,
        fields: dict[str, Any],
        *,
        from_statuses: Collection[Status],
        from_job: str | None = None,
        clear: Sequence[str] = (),
    ) -> bool:
        """Mark a request SUBMITTED to ``job_name`` if it is in one of ``from_statuses`` (and, for a
        re-run, still belongs to ``from_job``). Attributes in ``clear`` are removed (an earlier
        failure's reason). False when the item has moved on: nothing is written."""
        names, values, assignments = self._set_clause(Status.SUBMITTED, {**fields, "job_name": job_name})
        names["#status"] = "status"
        allowed = []
        for i, status in enumerate(from_statuses):
            values[f":from{i}"] = {"S": status.value}
            allowed.append(f":from{i}")
        condition = f"#status IN ({', '.join(allowed)})"
        if from_job is not None:
            names["#job"] = "job_name"
            values[":from_job"] = {"S": from_job}
            condition += " AND #job = :from_job"
        removed = [f"#r{i}" for i in range(len(clear))]
        names.update(zip(removed, clear, strict=True))
        expression = "SET " + ", ".join(assignments) + (" REMOVE " + ", ".join(removed) if removed else "")
        return self._conditional_update(request_id, expression, condition, names, values, "submit to job")

    def apply_job_outcome(self, request_id: str, job_name: str, status: Status, fields: dict[str, Any]) -> bool:
        """Record a transform job's state for one of its requests if it moves the item forward and
        the item is not now another job's (a re-run took it over). False: nothing written."""
        names, values, assignments = self._set_clause(status, {**fields, "job_name": job_name})
        names["#job"] = "job_name"
        values[":rank"] = {"N": str(rank(status))}
        values[":job"] = {"S": job_name}
        condition = (
            "attribute_exists(request_id) AND status_rank < :rank AND (attribute_not_exists(#job) OR #job = :job)"
        )
        expression = "SET " + ", ".join(assignments)
        return self._conditional_update(request_id, expression, condition, names, values, "record job outcome")

    def _conditional_update(
        self,
        request_id: str,
        expression: str,
        condition: str,
        names: dict[str, str],
        values: dict[str, Any],
        action: str,
    ) -> bool:
        try:
            self._client.update_item(
                TableName=self.table_name,
                Key={"request_id": {"S": request_id}},
                UpdateExpression=expression,
                ConditionExpression=condition,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
        except ClientError as exc:
            if _conditional_failure(exc):
                return False
            raise _translate(exc, action, request_id) from exc
        return True

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
