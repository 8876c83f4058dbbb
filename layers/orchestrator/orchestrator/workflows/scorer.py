"""The synchronous modes, real-time and serverless (README "Four modes side by side").

A 60 s model call does not belong in the router (its time budget, its cold start): the router
hands a sync file to the scorer's queue (:class:`Handoff`, one SendMessage, then SUBMITTED with the
queues' retention as deadline: waiting in a queue is not being lost), and the scorer function (:class:`Scorer`) does
claim → GetObject → InvokeEndpoint → PutObject ``<OutputPrefix><mode>/<request id>.out`` →
announce SUCCEEDED through :class:`Announcer` (publish, then record), like every other mode.

The claim is one conditional write (SUBMITTED → IN_PROGRESS with a claim expiry shorter than the
queue's visibility timeout): a duplicate delivery stops there (one call). A scorer that dies holding
its claim leaves it to expire unreleased: the redelivery takes it over without calling the model
again (the result object decides, else FAILED), so a file is invoked at most once.

AWS calls per file (``tests/bench/calls.py``): router 3 (PutItem claim, SendMessage, UpdateItem);
scorer happy path 6 (UpdateItem claim, GetObject, InvokeEndpoint, PutObject, Publish, UpdateItem),
duplicate 1 (the claim), a model's 4xx 5 (no PutObject).
"""

from __future__ import annotations

import json
import time
from dataclasses import KW_ONLY, asdict, dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from orchestrator.aws.adapters import Adapters, UsesAdapters
from orchestrator.aws.sagemaker_runtime import SyncInvoker
from orchestrator.core import timestamps
from orchestrator.core.routing import MODE_PARAMETERS, Mode
from orchestrator.core.status import Status
from orchestrator.errors import AmbiguousInvocationError, BadEventError, InvocationRejectedError, RetryableError
from orchestrator.modes.interface import ClaimedFile, confirm_submitted
from orchestrator.observability import logger
from orchestrator.settings import ScorerSettings

_ABSENT = frozenset({"404", "NoSuchKey", "NoSuchVersion", "NotFound"})


def output_key(output_prefix: str, mode: str, request_id: str) -> str:
    """Where a synchronous result is written (and where the sweeper looks for it)."""
    return f"{output_prefix}{mode}/{request_id}.out"


