"""DynamoDB adapter for the tracker table (docs/architecture.md §3-§5). Nothing else touches DynamoDB.

Every write is one conditional call: the claim (put), the confirmation (update from RECEIVED), and
an outcome (update only if it moves the status forward). Rank is stored so DynamoDB can compare.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import TypeSerializer
from botocore.exceptions import ClientError

from orchestrator.aws import tracker_reads
from orchestrator.core import deadlines, timestamps
from orchestrator.core.status import Status, rank
from orchestrator.errors import RetryableError, UnknownRequestError

if TYPE_CHECKING:
    # _update's arguments: request_id, expression, condition, names, values, action.
    type _UpdateArguments = tuple[str, str, str, dict[str, str], dict[str, Any], str]

INFLIGHT_INDEX = deadlines.INDEX  # inflight (<LANE>#<shard>) + deadline_at: only non-terminal items
BATCH_GET_MAX = tracker_reads.BATCH_GET_MAX  # keys per BatchGetItem call
QUERY_PAGE_SIZE = 1000  # items per Query page
_UNPROCESSED_ATTEMPTS = tracker_reads.UNPROCESSED_ATTEMPTS

_serialize = TypeSerializer().serialize


def _to_item(values: dict[str, Any]) -> dict[str, Any]:
    return {name: _serialize(value) for name, value in values.items() if value is not None}


def _from_item(item: dict[str, Any] | None) -> dict[str, Any] | None:
    return None if item is None else tracker_reads.item_of(item)


def _conditional_failure(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


@dataclass(frozen=True)
class Claim:
    """The router's claim on a request: taken, or refused because another delivery holds or finished it."""

    acquired: bool  # False: a duplicate (another delivery holds or finished this request)
    previous: dict[str, Any] | None = None  # the item a takeover replaced (an earlier attempt's)

    def __bool__(self) -> bool:
        return self.acquired

    @property
    def may_have_invoked(self) -> bool:
        """An earlier attempt got past its claim and never said its call failed: SageMaker may
        have the request already, so this attempt must not send it again (docs/architecture.md §3)."""
        previous = self.previous or {}
        # RECEIVED: an attempt died after its claim. FAILED "not routed": the sweeper closed such an
        # item, and a redriven notification takes it over; the last attempt may still have invoked.
        unconfirmed = previous.get("status") == Status.RECEIVED.value or bool(previous.get("not_routed"))
        return unconfirmed and not previous.get("released")


@dataclass(frozen=True)
class ScoringClaim:
    """The scorer's claim on a handed-off request, and whether an earlier scorer may have invoked."""

    item: dict[str, Any]  # the item after the claim
    # The previous scorer died holding its claim: it may have called the model already (the answer
    # is lost with it), so this one must not call it again.
    may_have_invoked: bool = False


@dataclass(frozen=True)
class OutcomeApplied:
    """Whether a result was written to its item, and the item after (or as it stood)."""

    applied: bool  # False: stale or duplicate, acknowledged and ignored
    item: dict[str, Any]  # the item after the write (applied) or as it stood (not applied)


@dataclass(frozen=True)
class Holds:
    """One thing a result requires of its item (``TrackerTable.apply_outcome(must_hold=…)``): the string
    attribute ``attribute`` equals ``value`` (or, with ``or_absent``, is not there either); ``value``
    None: the item has no such attribute."""

    attribute: str
    value: str | None
    or_absent: bool = False

    def met_by(self, item: dict[str, Any]) -> bool:
        current = item.get(self.attribute)
        if current is None:
            return self.value is None or self.or_absent
        return current == self.value


