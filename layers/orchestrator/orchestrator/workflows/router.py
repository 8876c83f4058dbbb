"""The router's workflow for one S3 notification: decide, claim, invoke, confirm (docs/architecture.md §3).

Every file that cannot be scored is recorded with its reason and announced on the error topic.
The order claim → act → confirm makes each step safe to repeat: a duplicate delivery stops at the
claim (one call); a crash after the claim is recovered by the retry once the claim expires.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from botocore.exceptions import BotoCoreError, ClientError

from orchestrator.aws.adapters import Adapters, UsesAdapters
from orchestrator.aws.sagemaker_runtime import AsyncInvoker
from orchestrator.aws.tracker_table import Claim
from orchestrator.core import deadlines, identity, routing, s3_events
from orchestrator.core.routing import Backlog, Decision, FileFacts, Mode, RoutingPolicy
from orchestrator.core.s3_events import ObjectCreated
from orchestrator.core.status import Status
from orchestrator.errors import OrchestratorError, RetryableError
from orchestrator.modes.async_endpoint import AsyncMode
from orchestrator.modes.interface import ClaimedFile, ModeHandler, close
from orchestrator.observability import logger
from orchestrator.settings import RouterSettings


def policy_from(settings: RouterSettings, available: frozenset[Mode] = frozenset({Mode.ASYNC})) -> RoutingPolicy:
    return RoutingPolicy(
        content_types=settings.content_types,
        available_modes=available,
        nightly_prefix=settings.nightly_prefix,
        batch_prefix=settings.batch_prefix,
        async_max_bytes=settings.async_max_bytes,
        rules=settings.routing_rules,
        requestable_modes=settings.requestable_modes,
    )


class Router(UsesAdapters):
    def __init__(
        self,
        settings: RouterSettings,
        adapters: Adapters,
        *,
        invoker: AsyncInvoker,
        policy: RoutingPolicy | None = None,
    ) -> None:
        super().__init__(adapters)  # S3: HeadObject, only when READ_OBJECT_METADATA is on
        self.settings = settings
        self.invoker = invoker
        # One handler per configured mode (modes.ModeHandler); the decision itself stays pure.
        self.handlers: dict[Mode, ModeHandler] = {Mode.ASYNC: AsyncMode(settings, adapters, invoker=invoker)}
        self.policy = policy or policy_from(settings, frozenset(self.handlers))
        # The scorer queue's backlog for spill rules (backlog.ScorerBacklog); None: no scorer queue.
        self.backlog: Callable[[], Backlog] | None = None

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
            # The stack's own bucket is implied (object_uri names it): 67 B less on every item.
            "bucket": None if event.bucket == self.settings.input_bucket else event.bucket,
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
        # The claim enters the file in the lane of the status its mode confirms, due by the earliest
        # deadline it may have: the confirmation then rewrites the in-flight entry in place.
        modes = [m.value for m in (decision.spill_modes or (decision.mode,)) if m is not None]
        claim = self.tracker.claim(
            request_id,
            fields,
            self.settings.claim_timeout_seconds,
            deadline_seconds=self.settings.deadlines.at_claim(modes),
            lane=deadlines.lane_of_mode(decision.mode.value if decision.mode else None),
        )
        if not claim:
            logger.info("duplicate delivery acknowledged", extra={"key": event.key})
            self.recorder.count("DuplicateDeliveries")
            return
        decision = self._as_earlier_attempt(request_id, decision, claim)
        if decision.spilled_from is not None and decision.mode is not None:
            self.recorder.count("RequestsSpilled", mode=decision.mode.value)
        logger.info("routing", extra={"key": event.key, "mode": decision.mode, "why": decision.reason})
        file = ClaimedFile(request_id, event, decision, claim)
        if decision.mode is None:
            close(self.announcer, file, Status.SKIPPED, decision.reason)
            return
        self.handlers[decision.mode](file)

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

    def _decide(self, event: ObjectCreated) -> Decision:
        facts: FileFacts | None = FileFacts(key=event.key, size=event.size)
        if self.settings.read_object_metadata:
            facts = self._with_metadata(event)
        if facts is None:
            return Decision(None, None, "object no longer exists (deleted before it was routed)")
        decision = routing.decide(facts, self.policy)
        if decision.backlog_wanted:  # a spill rule matched: only then is the scorer queue read
            backlog = self.backlog() if self.backlog else Backlog(None, "no scorer queue to read")
            decision = routing.decide(replace(facts, backlog=backlog), self.policy)
        return decision

    def _as_earlier_attempt(self, request_id: str, decision: Decision, claim: Claim) -> Decision:
        """A takeover of an attempt that may have sent the file keeps that attempt's mode when a spill
        rule decided: its choice follows the backlog of the moment, and sending under the other mode
        could score the file twice (the mode's handler then treats it as possibly sent)."""
        earlier = (claim.previous or {}).get("mode")
        choices = decision.spill_modes or ()
        if not claim.may_have_invoked or decision.mode is None or earlier == decision.mode.value:
            return decision
        mode = next((m for m in choices if m.value == earlier), None)
        if mode is None:
            return decision
        before = (claim.previous or {}).get("route_reason") or f"[{decision.rule}] {earlier}"
        reason = f"{before}; kept on a retry: the earlier attempt may have sent it as {earlier}"
        kept = Decision(mode, decision.content_type, reason, decision.rule)
        self.tracker.reroute(request_id, mode.value, kept.reason)
        return kept

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
