"""Nights of the nightly batch and the names of their jobs (pure: strings and numbers in and out).

**A night** is named from the schedule's *scheduled* time read in the schedule's own time zone
(``NightlyScheduleTimezone``), so a local-time cron keeps one name per local day across a
daylight-saving change: ``2026-03-29``. EventBridge Scheduler skips a local time that does not
exist (spring) and runs a repeated one once (autumn), so a cron with one minute and one hour runs at
most once per local date. Any other schedule (``rate(…)``, or a cron with several times a day) also
gets the local time, ``2026-03-29-0230``, and the second 02:30 of an autumn night (the clocks went
back) ``2026-10-25-0230b``: no two runs of one schedule share a night.

**Jobs of a night** all start with ``<prefix>-nightly-<night>`` (IAM and the EventBridge rule match
on the prefix):

- ``<prefix>-nightly-<night>``: the night's job;
- ``…-r<n>``: re-run *n* (``{"rerun": n, "date": "<night>"}``);
- ``…-x<6 base-36 chars>``: a retry job, holding part of the files a failed job left without an
  output; the suffix is a digest of the parent job's name and the part's request ids, so a duplicate
  event computes the same name (``ResourceInUse``: already started) and a different part never does.

With the longest prefix (30) the longest name is 30 + ``-nightly-`` + ``2026-10-25-0230b`` +
``-x123abc`` = 63 characters, SageMaker's limit.

**Rounds.** A failed job's files without output are split into parts, each a retry job of the next
round; a part of one file that fails is that file's own failure. Parts hold at most
``2 ** (MAX_SPLIT_ROUNDS - round)`` files, so every file is alone by round :data:`MAX_SPLIT_ROUNDS`
whatever the night's size; below that bound a failed job is simply halved.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo

from orchestrator.core import identity

MAX_RERUN = 99
MAX_SPLIT_ROUNDS = 12
SPLIT_DIGEST_LENGTH = 6
_BASE36 = "0123456789abcdefghijklmnopqrstuvwxyz"
_NIGHT = re.compile(r"^(?P<date>\d{4}-\d{2}-\d{2})(?:-(?P<hhmm>\d{4})(?P<fold>b?))?$")
# cron(minutes hours day-of-month month day-of-week [year]): one minute and one hour = once a day.
_ONCE_A_DAY = re.compile(r"^cron\(\s*\d{1,2}\s+\d{1,2}\s+\S+\s+\S+\s+\S+(\s+\S+)?\s*\)$")
_RUN_FOLDER = re.compile(r"/split(?P<round>\d{1,2})-[0-9a-f]+/[^/]+$")


def named_by_time(schedule_expression: str | None) -> bool:
    """Whether nights of this schedule need the local time in their name (more than one run a day
    is possible). An unknown expression (not configured) counts as once a day."""
    expression = (schedule_expression or "").strip()
    return bool(expression) and not _ONCE_A_DAY.match(expression)


def time_zone(name: str) -> tzinfo:
    """The schedule's IANA time zone; ``ZoneInfoNotFoundError`` / ``ValueError`` if unknown."""
    if name in ("", "UTC", "Etc/UTC"):
        return UTC
    from zoneinfo import ZoneInfo  # only the nightly function needs the time zone database

    return ZoneInfo(name)


def night_of(moment: datetime, zone: tzinfo, *, with_time: bool) -> str:
    """The night a scheduled time belongs to: its local date, and its local time when needed."""
    local = moment.astimezone(zone)
    night = local.date().isoformat()
    if with_time:
        night += f"-{local:%H%M}" + ("b" if local.fold else "")
    return night


def valid_night(value: object) -> str | None:
    """``value`` if it names a night (``YYYY-MM-DD`` or ``YYYY-MM-DD-HHMM[b]``), else None."""
    if not isinstance(value, str) or not (match := _NIGHT.match(value)):
        return None
    try:
        date.fromisoformat(match["date"])
    except ValueError:
        return None
    hhmm = match["hhmm"]
    if hhmm is not None and (int(hhmm[:2]) > 23 or int(hhmm[2:]) > 59):
        return None
    return value


def night_job(prefix: str, night: str) -> str:
    return identity.job_name(prefix, f"nightly-{night}")


def rerun_job(prefix: str, night: str, attempt: int) -> str:
    return identity.job_name(prefix, f"nightly-{night}-r{attempt}")


def retry_job(prefix: str, night: str, parent: str, request_ids: Iterable[str]) -> str:
    """The retry job for one part of ``parent``'s files without output (see the module docstring)."""
    digest = hashlib.sha256(parent.encode())
    for request_id in request_ids:
        digest.update(b"\n" + request_id.encode())
    number = int(digest.hexdigest()[:16], 16)
    suffix = ""
    for _ in range(SPLIT_DIGEST_LENGTH):
        number, digit = divmod(number, 36)
        suffix += _BASE36[digit]
    return identity.job_name(prefix, f"nightly-{night}-x{suffix}")


@dataclass(frozen=True)
class NightJob:
    """What a night's job name means: the night, a re-run's number, a retry job."""

    night: str
    rerun: int | None = None  # re-run n
    retry: bool = False  # a retry job (part of a failed job's files)


def parse_job(prefix: str, job_name: str) -> NightJob | None:
    """Which night (and which kind of job) a job name of this stack means; None if not a night's."""
    pattern = (
        rf"^{re.escape(prefix)}-nightly-(?P<night>\d{{4}}-\d{{2}}-\d{{2}}(?:-\d{{4}}b?)?)"
        rf"(?:-r(?P<rerun>\d{{1,2}})|-x(?P<retry>[0-9a-z]{{{SPLIT_DIGEST_LENGTH}}}))?$"
    )
    match = re.match(pattern, job_name)
    if match is None:
        return None
    rerun = match["rerun"]
    return NightJob(match["night"], int(rerun) if rerun else None, match["retry"] is not None)


def run_folder(run: str, split_round: int = 0) -> str:
    """The folder (under the job's artifacts) of one run's manifest and roster; a retry job's
    names its round, so the result of that job knows how far the splitting has gone."""
    return f"split{split_round}-{run}" if split_round else run


def round_of(manifest_uri: str | None) -> int:
    """The splitting round of the job reading ``manifest_uri`` (0: a night's job or a re-run)."""
    match = _RUN_FOLDER.search(manifest_uri or "")
    return int(match["round"]) if match else 0


def part_sizes(count: int, split_round: int, max_rounds: int = MAX_SPLIT_ROUNDS) -> list[int]:
    """Sizes of the retry jobs of round ``split_round`` for ``count`` files: halves, or more parts
    when halving could not isolate every file by round ``max_rounds``; never more parts than files."""
    if count <= 0:
        return []
    largest = 2 ** max(max_rounds - split_round, 0)
    parts = min(count, max(2, -(-count // largest)))
    base, extra = divmod(count, parts)
    return [base + (1 if n < extra else 0) for n in range(parts)]
