"""The router's workflow for one S3 notification: decide, claim, invoke, confirm (DESIGN §2, §3).

Every file that cannot be scored is recorded with its reason and announced on the error topic.
The order claim → act → confirm makes each step safe to repeat: a duplicate delivery stops at the
claim (one call); a crash after the claim is recovered by the retry once the claim expires.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from orchestrator import identity, routing, s3_events, timeutil
from orchestrator.announce import Announcer
from orchestrator.errors import InvocationRejectedError, OrchestratorError, RetryableError
from orchestrator.notifications import Publisher
from orchestrator.observability import Recorder, logger
from orchestrator.routing import Decision, FileFacts, Mode, RoutingPolicy
from orchestrator.s3_events import ObjectCreated
from orchestrator.sagemaker import AsyncInvoker
from orchestrator.settings import RouterSettings
from orchestrator.status import Status
from orchestrator.tracker import Tracker

ModeHandler = Callable[[str, ObjectCreated, Decision], None]


def policy_from(settings: RouterSettings, available: frozenset[Mode] = frozenset({Mode.ASYNC})) -> RoutingPolicy:
    return RoutingPolicy(
        content_types=settings.content_types,
        available_modes=available,
        nightly_prefix=settings.nightly_prefix,
        batch_prefix=settings.batch_prefix,
        async_max_bytes=settings.async_max_bytes,
        rules=settings.routing_rules,
    )


class Router:
    def __init__(
        self,
        settings: RouterSettings,
        *,
        tracker: Tracker,
        invoker: AsyncInvoker,
        publisher: Publisher,
        region: str,
        s3_client: Any = None,
        recorder: Recorder | None = None,
        policy: RoutingPolicy | None = None,
    ) -> None:
        self.settings = settings
        self.tracker = tracker
        self.invoker = invoker
        self.publisher = publisher
        self.region = region
        self.s3 = s3_client
        self.recorder = recorder or Recorder()
        self.announcer = Announcer(publisher, tracker, region=region, recorder=self.recorder)
        # Other modes (batch, nightly, real-time) register here; the decision itself stays pure.
        self.handlers: dict[Mode, ModeHandler] = {Mode.ASYNC: self._invoke_async}
        self.policy = policy or policy_from(settings, frozenset(self.handlers))

    def register(self, mode: Mode, handler: ModeHandler) -> None:
        self.handlers[mode] = handler
        self.policy = policy_from(self.settings, frozenset(self.handlers))

    def handle_body(self, body: str) -> None:
        """All records of one SQS message. A retryable failure of one file fails the message after
        the others were handled; on the retry those others stop at their claim."""
        failures: list[OrchestratorError] = []
        for event in s3_events.parse_body(body):
            try:
                self.handle_object(event)
            except RetryableError as exc:
                logger.warning("file will be retried", extra={"reason": exc.message, **exc.details})
                failures.append(exc)
        if failures:
            raise failures[0]

    def handle_object(self, event: ObjectCreated) -> None:
        if event.is_folder_marker:
            logger.info("folder marker ignored", extra={"key": event.key})
            return
        if not self._is_ours(event):
            return
        request_id = identity.request_id(event.bucket, event.key, event.version_id, event.sequencer)
        logger.set_correlation_id(request_id)
        decision = self._decide(event)
        fields = {
            "bucket": event.bucket,
            "key": event.key,
            "version_id": event.version_id,
            "sequencer": event.sequencer,
            "etag": event.etag,
            "size": event.size,
            "object_uri": event.uri,
            "content_type": decision.content_type,
            "mode": decision.mode.value if decision.mode else None,
            "route_reason": decision.reason,
            "s3_event_time": event.event_time or None,
        }
        claim = self.tracker.claim(
            request_id, fields, self.settings.claim_timeout_seconds, deadline_seconds=self.settings.deadlines.received
        )
        if not claim:
            logger.info("duplicate delivery acknowledged", extra={"key": event.key})
            self.recorder.count("DuplicateDeliveries")
            return
        logger.info("routing", extra={"key": event.key, "mode": fields["mode"], "why": decision.reason})
        if decision.mode is None:
            self.close(request_id, event, decision, Status.SKIPPED, decision.reason)
            return
        if decision.mode is Mode.ASYNC and claim.may_have_invoked:
            self._confirm_uncertain(request_id, event)
            return
        self.handlers[decision.mode](request_id, event, decision)

    def _is_ours(self, event: ObjectCreated) -> bool:
        """A notification of another bucket, or outside the input prefix, is not a file to score:
        acknowledged, logged and counted, nothing written (a misconfigured notification elsewhere)."""
        expected = self.settings.input_bucket
        if expected and event.bucket != expected:
            problem = f"bucket {event.bucket!r} is not the input bucket {expected!r}"
        elif not event.key.startswith(self.settings.input_prefix):
            problem = f"key is outside the input prefix {self.settings.input_prefix!r}"
        else:
            return True
        logger.warning("notification not for this stack ignored", extra={"key": event.key, "why": problem})
        self.recorder.count("UnknownNotifications")
        return False

    def _confirm_uncertain(self, request_id: str, event: ObjectCreated) -> None:
        """An earlier attempt may have sent this request to SageMaker and died before confirming it.
        Sending it again could score it twice, so it is confirmed as sent: SageMaker's notification
        records the result, and the sweeper resolves it from ground truth by its deadline."""
        now = self.tracker.now()
        self.tracker.confirm(
            request_id,
            Status.SUBMITTED,
            {
                "submitted_at": timeutil.iso(now),
                "endpoint_name": self.settings.async_endpoint_name,
                "submission_uncertain": True,
                "deadline_at": self.settings.deadlines.after(now, self.settings.deadlines.submitted_async),
            },
        )
        logger.warning("earlier attempt may have invoked the endpoint: confirmed without invoking again")
        self.recorder.count("RequestsRouted", mode=Mode.ASYNC.value)

    def close(self, request_id: str, event: ObjectCreated, decision: Decision, status: Status, reason: str) -> None:
        """Announce an unscorable file on the error topic, then record it. Publishing first means
        a crash in between repeats the announcement rather than losing it."""
        file = {
            "request_id": request_id,
            "object_uri": event.uri,
            "content_type": decision.content_type,
            "mode": decision.mode.value if decision.mode else None,
            "s3_event_time": event.event_time or None,
        }
        self.announcer.announce(file, status, reason=reason, confirm_claim=True)
        logger.warning("file not scored", extra={"key": event.key, "status": status.value, "reason": reason})

    def _decide(self, event: ObjectCreated) -> Decision:
        facts: FileFacts | None = FileFacts(key=event.key, size=event.size)
        if self.settings.read_object_metadata:
            facts = self._with_metadata(event)
        if facts is None:
            return Decision(None, None, "object no longer exists (deleted before it was routed)")
        return routing.decide(facts, self.policy)

    def _with_metadata(self, event: ObjectCreated) -> FileFacts | None:
        params = {"Bucket": event.bucket, "Key": event.key}
        if event.version_id:
            params["VersionId"] = event.version_id
        try:
            head = self.s3.head_object(**params)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NoSuchVersion"):
                return None
            raise RetryableError(f"HeadObject failed: {exc}", {"key": event.key}) from exc
        except BotoCoreError as exc:
            raise RetryableError(f"HeadObject failed: {exc}", {"key": event.key}) from exc
        return FileFacts(
            key=event.key,
            size=event.size,
            content_type=head.get("ContentType"),
            requested_mode=head.get("Metadata", {}).get("inference-mode"),
        )

    def _invoke_async(self, request_id: str, event: ObjectCreated, decision: Decision) -> None:
        assert decision.content_type is not None  # decide() never picks a mode without one
        try:
            submission = self.invoker.invoke(
                endpoint_name=self.settings.async_endpoint_name,
                input_location=event.uri,
                inference_id=request_id,
                content_type=decision.content_type,
                invocation_timeout_seconds=self.settings.invocation_timeout_seconds,
                request_ttl_seconds=self.settings.request_ttl_seconds,
            )
        except InvocationRejectedError as exc:
            self.close(request_id, event, decision, Status.FAILED, exc.message)
            return
        except RetryableError as exc:
            # SageMaker did not take it: say so on the item, so the retry may send it again.
            self._release(request_id, exc)
            raise
        moment = self.tracker.now()
        now = timeutil.iso(moment)
        confirmed = self.tracker.confirm(
            request_id,
            Status.SUBMITTED,
            {
                "submitted_at": now,
                "deadline_at": self.settings.deadlines.after(moment, self.settings.deadlines.submitted_async),
                "endpoint_name": self.settings.async_endpoint_name,
                "output_location": submission.output_location,
                "failure_location": submission.failure_location,
            },
        )
        if not confirmed:  # the result overtook the confirmation: the tracker already has it
            logger.info("result arrived before confirmation; keeping it")
        self.recorder.count("RequestsRouted", mode=Mode.ASYNC.value)
        self.recorder.timing("QueueTime", timeutil.millis_between(event.event_time, now), mode=Mode.ASYNC.value)

    def _release(self, request_id: str, exc: RetryableError) -> None:
        try:
            self.tracker.release(request_id, exc.message)
        except RetryableError as release_failed:  # the retry then treats the request as possibly sent
            logger.warning("could not release the claim", extra={"reason": release_failed.message})
