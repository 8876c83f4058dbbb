"""Which sample event goes with which function, and what each invocation must do.

CASES is the explicit pair list: every function in template.yaml and every file in events/ must appear in
it (test_pair_list checks), except the files in NOT_INVOCATION_EVENTS. Adding a function or a sample
means adding its pair here with the response and side effects to expect. Expected values are read from
the event itself (keys, versions, SageMaker's fields), never retyped.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

from orchestrator.identity import request_id
from orchestrator.status import Status
from orchestrator.tracker import Tracker

from tests.local_invoke.runtime import EVENTS_DIR
from tests.local_invoke.world import Account, SideEffects, declared_value

NOT_INVOCATION_EVENTS = {
    "env-vars.json": "the --env-vars file of `sam local invoke` (variables per function), not an event",
}

ALL_PROCESSED = {"batchItemFailures": []}


def load(event: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EVENTS_DIR / event).read_text(encoding="utf-8"))
    return data


@dataclass(frozen=True)
class S3Object:
    bucket: str
    key: str  # decoded
    size: int
    request_id: str


def s3_objects(event: dict[str, Any]) -> list[S3Object]:
    """The objects an SQS event of S3 notifications announces (none for S3's test event)."""
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


# ----------------------------------------------------------------------------------------- router


def routed(expected: dict[str, tuple[Status, str]]) -> Check:
    """The router acknowledges every record and leaves exactly ``expected`` (decoded key → status and,
    for skips, a fragment of the reason) in the tracker; each skip is announced on the error topic."""

    def check(outcome: Outcome) -> None:
        assert outcome.response == ALL_PROCESSED
        objects = {o.key: o for o in s3_objects(outcome.event)}
        effects = outcome.effects
        assert sorted(i["key"] for i in effects.items) == sorted(expected), effects.items
        skipped = []
        for key, (status, reason) in expected.items():
            obj = objects[key]
            item = effects.item(obj.request_id)
            assert item["status"] == status.value
            assert item["bucket"] == obj.bucket
            assert item["object_uri"] == f"s3://{obj.bucket}/{key}"
            assert item["size"] == obj.size
            if status is Status.SUBMITTED:
                assert item["mode"] == "async"
                assert item["endpoint_name"] == declared_value("ASYNC_ENDPOINT_NAME")
                assert item["output_location"].startswith("s3://")  # what InvokeEndpointAsync answered
                assert item["submitted_at"]
            else:
                assert reason in item["failure_reason"]
                skipped.append((obj.request_id, item["failure_reason"]))
        assert effects.success == []
        announced = [(m["inferenceId"], m["failureReason"]) for m in effects.error]
        assert sorted(announced) == sorted(skipped)
        for message in effects.error:
            assert message["invocationStatus"] == "Skipped"
            assert message["eventSource"] == "sagemaker-inference-orchestrator"

    return check


# ---------------------------------------------------------------------------------------- tracker


def submitted_request(account: Account, event: dict[str, Any]) -> None:
    """The tracker item the router leaves for each SageMaker notification's inferenceId (SUBMITTED),
    written with the shared package's own tracker adapter."""
    tracker = Tracker(account.table, account.client("dynamodb"))
    for message in sagemaker_messages(event):
        request = message["requestParameters"]
        bucket, _, key = request["inputLocation"].removeprefix("s3://").partition("/")
        fields = {
            "bucket": bucket,
            "key": key,
            "object_uri": request["inputLocation"],
            "content_type": request["contentType"],
            "mode": "async",
        }
        assert tracker.claim(message["inferenceId"], fields, claim_timeout_seconds=90)
        assert tracker.confirm(message["inferenceId"], Status.SUBMITTED, {"endpoint_name": request["endpointName"]})


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


# ------------------------------------------------------------------------------------------ pairs

CASES = [
    Case("RouterFunction", "s3-put.json", routed({"incoming/customers/2026-11-28.csv": (Status.SUBMITTED, "")})),
    Case(
        "RouterFunction",
        "s3-put-encoded-key.json",
        routed({"incoming/q4 results/a+b 100% é=1.csv": (Status.SUBMITTED, "")}),
    ),
    Case("RouterFunction", "s3-put-zero-byte.json", routed({"incoming/empty.csv": (Status.SKIPPED, "empty object")})),
    # The folder marker leaves no item; the .png is skipped and announced.
    Case(
        "RouterFunction",
        "s3-put-folder-and-unsupported.json",
        routed({"incoming/photo.png": (Status.SKIPPED, "unsupported file extension '.png'")}),
    ),
    Case("RouterFunction", "s3-test-event.json", routed({})),
    Case("TrackerFunction", "sns-async-success.json", recorded(Status.SUCCEEDED), prepare=submitted_request),
    Case("TrackerFunction", "sns-async-error.json", recorded(Status.FAILED), prepare=submitted_request),
    Case("TrackerFunction", "sns-async-expired.json", recorded(Status.EXPIRED), prepare=submitted_request),
]