class TrackerTable:
    def __init__(
        self,
        table_name: str,
        client: Any,
        *,
        retention_days: int = 90,
        clock: Callable[[], datetime] = timestamps.now,
    ) -> None:
        self.table_name = table_name
        self._client = client
        self._retention = timedelta(days=retention_days)
        self._clock = clock

    def now(self) -> datetime:
        return self._clock()

    def claim(
        self,
        request_id: str,
        fields: dict[str, Any],
        claim_timeout_seconds: int,
        *,
        deadline_seconds: int = 0,
        lane: Status = Status.RECEIVED,
    ) -> Claim:
        """Create the item in RECEIVED, or take over a claim that expired (a crash before confirm),
        or an item the sweeper closed as "not routed" (a redriven notification: a new attempt).

        The item enters the in-flight index in ``lane``, the status the router will confirm, due
        ``deadline_seconds`` from now (``DeadlineSettings.at_claim``): the confirmation then leaves the
        entry's keys alone (core/deadlines.py). A takeover returns the item it replaced
        (``ReturnValues=ALL_OLD``: no extra call).
        """
        moment = self._clock()
        stamp = timestamps.iso(moment)
        item = {
            **fields,
            "request_id": request_id,
            "status": Status.RECEIVED.value,
            "status_rank": rank(Status.RECEIVED),
            "status_since": stamp,
            "created_at": stamp,
            "claim_expires_at": int(moment.timestamp()) + claim_timeout_seconds,
            "inflight": deadlines.inflight_key(lane, request_id),
            "deadline_at": timestamps.iso(moment + timedelta(seconds=deadline_seconds or claim_timeout_seconds)),
            "expires_at": int((moment + self._retention).timestamp()),
        }
        try:
            response = self._client.put_item(
                TableName=self.table_name,
                Item=_to_item(item),
                ReturnValues="ALL_OLD",
                ConditionExpression=(
                    "attribute_not_exists(request_id) OR (#status = :received AND claim_expires_at < :now)"
                    " OR (#status = :failed AND not_routed = :true)"
                ),
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":received": {"S": Status.RECEIVED.value},
                    ":failed": {"S": Status.FAILED.value},
                    ":true": {"BOOL": True},
                    ":now": {"N": str(int(moment.timestamp()))},
                },
            )
        except ClientError as exc:
            if _conditional_failure(exc):
                return Claim(False)
            raise _translate(exc, "claim", request_id) from exc
        return Claim(True, _from_item(response.get("Attributes")))

    def release(self, request_id: str, reason: str) -> bool:
        """The claimed request's call failed before SageMaker accepted it: the retry may send it again
        (and may take the claim over at once). Also the last known reason, should it never route."""
        return self._give_back(request_id, reason, Status.RECEIVED, "release claim", released=True)

    def reroute(self, request_id: str, mode: str, route_reason: str) -> bool:
        """The claimed request keeps the mode an earlier attempt chose (a takeover that may have sent
        it): the claim wrote this attempt's decision, so its mode and reason are written back."""
        return self._conditional_update(
            request_id,
            "SET #mode = :mode, route_reason = :reason",
            "#status = :received",
            {"#status": "status", "#mode": "mode"},
            {
                ":mode": {"S": mode},
                ":reason": {"S": route_reason},
                ":received": {"S": Status.RECEIVED.value},
            },
            "reroute claim",
        )

    def confirm(self, request_id: str, status: Status, fields: dict[str, Any]) -> bool:
        """Move a claimed item from RECEIVED to ``status``. False if something already moved it."""
        names, values, expression = self._set_clause(request_id, status, fields, remove=("claim_expires_at",))
        names["#status"] = "status"
        values[":received"] = {"S": Status.RECEIVED.value}
        return self._conditional_update(request_id, expression, "#status = :received", names, values, "confirm")

    def apply_outcome(
        self,
        request_id: str,
        status: Status,
        fields: dict[str, Any],
        *,
        job_name: str | None = None,
        must_hold: Sequence[Holds] = (),
    ) -> OutcomeApplied:
        """Record a result if it moves the item forward; one write, whatever happens.

        With ``job_name`` (a transform job's result), only while the item is not now another job's:
        a late result of a night that was re-run since must not overwrite the re-run.
        With ``must_hold`` (the tracker function's check that a result matches its request,
        orchestrator.workflows.genuine), only while the item holds each of them: checked in the same write,
        so nothing changes the item between the check and the write.
        Raises ``UnknownRequestError`` (and writes nothing) when no such request exists.
        """
        names, values, expression = self._set_clause(request_id, status, fields, remove=("claim_expires_at",))
        values[":rank"] = {"N": str(rank(status))}
        condition = "attribute_exists(request_id) AND status_rank < :rank"
        if job_name is not None:
            names["#job"] = "job_name"
            values[":job"] = {"S": job_name}
            condition += " AND (attribute_not_exists(#job) OR #job = :job)"
        for n, held in enumerate(must_hold):
            name, value = f"#held{n}", f":held{n}"
            names[name] = held.attribute
            if held.value is None:
                condition += f" AND attribute_not_exists({name})"
                continue
            values[value] = {"S": held.value}
            condition += (
                f" AND (attribute_not_exists({name}) OR {name} = {value})"
                if held.or_absent
                else f" AND {name} = {value}"
            )
        result = self._update(request_id, expression, condition, names, values, "record outcome")
        if result is None:
            raise UnknownRequestError(f"no tracker item for request {request_id}", {"request_id": request_id})
        return result

    # ---------------------------------------------------------------- synchronous modes (the scorer)

    def start_scoring(
        self, request_id: str, fields: dict[str, Any], claim_timeout_seconds: int, deadline_seconds: int
    ) -> ScoringClaim | None:
        """The scorer's claim, in one conditional write: RECEIVED / SUBMITTED → IN_PROGRESS, or a claim
        its holder released (its call was refused: sending again is safe). The file keeps the deadline
        and the in-flight entry the router's claim gave it (its message's retention counts from the
        hand-off): the entry is rewritten in place.

        When that write's condition fails, the item it returns says what else it may be (no read):
        - a claim that expired *unreleased* is a scorer that died after its claim, possibly after the
          model call: it is taken over in a second conditional write (on that expiry), marked
          ``may_have_invoked`` so that the model is not called again;
        - a file the sweeper closed "not scored" whose message arrives after all (a redrive) is
          reopened: scored, announced again, due ``deadline_seconds`` from now (its verdict took it
          out of the index, or left it in the sweeper's outbox with the verdict's time).
        None: a duplicate delivery (held, finished or unknown)."""
        moment = self._clock()
        claim = {**fields, "claim_expires_at": int(moment.timestamp()) + claim_timeout_seconds}
        names, values, expression = self._scoring_clause(request_id, claim)
        values[":received"], values[":submitted"] = {"S": Status.RECEIVED.value}, {"S": Status.SUBMITTED.value}
        condition = (
            "attribute_exists(request_id) AND (#status IN (:received, :submitted)"
            " OR (#status = :in_progress AND claim_expires_at = :zero))"
        )
        result = self._update(request_id, expression, condition, names, values, "start scoring")
        if result is None:
            return None
        if result.applied:
            return ScoringClaim(result.item)
        current = result.item
        if current.get("status") == Status.FAILED.value and current.get("not_scored"):
            due = timestamps.iso(moment + timedelta(seconds=deadline_seconds))
            names, values, expression = self._scoring_clause(request_id, {**claim, "deadline_at": due})
            # The verdict's reason and flag go, so the new outcome stands alone.
            expression += (
                " REMOVE " if " REMOVE " not in expression else ", "
            ) + "not_scored, failure_reason, resolved_by"
            values[":failed"], values[":true"] = {"S": Status.FAILED.value}, {"BOOL": True}
            del values[":in_progress"]
            reopened = self._update(
                request_id, expression, "#status = :failed AND not_scored = :true", names, values, "reopen scoring"
            )
            return ScoringClaim(reopened.item) if reopened and reopened.applied else None
        expired = int(current.get("claim_expires_at") or 0)
        if current.get("status") != Status.IN_PROGRESS.value or not 0 < expired < int(moment.timestamp()):
            return None  # held by a running scorer, or finished
        values[":expired"] = {"N": str(expired)}
        for unused in (":received", ":submitted"):
            values.pop(unused)
        takeover = self._update(
            request_id,
            expression,
            "#status = :in_progress AND claim_expires_at = :expired",
            names,
            values,
            "take over scoring",
        )
        return ScoringClaim(takeover.item, may_have_invoked=True) if takeover and takeover.applied else None

    def _scoring_clause(self, request_id: str, fields: dict[str, Any]) -> tuple[dict[str, str], dict[str, Any], str]:
        """The scorer's IN_PROGRESS write of ``fields``, counting its attempts."""
        names, values, expression = self._set_clause(request_id, Status.IN_PROGRESS, fields)
        expression = expression.replace(
            "SET ", "SET scoring_attempts = if_not_exists(scoring_attempts, :zero) + :one, ", 1
        )
        names["#status"] = "status"
        values.update({":in_progress": {"S": Status.IN_PROGRESS.value}, ":zero": {"N": "0"}, ":one": {"N": "1"}})
        return names, values, expression

    def release_scoring(self, request_id: str, reason: str) -> bool:
        """The scorer's call failed and the record goes back to the queue: its redelivery may take
        the claim over at once (the model did not produce a result)."""
        return self._give_back(request_id, reason, Status.IN_PROGRESS, "release scoring claim")

    def _give_back(self, request_id: str, reason: str, held: Status, action: str, *, released: bool = False) -> bool:
        """A claim in ``held`` given back: it expires now and keeps ``reason`` as the last error;
        ``released`` also says that nothing was sent (the router's claim)."""
        placeholder = f":{held.value.lower()}"
        flag = " released = :true," if released else ""
        return self._conditional_update(
            request_id,
            f"SET last_error = :reason,{flag} claim_expires_at = :zero",
            f"#status = {placeholder}",
            {"#status": "status"},
            {
                ":reason": {"S": reason[:1000]},
                **({":true": {"BOOL": True}} if released else {}),
                ":zero": {"N": "0"},
                placeholder: {"S": held.value},
            },
            action,
        )

    # ---------------------------------------------------------------- batch transform jobs

    def in_status(
        self, status: Status, *, until: str, attributes: Sequence[str], page_size: int = QUERY_PAGE_SIZE
    ) -> Iterator[dict[str, Any]]:
        """Items in ``status`` (non-terminal) entered at or before ``until`` (ISO-8601), one page of at
        most ``page_size`` items at a time from the in-flight index, lane after lane and shard after
        shard (eventually consistent, like every GSI read), filtered on the projected status: a lane
        also holds claims not yet confirmed. The page size bounds memory; DynamoDB caps a page at 1 MB."""
        for lane in deadlines.holding(status):
            for value in deadlines.partitions(lane.value):
                yield from self._query_index(
                    value, attributes, page_size=page_size, filter_since=until, filter_status=status
                )

    def overdue(
        self, state: str, *, now: str, attributes: Sequence[str], page_size: int = QUERY_PAGE_SIZE
    ) -> Iterator[dict[str, Any]]:
        """In-flight items in lane ``state`` (a status or :data:`deadlines.ANNOUNCE`) whose deadline is
        at or before ``now``, most overdue first within each shard, whatever their status."""
        for value in deadlines.partitions(state):
            yield from self._query_index(value, attributes, page_size=page_size, deadline_until=now)

    def count_in_flight(
        self, keep_going: Callable[[], bool] = lambda: True, *, exact_up_to: int = deadlines.COUNT_EXACT_UP_TO
    ) -> dict[Status, int] | None:
        """How many items are in each in-flight status now: each lane's shards read in turn, projecting
        only the status, tallied from the raw pages (the read units of a COUNT: DynamoDB reads the same
        entries); exact up to ``exact_up_to`` entries a lane, estimated above it from the shards read.
        None when ``keep_going`` says stop before the count is done (a count of part would mislead)."""
        tally: Counter[str] = Counter()
        for lane in deadlines.IN_FLIGHT:
            lane_tally: Counter[str] = Counter()
            shards = deadlines.partitions(lane.value)
            for read, value in enumerate(shards, start=1):
                if not keep_going():
                    return None
                params = tracker_reads.index_query(
                    self.table_name,
                    INFLIGHT_INDEX,
                    {"inflight = :p": value},
                    ProjectionExpression="#s",
                    ExpressionAttributeNames={"#s": "status"},
                )
                try:
                    for page in tracker_reads.query_pages(self._client, params):
                        lane_tally.update(entry["status"]["S"] for entry in page.get("Items", []))
                except ClientError as exc:
                    raise _translate(exc, "count", value) from exc
                if lane_tally.total() >= exact_up_to and read < len(shards):
                    lane_tally = Counter({s: round(n * len(shards) / read) for s, n in lane_tally.items()})
                    break
            tally.update(lane_tally)
        return {status: tally[status.value] for status in deadlines.IN_FLIGHT}

    def _query_index(
        self,
        partition_value: str,
        attributes: Sequence[str],
        *,
        page_size: int,
        filter_since: str | None = None,
        filter_status: Status | None = None,
        deadline_until: str | None = None,
    ) -> Iterator[dict[str, Any]]:
        names = {f"#a{i}": name for i, name in enumerate(dict.fromkeys(["request_id", *attributes]))}
        params = tracker_reads.index_query(
            self.table_name,
            INFLIGHT_INDEX,
            {"inflight = :p": partition_value, "deadline_at <= :until": deadline_until},
            ExpressionAttributeNames=names,
            ProjectionExpression=", ".join(names),
            Limit=page_size,
        )
        filters = []
        if filter_since is not None:
            names["#since"] = "status_since"
            params["ExpressionAttributeValues"][":since"] = {"S": filter_since}
            filters.append("#since <= :since")
        if filter_status is not None:
            names["#status"] = "status"
            params["ExpressionAttributeValues"][":status"] = {"S": filter_status.value}
            filters.append("#status = :status")
        if filters:
            params["FilterExpression"] = " AND ".join(filters)
        pages = tracker_reads.query_pages(self._client, params)
        while True:
            try:
                page = next(pages, None)
            except ClientError as exc:
                raise _translate(exc, "query", partition_value) from exc
            if page is None:
                return
            items = page.get("Items", [])
            del page
            for item in items:
                yield tracker_reads.item_of(item)
            del items  # one page in memory at a time: release it before fetching the next

    def get_many(self, request_ids: Sequence[str], attributes: Sequence[str]) -> list[dict[str, Any]]:
        """The items of up to 100 requests (BatchGetItem), in no particular order; missing ones left out."""
        try:
            found, complete = tracker_reads.batch_get(
                self._client, self.table_name, request_ids, attributes=attributes, sleep=time.sleep
            )
        except ClientError as exc:
            raise _translate(exc, "batch get", request_ids[0] if request_ids else "") from exc
        if not complete:
            raise RetryableError(f"tracker batch get left keys unprocessed {_UNPROCESSED_ATTEMPTS} times")
        return found

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
        names, values, expression = self._set_clause(
            request_id, Status.SUBMITTED, {**fields, "job_name": job_name}, remove=clear
        )
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
        return self._conditional_update(request_id, expression, condition, names, values, "submit to job")

    def apply_job_outcome(self, request_id: str, job_name: str, status: Status, fields: dict[str, Any]) -> bool:
        """Record a transform job's state for one of its requests if it moves the item forward and
        the item is not now another job's (a re-run took it over). False: nothing written."""
        names, values, expression = self._set_clause(request_id, status, {**fields, "job_name": job_name})
        names["#job"] = "job_name"
        values[":rank"] = {"N": str(rank(status))}
        values[":job"] = {"S": job_name}
        condition = (
            "attribute_exists(request_id) AND status_rank < :rank AND (attribute_not_exists(#job) OR #job = :job)"
        )
        return self._conditional_update(request_id, expression, condition, names, values, "record job outcome")

    # ---------------------------------------------------------------- nightly jobs (job sequence)
    #
    # A file of the nightly batch counts the jobs it was given to (``job_seq``, see
    # manifest.RosterEntry). Job ``J`` with the file at sequence ``seq`` may take it only from
    # ``seq - 1`` (not taken by anything since J's roster was written), and J's result applies while
    # the file is J's (``seq``, job ``J``, not yet terminal) or still at ``seq - 1`` (J's marking has
    # not happened yet, e.g. J failed within seconds). A later job always has a higher sequence, so
    # a late or duplicate result of an earlier job never applies.

    def mark_for_job(
        self, request_id: str, job_name: str, seq: int, fields: dict[str, Any], *, clear: Sequence[str] = ()
    ) -> bool:
        """Mark a nightly file SUBMITTED to ``job_name`` at sequence ``seq`` if it is still where the
        job's roster found it (``seq - 1``) and not SUCCEEDED or SKIPPED. False: nothing written."""
        names, values, expression = self._set_clause(
            request_id, Status.SUBMITTED, {**fields, "job_name": job_name, "job_seq": seq}, remove=clear
        )
        condition = self._taken_from(names, values, seq)
        return self._conditional_update(request_id, expression, condition, names, values, "mark for job")

    def record_job_result(
        self, request_id: str, job_name: str, seq: int, status: Status, fields: dict[str, Any]
    ) -> bool:
        """Record nightly job ``job_name``'s result for a file while the file is the job's: marked
        for it and not yet terminal, or not yet marked (``seq - 1``). False: nothing written."""
        names, values, expression = self._set_clause(
            request_id, status, {**fields, "job_name": job_name, "job_seq": seq}, remove=("claim_expires_at",)
        )
        names["#jobc"], names["#seqc"] = "job_name", "job_seq"
        values[":jobc"], values[":seqc"], values[":terminal"] = (
            {"S": job_name},
            {"N": str(seq)},
            {"N": str(rank(Status.SUCCEEDED))},
        )
        current = "(#seqc = :seqc AND #jobc = :jobc AND status_rank < :terminal)"
        condition = f"attribute_exists(request_id) AND ({current} OR ({self._taken_from(names, values, seq)}))"
        return self._conditional_update(request_id, expression, condition, names, values, "record job result")

    @staticmethod
    def _taken_from(names: dict[str, str], values: dict[str, Any], seq: int) -> str:
        """The condition "the file is where the roster giving it ``seq`` found it" (``seq - 1``)."""
        names["#stat"], names["#seqp"] = "status", "job_seq"
        values[":good"], values[":skipped"] = {"S": Status.SUCCEEDED.value}, {"S": Status.SKIPPED.value}
        open_ = "NOT (#stat IN (:good, :skipped))"
        if seq > 1:
            values[":seqp"] = {"N": str(seq - 1)}
            return f"#seqp = :seqp AND {open_}"
        return f"attribute_not_exists(#seqp) AND {open_}"  # never in a nightly job yet

    # ---------------------------------------------------------------- sweeper

    def close_overdue(
        self, request_id: str, expected: Status, status: Status, fields: dict[str, Any], *, now: str
    ) -> dict[str, Any] | None:
        """The sweeper's verdict: ``expected`` → terminal ``status`` if the item is still ``expected``,
        overdue, and no function holds a live claim on it. Recorded *before* it is announced, so a
        result that arrives at the same moment wins or loses the race in this one conditional write,
        never both; the item stays in the in-flight index under :data:`deadlines.ANNOUNCE` until
        :meth:`announced`, so a crash between the write and the announcement is finished by the next
        run (an outbox). Returns the item after the write, or None when something else moved it first
        or still holds it (a later run looks again)."""
        names, values, expression = self._set_clause(
            request_id, status, fields, remove=("claim_expires_at",), outbox_at=now
        )
        names["#status"], names["#deadline"], names["#held"] = "status", "deadline_at", "claim_expires_at"
        values[":expected"], values[":now"] = {"S": expected.value}, {"S": now}
        values[":epoch"] = {"N": str(int(timestamps.parse(now).timestamp()))}
        # Never while a claim on the file is live: a scorer that took its message at the last moment
        # of the queue's retention may still be scoring it (its claim expires after its timeout).
        condition = "#status = :expected AND #deadline <= :now AND (attribute_not_exists(#held) OR #held < :epoch)"
        result = self._update(request_id, expression, condition, names, values, "close overdue")
        return result.item if result is not None and result.applied else None

    def announced(self, request_id: str) -> bool:
        """The sweeper's announcement is out: the item leaves the in-flight index."""
        return self._conditional_update(
            request_id,
            "REMOVE inflight, deadline_at",
            "begins_with(inflight, :outbox)",
            {},
            {":outbox": {"S": f"{deadlines.ANNOUNCE}#"}},
            "mark announced",
        )

    def move_deadline(self, request_id: str, status: Status, deadline_at: str, *, job_name: str | None = None) -> bool:
        """A later deadline for an item still in ``status`` (and still ``job_name``'s, when given):
        e.g. a transform job still running, or a file the next night will take."""
        names, values = {"#status": "status"}, {":deadline": {"S": deadline_at}, ":status": {"S": status.value}}
        condition = "#status = :status"
        if job_name is not None:
            names["#job"], values[":job"] = "job_name", {"S": job_name}
            condition += " AND #job = :job"
        return self._conditional_update(
            request_id, "SET deadline_at = :deadline", condition, names, values, "move deadline"
        )

    def _update(
        self,
        request_id: str,
        expression: str,
        condition: str,
        names: dict[str, str],
        values: dict[str, Any],
        action: str,
        *,
        returning: bool = True,
    ) -> OutcomeApplied | None:
        """One conditional UpdateItem that returns the item after the write, or as it stood when the
        condition failed (``ReturnValuesOnConditionCheckFailure``: no read before the write); None
        when there is no such item. Without ``returning`` nothing is asked back: a failed condition
        gives None, a write an empty item."""
        returns = {"ReturnValues": "ALL_NEW", "ReturnValuesOnConditionCheckFailure": "ALL_OLD"} if returning else {}
        try:
            response = self._client.update_item(
                TableName=self.table_name,
                Key={"request_id": {"S": request_id}},
                UpdateExpression=expression,
                ConditionExpression=condition,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
                **returns,
            )
        except ClientError as exc:
            if not _conditional_failure(exc):
                raise _translate(exc, action, request_id) from exc
            current = _from_item(exc.response.get("Item"))  # type: ignore[arg-type]
            return None if current is None else OutcomeApplied(False, current)
        return OutcomeApplied(True, _from_item(response.get("Attributes")) or {})

    def _conditional_update(self, *update: *_UpdateArguments) -> bool:
        """Whether :meth:`_update` with these arguments wrote (its condition held); nothing is asked back."""
        result = self._update(*update, returning=False)
        return result is not None and result.applied

    def _set_clause(
        self,
        request_id: str,
        status: Status,
        fields: dict[str, Any],
        *,
        remove: Sequence[str] = (),
        outbox_at: str | None = None,
    ) -> tuple[dict[str, str], dict[str, Any], str]:
        """``SET`` the status (its rank, its in-flight key) and ``fields``; ``REMOVE`` ``remove``.

        A terminal status takes the item out of the in-flight index (its key and deadline go), or,
        with ``outbox_at``, into the sweeper's outbox partition due at that time; a non-terminal one
        keeps it in (or puts it into) that status's lane, with ``deadline_at`` when given (the entry
        moves), else with the deadline it has.

        An unsuccessful outcome puts the item in the outcome index (``outcome``, sorted by this
        write's ``status_since``), also a sweeper verdict still in the outbox; every other status
        removes the key (a reopened file leaves the index; removing an absent key costs nothing).
        """
        stamp = timestamps.iso(self._clock())
        updates = {
            **{k: v for k, v in fields.items() if v is not None},
            "status": status.value,
            "status_rank": rank(status),
            "status_since": stamp,
        }
        removals = list(remove)
        inflight = deadlines.inflight_key(status, request_id)
        if inflight is not None:
            updates["inflight"] = inflight
        elif outbox_at is not None:
            updates["inflight"] = deadlines.partition(deadlines.ANNOUNCE, request_id)
            updates["deadline_at"] = outbox_at
        else:
            removals += ["inflight", "deadline_at"]
            updates.pop("deadline_at", None)
        outcome = deadlines.outcome_key(status, request_id)
        if outcome is not None:
            updates["outcome"] = outcome
        elif "outcome" not in removals:
            removals.append("outcome")
        names = {f"#f{i}": name for i, name in enumerate(updates)}
        values = {f":v{i}": _serialize(value) for i, value in enumerate(updates.values())}
        expression = "SET " + ", ".join(f"#f{i} = :v{i}" for i in range(len(updates)))
        removed = [f"#r{i}" for i in range(len(removals))]
        names.update(zip(removed, removals, strict=True))
        if removed:
            expression += " REMOVE " + ", ".join(removed)
        return names, values, expression


def _translate(exc: ClientError, action: str, request_id: str) -> Exception:
    code = exc.response.get("Error", {}).get("Code", "")
    return RetryableError(f"tracker {action} failed: {code}", {"request_id": request_id, "code": code})
