"""Which sample event goes with which function, and what each invocation must do.

CASES is the explicit pair list: every function in template.yaml and every file in events/ must appear in
it (test_pair_list checks), except the files in NOT_INVOCATION_EVENTS. Adding a function or a sample
means adding its pair here with the response and side effects to expect. Expected values are read from
the events themselves (keys, versions, job names, SageMaker's fields), not retyped.

Each pair runs in a moto account of its own; ``prepare`` puts there what the event presupposes (the
tracker items a notification or a job names, a failed night for a re-run), written with the shared
package's own tracker adapter so the items have the shape the functions write.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import unquote_plus

from orchestrator.aws.tracker_table import TrackerTable
from orchestrator.core import timestamps
from orchestrator.core.identity import request_id
from orchestrator.core.status import Status
from samtranslator.yaml_helper import yaml_parse

from tests.local_invoke.runtime import EVENTS_DIR, TEMPLATE
from tests.local_invoke.world import Account, SideEffects, declared_value

NOT_INVOCATION_EVENTS = {
    "env-vars.json": "the --env-vars file of `sam local invoke` (variables per function), not an event",
}

ALL_PROCESSED = {"batchItemFailures": []}
EVENT_SOURCE = "sagemaker-inference-orchestrator"  # the product's own result messages


def load(event: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EVENTS_DIR / event).read_text(encoding="utf-8"))
    return data


def template_default(parameter: str) -> str:
    return str(yaml_parse(TEMPLATE.read_text(encoding="utf-8"))["Parameters"][parameter]["Default"])


JOB_PREFIX = template_default("TransformJobPrefix")
OUTPUT_PREFIX = template_default("OutputPrefix")
INPUT_BUCKET = declared_value("INPUT_BUCKET")


@dataclass(frozen=True)
class S3Object:
    bucket: str
    key: str  # decoded
    size: int
    request_id: str

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


def s3_objects(event: dict[str, Any]) -> list[S3Object]:
    """The objects an SQS event of S3 notifications announces (none for any other event)."""
    found = []
    for record in event.get("Records", []):
        body = json.loads(record["body"]) if isinstance(record, dict) and "body" in record else {}
        for s3_record in body.get("Records", []) if isinstance(body, dict) else []:
            if "s3" not in s3_record:
                continue
            bucket, obj = s3_record["s3"]["bucket"]["name"], s3_record["s3"]["object"]
            key = unquote_plus(obj["key"])
            rid = request_id(bucket, key, obj.get("versionId"), obj.get("sequencer"))
            found.append(S3Object(bucket, key, int(obj.get("size", 0)), rid))
    return found


def sagemaker_messages(event: dict[str, Any]) -> list[dict[str, Any]]:
    return [json.loads(record["body"]) for record in event["Records"]]


def batch_output(job_output_path: str, key: str) -> str:
    """Where a transform job writes the prediction for ``key``: ``<S3OutputPath>/<key>.out``."""
    return f"{job_output_path.rstrip('/')}/{key}.out"


def job_folder(job_name: str) -> str:
    return f"s3://{INPUT_BUCKET}/{OUTPUT_PREFIX}batch/{job_name}"


# The night the samples describe: two files scheduled before it, and the job that scored them.
_SCHEDULE = load("schedule-nightly.json")
_NIGHT_JOB = load("transform-state-completed.json")["detail"]
NIGHT_JOB_NAME = _NIGHT_JOB["TransformJobName"]
NIGHT_MANIFEST = _NIGHT_JOB["TransformInput"]["DataSource"]["S3DataSource"]["S3Uri"]
NIGHT_FILES = [
    S3Object(INPUT_BUCKET, key, 1024, request_id(INPUT_BUCKET, key, version, None))
    for key, version in (("incoming/nightly/stores.csv", "n1"), ("incoming/nightly/returns.csv", "n2"))
]
_LATE = "incoming/nightly/late.csv"
LATE_FILE = S3Object(INPUT_BUCKET, _LATE, 1024, request_id(INPUT_BUCKET, _LATE, "n3", None))
# The per-file job of the sample over 1 GB, as the router names it.
BIG_FILE = s3_objects(load("s3-put-over-1gb.json"))[0]
# Requests the sweeper finds overdue (its tick's event carries only the time; it reads its own clock):
# one scored by the endpoint whose success notification was lost (the output object is there), one
# the router claimed and never confirmed.
_LOST, _UNROUTED = "incoming/lost/scored.csv", "incoming/lost/unrouted.csv"
LOST_RESULT = S3Object(INPUT_BUCKET, _LOST, 1024, request_id(INPUT_BUCKET, _LOST, "l1", None))
LOST_OUTPUT = f"s3://{INPUT_BUCKET}/{OUTPUT_PREFIX}async/lost-scored.out"
NOT_ROUTED = S3Object(INPUT_BUCKET, _UNROUTED, 1024, request_id(INPUT_BUCKET, _UNROUTED, "l2", None))


# The scorer's sample: one real-time file the router handed over (the request id is its derived one).
_SCORE_REQUEST = json.loads(load("sqs-scorer-realtime.json")["Records"][0]["body"])
SCORED = S3Object(_SCORE_REQUEST["bucket"], _SCORE_REQUEST["key"], 20, _SCORE_REQUEST["requestId"])


def shared_objects() -> dict[str, dict[str, bytes]]:
    """Objects every pair may read (bucket → key → body): the files the samples announce (small stand-ins:
    nothing reads them, the notification carries the size) and the night's manifest and roster."""
    objects: dict[str, dict[str, bytes]] = {}
    for path in sorted(EVENTS_DIR.glob("*.json")):
        for obj in s3_objects(json.loads(path.read_text(encoding="utf-8"))):
            objects.setdefault(obj.bucket, {})[obj.key] = b"x" * min(obj.size, 4096)
    night = objects.setdefault(INPUT_BUCKET, {})
    manifest_key = NIGHT_MANIFEST.removeprefix(f"s3://{INPUT_BUCKET}/")
    night[manifest_key] = json.dumps([{"prefix": f"s3://{INPUT_BUCKET}/"}, *(f.key for f in NIGHT_FILES)]).encode()
    night[manifest_key.removesuffix("manifest.json") + "requests.txt"] = "".join(
        f"{f.request_id}\n" for f in NIGHT_FILES
    ).encode()
    night[LOST_OUTPUT.removeprefix(f"s3://{INPUT_BUCKET}/")] = b"0.42\n"
    # The file the scorer's sample names (unversioned in the sample: GetObject without VersionId).
    night[SCORED.key] = b"age,income\n42,1000\n"
    return objects


