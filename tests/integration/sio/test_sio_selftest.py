"""``sio selftest``'s checks and clean-up on moto, with the stack's behaviour played by the test.

The stack's AWS side (bucket, tracker table, topics) is in moto; what the product does with a file
is played by :class:`Product` between two polls (the run's injected ``sleep``): it routes with the
router's own rules, writes the tracker item and the result, and publishes the message, or does
something wrong on purpose (the wrong topic, the wrong mode, no message, never finishing, a night
that does not take the sample). The real product end to end is tests/e2e/test_selftest.py.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from click.testing import CliRunner
from moto import mock_aws
from orchestrator import settings
from orchestrator.core import routing
from orchestrator.core.routing import FileFacts, Mode, RoutingPolicy
from sio.cli import cli
from sio.invoke import Invocation
from sio.product import request_id
from sio.selftest import SelfTest
from sio.selftest_plan import night_event, plan
from sio.selftest_report import FAILED, NOT_TESTED, PASSED, TIMED_OUT, Report
from sio.stack import Stack

from tests.support import aws as support

RULES = json.dumps([{"name": "urgent", "prefix": "incoming/urgent/", "mode": "realtime"}])
PARAMETERS = {
    "InputPrefix": "incoming/",
    "NightlyPrefix": "incoming/nightly/",
    "BatchPrefix": "incoming/batch/",
    "OutputPrefix": "results/",
    "AsyncEndpointName": "scores-async",
    "RealtimeEndpointName": "scores-rt",
    "ServerlessEndpointName": "",
    "TransformModelName": "scores-model",
    "TransformJobPrefix": "sio",
    "RoutingRules": RULES,
}
TESTED = ("realtime", "async", "batch", "nightly")


class Product:
    """What the stack does with each new object under the input prefix, one step per poll."""

    def __init__(self, session: boto3.Session, created: support.Stack) -> None:
        self.s3, self.sns, self.dynamodb = (session.client(n) for n in ("s3", "sns", "dynamodb"))
        self.created = created
        self.seen: set[str] = set()
        self.policy = RoutingPolicy(
            settings.parse_content_types(settings.DEFAULT_CONTENT_TYPES),
            frozenset({Mode.REALTIME, Mode.ASYNC, Mode.BATCH, Mode.NIGHTLY}),
            nightly_prefix=PARAMETERS["NightlyPrefix"],
            batch_prefix=PARAMETERS["BatchPrefix"],
            rules=routing.parse_rules(RULES),
        )
        # What goes wrong, by mode
        self.wrong_topic: set[str] = set()
        self.recorded_as: dict[str, str] = {}
        self.silent: set[str] = set()
        self.stuck: set[str] = set()
        self.night_takes_nothing = False
        self.nights: list[dict[str, Any]] = []
        self.ticks = 0

    def tick(self, _seconds: float = 0) -> None:
        self.ticks += 1
        for page in self.s3.get_paginator("list_object_versions").paginate(
            Bucket=self.created.bucket, Prefix="incoming/"
        ):
            for version in page.get("Versions", []):
                rid = request_id(self.created.bucket, version["Key"], version["VersionId"])
                if rid not in self.seen:
                    self.seen.add(rid)
                    self._route(rid, version["Key"], version["Size"])

    def _route(self, rid: str, key: str, size: int) -> None:
        decision = routing.decide(FileFacts(key, size), self.policy)
        assert decision.mode is not None, decision.reason
        mode = decision.mode.value
        item = {"key": key, "mode": self.recorded_as.get(mode, mode), "route_reason": decision.reason}
        if mode == "nightly":
            self._put(rid, {**item, "status": "SCHEDULED", "inflight": "SCHEDULED#01", "deadline_at": "2999"})
        elif mode in self.stuck:
            self._put(rid, {**item, "status": "SUBMITTED"})
        elif mode == "batch":  # a job of its own, finished before the router recorded its name
            job = f"{PARAMETERS['TransformJobPrefix']}-{rid}"
            self.s3.put_object(Bucket=self.created.bucket, Key=f"results/batch/{job}/manifest.json", Body=b"[]")
            self._finish(rid, item, mode, f"results/batch/{job}/output/{key}.out")
        else:
            self._finish(rid, item, mode, f"results/{mode}/{rid}.out")

    def _finish(self, rid: str, item: dict[str, Any], mode: str, output_key: str) -> None:
        for body in (b"0.1\n", b"0.2\n"):  # two versions: the clean-up removes every one
            self.s3.put_object(Bucket=self.created.bucket, Key=output_key, Body=body)
        location = f"s3://{self.created.bucket}/{output_key}"
        times = {"s3_event_time": "2026-12-03T09:00:00.000Z", "completed_at": "2026-12-03T09:00:01.500Z"}
        self._put(rid, {**item, "status": "SUCCEEDED", "output_location": location, **times})
        if mode in self.silent:
            return
        topic = self.created.error_topic_arn if mode in self.wrong_topic else self.created.success_topic_arn
        message = {
            "invocationStatus": "Completed",
            "inferenceId": rid,
            "requestParameters": {"inputLocation": f"s3://{self.created.bucket}/{item['key']}"},
            "responseParameters": {"outputLocation": location},
        }
        self.sns.publish(TopicArn=topic, Message=json.dumps(message))

    def _put(self, rid: str, fields: dict[str, Any]) -> None:
        item = {"request_id": {"S": rid}, **{name: {"S": str(value)} for name, value in fields.items()}}
        self.dynamodb.put_item(TableName=self.created.table, Item=item)

    def night(self, event: dict[str, Any]) -> Invocation:
        """The nightly function: one job over every SCHEDULED item (its own folder of artifacts)."""
        self.nights.append(event)
        job = f"sio-nightly-{event['scheduledTime'][:10]}"
        if self.night_takes_nothing:  # the night's name was taken: the function only finishes marking
            return Invocation("orch-NightlyFunction", True, {"jobName": job, "jobCreated": False, "files": None})
        items = support.all_items(self.dynamodb, self.created.table)
        scheduled = [i for i in items if i.get("status") == "SCHEDULED"]
        self.s3.put_object(Bucket=self.created.bucket, Key=f"results/batch/{job}/run/manifest.json", Body=b"[]")
        for item in scheduled:
            fields = {k: item[k] for k in ("key", "mode", "route_reason")} | {"job_name": job}
            self._finish(item["request_id"], fields, "nightly", f"results/batch/{job}/output/{item['key']}.out")
        result = {"jobName": job, "jobCreated": True, "files": len(scheduled)}
        return Invocation("orch-NightlyFunction", True, result)


@pytest.fixture
def aws() -> Iterator[boto3.Session]:
    with mock_aws():
        yield boto3.Session(region_name=support.REGION)


@pytest.fixture
def created(aws: boto3.Session) -> support.Stack:
    return support.create_stack(aws)


@pytest.fixture
def stack(created: support.Stack) -> Stack:
    outputs = {
        "InputBucketName": created.bucket,
        "InputPrefix": "incoming/",
        "TrackerTableName": created.table,
        "SuccessTopicArn": created.success_topic_arn,
        "ErrorTopicArn": created.error_topic_arn,
        "NightlyFunctionName": "orch-NightlyFunction",
    }
    return Stack("orch", "cloudformation", support.REGION, outputs, dict(PARAMETERS))


@pytest.fixture
def product(aws: boto3.Session, created: support.Stack) -> Product:
    return Product(aws, created)


def run(stack: Stack, product: Product, *modes: str, timeout: float = 60) -> Report:
    clock = [0.0]

    def sleep(seconds: float) -> None:
        clock[0] += seconds
        product.tick()

    made = plan(stack.parameters, stack.input_prefix, run_id="0123456789ab", modes=modes)
    selftest = SelfTest(
        stack,
        made,
        timeout=timeout,
        interval=1.0,
        requested=modes,
        invoke_nightly=product.night,
        clock=lambda: clock[0],
        sleep=sleep,
        message_grace=5.0,
    )
    return selftest.run()


def rows(report: Report) -> dict[str, tuple[str, str]]:
    return {row.mode: (row.status, row.reason) for row in report.rows}


def leftovers(aws: boto3.Session, created: support.Stack) -> dict[str, list[str]]:
    s3, sqs, sns = aws.client("s3"), aws.client("sqs"), aws.client("sns")
    pages = s3.get_paginator("list_object_versions").paginate(Bucket=created.bucket)
    return {
        "objects": sorted(v["Key"] for p in pages for v in p.get("Versions", []) + p.get("DeleteMarkers", [])),
        "queues": sqs.list_queues(QueueNamePrefix="sio-selftest-").get("QueueUrls", []),
        "subscriptions": [
            s["Endpoint"] for s in sns.list_subscriptions()["Subscriptions"] if "sio-selftest-" in s["Endpoint"]
        ],
    }


def test_a_working_stack_passes_every_configured_mode_and_nothing_is_left(
    aws: boto3.Session, created: support.Stack, stack: Stack, product: Product
) -> None:
    report = run(stack, product)
    assert report.exit_code == 0
    assert {mode: status for mode, (status, _) in rows(report).items()} == dict.fromkeys(TESTED, PASSED)
    assert report.not_configured == {"serverless": "ServerlessEndpointName"}
    by_mode = {row.mode: row for row in report.rows}
    assert by_mode["realtime"].key == "incoming/urgent/sio-selftest/0123456789ab/realtime.csv"
    assert by_mode["async"].latency_seconds == 1.5  # completed_at - s3_event_time
    # the nightly sample by one run of the function, with the schedule's event of the selftest's own night
    assert product.nights == [night_event("0123456789ab")]
    # Every sample, every version of every result, the night's job folder, both queues and subscriptions
    assert leftovers(aws, created) == {"objects": [], "queues": [], "subscriptions": []}
    assert report.cleanup.errors == [] and report.cleanup.left == []
    # and the tracker items stay
    assert len(support.all_items(aws.client("dynamodb"), created.table)) == len(TESTED)


def test_a_message_on_the_wrong_topic_or_a_file_given_another_mode_fails_saying_what_was_seen(
    stack: Stack, product: Product
) -> None:
    product.wrong_topic = {"realtime"}
    product.recorded_as = {"batch": "async"}
    report = run(stack, product)
    assert report.exit_code == 1
    found = rows(report)
    assert found["realtime"] == (FAILED, "message: 1 message(s) on the error topic (Completed), expected none")
    assert found["batch"][0] == FAILED
    assert found["batch"][1].startswith("routed: routed to async, not batch: [default: batch prefix]")
    assert found["async"][0] == found["nightly"][0] == PASSED


def test_a_missing_message_fails_once_its_grace_is_spent(stack: Stack, product: Product) -> None:
    product.silent = {"async"}
    report = run(stack, product, "async", "realtime")
    assert rows(report)["async"] == (FAILED, "message: no Completed message on the success topic within 5 s")
    assert rows(report)["realtime"][0] == PASSED
    assert product.ticks < 15  # judged once the grace was spent, not at the timeout


def test_a_file_that_never_finishes_times_out_exit_3_and_its_sample_is_still_removed(
    aws: boto3.Session, created: support.Stack, stack: Stack, product: Product
) -> None:
    product.stuck = {"async"}
    report = run(stack, product, "async", timeout=10)
    assert report.exit_code == 3
    assert rows(report)["async"] == (TIMED_OUT, "terminal: still SUBMITTED after 10 s")
    assert leftovers(aws, created)["objects"] == []
    assert "a result that arrives after the run lands under" in report.cleanup.left[0]


def test_a_night_that_never_takes_the_sample_fails_and_the_sample_is_left_for_the_next_night(
    aws: boto3.Session, created: support.Stack, stack: Stack, product: Product
) -> None:
    product.night_takes_nothing = True
    report = run(stack, product, "nightly")
    assert report.exit_code == 1
    assert rows(report)["nightly"] == (FAILED, "terminal: still SCHEDULED after 3 nightly runs: no night took it")
    # three runs, each with a night of its own (a name already taken is never asked for again)
    assert len({event["scheduledTime"] for event in product.nights}) == 3
    # the sample stays where the next night will find it; the rest is removed
    key = "incoming/nightly/sio-selftest/0123456789ab/nightly.csv"
    assert leftovers(aws, created) == {"objects": [key], "queues": [], "subscriptions": []}
    assert report.cleanup.left[0].startswith(f"s3://{created.bucket}/{key}: SCHEDULED, a night may still take it")


def test_files_waiting_for_the_next_night_keep_the_nightly_mode_untested(
    aws: boto3.Session, created: support.Stack, stack: Stack, product: Product
) -> None:
    # Given another file SCHEDULED for the next night
    waiting = {"key": "incoming/nightly/store.csv", "status": "SCHEDULED", "inflight": "SCHEDULED#09"}
    product._put("f" * 32, {**waiting, "deadline_at": "2026-12-04T02:00:00.000Z"})
    # When the selftest runs / Then nightly is not tested, and nothing was sent to it
    report = run(stack, product)
    assert report.exit_code == 0
    status, reason = rows(report)["nightly"]
    assert status == NOT_TESTED and "incoming/nightly/store.csv" in reason and "would score them now" in reason
    assert product.nights == []
    keys = [item["key"] for item in support.all_items(aws.client("dynamodb"), created.table)]
    assert len(keys) == len(TESTED) and not [k for k in keys if "nightly/sio-selftest" in k]
    # and asked for by name, that is a failed run
    assert run(stack, product, "nightly").exit_code == 1


def test_an_interrupted_run_still_removes_its_samples_queues_and_subscriptions(
    aws: boto3.Session, created: support.Stack, stack: Stack, product: Product
) -> None:
    def interrupted(_seconds: float) -> None:
        product.stuck = set(TESTED)
        raise KeyboardInterrupt

    made = plan(stack.parameters, stack.input_prefix, run_id="0123456789ab")
    selftest = SelfTest(stack, made, timeout=60, clock=lambda: 0.0, sleep=interrupted, invoke_nightly=product.night)
    with pytest.raises(KeyboardInterrupt):
        selftest.run()
    # Everything but the nightly sample, which the router may still schedule for a night
    nightly = "incoming/nightly/sio-selftest/0123456789ab/nightly.csv"
    assert leftovers(aws, created) == {"objects": [nightly], "queues": [], "subscriptions": []}


# ---------------------------------------------------------------- the command's usage errors


def test_usage_errors_exit_2_with_a_clear_message(aws: boto3.Session, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SIO_STACK", "SIO_LOCAL", "SIO_LOCAL_STATE"):
        monkeypatch.delenv(name, raising=False)
    template = {
        "Parameters": {name: {"Type": "String"} for name in PARAMETERS},
        "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {"InputBucketName": {"Value": "b"}, "InputPrefix": {"Value": "incoming/"}},
    }
    aws.client("cloudformation").create_stack(
        StackName="orch",
        TemplateBody=json.dumps(template),
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in PARAMETERS.items()],
    )
    runner = CliRunner(mix_stderr=False)

    nothing = runner.invoke(cli, ["selftest"])
    assert nothing.exit_code == 2 and "needs a stack: --stack NAME" in nothing.stderr
    absent = runner.invoke(
        cli, ["--region", "us-east-1", "-o", "json", "selftest", "--stack", "orch", "--mode", "serverless"]
    )
    assert (
        absent.exit_code == 2
        and "has no serverless mode: its parameter ServerlessEndpointName is empty" in absent.stderr
    )
    assert json.loads(absent.stdout)["details"] == {"mode": "serverless", "parameter": "ServerlessEndpointName"}
    both = runner.invoke(cli, ["selftest", "--stack", "orch", "--local"])
    assert both.exit_code == 2 and "not both" in both.stderr
