"""Configuration, read from the environment once per cold start and validated with clear errors."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from orchestrator.errors import ConfigError

DEFAULT_CONTENT_TYPES = "csv=text/csv,json=application/json,jsonl=application/jsonlines,txt=text/plain"
REALTIME_MAX_BYTES = 6_291_456
ASYNC_MAX_BYTES = 1_073_741_824


def _required(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise ConfigError(f"environment variable {name} is required but not set", {"variable": name})
    return value


def _integer(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not an integer", {"variable": name}) from None
    if not low <= value <= high:
        raise ConfigError(f"{name}={value} is outside {low}..{high}", {"variable": name})
    return value


def _boolean(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in ("true", "1", "yes"):
        return True
    if raw in ("false", "0", "no"):
        return False
    raise ConfigError(f"{name}={raw!r} must be true or false", {"variable": name})


def parse_content_types(raw: str, name: str = "CONTENT_TYPES") -> dict[str, str]:
    """``"csv=text/csv,json=application/json"`` → ``{"csv": "text/csv", ...}`` (extensions lower-case)."""
    mapping: dict[str, str] = {}
    for entry in filter(None, (part.strip() for part in raw.split(","))):
        ext, sep, content_type = entry.partition("=")
        ext = ext.strip().lower().lstrip(".")
        content_type = content_type.strip()
        if not sep or not ext or "/" not in content_type:
            raise ConfigError(
                f"{name} entry {entry!r} must look like 'csv=text/csv'", {"variable": name, "entry": entry}
            )
        mapping[ext] = content_type
    if not mapping:
        raise ConfigError(f"{name} maps no extension to a content type", {"variable": name})
    return mapping


@dataclass(frozen=True)
class TrackerSettings:
    table_name: str
    retention_days: int = 90

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> TrackerSettings:
        env = os.environ if env is None else env
        return cls(
            table_name=_required(env, "TRACKER_TABLE"),
            retention_days=_integer(env, "RECORD_RETENTION_DAYS", 90, 1, 3650),
        )


@dataclass(frozen=True)
class RouterSettings:
    tracker: TrackerSettings
    success_topic_arn: str
    error_topic_arn: str
    async_endpoint_name: str
    invocation_timeout_seconds: int = 900
    request_ttl_seconds: int = 21600
    content_types: dict[str, str] = field(default_factory=lambda: parse_content_types(DEFAULT_CONTENT_TYPES))
    read_object_metadata: bool = False
    input_prefix: str = "incoming/"
    nightly_prefix: str = "incoming/nightly/"
    batch_prefix: str = "incoming/batch/"
    output_prefix: str = "results/"
    async_max_bytes: int = ASYNC_MAX_BYTES
    claim_timeout_seconds: int = 90

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> RouterSettings:
        env = os.environ if env is None else env
        return cls(
            tracker=TrackerSettings.from_env(env),
            success_topic_arn=_required(env, "SUCCESS_TOPIC_ARN"),
            error_topic_arn=_required(env, "ERROR_TOPIC_ARN"),
            async_endpoint_name=_required(env, "ASYNC_ENDPOINT_NAME"),
            invocation_timeout_seconds=_integer(env, "INVOCATION_TIMEOUT_SECONDS", 900, 1, 3600),
            request_ttl_seconds=_integer(env, "REQUEST_TTL_SECONDS", 21600, 60, 21600),
            content_types=parse_content_types(env.get("CONTENT_TYPES") or DEFAULT_CONTENT_TYPES),
            read_object_metadata=_boolean(env, "READ_OBJECT_METADATA", False),
            input_prefix=env.get("INPUT_PREFIX", "incoming/"),
            nightly_prefix=env.get("NIGHTLY_PREFIX", "incoming/nightly/"),
            batch_prefix=env.get("BATCH_PREFIX", "incoming/batch/"),
            output_prefix=env.get("OUTPUT_PREFIX", "results/"),
            async_max_bytes=_integer(env, "ASYNC_MAX_BYTES", ASYNC_MAX_BYTES, 1, ASYNC_MAX_BYTES),
            claim_timeout_seconds=_integer(env, "CLAIM_TIMEOUT_SECONDS", 90, 1, 43200),
        )
