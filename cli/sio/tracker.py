"""Reading the tracker table, always through its key or an index, never a Scan (except the one
documented exception, :func:`scan_since`, for ``--from-tracker``).

- a request id → ``GetItem`` (``BatchGetItem`` for many);
- an S3 key → ``ByObject`` (``object_uri`` + ``created_at``, keys only): every version of the object,
  newest first, ``--since`` in the key condition, then ``BatchGetItem`` for the items;
- an in-flight status → ``InFlight``, its 16 shards (``<STATUS>#00`` … ``#15``), ``--since`` on
  ``status_since`` as a filter;
- an unsuccessful outcome (FAILED, EXPIRED, STOPPED, SKIPPED) → ``ByOutcome``, its 16 shards,
  ``--since`` in the key condition (only the window is read), merged newest first;
- SUCCEEDED on its own → no index holds successes (so that they cost no index write):
  :class:`NoIndexError`.

Pages are at most :data:`PAGE_SIZE` items (and DynamoDB's 1 MB), read one at a time, so a key with
10,000 versions costs ⌈10,000 / 1,000⌉ + 1 Query calls and one page of memory.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Iterator, Sequence
from decimal import Decimal
from typing import Any

from orchestrator.aws import tracker_reads

from sio.errors import SioError
from sio.product import (
    BY_OBJECT_INDEX,
    IN_FLIGHT,
    IN_FLIGHT_INDEX,
    OUTCOME_INDEX,
    STATUSES,
    UNSUCCESSFUL,
    inflight_partitions,
    outcome_partitions,
)

PAGE_SIZE = 1000
BATCH_GET_MAX = tracker_reads.BATCH_GET_MAX


class NoIndexError(SioError):
    """The question has no index to answer it without a Scan."""


def plain(value: Any) -> Any:
    """DynamoDB's Decimals as int or float, recursively: items fit for JSON."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | set | tuple):
        return [plain(v) for v in value]
    return value


def _deserialize(item: dict[str, Any]) -> dict[str, Any]:
    return {name: plain(value) for name, value in tracker_reads.item_of(item).items()}


