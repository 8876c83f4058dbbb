"""``sio selftest``: one tiny sample per configured mode, through the stack as a user's file goes,
each followed to its terminal status and checked, then everything it created removed.

A run (``run id``: 12 hex characters):

1. Two temporary queues, ``sio-selftest-<run id>-success`` and ``-error``, each subscribed to one
   result topic (raw delivery, a filter on the samples' ``inputLocation``): the queue a message lands
   in says which topic it was published on.
2. The samples, uploaded where the plan put them (:mod:`sio.selftest_plan`). Before the nightly one,
   the ``InFlight`` index is asked for SCHEDULED files: a night takes every file scheduled so far, so
   with other files waiting the nightly mode is not tested (they would be scored now).
3. Polling the tracker items (``BatchGetItem``) and draining the queues until every sample is terminal
   and its message arrived, or ``--timeout``. Once the nightly sample is SCHEDULED, the nightly
   function is invoked with a schedule-shaped event (:func:`sio.selftest_plan.night_event`).
4. The checks: routed to the intended mode; SUCCEEDED; the result object exists; the message on the
   right topic (Completed on the success topic, nothing on the error topic).
5. Clean-up, also on errors and Ctrl-C: the samples (every S3 version), their results, the job
   folders of the samples' own jobs, the queues and subscriptions. Tracker items stay: they expire by
   the table's TTL (``RecordRetentionDays``). A nightly sample not yet terminal is left in place
   unless it is in the selftest's own night: removing it would fail the night's job that takes it.
"""

from __future__ import annotations

import contextlib
import json
import signal
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from types import FrameType
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from sio.invoke import Invocation, invoke
from sio.product import MODES, TERMINAL, request_id
from sio.selftest_plan import Placement, Plan, night_event
from sio.selftest_report import (
    INVOCATION_STATUS,
    NOT_TESTED,
    PASSED,
    Check,
    Cleanup,
    Report,
    Row,
    verdict,
)
from sio.stack import Stack
from sio.tracker import TrackerReader
from sio.watch import allow_topics

QUEUE_PREFIX = "sio-selftest-"
TOPICS = (("success", "SuccessTopicArn"), ("error", "ErrorTopicArn"))
MESSAGE_GRACE = 20.0  # seconds to wait for a terminal file's message before judging it missing
NIGHT_ATTEMPTS = 3  # nightly invocations while the sample stays SCHEDULED (index lag, a name taken)
NIGHT_RETRY_SECONDS = 3.0


@dataclass
class Trial:
    """One mode's sample on its way through the stack."""

    placement: Placement
    uploaded_at: float = 0.0
    version_id: str | None = None
    request_id: str | None = None
    error: str | None = None  # the upload failed
    item: dict[str, Any] | None = None
    terminal_at: float | None = None
    messages: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: {"success": [], "error": []})
    nights: list[dict[str, Any]] = field(default_factory=list)  # each nightly invocation: event and answer
    last_invoke: float | None = None

    @property
    def mode(self) -> str:
        return self.placement.mode

    @property
    def status(self) -> str | None:
        return None if self.item is None else str(self.item.get("status"))

    def night_error(self) -> str | None:
        failed = [n for n in self.nights if not n.get("ok")]
        return f"{failed[-1].get('errorType')}: {failed[-1].get('errorMessage')}" if failed else None

    def nights_spent(self, now: float) -> bool:
        """Every nightly invocation made and the sample still SCHEDULED: no night took it."""
        return (
            self.status == "SCHEDULED"
            and len(self.nights) >= NIGHT_ATTEMPTS
            and self.last_invoke is not None
            and now - self.last_invoke >= NIGHT_RETRY_SECONDS
        )

    def settled(self, now: float, grace: float) -> bool:
        """Nothing more to wait for: the upload or the night failed, or terminal with its message
        (or the grace for the message spent)."""
        if self.error or self.night_error() or self.nights_spent(now):
            return True
        if self.terminal_at is None:
            return False
        return bool(self.messages[_expected_topic(self.status)]) or now - self.terminal_at >= grace


# ---------------------------------------------------------------- the result topics