@dataclass(frozen=True)
class Outcome:
    response: Any
    effects: SideEffects
    event: dict[str, Any]


Check = Callable[[Outcome], None]
Prepare = Callable[[Account, dict[str, Any]], None]


@dataclass(frozen=True)
class Case:
    function: str
    event: str
    check: Check
    prepare: Prepare | None = None

    @property
    def id(self) -> str:
        return f"{self.function}-{self.event.removesuffix('.json')}"


# ------------------------------------------------------------------------------- tracker items


def tracker(account: Account, at: str | None = None) -> TrackerTable:
    """The shared package's tracker adapter on the account's table; ``at`` fixes its clock."""
    clock = (lambda: timestamps.parse(at)) if at else timestamps.now
    return TrackerTable(account.table, account.client("dynamodb"), clock=clock)


def received(account: Account, obj: S3Object, mode: str, at: str | None = None) -> TrackerTable:
    """The router's claim of ``obj`` (RECEIVED), as the first step of every seeded item."""
    adapter = tracker(account, at)
    fields = {
        "bucket": obj.bucket,
        "key": obj.key,
        "size": obj.size,
        "object_uri": obj.uri,
        "content_type": "text/csv",
        "mode": mode,
    }
    assert adapter.claim(obj.request_id, fields, claim_timeout_seconds=90)
    return adapter


def scheduled(account: Account, obj: S3Object, at: str) -> None:
    assert received(account, obj, "nightly", at).confirm(obj.request_id, Status.SCHEDULED, {"scheduled_at": at})