class TrackerReader:
    def __init__(self, client: Any, table: str, *, page_size: int = PAGE_SIZE) -> None:
        self.client = client
        self.table = table
        self.page_size = page_size

    # ------------------------------------------------------------ by key

    def get(self, request_id: str) -> dict[str, Any] | None:
        item = tracker_reads.get_item(self.client, self.table, request_id)
        return None if item is None else plain(item)

    def get_many(self, request_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The items of these requests that exist, by request id (``BatchGetItem``, 100 keys a call)."""
        found: dict[str, dict[str, Any]] = {}
        unique = list(dict.fromkeys(request_ids))
        for start in range(0, len(unique), BATCH_GET_MAX):
            items, complete = tracker_reads.batch_get(self.client, self.table, unique[start : start + BATCH_GET_MAX])
            if not complete:
                raise SioError(
                    f"DynamoDB left keys of {self.table} unprocessed {tracker_reads.UNPROCESSED_ATTEMPTS} times in a "
                    "row (throttled): try again in a moment",
                    {"table": self.table},
                )
            for item in items:
                found[str(item["request_id"])] = plain(item)
        return found

    # ------------------------------------------------------------ by object

    def history(
        self,
        object_uri: str,
        *,
        since: str | None = None,
        status: str | None = None,
        mode: str | None = None,
        limit: int | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Every version of one S3 object, newest first (``ByObject``).

        The index projects only its keys (a status change then rewrites no entry of it), so each page
        of keys is followed by ``BatchGetItem`` for the items, and ``status``/``mode`` are filtered
        here: the index holds neither."""
        params = tracker_reads.index_query(
            self.table,
            BY_OBJECT_INDEX,
            {"object_uri = :u": object_uri, "created_at >= :since": since or None},
            ScanIndexForward=False,
        )
        # The first page no larger than the limit: `--limit 1` reads one key and one item.
        first = self.page_size if limit is None else min(self.page_size, max(1, limit))
        count = 0
        for page in self._query_pages(params, first_page_size=first):
            ids = [str(key["request_id"]["S"]) for key in page.get("Items", [])]
            found = self.get_many(ids)
            for request_id in ids:  # the index's order: newest first
                item = found.get(request_id)  # None: expired between the two reads
                if item is None or (status and item.get("status") != status) or (mode and item.get("mode") != mode):
                    continue
                yield item
                count += 1
                if limit is not None and count >= limit:
                    return

    # ------------------------------------------------------------ by status

    def in_status(
        self, status: str, *, since: str | None = None, mode: str | None = None, limit: int | None = None
    ) -> Iterator[dict[str, Any]]:
        """Items now in an in-flight status (``InFlight``, lane after lane, shard after shard; each shard by
        deadline), filtered on the status: a lane also holds claims not yet confirmed."""
        if status == "SUCCEEDED":
            raise NoIndexError(
                "no index lists SUCCEEDED items: successes are kept out of the status indexes (InFlight holds "
                "in-flight items, ByOutcome unsuccessful outcomes) so that they cost no index write, and sio "
                "never scans the table. Ask for one file (sio status KEY --status SUCCEEDED), or follow results "
                "as they arrive (sio watch, or a subscription to the topics)",
                {"status": status},
            )
        if status in UNSUCCESSFUL:
            raise SioError(f"{status} is an outcome, not an in-flight status: list it with outcomes()")
        if status not in IN_FLIGHT:
            raise SioError(f"unknown status {status!r}: one of {', '.join(STATUSES)}")
        remaining = limit
        for partition in inflight_partitions(status):
            params = tracker_reads.index_query(self.table, IN_FLIGHT_INDEX, {"inflight = :p": partition})
            self._filters(params, since=since, status=status, mode=mode)
            for item in self._pages(params, remaining):
                yield item
                if remaining is not None:
                    remaining -= 1
            if remaining is not None and remaining <= 0:
                return

    def outcomes(
        self, status: str, *, since: str | None = None, mode: str | None = None, limit: int | None = None
    ) -> Iterator[dict[str, Any]]:
        """Items whose unsuccessful outcome ``status`` was written at or after ``since``, newest first
        (``ByOutcome``: one Query per shard with the time in the key condition, so nothing older is
        read; the 16 newest-first streams merged by ``status_since``). With ``limit``, the newest."""
        from botocore.exceptions import ClientError

        if status not in UNSUCCESSFUL:
            raise SioError(f"no outcome index for {status!r}: one of {', '.join(UNSUCCESSFUL)}", {"status": status})
        shards = []
        for partition in outcome_partitions(status):
            params = tracker_reads.index_query(
                self.table,
                OUTCOME_INDEX,
                {"#outcome = :p": partition, "#at >= :since": since or None},
                ExpressionAttributeNames={"#outcome": "outcome", **({"#at": "status_since"} if since else {})},
                ScanIndexForward=False,
            )
            self._filters(params, mode=mode)
            shards.append(self._pages(params, limit, page_size=min(self.page_size, limit or self.page_size)))
        merged = heapq.merge(*shards, key=lambda item: str(item.get("status_since", "")), reverse=True)
        try:
            yield from itertools.islice(merged, limit)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            # DynamoDB: ValidationException (no such index, or one still backfilling); moto: ResourceNotFound
            missing = error.get("Code") in ("ValidationException", "ResourceNotFoundException")
            if not missing or OUTCOME_INDEX not in str(error.get("Message")):
                raise
            raise NoIndexError(
                f"the table cannot answer from its {OUTCOME_INDEX} index yet ({error.get('Message')}): a stack "
                "deployed before the index existed needs this version deployed (sam deploy), and a new index "
                "answers once DynamoDB has built it (README: Operating the stack)",
                {"table": self.table, "index": OUTCOME_INDEX},
            ) from None

    # ------------------------------------------------------------ helpers

    @staticmethod
    def _filters(
        params: dict[str, Any], *, since: str | None = None, status: str | None = None, mode: str | None = None
    ) -> None:
        names: dict[str, str] = {}
        values: dict[str, Any] = params["ExpressionAttributeValues"]
        clauses = []
        if since:
            names["#since"] = "status_since"
            values[":fsince"] = {"S": since}
            clauses.append("#since >= :fsince")
        if status:
            names["#status"] = "status"
            values[":fstatus"] = {"S": status}
            clauses.append("#status = :fstatus")
        if mode:
            names["#mode"] = "mode"
            values[":fmode"] = {"S": mode}
            clauses.append("#mode = :fmode")
        if clauses:
            params["FilterExpression"] = " AND ".join(clauses)
            params["ExpressionAttributeNames"] = {**params.get("ExpressionAttributeNames", {}), **names}

    def _pages(
        self, params: dict[str, Any], limit: int | None, *, page_size: int | None = None
    ) -> Iterator[dict[str, Any]]:
        count = 0
        for page in self._query_pages(params, first_page_size=page_size or self.page_size, page_size=page_size):
            for item in page.get("Items", []):
                yield _deserialize(item)
                count += 1
                if limit is not None and count >= limit:
                    return

    def _query_pages(
        self, params: dict[str, Any], *, first_page_size: int, page_size: int | None = None
    ) -> Iterator[dict[str, Any]]:
        """Query pages until the last one: the first of at most ``first_page_size`` items."""
        return tracker_reads.query_pages(
            self.client, params, first_page_size=first_page_size, page_size=page_size or self.page_size
        )


def scan_since(client: Any, table: str, since: str, attributes: Sequence[str]) -> Iterator[dict[str, Any]]:
    """Items created since ``since``: a Scan, the one place sio reads the whole table, for
    ``sio cost --from-tracker`` (the workload's history has no index; the read is about one read unit
    per 8 KB of table, stated in the command's output)."""
    names = {f"#a{i}": name for i, name in enumerate(dict.fromkeys(["created_at", *attributes]))}
    params: dict[str, Any] = {
        "TableName": table,
        "ProjectionExpression": ", ".join(names),
        "ExpressionAttributeNames": names,
        "FilterExpression": "#a0 >= :since",
        "ExpressionAttributeValues": {":since": {"S": since}},
    }
    for page in tracker_reads.scan_pages(client, params):
        for item in page.get("Items", []):
            yield _deserialize(item)
