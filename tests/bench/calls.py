"""AWS API calls per file, counted with botocore's ``before-call`` events (moto in process).

The hook is registered on boto3's default session before the functions build their clients, so
every call through any client they create is counted (setup and read-back use a separate session).
The scenarios go through the real Lambda handlers (``functions/<fn>/app.py``) with the sample
events and default settings. Each scenario is a check: its exact call sequence is asserted, and a
mismatch (or a batch item failure) makes the bench exit non-zero.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tests.bench import common
from tests.bench.common import REGION, LambdaContext, Row

SECTION = "calls"

PUT = "dynamodb.PutItem"
UPDATE = "dynamodb.UpdateItem"
INVOKE = "sagemaker-runtime.InvokeEndpointAsync"
PUBLISH = "sns.Publish"

# (scenario, function, event file, expected calls in order), run in this order on one table.
SCENARIOS: list[tuple[str, str, str, list[str]]] = [
    ("async happy path (new file)", "router", "s3-put.json", [PUT, INVOKE, UPDATE]),
    ("duplicate delivery (same event again)", "router", "s3-put.json", [PUT]),
    ("async result notification (Completed)", "tracker", "sns-async-success.json", [UPDATE]),
    ("same notification again (acknowledged)", "tracker", "sns-async-success.json", [UPDATE]),
    ("zero-byte file (SKIPPED, error topic)", "router", "s3-put-zero-byte.json", [PUT, PUBLISH, UPDATE]),
    ("S3 test event", "router", "s3-test-event.json", []),
]
# The synchronous modes (README "Calls per file"): the router hands the file to the scorer's queue
# (3 calls, like async), the scorer does claim → GetObject → InvokeEndpoint → PutObject → announce.
SEND = "sqs.SendMessage"
GET = "s3.GetObject"
PUT_OBJECT = "s3.PutObject"
INVOKE_SYNC = "sagemaker-runtime.InvokeEndpoint"
SYNC_SCENARIOS: list[tuple[str, str, list[str]]] = [
    ("realtime: router hands the file over", "router", [PUT, SEND, UPDATE]),
    ("realtime: scorer happy path", "scorer", [UPDATE, GET, INVOKE_SYNC, PUT_OBJECT, PUBLISH, UPDATE]),
    ("realtime: duplicate delivery to the scorer", "scorer", [UPDATE]),
    ("realtime: model error 4xx (FAILED)", "scorer-model-error", [UPDATE, GET, INVOKE_SYNC, PUBLISH, UPDATE]),
]
# What the scenarios leave in the tracker (read back uncounted).
FINAL_STATUS = {"s3-put.json": "SUCCEEDED", "s3-put-zero-byte.json": "SKIPPED"}


class CallCounter:
    """Records ``service.Operation`` for every API call (not every HTTP attempt: retries are
    inside one call) of the clients created from the session it is attached to."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def __call__(self, event_name: str, **_: Any) -> None:
        _, service, operation = event_name.split(".", 2)
        self.calls.append(f"{service}.{operation}")

    @contextmanager
    def attach(self, events: Any) -> Iterator[CallCounter]:
        events.register("before-call.*.*", self, unique_id="bench-call-counter")
        try:
            yield self
        finally:
            events.unregister("before-call.*.*", unique_id="bench-call-counter")

    def take(self) -> list[str]:
        calls, self.calls = self.calls, []
        return calls


def _short(calls: list[str]) -> str:
    return ", ".join(call.split(".", 1)[1] for call in calls) or "none"


def _checked(metric: str, calls: list[str], expected: list[str], response: dict[str, Any]) -> Row:
    """A check row: exactly the expected calls in order, and no batch item failure."""
    failures = response.get("batchItemFailures")
    note = f"expect {len(expected)}: {_short(expected)}"
    if failures:
        note += f"; batch item failures: {json.dumps(failures)}"
    ok = calls == expected and not failures
    return Row(SECTION, metric, f"{len(calls)} ({_short(calls)})", note, ok, True)


def _create_resources(setup: Any) -> dict[str, str]:
    """The table and topics the functions write to; returns the functions' environment."""
    from tests.support.aws import create_tracker_table

    env = common.function_env()
    create_tracker_table(setup.client("dynamodb"), env["TRACKER_TABLE"])  # the template's, indexes included
    sns = setup.client("sns")
    env["SUCCESS_TOPIC_ARN"] = sns.create_topic(Name="bench-success")["TopicArn"]
    env["ERROR_TOPIC_ARN"] = sns.create_topic(Name="bench-error")["TopicArn"]
    return env