def in_night_job(account: Account, outcome: Status | None = None) -> None:
    """The night's files SUBMITTED to the night's job (and, with ``outcome``, the job's result applied)."""
    for obj in NIGHT_FILES:
        scheduled(account, obj, _SCHEDULE["scheduledTime"])
        adapter = tracker(account)
        assert adapter.submit_to_job(obj.request_id, NIGHT_JOB_NAME, {}, from_statuses=(Status.SCHEDULED,))
        if outcome is not None:
            fields = {"failure_reason": "ClientError: See job logs"} if outcome is not Status.SUCCEEDED else {}
            assert adapter.apply_job_outcome(obj.request_id, NIGHT_JOB_NAME, outcome, fields)


# ---------------------------------------------------------------------------------------- router


@dataclass(frozen=True)
class Routed:
    status: Status
    mode: str | None = None  # SUBMITTED: async or batch
    reason: str = ""  # SKIPPED / FAILED: a fragment of the recorded reason


def routed(expected: dict[str, Routed]) -> Check:
    """The router acknowledges every record and leaves exactly ``expected`` (decoded key → outcome) in the
    tracker; each skip is announced on the error topic; a batch file gets a transform job of its own."""

    def check(outcome: Outcome) -> None:
        assert outcome.response == ALL_PROCESSED
        objects = {o.key: o for o in s3_objects(outcome.event)}
        effects = outcome.effects
        assert sorted(i["key"] for i in effects.items) == sorted(expected), effects.items
        announced = []
        for key, want in expected.items():
            obj = objects[key]
            item = effects.item(obj.request_id)
            assert (item["status"], item.get("bucket"), item["object_uri"], item["size"]) == (
                want.status.value,
                None,  # the stack's own bucket is implied by object_uri
                obj.uri,
                obj.size,
            )
            if want.mode == "async":
                assert item["mode"] == "async"
                assert item["endpoint_name"] == declared_value("ASYNC_ENDPOINT_NAME")
                assert item["output_location"].startswith("s3://")  # what InvokeEndpointAsync answered
            elif want.mode == "batch":
                job = f"{JOB_PREFIX}-{obj.request_id}"
                assert (item["mode"], item["job_name"]) == ("batch", job)
                assert item["output_location"] == batch_output(f"{job_folder(job)}/output", key)
                started = effects.transform_jobs[job]
                assert started.model_name == declared_value("TRANSFORM_MODEL_NAME")
                assert started.manifest_uri == f"{job_folder(job)}/manifest.json"
                assert started.manifest == [{"prefix": f"s3://{obj.bucket}/"}, key]
            else:
                assert want.reason in item["failure_reason"]
                announced.append((obj.request_id, item["failure_reason"]))
        assert effects.success == []
        assert sorted((m["inferenceId"], m["failureReason"]) for m in effects.error) == sorted(announced)
        assert all((m["invocationStatus"], m["eventSource"]) == ("Skipped", EVENT_SOURCE) for m in effects.error)
        if not any(want.mode == "batch" for want in expected.values()):
            assert effects.transform_jobs == {}

    return check


# --------------------------------------------------------------------------------------- tracker


def submitted_request(account: Account, event: dict[str, Any]) -> None:
    """The item the router leaves for each SageMaker notification's inferenceId: SUBMITTED to the endpoint."""
    for message in sagemaker_messages(event):
        request = message["requestParameters"]
        bucket, _, key = request["inputLocation"].removeprefix("s3://").partition("/")
        adapter = tracker(account)
        assert adapter.claim(message["inferenceId"], {"bucket": bucket, "key": key, "mode": "async"}, 90)
        assert adapter.confirm(message["inferenceId"], Status.SUBMITTED, {"endpoint_name": request["endpointName"]})


