"""Composition root: builds each function's workflow from validated settings, once per container."""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import cache, wraps
from typing import TYPE_CHECKING, Any, Protocol

from orchestrator import coldstart
from orchestrator.aws import clients
from orchestrator.aws.adapters import Adapters
from orchestrator.aws.notifications import Publisher
from orchestrator.aws.tracker_table import TrackerTable
from orchestrator.core import budgets
from orchestrator.core.routing import Mode
from orchestrator.settings import (
    BatchResultSettings,
    NightlySettings,
    OutcomeSettings,
    RouterSettings,
    SweeperSettings,
    TrackerSettings,
)

# Each builder imports its own workflow: a cold start loads what its function runs, not the others'.
if TYPE_CHECKING:
    from functools import _lru_cache_wrapper

    from orchestrator.workflows.batch_results import BatchResults
    from orchestrator.workflows.nightly import Nightly
    from orchestrator.workflows.router import Router
    from orchestrator.workflows.scorer import Scorer
    from orchestrator.workflows.sweeper import Sweeper
    from orchestrator.workflows.tracker import OutcomeRecorder


def _root[T](build: Callable[[], T]) -> _lru_cache_wrapper[T]:
    """A function's composition root: built once per container (``functools.cache``); building it ends
    the cold start (``coldstart.resume``: the collector runs again before the first file is handled),
    also when it fails (a configuration error is raised on every invocation, for as long as it lasts)."""

    @wraps(build)
    def built() -> T:
        try:
            return build()
        finally:
            coldstart.resume()

    return cache(built)


class _Published(Protocol):
    """The settings of a function that announces on both result topics."""

    @property
    def tracker(self) -> TrackerSettings: ...
    @property
    def success_topic_arn(self) -> str: ...
    @property
    def error_topic_arn(self) -> str: ...


def _tracker(settings: TrackerSettings, dynamodb: Any = None) -> TrackerTable:
    dynamodb = clients.client("dynamodb") if dynamodb is None else dynamodb
    return TrackerTable(settings.table_name, dynamodb, retention_days=settings.retention_days)


def _adapters(settings: _Published, s3: Any, sns: Any = None) -> Adapters:
    """The table, the topics and S3 a function's workflow shares with its modes, built once per container.
    ``sns``: an SNS client made on first use, for a function that rarely announces (default: made now)."""
    dynamodb = clients.client("dynamodb")
    sns = clients.client("sns") if sns is None else sns
    publisher = Publisher(sns, success_topic_arn=settings.success_topic_arn, error_topic_arn=settings.error_topic_arn)
    # Every client has the session's region: the table's is read, so a lazy SNS client stays unmade.
    region = dynamodb.meta.region_name or os.environ.get("AWS_REGION", "")
    return Adapters(_tracker(settings.tracker, dynamodb), s3, publisher, region=region)


@_root
def router() -> Router:
    from orchestrator.aws.sagemaker_runtime import AsyncInvoker
    from orchestrator.workflows.router import Router

    settings = RouterSettings.from_env()
    built = Router(
        settings,
        _adapters(
            settings,
            # HeadObject costs a call per file: it is read only with the lookup on; batch files write
            # their manifest with it (made on first use: batch modes are rare).
            clients.client("s3") if settings.read_object_metadata else _LazyClient("s3"),
            # SageMaker announces an async file's result itself: the router publishes only for a file
            # it cannot score, so the async happy path never makes the SNS client.
            _LazyClient("sns"),
        ),
        # One attempt per call: AsyncInvoker repeats only what SageMaker refused
        # (core/budgets.py, aws/sagemaker_runtime.py).
        invoker=AsyncInvoker(clients.client("sagemaker-runtime", budgets.ROUTER_CALL, retried=False)),
    )
    if settings.transform is not None:
        _register_batch_modes(built)
    if settings.scorer_queue_url and settings.sync_endpoints():
        _register_sync_modes(built)
    return built


def _register_sync_modes(router: Router) -> None:
    """REALTIME and SERVERLESS exist only with their endpoint named: the file goes to the scorer's queue."""
    from orchestrator.workflows.scorer import Handoff

    settings = router.settings
    assert settings.scorer_queue_url is not None
    endpoints = settings.sync_endpoints()
    sqs = clients.client("sqs")
    if any(rule.spill_to for rule in settings.routing_rules):  # read only for spill rules, on their files
        from orchestrator.aws.scorer_backlog import ScorerBacklog

        router.backlog = ScorerBacklog(sqs, settings.scorer_queue_url, settings.spillover_check_seconds)
    handoff = Handoff(
        router.adapters,
        sqs=sqs,
        queue_url=settings.scorer_queue_url,
        endpoints=endpoints,
    )
    for mode in endpoints:
        router.register(Mode(mode), handoff)