def run(options: argparse.Namespace) -> list[Row]:
    import boto3
    from moto import mock_aws

    from tests.support.wiring import reset_wiring

    with common.patched_environ(common.function_env()), mock_aws():
        setup = boto3.Session(region_name=REGION)
        env = _create_resources(setup)
        with common.patched_environ(env):
            boto3.setup_default_session()  # wiring's clients come from this session
            # SageMaker's answer (moto's is canned): the output location the sample notification names,
            # which the tracker checks against the one the router kept (orchestrator/workflows/genuine.py).
            from tests.support.hooks import Interceptor
            from tests.support.sagemaker import async_endpoint

            async_endpoint("sagemaker-inference-orchestrator-input-123456789012-us-east-1").attach(
                Interceptor().attach(boto3.DEFAULT_SESSION.events)
            )
            reset_wiring()
            try:
                rows = _run_scenarios(boto3.DEFAULT_SESSION)
            finally:
                reset_wiring()
                boto3.DEFAULT_SESSION = None
            rows += _final_states(setup, env["TRACKER_TABLE"])
    return rows + _run_sync()


def _run_sync() -> list[Row]:
    """The real-time scenarios on a table of their own: the router (ROUTING_RULES sends every file to
    realtime), then the scorer on the message it sent; InvokeEndpoint answered by a botocore hook as
    SageMaker does (moto's answer is canned), a ModelError 400 for the last scenario."""
    import boto3
    from moto import mock_aws

    from tests.support.hooks import Interceptor
    from tests.support.sagemaker import sync_endpoints
    from tests.support.wiring import reset_wiring

    with common.patched_environ(common.function_env()), mock_aws():
        setup = boto3.Session(region_name=REGION)
        env = _create_resources(setup)
        s3, sqs = setup.client("s3"), setup.client("sqs")
        s3.create_bucket(Bucket="bench-input")
        s3.put_bucket_versioning(Bucket="bench-input", VersioningConfiguration={"Status": "Enabled"})
        queue = sqs.create_queue(QueueName="bench-scorer")["QueueUrl"]
        env.update(
            {
                "REALTIME_ENDPOINT_NAME": "demo-realtime-endpoint",
                "SCORER_QUEUE_URL": queue,
                "ROUTING_RULES": '[{"mode":"realtime"}]',
            }
        )
        with common.patched_environ(env):
            boto3.setup_default_session()
            session = boto3.DEFAULT_SESSION
            endpoint = sync_endpoints().attach(Interceptor().attach(session.events))
            reset_wiring()
            try:
                return _sync_scenarios(session, s3, sqs, queue, endpoint)
            finally:
                reset_wiring()
                boto3.DEFAULT_SESSION = None


def _sync_scenarios(session: Any, s3: Any, sqs: Any, queue: str, endpoint: Any) -> list[Row]:
    from tests.support.events import s3_put_record, sqs_event

    handlers = {fn: common.load_handler(fn).lambda_handler for fn in ("router", "scorer")}
    rows: list[Row] = []
    messages: list[dict[str, Any]] = []
    with CallCounter().attach(session.events) as counter, common.quiet_handlers():
        for scenario, step, expected in SYNC_SCENARIOS:
            if step == "router" or step == "scorer-model-error":
                key = f"incoming/{len(rows)}.csv"
                version = s3.put_object(Bucket="bench-input", Key=key, Body=b"1,2\n")["VersionId"]
                record = s3_put_record(key, size=4, version_id=version, bucket="bench-input")
                if step == "router":
                    counter.take()
                    response = handlers["router"](sqs_event(record), LambdaContext())
                else:
                    handlers["router"](sqs_event(record), LambdaContext())
                received = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
                messages = [{"messageId": m["MessageId"], "body": m["Body"]} for m in received]
            if step != "router":
                endpoint.model_error = (400, "feature 'age' must be a number") if step == "scorer-model-error" else None
                counter.take()
                response = handlers["scorer"](sqs_event(*messages), LambdaContext())
            rows.append(_checked(scenario, counter.take(), expected, response))
    return rows


def _run_scenarios(session: Any) -> list[Row]:
    handlers = {fn: common.load_handler(fn).lambda_handler for fn in ("router", "tracker")}
    rows: list[Row] = []
    with CallCounter().attach(session.events) as counter, common.quiet_handlers():
        for scenario, function, event_name, expected in SCENARIOS:
            response = handlers[function](common.load_event(event_name), LambdaContext())
            rows.append(_checked(f"{function}: {scenario}", counter.take(), expected, response))
    return rows


def _final_states(setup: Any, table: str) -> list[Row]:
    from orchestrator.core import identity, s3_events

    dynamodb = setup.client("dynamodb")
    rows = []
    for event_name, expected in FINAL_STATUS.items():
        obj = s3_events.parse_body(common.load_event(event_name)["Records"][0]["body"])[0]
        request_id = identity.request_id(obj.bucket, obj.key, obj.version_id, obj.sequencer)
        item = dynamodb.get_item(TableName=table, Key={"request_id": {"S": request_id}}).get("Item", {})
        status = item.get("status", {}).get("S", "no item")
        rows.append(
            Row(SECTION, f"item status after {event_name}", status, f"expect {expected}", status == expected, True)
        )
    return rows
