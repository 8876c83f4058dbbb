"""Router CPU per record: a 10-record SQS batch (10 distinct new files) through the real path.

``orchestrator.aws.sqs_records.process_sqs`` with ``Router.handle_body``, clients replaced by in-memory
fakes (claim, invoke and confirm all succeed, as for new files), timed with ``time.process_time``.
Powertools logs and EMF metrics are formatted as in Lambda and written to ``/dev/null``.
Extra rows put the figure in context: the whole Lambda handler (Powertools decorators, one EMF
flush per batch), the same with ``POWERTOOLS_LOG_LEVEL=WARNING`` (the cost of the INFO logs), and
real botocore clients with only the HTTP exchange stubbed (what the three calls themselves cost
on the client: validation, serialisation, signing, parsing).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from tests.bench import common
from tests.bench.common import REGION, LambdaContext, Row

SECTION = "cpu"
BATCH = 10
INNER = 20  # batches per timed repeat
WARMUP = 20  # batches before timing


class FakeDynamoDB:
    def __init__(self, calls: Counter[str]) -> None:
        self.calls = calls

    def put_item(self, **_: Any) -> dict[str, Any]:
        self.calls["PutItem"] += 1
        return {}

    def update_item(self, **_: Any) -> dict[str, Any]:
        self.calls["UpdateItem"] += 1
        return {}


class FakeSageMakerRuntime:
    def __init__(self, calls: Counter[str]) -> None:
        self.calls = calls

    def invoke_endpoint_async(self, *, InferenceId: str, **_: Any) -> dict[str, Any]:
        self.calls["InvokeEndpointAsync"] += 1
        return {
            "InferenceId": InferenceId,
            "OutputLocation": f"s3://bench-output/results/async/{InferenceId}.out",
            "FailureLocation": f"s3://bench-output/results/async-failures/{InferenceId}-error.out",
        }


class FakeSNS:
    def __init__(self, calls: Counter[str]) -> None:
        self.calls = calls

    def publish(self, **_: Any) -> dict[str, Any]:
        self.calls["Publish"] += 1
        return {"MessageId": "00000000-0000-0000-0000-000000000000"}


def batch_event(size: int = BATCH) -> dict[str, Any]:
    """``size`` SQS records, each an S3 notification for a distinct new object (from s3-put.json)."""
    template = common.load_event("s3-put.json")
    envelope = json.loads(template["Records"][0]["body"])
    s3_record = envelope["Records"][0]
    bodies = []
    for n in range(size):
        obj = {
            **s3_record["s3"]["object"],
            "key": f"incoming/customers/2026-11-28-part-{n:02d}.csv",
            "versionId": f"{s3_record['s3']['object']['versionId'][:-2]}{n:02d}",
            "sequencer": f"0062E9A9B1D4E8E5{n:02X}",
        }
        record = {**s3_record, "s3": {**s3_record["s3"], "object": obj}}
        bodies.append(json.dumps({"Records": [record]}))
    return common.sqs_event(bodies, template)


def fake_router(calls: Counter[str]) -> Any:
    from orchestrator.aws.adapters import Adapters
    from orchestrator.aws.notifications import Publisher
    from orchestrator.aws.sagemaker_runtime import AsyncInvoker
    from orchestrator.aws.tracker_table import TrackerTable
    from orchestrator.settings import RouterSettings
    from orchestrator.workflows.router import Router

    settings = RouterSettings.from_env(common.function_env())
    adapters = Adapters(
        tracker=TrackerTable(settings.tracker.table_name, FakeDynamoDB(calls)),
        s3=None,
        publisher=Publisher(
            FakeSNS(calls), success_topic_arn=settings.success_topic_arn, error_topic_arn=settings.error_topic_arn
        ),
        region=REGION,
    )
    return Router(settings, adapters, invoker=AsyncInvoker(FakeSageMakerRuntime(calls)))


def stubbed_http_router() -> Any:
    """The router as wiring builds it (real boto3 clients), every HTTP exchange answered locally."""
    import boto3
    from botocore.awsrequest import AWSResponse
    from orchestrator.aws import clients
    from orchestrator.aws.adapters import Adapters
    from orchestrator.aws.notifications import Publisher
    from orchestrator.aws.sagemaker_runtime import AsyncInvoker
    from orchestrator.aws.tracker_table import TrackerTable
    from orchestrator.settings import RouterSettings
    from orchestrator.workflows.router import Router

    class Raw:
        def __init__(self, body: bytes) -> None:
            self.body = body

        def stream(self, **_: Any) -> Iterator[bytes]:
            yield self.body

    def answer(body: bytes, headers: dict[str, str] | None = None) -> Callable[..., AWSResponse]:
        def send(request: Any, **_: Any) -> AWSResponse:
            return AWSResponse(request.url, 200, {"x-amzn-requestid": "bench", **(headers or {})}, Raw(body))

        return send

    session = boto3.Session(region_name=REGION, aws_access_key_id="bench", aws_secret_access_key="bench")
    dynamodb = clients.client("dynamodb", session=session)
    dynamodb.meta.events.register("before-send", answer(b"{}", {"content-type": "application/x-amz-json-1.0"}))
    sagemaker = clients.client("sagemaker-runtime", retried=False, session=session)
    sagemaker.meta.events.register(
        "before-send",
        answer(
            b'{"InferenceId":"bench"}',
            {
                "content-type": "application/json",
                "X-Amzn-SageMaker-OutputLocation": "s3://bench-output/results/async/bench.out",
                "X-Amzn-SageMaker-FailureLocation": "s3://bench-output/results/async-failures/bench-error.out",
            },
        ),
    )
    sns = clients.client("sns", session=session)
    published = (
        b'<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult>'
        b"<MessageId>00000000-0000-0000-0000-000000000000</MessageId></PublishResult>"
        b"<ResponseMetadata><RequestId>bench</RequestId></ResponseMetadata></PublishResponse>"
    )
    sns.meta.events.register("before-send", answer(published if sns.meta.service_model.protocol == "query" else b"{}"))
    settings = RouterSettings.from_env(common.function_env())
    adapters = Adapters(
        tracker=TrackerTable(settings.tracker.table_name, dynamodb),
        s3=None,
        publisher=Publisher(
            sns, success_topic_arn=settings.success_topic_arn, error_topic_arn=settings.error_topic_arn
        ),
        region=REGION,
    )
    return Router(settings, adapters, invoker=AsyncInvoker(sagemaker))


def _counts(calls: Counter[str]) -> str:
    return ", ".join(f"{count} {name}" for name, count in calls.items()) or "no calls"


def per_record_us(process: Callable[[], dict[str, Any]], repeats: int) -> float:
    """Median over ``repeats`` of the CPU time per record, each repeat ``INNER`` batches."""
    for _ in range(WARMUP):
        process()
    samples = []
    for _ in range(repeats):
        started = time.process_time()
        for _ in range(INNER):
            process()
        samples.append((time.process_time() - started) / (INNER * BATCH) * 1e6)
    return statistics.median(samples)


@contextmanager
def log_level(level: str) -> Iterator[None]:
    from orchestrator.observability import logger

    previous = logger.log_level
    logger.setLevel(level)
    try:
        yield
    finally:
        logger.setLevel(previous)


@contextmanager
def wired(router: Any) -> Iterator[None]:
    """``wiring.router()`` returns ``router`` (the handler looks it up at every call)."""
    from orchestrator import wiring

    original = wiring.router
    wiring.router = lambda: router  # type: ignore[assignment]
    try:
        yield
    finally:
        wiring.router = original  # type: ignore[assignment]


def run(options: argparse.Namespace) -> list[Row]:
    from orchestrator.aws.sqs_records import process_sqs
    from orchestrator.observability import metrics

    event = batch_event()
    calls: Counter[str] = Counter()
    router = fake_router(calls)
    handler = common.load_handler("router").lambda_handler
    context = LambdaContext()
    repeats = max(options.repeats, 5)
    rows = []
    try:
        with common.quiet_powertools():
            response = process_sqs(event, context, router.handle_body)
            expected = {"PutItem": BATCH, "InvokeEndpointAsync": BATCH, "UpdateItem": BATCH}
            ok = not response["batchItemFailures"] and dict(calls) == expected
            rows.append(
                Row(
                    SECTION,
                    "10-record batch handled",
                    _counts(calls),
                    "each record: claim, invoke, confirm",
                    ok,
                    True,
                )
            )

            def via_batch() -> dict[str, Any]:
                return process_sqs(event, context, router.handle_body)

            def via_handler() -> dict[str, Any]:
                return dict(handler(event, context))

            value = per_record_us(via_batch, repeats)
            rows.append(
                Row(
                    SECTION,
                    "router CPU per record (process_sqs)",
                    f"{value:.0f} µs",
                    f"fake clients; median of {repeats}",
                )
            )
            with wired(router):
                value = per_record_us(via_handler, repeats)
            rows.append(
                Row(
                    SECTION, "  whole lambda_handler", f"{value:.0f} µs", "+ Powertools decorators, EMF flush per batch"
                )
            )
            with log_level("WARNING"):
                value = per_record_us(via_batch, repeats)
            rows.append(Row(SECTION, "  log level WARNING", f"{value:.0f} µs", "process_sqs without the INFO logs"))
            http_router = stubbed_http_router()
            if process_sqs(event, context, http_router.handle_body)["batchItemFailures"]:
                raise RuntimeError("the router failed records with botocore clients on stubbed HTTP")
            value = per_record_us(lambda: process_sqs(event, context, http_router.handle_body), repeats)
            rows.append(
                Row(
                    SECTION, "  real botocore clients", f"{value:.0f} µs", "3 calls serialised, signed, parsed; no HTTP"
                )
            )
    finally:
        metrics.clear_metrics()
    return rows
