"""Composition root: builds each function's workflow from validated settings, once per container."""

from __future__ import annotations

import os
from functools import cache

from orchestrator import clients
from orchestrator.notifications import Publisher
from orchestrator.outcomes import OutcomeRecorder
from orchestrator.router import Router
from orchestrator.sagemaker import AsyncInvoker
from orchestrator.settings import RouterSettings, TrackerSettings
from orchestrator.tracker import Tracker


@cache
def router() -> Router:
    settings = RouterSettings.from_env()
    sns = clients.client("sns")
    return Router(
        settings,
        tracker=Tracker(
            settings.tracker.table_name,
            clients.client("dynamodb"),
            retention_days=settings.tracker.retention_days,
        ),
        invoker=AsyncInvoker(clients.client("sagemaker-runtime", read_timeout=20)),
        publisher=Publisher(
            sns, success_topic_arn=settings.success_topic_arn, error_topic_arn=settings.error_topic_arn
        ),
        region=sns.meta.region_name or os.environ.get("AWS_REGION", ""),
        # HeadObject costs a call per file, so the client exists only when the lookup is on.
        s3_client=clients.client("s3") if settings.read_object_metadata else None,
    )


@cache
def outcome_recorder() -> OutcomeRecorder:
    settings = TrackerSettings.from_env()
    return OutcomeRecorder(
        Tracker(settings.table_name, clients.client("dynamodb"), retention_days=settings.retention_days)
    )