def recorded(status: Status) -> Check:
    """The tracker acknowledges the notification and records SageMaker's result on the request's item."""

    def check(outcome: Outcome) -> None:
        assert outcome.response == ALL_PROCESSED
        for message in sagemaker_messages(outcome.event):
            item = outcome.effects.item(message["inferenceId"])
            response = message.get("responseParameters", {})
            assert item["status"] == status.value
            assert item.get("output_location") == response.get("outputLocation")
            assert item.get("failure_location") == response.get("failureLocation")
            assert item.get("failure_reason") == message.get("failureReason")
            assert item["sagemaker_received_at"] == message["receivedTime"]
            assert item["completed_at"] == message["eventTime"]
        assert outcome.effects.success == outcome.effects.error == []

    return check


# --------------------------------------------------------------------------------------- nightly

NIGHT = timestamps.parse(_SCHEDULE["scheduledTime"])


def night_waiting(account: Account, _: dict[str, Any]) -> None:
    """Two files scheduled before the schedule's time, one after it (tomorrow's)."""
    for obj in NIGHT_FILES:
        scheduled(account, obj, timestamps.iso(NIGHT - timedelta(hours=5)))
    scheduled(account, LATE_FILE, timestamps.iso(NIGHT + timedelta(hours=1)))


def night_failed(account: Account, _: dict[str, Any]) -> None:
    """The night's job failed (SageMaker says so) and so did its files."""
    in_night_job(account, Status.FAILED)
    account.finished_transform_job(NIGHT_JOB_NAME, NIGHT_MANIFEST, "Failed")


def night_handed_off(account: Account, _: dict[str, Any]) -> None:
    """The night's job failed with its files still SUBMITTED to it, and the sweeper handed it off. The
    job reads a run folder of its own: S3 is shared by every pair, and the failed-job pair records its
    progress next to the sample's manifest (orchestrator/aws/night_progress.py), which this invocation would
    rightly take as settled."""
    in_night_job(account)
    s3 = account.client("s3")
    sample_folder = NIGHT_MANIFEST.removesuffix("manifest.json")
    own_folder = f"{job_folder(NIGHT_JOB_NAME)}/handoff-pair/"
    for name in ("manifest.json", "requests.txt"):
        source = (sample_folder + name).removeprefix(f"s3://{INPUT_BUCKET}/")
        s3.copy_object(
            Bucket=INPUT_BUCKET,
            Key=(own_folder + name).removeprefix(f"s3://{INPUT_BUCKET}/"),
            CopySource={"Bucket": INPUT_BUCKET, "Key": source},
        )
    account.finished_transform_job(NIGHT_JOB_NAME, own_folder + "manifest.json", "Failed")


def night_scored(job_name: str, rerun: int = 0) -> Check:
    """One transform job over the night's files (manifest and roster written), and those files SUBMITTED
    to it; nothing else moves and nothing is announced."""

    def check(outcome: Outcome) -> None:
        night = NIGHT.date().isoformat()
        expected = {"date": night, "jobName": job_name, "jobCreated": True, "files": 2, "markedSubmitted": 2}
        assert outcome.response == ({**expected, "rerun": rerun} if rerun else expected)
        effects = outcome.effects
        job = effects.transform_jobs[job_name]
        assert job.model_name == declared_value("TRANSFORM_MODEL_NAME")
        assert job.manifest_uri.startswith(f"{job_folder(job_name)}/") and job.manifest_uri.endswith("/manifest.json")
        assert job.output_path == f"{job_folder(job_name)}/output"
        # Files in the order the tracker listed them: compare as sets.
        assert job.manifest[0] == {"prefix": f"s3://{INPUT_BUCKET}/"}
        assert sorted(job.manifest[1:]) == sorted(f.key for f in NIGHT_FILES)
        assert sorted(job.roster or []) == sorted(f.request_id for f in NIGHT_FILES)
        for obj in NIGHT_FILES:
            item = effects.item(obj.request_id)
            assert (item["status"], item["job_name"]) == (Status.SUBMITTED.value, job_name)
            assert item["output_location"] == batch_output(job.output_path, obj.key)
            assert "failure_reason" not in item
        if not rerun:
            assert effects.item(LATE_FILE.request_id)["status"] == Status.SCHEDULED.value
        assert effects.success == effects.error == []

    return check


# ---------------------------------------------------------------------------------- batch result


