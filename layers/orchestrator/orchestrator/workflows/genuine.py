"""Whether a result message matches what its request asked for (the tracker function's check).

Anyone who may publish on the result topics can name a pending request's ``inferenceId``. A result
is recorded only if it matches the request (README "Trust boundaries"):

- **mode**: the item's (SageMaker's own notifications are async; a product message without a mode
  only fits an item without one, a file skipped before it got a mode);
- **async**: a success's ``outputLocation``, and a failure's ``failureLocation`` when it names one, is
  the location ``InvokeEndpointAsync`` returned, kept on the item. An item without one (an uncertain
  submission, a result that overtook the confirmation, an item confirmed by an older version)
  accepts a location under ``s3://<input bucket>/<OutputPrefix>`` only;
- **real-time and serverless**: a success names exactly the scorer's object
  ``<OutputPrefix><mode>/<request id>.out``;
- **batch and nightly**: a job's message names the item's job. A job name is never reused and a file
  joins a job once, so the name also fixes the file's job sequence (the product's messages do not
  carry it). Two jobs may name a file no job has marked yet: its own per-file job (the name is made
  from the request id) and, with a failure only, its night's job or re-run (the nightly run may have
  died before marking it). A success always names its job; a message without a job fits only a file
  in no job.

A failure need not name a location (SageMaker's Expired and input errors do not, nor do the
product's own failures): it is checked for its mode and job only, and the topic policy is what keeps
other publishers out. Checks of the message alone are made here, before any write; what it requires
of the item are :class:`~orchestrator.aws.tracker_table.Holds` the tracker checks inside its conditional write.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from orchestrator.aws.tracker_table import Holds
from orchestrator.core import identity, nights
from orchestrator.core.messages import ResultMessage
from orchestrator.core.routing import SYNC_MODES, Mode
from orchestrator.settings import OutcomeSettings

_JOB_MODES = frozenset({Mode.BATCH.value, Mode.NIGHTLY.value})
_SYNC_MODES = frozenset(mode.value for mode in SYNC_MODES)


@dataclass(frozen=True)
class Check:
    """What a result message must match in its item before it is recorded."""

    problem: str | None = None  # the message alone does not match any request: nothing is written
    must_hold: tuple[Holds, ...] = ()  # what it requires of its item, checked inside the write


def check(message: ResultMessage, settings: OutcomeSettings) -> Check:
    mode = message.mode if message.from_product or message.job_name else message.mode or Mode.ASYNC.value
    held = [Holds("mode", mode)] if mode or message.from_product else []
    if message.job_name is not None:
        return Check(must_hold=(*held, _job(message, settings)))
    if mode in _JOB_MODES:
        if message.is_success:
            return Check(f"a {mode} success names no transform job")
        return Check(must_hold=(*held, Holds("job_name", None)))
    if mode in _SYNC_MODES:
        if message.is_success:
            problem = _sync_output(message, mode, settings)
            if problem:
                return Check(problem)
        return Check(must_hold=tuple(held))
    if mode is None:  # the product's message of a file skipped before it had a mode
        return Check("a success states no mode") if message.is_success else Check(must_hold=tuple(held))
    return _async(message, settings, held)


def mismatch(must_hold: Iterable[Holds], item: dict[str, Any]) -> str | None:
    """What the item holds that the message does not match, in words; None if it matches."""
    for held in must_hold:
        if not held.met_by(item):
            wanted, found = (("none" if v is None else repr(v)) for v in (held.value, item.get(held.attribute)))
            return f"{held.attribute}: the message says {wanted}, the request has {found}"
    return None


def _async(message: ResultMessage, settings: OutcomeSettings, held: list[Holds]) -> Check:
    if message.is_success:
        attribute, location = "output_location", message.output_location
        if not location:
            return Check("an async success names no outputLocation")
    else:
        attribute, location = "failure_location", message.failure_location
        if not location:
            return Check(must_hold=tuple(held))
    # Outside the output prefix only if it is the very location SageMaker returned for this request.
    held.append(Holds(attribute, location, or_absent=_under_output_prefix(location, settings)))
    return Check(must_hold=tuple(held))


def _job(message: ResultMessage, settings: OutcomeSettings) -> Holds:
    name = str(message.job_name)
    try:
        own = name == identity.job_name(settings.job_prefix, message.request_id)
    except ValueError:  # an inferenceId no job name can be made of
        own = False
    night = nights.parse_job(settings.job_prefix, name)
    before_marking = night is not None and not night.retry and not message.is_success
    return Holds("job_name", name, or_absent=own or before_marking)


def _sync_output(message: ResultMessage, mode: str, settings: OutcomeSettings) -> str | None:
    from orchestrator.workflows.scorer import output_key  # sync successes only: not on every cold start's path

    key = output_key(settings.output_prefix, mode, message.request_id)
    location = message.output_location or ""
    bucket, _, found = location.removeprefix("s3://").partition("/")
    if location.startswith("s3://") and found == key and settings.input_bucket in (None, bucket):
        return None
    return f"a {mode} success names outputLocation {location!r}, not the scorer's object {key!r}"


def _under_output_prefix(location: str, settings: OutcomeSettings) -> bool:
    bucket, _, key = location.removeprefix("s3://").partition("/")
    return (
        location.startswith("s3://")
        and settings.input_bucket in (None, bucket)
        and key.startswith(settings.output_prefix)
    )
