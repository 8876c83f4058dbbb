"""boto3 clients aimed at the local endpoints, with placeholder credentials."""

from __future__ import annotations

import threading
from typing import Any

# Placeholder credentials: moto accepts any, and they keep a real profile from being used.
TEST_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing"}


def session(region: str) -> Any:
    import boto3

    return boto3.Session(
        aws_access_key_id=TEST_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=TEST_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=TEST_CREDENTIALS["AWS_SESSION_TOKEN"],
        region_name=region,
    )


def client_factory(aws_endpoint: str, region: str, sagemaker_endpoint: str | None = None) -> Any:
    """``factory(service)`` → a boto3 client for the local endpoints (cached per service and thread)."""
    from botocore.config import Config

    boto_session = session(region)
    config = Config(retries={"mode": "standard", "total_max_attempts": 3}, connect_timeout=3, read_timeout=30)
    local = threading.local()

    def factory(service: str) -> Any:
        """``service``, or ``<service>-unvalidated`` for a client that skips its parameter validation."""
        cache = local.__dict__.setdefault("clients", {})
        if service not in cache:
            name = service.removesuffix("-unvalidated")
            url = sagemaker_endpoint if name in ("sagemaker", "sagemaker-runtime") else aws_endpoint
            settings = config.merge(Config(parameter_validation=False)) if name != service else config
            cache[service] = boto_session.client(name, endpoint_url=url, config=settings)
        return cache[service]

    return factory