def big_file_in_job(account: Account, _: dict[str, Any]) -> None:
    """The sample over 1 GB, SUBMITTED to a transform job of its own (what the router does with it)."""
    job = f"{JOB_PREFIX}-{BIG_FILE.request_id}"
    fields = {"job_name": job, "output_location": batch_output(f"{job_folder(job)}/output", BIG_FILE.key)}
    assert received(account, BIG_FILE, "batch").confirm(BIG_FILE.request_id, Status.SUBMITTED, fields)


def night_submitted(account: Account, _: dict[str, Any]) -> None:
    in_night_job(account)


def night_succeeded(account: Account, _: dict[str, Any]) -> None:
    """The first copy of the state change was handled already."""
    in_night_job(account, Status.SUCCEEDED)


def job_result(status: Status, files: list[S3Object], *, already_done: bool = False) -> Check:
    """One result message per file of the job on the topic of ``status``, and each file's item moved to it;
    a duplicate state change (``already_done``) announces and writes nothing."""

    def check(outcome: Outcome) -> None:
        detail = outcome.event["detail"]
        name, ended = detail["TransformJobName"], timestamps.iso(timestamps.parse(detail["TransformEndTime"]))
        started = timestamps.iso(timestamps.parse(detail["TransformStartTime"]))
        published = 0 if already_done else len(files)
        assert outcome.response == {
            "jobName": name,
            "status": detail["TransformJobStatus"],
            "files": len(files),
            "published": published,
            "recorded": published,
            "alreadyDone": len(files) - published,
        }
        effects = outcome.effects
        success = status is Status.SUCCEEDED
        messages = effects.success if success else effects.error
        assert (effects.error if success else effects.success) == []
        assert sorted(m["inferenceId"] for m in messages) == (
            [] if already_done else sorted(f.request_id for f in files)
        )
        output_path = detail["TransformOutput"]["S3OutputPath"]
        reason = detail.get("FailureReason") or f"transform job {name} was stopped"
        for obj in files:
            item = effects.item(obj.request_id)
            assert (item["status"], item["job_name"]) == (status.value, name)
            if already_done:
                continue
            assert (item["sagemaker_received_at"], item["completed_at"]) == (started, ended)
            message = next(m for m in messages if m["inferenceId"] == obj.request_id)
            assert (message["jobName"], message["eventSource"], message["requestParameters"]["inputLocation"]) == (
                name,
                EVENT_SOURCE,
                obj.uri,
            )
            if success:
                assert item["output_location"] == batch_output(output_path, obj.key)
                assert message["invocationStatus"] == "Completed"
                assert message["responseParameters"] == {"outputLocation": item["output_location"]}
            else:
                assert item["failure_reason"] == message["failureReason"] == reason
                assert message["invocationStatus"] == detail["TransformJobStatus"]

    return check


def night_retried(outcome: Outcome) -> None:
    """A failed night's job whose files have no output (before: every file FAILED with the job's reason):
    nothing is announced; the files go to two retry jobs of the night (halves), SUBMITTED to them."""
    detail = outcome.event["detail"]
    name = detail["TransformJobName"]
    assert outcome.response == {
        "jobName": name,
        "status": "Failed",
        "files": len(NIGHT_FILES),
        "published": 0,
        "recorded": 0,
        "alreadyDone": 0,
        "withOutput": 0,
        "retried": len(NIGHT_FILES),
        "retryJobs": 2,
        "resumedAt": 0,  # the roster position this invocation started from (orchestrator/aws/night_progress.py)
    }
    effects = outcome.effects
    assert effects.success == effects.error == []
    retries = {job for job in effects.transform_jobs if job.startswith(f"{name}-x")}
    assert len(retries) == 2
    for obj in NIGHT_FILES:
        item = effects.item(obj.request_id)
        assert item["status"] == Status.SUBMITTED.value and item["job_name"] in retries
        assert item["output_location"] == batch_output(effects.transform_jobs[item["job_name"]].output_path, obj.key)