@_root
def scorer() -> Scorer:
    from orchestrator.aws.sagemaker_runtime import SyncInvoker
    from orchestrator.settings import ScorerSettings
    from orchestrator.workflows.scorer import Scorer

    settings = ScorerSettings.from_env()
    # Containers answer within 60 s; one attempt per call: SyncInvoker repeats only what SageMaker
    # refused (throttled, not ready, never connected), so a slow model is never invoked twice.
    invoker = SyncInvoker(clients.client("sagemaker-runtime", budgets.SCORER_INVOKE, retried=False))
    return Scorer(settings, _adapters(settings, clients.client("s3")), invoker=invoker)


class _LazyClient:
    """A boto3 client made on first use, for a client most invocations never call (the router's SNS and
    S3, its batch modes' SageMaker): loading a service model would otherwise lengthen every cold start."""

    def __init__(self, service: str) -> None:
        self._service = service
        self._client: Any = None

    def __getattr__(self, name: str) -> Any:
        if self._client is None:
            self._client = clients.client(self._service)
        return getattr(self._client, name)


def _register_batch_modes(router: Router) -> None:
    """BATCH and NIGHTLY exist only with a transform model; until then routing skips them, saying so."""
    from orchestrator.aws.transform_jobs import TransformJobs
    from orchestrator.modes.file_jobs import FileJobs
    from orchestrator.workflows.nightly import NightlyEnlister

    transform = router.settings.transform
    assert transform is not None
    file_jobs = FileJobs(
        transform,
        router.adapters,
        output_prefix=router.settings.output_prefix,
        jobs=TransformJobs(_LazyClient("sagemaker")),
    )
    router.register(Mode.BATCH, file_jobs)
    router.register(Mode.NIGHTLY, NightlyEnlister(router.adapters))


@_root
def outcome_recorder() -> OutcomeRecorder:
    from orchestrator.workflows.tracker import OutcomeRecorder

    settings = OutcomeSettings.from_env()
    return OutcomeRecorder(
        _tracker(settings.tracker),
        settings=settings,
        # Failure bodies are read on failures only: most cold starts never need the S3 client.
        s3=_LazyClient("s3") if settings.input_bucket else None,
    )


@_root
def nightly() -> Nightly:
    from orchestrator.aws.transform_jobs import TransformJobs
    from orchestrator.workflows.nightly import Nightly

    settings = NightlySettings.from_env()
    sns = _LazyClient("sns")  # only a superseded version of a key is announced from here
    # The nightly function announces SKIPPED files only: both topics are the error topic (its one grant).
    publisher = Publisher(sns, success_topic_arn=settings.error_topic_arn, error_topic_arn=settings.error_topic_arn)
    adapters = Adapters(
        _tracker(settings.tracker), clients.client("s3"), publisher, region=os.environ.get("AWS_REGION", "")
    )
    return Nightly(settings, adapters, jobs=TransformJobs(clients.client("sagemaker")))


@_root
def sweeper() -> Sweeper:
    from orchestrator.aws.handoff import JobHandOff
    from orchestrator.aws.transform_jobs import TransformJobs
    from orchestrator.workflows.batch_results import BatchResults
    from orchestrator.workflows.sweeper import Sweeper

    settings = SweeperSettings.from_env()
    results = settings.results
    adapters = _adapters(results, clients.client("s3"))
    has_jobs = settings.transform is not None
    return Sweeper(
        settings,
        adapters,
        jobs=TransformJobs(clients.client("sagemaker")) if has_jobs else None,
        batch_results=BatchResults(results, adapters) if has_jobs else None,
        # A finished night goes to the batch-result function (EventBridge), never recorded inline.
        handoff=JobHandOff(_LazyClient("events")) if has_jobs else None,
    )


@_root
def batch_results() -> BatchResults:
    from orchestrator.aws.handoff import JobHandOff
    from orchestrator.aws.transform_jobs import TransformJobs
    from orchestrator.workflows.batch_results import BatchResults

    settings = BatchResultSettings.from_env()
    return BatchResults(
        settings,
        _adapters(settings, clients.client("s3")),
        # Retry jobs for a failed night's files without output: rare, so SageMaker's client is made on use.
        jobs=TransformJobs(_LazyClient("sagemaker")),
        # A night not finished in one invocation continues in the next (EventBridge): rare as well.
        handoff=JobHandOff(_LazyClient("events")),
    )