class TopicQueues:
    """One temporary queue per result topic, raw delivery, filtered to the samples' input locations."""

    def __init__(self, sqs: Any, sns: Any, topics: dict[str, str], run_id: str, inputs: Sequence[str]) -> None:
        self.sqs, self.sns, self.topics, self.run_id = sqs, sns, topics, run_id
        self.policy = {"requestParameters": {"inputLocation": list(inputs)}}
        self.urls: dict[str, str] = {}
        self.subscriptions: dict[str, str] = {}

    def name(self, label: str) -> str:
        return f"{QUEUE_PREFIX}{self.run_id}-{label}"

    def create(self) -> None:
        for label, topic in self.topics.items():
            url = self.sqs.create_queue(QueueName=self.name(label))["QueueUrl"]
            self.urls[label] = url
            arn = allow_topics(self.sqs, url, topic, sid="ResultTopic")
            attributes = {
                "RawMessageDelivery": "true",
                "FilterPolicyScope": "MessageBody",
                "FilterPolicy": json.dumps(self.policy),
            }
            response = self.sns.subscribe(
                TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes=attributes, ReturnSubscriptionArn=True
            )
            self.subscriptions[label] = response["SubscriptionArn"]

    def receive(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """Every message waiting now, with the topic it came from (each deleted once read)."""
        for label, url in self.urls.items():
            for _ in range(10):
                messages = self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
                for message in messages:
                    self.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
                    yield label, _body(message["Body"])
                if not messages:
                    break

    def close(self, cleanup: Cleanup) -> None:
        """Unsubscribe, then delete the queues; every step tried even if one before it failed."""
        for label, arn in list(self.subscriptions.items()):
            unsubscribe = partial(self.sns.unsubscribe, SubscriptionArn=arn)
            _attempt(
                cleanup, unsubscribe, f"subscription of {self.name(label)} to the {label} topic", f"unsubscribe {arn}"
            )
        self.subscriptions.clear()
        for label, url in list(self.urls.items()):
            delete = partial(self.sqs.delete_queue, QueueUrl=url)
            _attempt(cleanup, delete, f"queue {self.name(label)}", f"delete queue {url}")
        self.urls.clear()


def _attempt(cleanup: Cleanup, step: Callable[[], object], done: str, failed: str) -> None:
    """One cleanup step: reported as removed, or its error kept and the next step still tried."""
    try:
        step()
    except (ClientError, BotoCoreError) as exc:
        cleanup.errors.append(f"{failed}: {exc}")
        return
    cleanup.removed.append(done)


def _body(raw: str) -> dict[str, Any]:
    try:
        body = json.loads(raw)
        if isinstance(body, dict) and body.get("Type") == "Notification" and "Message" in body:
            body = json.loads(body["Message"])  # delivered in SNS's envelope after all
    except ValueError:
        return {"unparsed": raw}
    return body if isinstance(body, dict) else {"unparsed": raw}


def _expected_topic(status: str | None) -> str:
    return "success" if status == "SUCCEEDED" else "error"


# ---------------------------------------------------------------- the run


class SelfTest:
    def __init__(
        self,
        stack: Stack,
        plan: Plan,
        *,
        timeout: float,
        interval: float = 2.0,
        requested: Sequence[str] = (),
        invoke_nightly: Callable[[dict[str, Any]], Invocation] | None = None,
        clock: Callable[[], float],
        sleep: Callable[[float], None],
        note: Callable[[str], None] = lambda _: None,
        message_grace: float = MESSAGE_GRACE,
    ) -> None:
        self.stack, self.plan = stack, plan
        self.timeout, self.interval, self.requested = timeout, interval, tuple(requested)
        self.invoke_nightly = invoke_nightly or (lambda event: invoke(stack, "NightlyFunctionName", event))
        self.clock, self.sleep, self.note, self.grace = clock, sleep, note, message_grace
        self.bucket = stack.bucket
        self.output_prefix = stack.parameter("OutputPrefix")
        self.s3 = stack.client("s3")
        self.reader = TrackerReader(stack.client("dynamodb"), stack.table)
        self.queues = TopicQueues(
            stack.client("sqs"),
            stack.client("sns"),
            {label: stack.output(output) for label, output in TOPICS},
            plan.run_id,
            [f"s3://{self.bucket}/{p.key}" for p in plan.placements],
        )

    def run(self) -> Report:
        rows = [Row(u.mode, NOT_TESTED, reason=u.reason) for u in self.plan.untestable]
        trials: list[Trial] = []
        cleanup = Cleanup()
        try:
            with _sigterm_interrupts():
                self.queues.create()
                for placement in self.plan.placements:
                    busy = self._scheduled_elsewhere() if placement.mode == "nightly" else None
                    if busy:
                        rows.append(Row("nightly", NOT_TESTED, reason=busy))
                        continue
                    trials.append(self._upload(placement))
                self.note(
                    f"run {self.plan.run_id}: {len(trials)} sample(s) uploaded "
                    f"({', '.join(t.mode for t in trials)}); following them (up to {self.timeout:g} s)"
                )
                self._follow(trials)
                rows += [self._judge(trial) for trial in trials]  # before the clean-up removes the results
        except BaseException:
            self._cleanup(trials, cleanup)
            self.queues.close(cleanup)
            self.note(
                f"stopped: removed {len(cleanup.removed)} item(s) of run {self.plan.run_id}"
                + "".join(f"\n  left: {line}" for line in cleanup.left)
                + "".join(f"\n  not removed: {line}" for line in cleanup.errors)
            )
            raise
        self._cleanup(trials, cleanup)
        self.queues.close(cleanup)
        rows.sort(key=lambda row: MODES.index(row.mode))
        return Report(self.plan.run_id, rows, cleanup, self.plan.not_configured, self.requested)

    # ------------------------------------------------------------ steps

    def _scheduled_elsewhere(self) -> str | None:
        waiting = next(self.reader.in_status("SCHEDULED", limit=1), None)
        if waiting is None:
            return None
        return (
            f"files are SCHEDULED for the next night (e.g. {waiting.get('key')}) and a night takes every file "
            "scheduled so far: a selftest night would score them now. Run it when none is waiting "
            "(sio status --status SCHEDULED lists them), or test nightly on a stack of its own"
        )

    def _upload(self, placement: Placement) -> Trial:
        trial = Trial(placement)
        extra = {"Metadata": placement.metadata} if placement.metadata else {}
        try:
            response = self.s3.put_object(
                Bucket=self.bucket, Key=placement.key, Body=self.plan.sample.sized(placement.size), **extra
            )
        except (ClientError, BotoCoreError) as exc:
            trial.error = f"upload to s3://{self.bucket}/{placement.key} failed: {exc}"
            return trial
        trial.uploaded_at = self.clock()
        trial.version_id = response.get("VersionId")
        if not trial.version_id:
            trial.error = f"s3://{self.bucket} gave no version id: the input bucket must be versioned"
            return trial
        trial.request_id = request_id(self.bucket, placement.key, trial.version_id)
        return trial

    def _follow(self, trials: Sequence[Trial]) -> None:
        deadline = self.clock() + self.timeout
        while True:
            now = self.clock()
            live = [t for t in trials if t.request_id and not t.settled(now, self.grace)]
            if live:
                items = self.reader.get_many([str(t.request_id) for t in live])
                for trial in live:
                    self._saw(trial, items.get(str(trial.request_id)), now)
            for label, message in self.queues.receive():
                for trial in trials:
                    if trial.request_id and message.get("inferenceId") == trial.request_id:
                        trial.messages[label].append(message)
            now = self.clock()
            if all(t.settled(now, self.grace) for t in trials) or now >= deadline:
                return
            self.sleep(self.interval)

    def _saw(self, trial: Trial, item: dict[str, Any] | None, now: float) -> None:
        if item is not None:
            before = trial.status
            trial.item = item
            if trial.status != before:
                self.note(f"{trial.mode}: {trial.status}")
        if trial.status in TERMINAL and trial.terminal_at is None:
            trial.terminal_at = now
        if trial.mode == "nightly" and trial.status == "SCHEDULED":
            self._run_night(trial, now)

    def _run_night(self, trial: Trial, now: float) -> None:
        """Invoke the nightly function as its schedule does, while the sample waits SCHEDULED."""
        if len(trial.nights) >= NIGHT_ATTEMPTS or trial.night_error():
            return
        if trial.last_invoke is not None and now - trial.last_invoke < NIGHT_RETRY_SECONDS:
            return
        event = night_event(self.plan.run_id, len(trial.nights))
        self.note(
            f"nightly: invoking {self.stack.outputs.get('NightlyFunctionName')} with a schedule-shaped event "
            f"(scheduledTime {event['scheduledTime']}, a night of the selftest's own; not the schedule itself)"
        )
        outcome = self.invoke_nightly(event)
        trial.last_invoke = self.clock()
        trial.nights.append({"event": event, **outcome.as_dict()})

    # ------------------------------------------------------------ judging

    def _judge(self, trial: Trial) -> Row:
        placement = trial.placement
        row = Row(trial.mode, PASSED, key=placement.key, request_id=trial.request_id, nights=trial.nights)
        row.notes = list(placement.notes)
        if placement.metadata:
            row.notes.append(f"asked for with x-amz-meta-{next(iter(placement.metadata))}: {trial.mode}")
        if trial.error:
            row.checks.append(Check("uploaded", False, trial.error))
            return verdict(row)
        item = trial.item
        if item is None:
            row.checks.append(
                Check("routed", False, f"no tracker item after {self.timeout:g} s: the router never recorded the file")
            )
            return verdict(row, timed_out=True)
        routed, why = item.get("mode"), item.get("route_reason") or "no route_reason"
        if routed == trial.mode:
            row.checks.append(Check("routed", True, f"routed to {routed} by {why}"))
        else:
            row.checks.append(Check("routed", False, f"routed to {routed or 'no mode'}, not {trial.mode}: {why}"))
        if trial.mode == "nightly":
            row.checks.append(self._night_check(trial))
        status = trial.status
        if status == "SCHEDULED" and len(trial.nights) >= NIGHT_ATTEMPTS:
            row.checks.append(
                Check("terminal", False, f"still SCHEDULED after {NIGHT_ATTEMPTS} nightly runs: no night took it")
            )
            return verdict(row)
        if status not in TERMINAL:
            row.checks.append(Check("terminal", False, f"still {status} after {self.timeout:g} s"))
            return verdict(row, timed_out=not trial.night_error())
        reason = str(item.get("failure_reason") or "")
        row.checks.append(Check("succeeded", status == "SUCCEEDED", f"{status}: {reason}" if reason else str(status)))
        if status == "SUCCEEDED":
            row.checks.append(self._result_check(item))
        row.checks.append(self._message_check(trial))
        row.latency_seconds = _latency(item)
        if row.latency_seconds is None and trial.terminal_at is not None:
            row.latency_seconds = trial.terminal_at - trial.uploaded_at
        return verdict(row)

    def _night_check(self, trial: Trial) -> Check:
        function = self.stack.outputs.get("NightlyFunctionName", "the nightly function")
        if not trial.nights:
            taken = (trial.item or {}).get("job_name")
            if taken:
                return Check("night", True, f"taken by {taken} (the stack's own schedule ran first)")
            return Check("night", False, f"{function} was not invoked: the sample never waited SCHEDULED")
        error = trial.night_error()
        if error:
            return Check("night", False, f"{function} failed: {error}")
        last = trial.nights[-1]
        answer = last.get("response") or {}
        return Check(
            "night",
            True,
            f"{function} invoked with a schedule-shaped event (scheduledTime {last['event']['scheduledTime']}): "
            f"job {answer.get('jobName')}, {answer.get('files')} file(s)",
        )

    def _result_check(self, item: dict[str, Any]) -> Check:
        location = str(item.get("output_location") or "")
        bucket, _, key = location.removeprefix("s3://").partition("/")
        if not location.startswith("s3://") or not key:
            return Check("result", False, f"no output location on the tracker item ({location or 'none'})")
        try:
            self.s3.head_object(Bucket=bucket, Key=key)
        except ClientError as exc:
            return Check("result", False, f"{location}: {exc.response.get('Error', {}).get('Code')}")
        return Check("result", True, f"result at {location}")

    def _message_check(self, trial: Trial) -> Check:
        expected = _expected_topic(trial.status)
        other = "error" if expected == "success" else "success"
        wanted = INVOCATION_STATUS.get(str(trial.status), "")
        good = [m for m in trial.messages[expected] if not wanted or m.get("invocationStatus") == wanted]
        stray = trial.messages[other]
        if stray:
            shown = stray[0].get("invocationStatus")
            return Check("message", False, f"{len(stray)} message(s) on the {other} topic ({shown}), expected none")
        if not good:
            return Check(
                "message", False, f"no {wanted or 'result'} message on the {expected} topic within {self.grace:g} s"
            )
        return Check("message", True, f"{good[0].get('invocationStatus')} message on the {expected} topic")

    # ------------------------------------------------------------ clean-up

    def _cleanup(self, trials: Sequence[Trial], cleanup: Cleanup) -> None:
        for trial in trials:
            key, item = trial.placement.key, trial.item or {}
            job = str(item.get("job_name") or "")
            own_night = trial.mode == "nightly" and bool(job) and self._night_of_its_own(trial, job)
            if trial.mode == "nightly" and trial.status not in TERMINAL and not own_night:
                # A night may still take it (or has, the stack's own): its job would fail on a missing input.
                cleanup.left.append(
                    f"s3://{self.bucket}/{key}: {trial.status or 'not yet recorded'}, a night may still take it "
                    "(removing it would fail that night's job); remove it once it is terminal (sio status KEY)"
                )
            else:
                self._remove(key, cleanup, exact=True)
            for location in (item.get("output_location"), item.get("failure_location")):
                if isinstance(location, str) and location.startswith(f"s3://{self.bucket}/"):
                    self._remove(location.removeprefix(f"s3://{self.bucket}/"), cleanup, exact=True)
            if trial.mode == "batch" and trial.request_id:
                # The file's own job, <TransformJobPrefix>-<request id>: the item may not name it yet
                # (a job can finish before the router records its name).
                prefix = self.stack.parameter("TransformJobPrefix") or "sio"
                self._remove(f"{self.output_prefix}batch/{prefix}-{trial.request_id}/", cleanup, exact=False)
            if own_night:
                self._remove(f"{self.output_prefix}batch/{job}/", cleanup, exact=False)
            if trial.request_id and trial.status not in TERMINAL and trial.status != "SCHEDULED":
                cleanup.left.append(
                    f"{trial.mode}: a result that arrives after the run lands under "
                    f"s3://{self.bucket}/{self.output_prefix} (tracker item {trial.request_id})"
                )

    @staticmethod
    def _night_of_its_own(trial: Trial, job: str) -> bool:
        """The night's job folder is removed only if the job held the sample alone."""
        for night in trial.nights:
            answer = night.get("response") or {}
            if answer.get("jobName") == job and answer.get("jobCreated") and answer.get("files") == 1:
                return True
        return False

    def _remove(self, prefix: str, cleanup: Cleanup, *, exact: bool) -> None:
        """Every version and delete marker of a key (``exact``) or under a prefix."""
        try:
            versions = [
                {"Key": entry["Key"], "VersionId": entry["VersionId"]}
                for page in self.s3.get_paginator("list_object_versions").paginate(Bucket=self.bucket, Prefix=prefix)
                for entry in page.get("Versions", []) + page.get("DeleteMarkers", [])
                if not exact or entry["Key"] == prefix
            ]
            for start in range(0, len(versions), 1000):
                response = self.s3.delete_objects(
                    Bucket=self.bucket, Delete={"Objects": versions[start : start + 1000], "Quiet": True}
                )
                for error in response.get("Errors", []):
                    cleanup.errors.append(f"delete s3://{self.bucket}/{error.get('Key')}: {error.get('Message')}")
        except (ClientError, BotoCoreError) as exc:
            cleanup.errors.append(f"remove s3://{self.bucket}/{prefix}: {exc}")
            return
        if versions:
            keys = sorted({v["Key"] for v in versions})
            shown = f"s3://{self.bucket}/{prefix}" + ("" if exact else f" ({len(keys)} object(s))")
            cleanup.removed.append(shown)


def _latency(item: dict[str, Any]) -> float | None:
    """End to end as the stack records it: ``completed_at - s3_event_time`` (README "The tracker item")."""
    start, end = item.get("s3_event_time") or item.get("created_at"), item.get("completed_at")
    try:
        return (_parse(str(end)) - _parse(str(start))).total_seconds() if start and end else None
    except ValueError:
        return None


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@contextlib.contextmanager
def _sigterm_interrupts() -> Iterator[None]:
    """SIGTERM as Ctrl-C, so that the clean-up runs (not in a thread: there is no handler to set)."""

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    try:
        previous = signal.signal(signal.SIGTERM, interrupt)
    except ValueError:
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