def job_started(outcome: Outcome) -> None:
    """A per-file job in progress: its file moves to IN_PROGRESS; nothing is announced."""
    detail = outcome.event["detail"]
    assert outcome.response == {"jobName": detail["TransformJobName"], "status": "InProgress", "recorded": 1}
    item = outcome.effects.item(BIG_FILE.request_id)
    assert (item["status"], item["job_name"]) == (Status.IN_PROGRESS.value, detail["TransformJobName"])
    assert item["sagemaker_received_at"] == timestamps.iso(timestamps.parse(detail["CreationTime"]))
    assert outcome.effects.success == outcome.effects.error == []


# ----------------------------------------------------------------------------------------- sweeper


def overdue_requests(account: Account, _: dict[str, Any]) -> None:
    """Five days ago: the lost result SUBMITTED (deadline 65 s later), the unrouted file claimed. Both
    are past what their statuses allow from the claim (the sweeper would move an item that is not:
    RECEIVED is due 4 days + 15 min after its claim, async SUBMITTED 6 h 30 min)."""
    then = timestamps.iso(timestamps.now() - timedelta(days=5))
    adapter = received(account, LOST_RESULT, "async", then)
    fields = {
        "endpoint_name": declared_value("ASYNC_ENDPOINT_NAME"),
        "output_location": LOST_OUTPUT,
        "failure_location": f"s3://{INPUT_BUCKET}/{OUTPUT_PREFIX}async-failures/lost-scored-error.out",
        "submitted_at": then,
        "deadline_at": timestamps.iso(timestamps.parse(then) + timedelta(seconds=65)),
    }
    assert adapter.confirm(LOST_RESULT.request_id, Status.SUBMITTED, fields)
    received(account, NOT_ROUTED, "async", then)


def swept(outcome: Outcome) -> None:
    """Both resolved from ground truth and announced once each, with ``resolvedBy: sweeper``: the lost
    result SUCCEEDED from its output object, the unrouted file FAILED "not routed"."""
    response = dict(outcome.response)
    assert timestamps.parse(response.pop("now"))
    assert response == {
        "overdue": 2,
        "resolved": {"SUCCEEDED": 1, "FAILED": 1},
        "deadlinesMoved": 0,
        "notYetDue": 0,
        "announcedFromOutbox": 0,
        "overtakenByResults": 0,
        "handedOff": 0,
        "errors": 0,
        "stoppedEarly": False,
    }
    effects = outcome.effects
    scored = effects.item(LOST_RESULT.request_id)
    assert (scored["status"], scored["resolved_by"], scored["output_location"]) == ("SUCCEEDED", "sweeper", LOST_OUTPUT)
    assert "inflight" not in scored and "deadline_at" not in scored  # out of the in-flight index and the outbox
    unrouted = effects.item(NOT_ROUTED.request_id)
    assert (unrouted["status"], unrouted["resolved_by"]) == ("FAILED", "sweeper")
    assert unrouted["failure_reason"].startswith("not routed:")
    [success], [error] = effects.success, effects.error
    _announces_success(success, LOST_RESULT.request_id, LOST_OUTPUT, resolvedBy="sweeper")
    assert (error["inferenceId"], error["invocationStatus"], error["resolvedBy"]) == (
        NOT_ROUTED.request_id,
        "Failed",
        "sweeper",
    )
    assert error["failureReason"] == unrouted["failure_reason"]


# ---------------------------------------------------------------------------------------- scorer


def handed_to_scorer(account: Account, _: dict[str, Any]) -> None:
    """What the router leaves for a real-time file: SUBMITTED, handed to the scorer's queue."""
    adapter = received(account, SCORED, "realtime")
    fields = {"endpoint_name": declared_value("REALTIME_ENDPOINT_NAME")}
    assert adapter.confirm(SCORED.request_id, Status.SUBMITTED, fields)