@dataclass(frozen=True)
class ScoreRequest:
    """The scorer queue's message body (small JSON; the payload itself stays in S3)."""

    requestId: str
    bucket: str
    key: str
    versionId: str | None
    contentType: str
    mode: str

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def parse(cls, body: str) -> ScoreRequest:
        try:
            data = json.loads(body)
            request = cls(
                requestId=str(data["requestId"]),
                bucket=str(data["bucket"]),
                key=str(data["key"]),
                versionId=data.get("versionId") or None,
                contentType=str(data["contentType"]),
                mode=str(data["mode"]),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise BadEventError(f"not a scorer request: {exc}", {"body": body[:200]}) from exc
        if request.mode not in (Mode.REALTIME, Mode.SERVERLESS):
            raise BadEventError(f"mode {request.mode!r} is not a synchronous mode", {"body": body[:200]})
        return request


@dataclass(eq=False)
class Handoff(UsesAdapters):
    """``Router.register(Mode.REALTIME | Mode.SERVERLESS, Handoff(...))``: one SendMessage, then SUBMITTED.

    A crash between the two: the retry takes the expired claim over and sends again; the scorer's
    claim stops the second message."""

    adapters: Adapters
    _: KW_ONLY
    sqs: Any
    queue_url: str
    endpoints: dict[str, str]

    def __call__(self, file: ClaimedFile) -> None:
        request_id, event, decision = file.request_id, file.event, file.decision
        assert decision.mode is not None and decision.content_type is not None
        request = ScoreRequest(
            requestId=request_id,
            bucket=event.bucket,
            key=event.key,
            versionId=event.version_id,
            contentType=decision.content_type,
            mode=decision.mode.value,
        )
        try:
            self.sqs.send_message(QueueUrl=self.queue_url, MessageBody=request.to_json())
        except (ClientError, BotoCoreError) as exc:
            code = getattr(exc, "response", {}).get("Error", {}).get("Code", type(exc).__name__)
            raise RetryableError(f"handing the file to the scorer failed: {code}", {"key": event.key}) from exc
        now = confirm_submitted(
            self.tracker,
            file,
            {"endpoint_name": self.endpoints.get(decision.mode.value)},
            overtaken="the scorer started before confirmation; keeping its status",
        )
        self.recorder.count("RequestsRouted", mode=decision.mode.value)
        self.recorder.timing("QueueTime", timestamps.millis_between(event.event_time, now), mode=decision.mode.value)


@dataclass(eq=False)
class Scorer(UsesAdapters):
    """The scorer's workflow for a handed-off file: claim, invoke the endpoint, announce and record."""

    settings: ScorerSettings
    adapters: Adapters
    _: KW_ONLY
    invoker: SyncInvoker

    def handle_body(self, body: str) -> None:
        request = ScoreRequest.parse(body)
        logger.set_correlation_id(request.requestId)
        endpoint = self.settings.endpoints.get(request.mode)
        started = self.tracker.now()
        claim = self.tracker.start_scoring(
            request.requestId,
            {"endpoint_name": endpoint, "sagemaker_received_at": timestamps.iso(started)},
            self.settings.claim_timeout_seconds,
            self.settings.deadlines.submitted_sync,
        )
        if claim is None:
            logger.info("duplicate delivery acknowledged", extra={"key": request.key})
            self.recorder.count("DuplicateDeliveries")
            return
        item = claim.item
        if claim.may_have_invoked:
            self._settle_without_invoking(request, item)
            return
        if endpoint is None:  # the parameter was emptied after the file was routed
            parameter = MODE_PARAMETERS[Mode(request.mode)]
            reason = f"mode {request.mode!r} is not configured (template parameter {parameter} is empty)"
            self.announcer.announce(item, Status.SKIPPED, reason=reason)
            return
        payload = self._read(request, item)
        if payload is None:
            return
        clock = time.monotonic()
        try:
            result = self.invoker.invoke(
                endpoint_name=endpoint, body=payload, content_type=request.contentType, inference_id=request.requestId
            )
        except InvocationRejectedError as exc:
            self.announcer.announce(item, Status.FAILED, reason=exc.message)
            logger.warning("the model refused the file", extra={"reason": exc.message, **exc.details})
            return
        except AmbiguousInvocationError as exc:
            # The model may have scored it, but its answer is lost with the response: invoking again
            # could score it twice, and nothing else can bring the answer back.
            reason = f"{exc.message}. Its answer was lost; upload the file again to score it"
            self.announcer.announce(item, Status.FAILED, reason=reason, record={"submission_uncertain": True})
            self.recorder.count("InvocationsUncertain", mode=request.mode)
            logger.warning("outcome of the model call unknown", extra={"reason": exc.message, **exc.details})
            return
        except RetryableError as exc:
            self._release(request.requestId, exc)
            raise
        processing_ms = int((time.monotonic() - clock) * 1000)
        key = output_key(self.settings.output_prefix, request.mode, request.requestId)
        try:
            self.s3.put_object(Bucket=request.bucket, Key=key, Body=result.body, ContentType=result.content_type)
        except (ClientError, BotoCoreError) as exc:
            error = RetryableError(f"writing the result failed: {exc}", {"key": key})
            self._release(request.requestId, error)
            raise error from exc
        location = f"s3://{request.bucket}/{key}"
        self.announcer.announce(
            item,
            Status.SUCCEEDED,
            output_location=location,
            extra={"processingTimeMs": processing_ms, "outputContentType": result.content_type},
            record={"processing_ms": processing_ms, "output_content_type": result.content_type},
        )
        self.recorder.timing("ProcessingTime", processing_ms, mode=request.mode)
        logger.info("scored", extra={"mode": request.mode, "processing_ms": processing_ms, "output": location})

    def _settle_without_invoking(self, request: ScoreRequest, item: dict[str, Any]) -> None:
        """The previous scorer died holding its claim, perhaps after the model call: its result object
        (written before any announcement) says SUCCEEDED; without one the answer is lost, and calling
        the model again could score the file twice."""
        from orchestrator.aws import result_objects  # a crash's aftermath only: not on the cold-start path

        location = f"s3://{request.bucket}/{output_key(self.settings.output_prefix, request.mode, request.requestId)}"
        if result_objects.exists(self.s3, location):
            self.announcer.announce(item, Status.SUCCEEDED, output_location=location)
            return
        reason = (
            "the scorer stopped while it held this file, possibly after calling the model; not invoked again "
            "so that it is never scored twice. Upload the file again to score it"
        )
        self.announcer.announce(item, Status.FAILED, reason=reason, record={"submission_uncertain": True})
        self.recorder.count("InvocationsUncertain", mode=request.mode)
        logger.warning("a crashed scorer's file closed without invoking again", extra={"key": request.key})

    def _read(self, request: ScoreRequest, item: dict[str, Any]) -> bytes | None:
        params = {"Bucket": request.bucket, "Key": request.key}
        if request.versionId:
            params["VersionId"] = request.versionId
        try:
            return bytes(self.s3.get_object(**params)["Body"].read())
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _ABSENT:
                self.announcer.announce(item, Status.FAILED, reason="the input object no longer exists")
                return None
            error = RetryableError(f"reading the input failed: {exc}", {"key": request.key})
        except BotoCoreError as exc:
            error = RetryableError(f"reading the input failed: {exc}", {"key": request.key})
        self._release(request.requestId, error)
        raise error

    def _release(self, request_id: str, exc: RetryableError) -> None:
        try:
            self.tracker.release_scoring(request_id, exc.message)
        except RetryableError as release_failed:  # the claim then expires by itself
            logger.warning("could not release the scoring claim", extra={"reason": release_failed.message})