def scored(outcome: Outcome) -> None:
    """InvokeEndpoint answered (moto's static body): the result is written under <OutputPrefix>realtime/,
    the item SUCCEEDED and the product's message announced once on the success topic."""
    assert outcome.response == ALL_PROCESSED
    item = outcome.effects.item(SCORED.request_id)
    location = f"s3://{SCORED.bucket}/{OUTPUT_PREFIX}realtime/{SCORED.request_id}.out"
    assert (item["status"], item["mode"], item["output_location"]) == ("SUCCEEDED", "realtime", location)
    assert "inflight" not in item
    [success] = outcome.effects.success
    _announces_success(success, SCORED.request_id, location, mode="realtime")
    assert outcome.effects.error == []


def _announces_success(message: dict[str, Any], request_id: str, location: str, **fields: str) -> None:
    """``message`` is the product's success message for ``request_id``, its result at ``location``,
    with ``fields`` (e.g. ``resolvedBy``)."""
    assert (message["inferenceId"], message["invocationStatus"], message["eventSource"]) == (
        request_id,
        "Completed",
        EVENT_SOURCE,
    )
    assert message["responseParameters"]["outputLocation"] == location
    assert {name: message.get(name) for name in fields} == fields


# ----------------------------------------------------------------------------------------- pairs

CASES = [
    Case(
        "RouterFunction",
        "s3-put.json",
        routed({"incoming/customers/2026-11-28.csv": Routed(Status.SUBMITTED, "async")}),
    ),
    Case(
        "RouterFunction",
        "s3-put-encoded-key.json",
        routed({"incoming/q4 results/a+b 100% é=1.csv": Routed(Status.SUBMITTED, "async")}),
    ),
    Case(
        "RouterFunction",
        "s3-put-zero-byte.json",
        routed({"incoming/empty.csv": Routed(Status.SKIPPED, reason="empty object")}),
    ),
    # The folder marker leaves no item; the .png is skipped and announced.
    Case(
        "RouterFunction",
        "s3-put-folder-and-unsupported.json",
        routed({"incoming/photo.png": Routed(Status.SKIPPED, reason="unsupported file extension '.png'")}),
    ),
    Case("RouterFunction", "s3-put-over-1gb.json", routed({BIG_FILE.key: Routed(Status.SUBMITTED, "batch")})),
    Case("RouterFunction", "s3-test-event.json", routed({})),
    Case("TrackerFunction", "sns-async-success.json", recorded(Status.SUCCEEDED), prepare=submitted_request),
    Case("TrackerFunction", "sns-async-error.json", recorded(Status.FAILED), prepare=submitted_request),
    Case("TrackerFunction", "sns-async-expired.json", recorded(Status.EXPIRED), prepare=submitted_request),
    Case(
        "NightlyFunction",
        "schedule-nightly.json",
        night_scored(f"{JOB_PREFIX}-nightly-{NIGHT.date().isoformat()}"),
        prepare=night_waiting,
    ),
    Case(
        "NightlyFunction",
        "nightly-rerun.json",
        night_scored(f"{JOB_PREFIX}-nightly-{NIGHT.date().isoformat()}-r1", rerun=1),
        prepare=night_failed,
    ),
    Case(
        "BatchResultFunction",
        "transform-state-completed.json",
        job_result(Status.SUCCEEDED, NIGHT_FILES),
        prepare=night_submitted,
    ),
    Case(
        "BatchResultFunction",
        "transform-state-completed-duplicate.json",
        job_result(Status.SUCCEEDED, NIGHT_FILES, already_done=True),
        prepare=night_succeeded,
    ),
    Case(
        "BatchResultFunction",
        "transform-state-failed.json",
        night_retried,
        prepare=night_submitted,
    ),
    # The sweeper's hand-off names the job only: its state and manifest are read from DescribeTransformJob.
    Case("BatchResultFunction", "transform-handoff.json", night_retried, prepare=night_handed_off),
    Case("BatchResultFunction", "transform-state-inprogress.json", job_started, prepare=big_file_in_job),
    Case(
        "BatchResultFunction",
        "transform-state-stopped.json",
        job_result(Status.STOPPED, [BIG_FILE]),
        prepare=big_file_in_job,
    ),
    Case("SweeperFunction", "schedule-sweeper.json", swept, prepare=overdue_requests),
    Case("ScorerFunction", "sqs-scorer-realtime.json", scored, prepare=handed_to_scorer),
]
