"""Configuration, read from the environment once per cold start and validated with clear errors."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any, ClassVar

from orchestrator.core import budgets
from orchestrator.core.deadlines import DeadlineSettings
from orchestrator.core.limits import (  # re-exported: the limits a user's settings are checked against
    ASYNC_MAX_BYTES,
    ASYNC_MAX_SECONDS,
    DEFAULT_CONTENT_TYPES,
    DEFAULT_REQUESTABLE_MODES,
    REALTIME_MAX_BYTES,
    SERVERLESS_MAX_BYTES,
)
from orchestrator.core.routing import (  # re-exported: the parsers settings apply to the environment
    Mode,
    Rule,
    check_requestable,
    parse_content_types,
    parse_requestable_modes,
    parse_rules,
)
from orchestrator.errors import ConfigError

if TYPE_CHECKING:
    from dataclasses import Field
    from typing import Concatenate, Self

    from _typeshed import DataclassInstance

__all__ = [
    "ASYNC_MAX_BYTES",
    "DEFAULT_CONTENT_TYPES",
    "DEFAULT_REQUESTABLE_MODES",
    "REALTIME_MAX_BYTES",
    "SERVERLESS_MAX_BYTES",
    "parse_content_types",
    "parse_requestable_modes",
]

# Spill rules read the scorer queue's backlog at most this often per router environment (seconds).
SPILLOVER_CHECK_SECONDS = 5
# Files of a failed night verified per segment (NIGHT_SEGMENT_FILES): a few seconds to a minute of work.
NIGHT_SEGMENT_FILES = 10_000


def _required(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise ConfigError(f"environment variable {name} is required but not set", {"variable": name})
    return value


def _optional(env: Mapping[str, str], name: str) -> str | None:
    """The variable's value; None when unset or blank."""
    return env.get(name, "").strip() or None


def _integer(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise _setting_error(name, "is not an integer", raw) from None
    if not low <= value <= high:
        raise _setting_error(name, f"is outside {low}..{high}", value)
    return value


def _text(env: Mapping[str, str], name: str, default: str) -> str:
    """The variable's value as set (not stripped); ``default`` when unset."""
    return env.get(name, default)


def _boolean(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in ("true", "1", "yes"):
        return True
    if raw in ("false", "0", "no"):
        return False
    raise _setting_error(name, "must be true or false", raw)


def output_outside_input(output_prefix: str, input_prefix: str) -> str:
    """OUTPUT_PREFIX, refused when one of the two prefixes contains the other: a result written under
    INPUT_PREFIX would be routed again, forever (CloudFormation Rules can only refuse equal prefixes)."""
    if output_prefix.startswith(input_prefix) or input_prefix.startswith(output_prefix):
        raise ConfigError(
            f"OUTPUT_PREFIX (template parameter OutputPrefix)={output_prefix!r} and INPUT_PREFIX (template "
            f"parameter InputPrefix)={input_prefix!r} overlap: results must be written outside the routed "
            "prefix, or each one would be routed again",
            {"variable": "OUTPUT_PREFIX", "parameter": "OutputPrefix", "input_prefix": input_prefix},
        )
    return output_prefix


def _env[**P](
    read: Callable[Concatenate[Mapping[str, str], P], object], *args: P.args, **kwargs: P.kwargs
) -> dict[str, Any]:
    """A settings field's metadata: the environment is read into it with ``read(env, *args, **kwargs)``."""
    return {"env": lambda env: read(env, *args, **kwargs)}


def _read_fields[S: DataclassInstance](cls: type[S], env: Mapping[str, str], **known: object) -> S:
    """``cls`` with its fields read from ``env`` in their order, so that the first bad variable is the one
    reported; those ``known`` already (read before, or checked together) are taken as given."""
    return cls(**{f.name: known[f.name] if f.name in known else f.metadata["env"](env) for f in fields(cls)})


class _FromEnv:
    """Settings whose fields each say how the environment is read into them (``_env``), so that one
    ``from_env`` reads them all."""

    __dataclass_fields__: ClassVar[dict[str, Field[Any]]]

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Self:
        return _read_fields(cls, os.environ if env is None else env)


@dataclass(frozen=True)
class TrackerSettings(_FromEnv):
    """The tracker table every function writes, and how long its records are kept."""

    table_name: str = field(metadata=_env(_required, "TRACKER_TABLE"))
    retention_days: int = field(default=90, metadata=_env(_integer, "RECORD_RETENTION_DAYS", 90, 1, 3650))


def deadline_settings(env: Mapping[str, str]) -> DeadlineSettings:
    """The numbers every deadline is computed from (the template's Globals)."""
    defaults = DeadlineSettings()
    return DeadlineSettings(
        request_ttl_seconds=_integer(env, "REQUEST_TTL_SECONDS", defaults.request_ttl_seconds, 60, 21600),
        invocation_timeout_seconds=_integer(
            env, "INVOCATION_TIMEOUT_SECONDS", defaults.invocation_timeout_seconds, 1, ASYNC_MAX_SECONDS
        ),
        transform_max_runtime_seconds=_integer(
            env, "TRANSFORM_MAX_RUNTIME_SECONDS", defaults.transform_max_runtime_seconds, 600, 2592000
        ),
        nightly_interval_seconds=_integer(
            env, "NIGHTLY_INTERVAL_SECONDS", defaults.nightly_interval_seconds, 60, 2678400
        ),
        nightly_retry_window_seconds=_integer(
            env, "NIGHTLY_RETRY_WINDOW_SECONDS", defaults.nightly_retry_window_seconds, 0, 86400
        ),
        grace_seconds=_integer(env, "DEADLINE_GRACE_SECONDS", defaults.grace_seconds, 0, 86400),
        # SQS allows 60 s to 14 days.
        queue_retention_seconds=_integer(
            env, "QUEUE_RETENTION_SECONDS", defaults.queue_retention_seconds, 60, 1_209_600
        ),
        claim_timeout_seconds=_integer(env, "CLAIM_TIMEOUT_SECONDS", defaults.claim_timeout_seconds, 1, 43200),
    )


# The fields several functions' settings share, read alike everywhere (lambdas: defined further down).
_TRACKER = _env(TrackerSettings.from_env)
_SUCCESS_TOPIC = _env(_required, "SUCCESS_TOPIC_ARN")
_ERROR_TOPIC = _env(_required, "ERROR_TOPIC_ARN")
_OUTPUT_PREFIX = _env(_text, "OUTPUT_PREFIX", "results/")
_DEADLINES = _env(deadline_settings)
_TRANSFORM_JOB_PREFIX = _env(lambda env: transform_job_prefix(env))
_TRANSFORM = _env(lambda env: TransformSettings.from_env(env))


@dataclass(frozen=True)
class OutcomeSettings(_FromEnv):
    """The tracker function: which results are this stack's, and where failure bodies may be read."""

    tracker: TrackerSettings = field(metadata=_TRACKER)
    # None: any endpoint's notification is accepted
    async_endpoint_name: str | None = field(default=None, metadata=_env(_optional, "ASYNC_ENDPOINT_NAME"))
    job_prefix: str = field(default="sio", metadata=_TRANSFORM_JOB_PREFIX)
    # None: failure bodies are not read
    input_bucket: str | None = field(default=None, metadata=_env(_optional, "INPUT_BUCKET"))
    output_prefix: str = field(default="results/", metadata=_OUTPUT_PREFIX)


def _router_output_prefix(env: Mapping[str, str]) -> str:
    return output_outside_input(env.get("OUTPUT_PREFIX", "results/"), env.get("INPUT_PREFIX", "incoming/"))


@dataclass(frozen=True)
class RouterSettings(_FromEnv):
    """The router function: endpoints, routing rules, limits and deadlines."""

    tracker: TrackerSettings = field(metadata=_TRACKER)
    success_topic_arn: str = field(metadata=_SUCCESS_TOPIC)
    error_topic_arn: str = field(metadata=_ERROR_TOPIC)
    async_endpoint_name: str = field(metadata=_env(_required, "ASYNC_ENDPOINT_NAME"))
    invocation_timeout_seconds: int = field(
        default=900, metadata=_env(_integer, "INVOCATION_TIMEOUT_SECONDS", 900, 1, ASYNC_MAX_SECONDS)
    )
    request_ttl_seconds: int = field(default=21600, metadata=_env(_integer, "REQUEST_TTL_SECONDS", 21600, 60, 21600))
    content_types: dict[str, str] = field(
        default_factory=lambda: parse_content_types(DEFAULT_CONTENT_TYPES),
        metadata=_env(lambda env: parse_content_types(env.get("CONTENT_TYPES") or DEFAULT_CONTENT_TYPES)),
    )
    read_object_metadata: bool = field(default=False, metadata=_env(_boolean, "READ_OBJECT_METADATA", False))
    input_prefix: str = field(default="incoming/", metadata=_env(_text, "INPUT_PREFIX", "incoming/"))
    nightly_prefix: str = field(
        default="incoming/nightly/", metadata=_env(_text, "NIGHTLY_PREFIX", "incoming/nightly/")
    )
    batch_prefix: str = field(default="incoming/batch/", metadata=_env(_text, "BATCH_PREFIX", "incoming/batch/"))
    output_prefix: str = field(default="results/", metadata=_env(_router_output_prefix))
    async_max_bytes: int = field(
        default=ASYNC_MAX_BYTES, metadata=_env(_integer, "ASYNC_MAX_BYTES", ASYNC_MAX_BYTES, 1, ASYNC_MAX_BYTES)
    )
    # None: records of any bucket are accepted (tests, local invoke)
    input_bucket: str | None = field(default=None, metadata=_env(_optional, "INPUT_BUCKET"))
    # Time one record can need at worst (orchestrator/core/budgets.py); a record starts only if this is left.
    # Only local stacks with shortened function timeouts set ROUTER_RECORD_BUDGET_MS (local/, tests/e2e).
    record_budget_ms: int = field(
        default_factory=lambda: budgets.record_budget_ms(),
        metadata=_env(lambda env: _integer(env, "ROUTER_RECORD_BUDGET_MS", budgets.record_budget_ms(), 0, 900_000)),
    )
    deadlines: DeadlineSettings = field(default_factory=DeadlineSettings, metadata=_DEADLINES)
    # None: no transform model configured, so the batch and nightly modes are off.
    transform: TransformSettings | None = field(default=None, metadata=_TRANSFORM)
    # The synchronous modes: each exists only when its endpoint is named (and the scorer queue is set).
    realtime_endpoint_name: str | None = field(default=None, metadata=_env(_optional, "REALTIME_ENDPOINT_NAME"))
    serverless_endpoint_name: str | None = field(default=None, metadata=_env(_optional, "SERVERLESS_ENDPOINT_NAME"))
    scorer_queue_url: str | None = field(default=None, metadata=_env(_optional, "SCORER_QUEUE_URL"))
    # RoutingRules, validated here at cold start (orchestrator.core.routing.parse_rules); read by from_env
    # before any other field, with requestable_modes, which they are checked against.
    routing_rules: tuple[Rule, ...] = ()
    # What x-amz-meta-inference-mode may ask for (RequestableModes); unset: DEFAULT_REQUESTABLE_MODES.
    requestable_modes: frozenset[Mode] = field(
        default_factory=lambda: parse_requestable_modes(DEFAULT_REQUESTABLE_MODES)
    )
    # How long a read of the scorer queue's backlog serves spill rules (orchestrator/aws/scorer_backlog.py).
    spillover_check_seconds: int = field(
        default=SPILLOVER_CHECK_SECONDS,
        metadata=_env(_integer, "SPILLOVER_CHECK_SECONDS", SPILLOVER_CHECK_SECONDS, 1, 300),
    )

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Self:
        env = os.environ if env is None else env
        rules = parse_rules(env.get("ROUTING_RULES", ""))
        # Unset means the default; set but empty (the parameter's "") means no mode may be requested.
        requestable = parse_requestable_modes(env.get("REQUESTABLE_MODES", DEFAULT_REQUESTABLE_MODES))
        check_requestable(rules, requestable)
        return _read_fields(cls, env, routing_rules=rules, requestable_modes=requestable)

    def sync_endpoints(self) -> dict[str, str]:
        """``{"realtime": <endpoint>, "serverless": <endpoint>}`` for the configured synchronous modes."""
        return sync_endpoints(self.realtime_endpoint_name, self.serverless_endpoint_name)

    @property
    def claim_timeout_seconds(self) -> int:
        """The router's claim timeout (``CLAIM_TIMEOUT_SECONDS``), read once with the deadlines it is part of."""
        return self.deadlines.claim_timeout_seconds


def sync_endpoints(realtime: str | None, serverless: str | None) -> dict[str, str]:
    return {mode: name for mode, name in (("realtime", realtime), ("serverless", serverless)) if name}


@dataclass(frozen=True)
class ScorerSettings(_FromEnv):
    """The scorer function: the synchronous modes' endpoints, where results go, how long a claim lasts."""

    tracker: TrackerSettings = field(metadata=_TRACKER)
    success_topic_arn: str = field(metadata=_SUCCESS_TOPIC)
    error_topic_arn: str = field(metadata=_ERROR_TOPIC)
    endpoints: dict[str, str]  # mode → endpoint name (at least one); read by from_env before any other field
    output_prefix: str = field(default="results/", metadata=_OUTPUT_PREFIX)
    # Longer than one invocation (a running claim is never taken over), shorter than the queue's
    # visibility timeout (the redelivery finds it expired).
    claim_timeout_seconds: int = field(
        default=270, metadata=_env(_integer, "SCORER_CLAIM_TIMEOUT_SECONDS", 270, 1, 43200)
    )
    deadlines: DeadlineSettings = field(default_factory=DeadlineSettings, metadata=_DEADLINES)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Self:
        env = os.environ if env is None else env
        endpoints = sync_endpoints(
            _optional(env, "REALTIME_ENDPOINT_NAME"),
            _optional(env, "SERVERLESS_ENDPOINT_NAME"),
        )
        if not endpoints:
            raise ConfigError(
                "REALTIME_ENDPOINT_NAME or SERVERLESS_ENDPOINT_NAME (template parameters RealtimeEndpointName, "
                "ServerlessEndpointName) must name an endpoint for the scorer to have work",
                {"variable": "REALTIME_ENDPOINT_NAME"},
            )
        return _read_fields(cls, env, endpoints=endpoints)


# Batch transform settings come from template parameters: errors name both, so the fix is obvious.
TRANSFORM_PARAMETERS = {
    "TRANSFORM_MODEL_NAME": "TransformModelName",
    "TRANSFORM_JOB_PREFIX": "TransformJobPrefix",
    "TRANSFORM_INSTANCE_TYPE": "TransformInstanceType",
    "TRANSFORM_INSTANCE_COUNT": "TransformInstanceCount",
    "TRANSFORM_MAX_PAYLOAD_MB": "TransformMaxPayloadInMB",
    "TRANSFORM_MAX_CONCURRENT_TRANSFORMS": "TransformMaxConcurrentTransforms",
    "TRANSFORM_BATCH_STRATEGY": "TransformBatchStrategy",
    "TRANSFORM_SPLIT_TYPE": "TransformSplitType",
    "TRANSFORM_ASSEMBLE_WITH": "TransformAssembleWith",
    "TRANSFORM_ACCEPT": "TransformAccept",
    "TRANSFORM_CONTENT_TYPE": "TransformContentType",
    "TRANSFORM_JOIN_SOURCE": "TransformJoinSource",
    "TRANSFORM_INPUT_FILTER": "TransformInputFilter",
    "TRANSFORM_OUTPUT_FILTER": "TransformOutputFilter",
}
# SageMaker ModelName; job names get a lowercase prefix because SageMaker lowercases transform-job
# ARNs and IAM compares ARNs case-sensitively. 30 characters leave room for "-" + a 32-hex request id.
_MODEL_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
_JOB_PREFIX = re.compile(r"^[a-z0-9](-*[a-z0-9]){0,29}$")
JOB_PREFIX_MAX_LENGTH = 30
_INSTANCE_TYPE = re.compile(r"^ml\.[a-z0-9]+\.[a-z0-9]+$")
_MEDIA_TYPE = re.compile(r"^[0-9A-Za-z!#$&^_.+-]+/[0-9A-Za-z!#$&^_.+-]+$")
_JSON_PATH_MAX = 63  # DataProcessing InputFilter / OutputFilter
SPLIT_TYPES = ("None", "Line", "RecordIO", "TFRecord")
BATCH_STRATEGIES = ("MultiRecord", "SingleRecord")
ASSEMBLY_TYPES = ("None", "Line")
JOIN_SOURCES = ("None", "Input")
# MaxPayloadInMB x MaxConcurrentTransforms may not exceed this (CreateTransformJob).
PAYLOAD_TIMES_CONCURRENCY_MAX = 100


def _named(variable: str) -> str:
    parameter = TRANSFORM_PARAMETERS.get(variable)
    return f"{variable} (template parameter {parameter})" if parameter else variable


def _setting_error(variable: str, problem: str, value: object = None) -> ConfigError:
    """``<variable>[ (template parameter P)]=<value> <problem>``: the parameter is named where a
    template parameter sets the variable directly (TRANSFORM_PARAMETERS)."""
    shown = f"={value!r}" if value is not None else ""
    parameter = TRANSFORM_PARAMETERS.get(variable)
    details = {"variable": variable, "parameter": parameter} if parameter else {"variable": variable}
    return ConfigError(f"{_named(variable)}{shown} {problem}", details)


def _checked[D: str | None](
    env: Mapping[str, str], name: str, default: D, valid: Callable[[str], object], problem: str
) -> str | D:
    """The variable's value if ``valid`` accepts it, ``default`` when unset; otherwise ``<name> <problem>``."""
    raw = env.get(name, "").strip()
    if not raw:
        return default
    if not valid(raw):
        raise _setting_error(name, problem, raw)
    return raw


def _choice(env: Mapping[str, str], name: str, choices: tuple[str, ...], default: str) -> str:
    return _checked(env, name, default, choices.__contains__, f"must be one of {', '.join(choices)}")


def _matching(env: Mapping[str, str], name: str, pattern: re.Pattern[str], what: str) -> str | None:
    return _checked(env, name, None, pattern.match, f"is not {what}")


def _json_path(env: Mapping[str, str], name: str) -> str | None:
    def valid(raw: str) -> bool:
        return raw.startswith("$") and len(raw) <= _JSON_PATH_MAX

    return _checked(
        env, name, None, valid, f"must be a JSONPath starting with $ of at most {_JSON_PATH_MAX} characters"
    )


def transform_job_prefix(env: Mapping[str, str]) -> str:
    """TRANSFORM_JOB_PREFIX: what every transform job of this stack is named with (and IAM allows)."""
    prefix = env.get("TRANSFORM_JOB_PREFIX", "").strip() or "sio"
    if not _JOB_PREFIX.match(prefix):
        raise _setting_error(
            "TRANSFORM_JOB_PREFIX",
            f"must be 1-{JOB_PREFIX_MAX_LENGTH} lowercase letters, digits and hyphens, starting and ending "
            "with a letter or digit",
            prefix,
        )
    return prefix


@dataclass(frozen=True)
class TransformSettings:
    """CreateTransformJob options shared by per-file and nightly jobs (docs/architecture.md §7.4)."""

    model_name: str  # read by from_env before any other field: without it there are no transform settings
    job_prefix: str = field(default="sio", metadata=_TRANSFORM_JOB_PREFIX)
    instance_type: str = field(
        default="ml.m5.large",
        metadata=_env(
            _checked, "TRANSFORM_INSTANCE_TYPE", "ml.m5.large", _INSTANCE_TYPE.match, "is not an ml.* instance type"
        ),
    )
    instance_count: int = field(default=1, metadata=_env(_integer, "TRANSFORM_INSTANCE_COUNT", 1, 1, 100))
    max_payload_mb: int = field(default=6, metadata=_env(_integer, "TRANSFORM_MAX_PAYLOAD_MB", 6, 0, 100))
    max_concurrent_transforms: int = field(
        default=1, metadata=_env(_integer, "TRANSFORM_MAX_CONCURRENT_TRANSFORMS", 1, 1, 100)
    )
    batch_strategy: str | None = field(
        default=None,
        metadata=_env(lambda env: _choice(env, "TRANSFORM_BATCH_STRATEGY", ("", *BATCH_STRATEGIES), "") or None),
    )
    # Line, like the template's defaults: files over 100 MB (the batch mode's reason to be) only go
    # through split into records; CSV and JSON Lines split on lines.
    split_type: str = field(default="Line", metadata=_env(_choice, "TRANSFORM_SPLIT_TYPE", SPLIT_TYPES, "Line"))
    assemble_with: str = field(
        default="Line", metadata=_env(_choice, "TRANSFORM_ASSEMBLE_WITH", ASSEMBLY_TYPES, "Line")
    )
    accept: str | None = field(
        default=None, metadata=_env(_matching, "TRANSFORM_ACCEPT", _MEDIA_TYPE, "a media type like text/csv")
    )
    # None: the file's own content type
    content_type: str | None = field(
        default=None, metadata=_env(_matching, "TRANSFORM_CONTENT_TYPE", _MEDIA_TYPE, "a media type like text/csv")
    )
    join_source: str = field(default="None", metadata=_env(_choice, "TRANSFORM_JOIN_SOURCE", JOIN_SOURCES, "None"))
    input_filter: str | None = field(default=None, metadata=_env(_json_path, "TRANSFORM_INPUT_FILTER"))
    output_filter: str | None = field(default=None, metadata=_env(_json_path, "TRANSFORM_OUTPUT_FILTER"))

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> TransformSettings | None:
        """None when TRANSFORM_MODEL_NAME is empty: the stack has no transform model, batch is off."""
        env = os.environ if env is None else env
        model = env.get("TRANSFORM_MODEL_NAME", "").strip()
        if not model:
            return None
        if not _MODEL_NAME.match(model):
            raise _setting_error(
                "TRANSFORM_MODEL_NAME", "is not a SageMaker model name (1-63 letters, digits, hyphens)", model
            )
        settings = _read_fields(cls, env, model_name=model)
        settings.check_combinations()
        return settings

    def check_combinations(self) -> None:
        """The rules CreateTransformJob enforces across options, checked before any job is started."""
        if self.batch_strategy and self.split_type == "None":
            raise _setting_error(
                "TRANSFORM_BATCH_STRATEGY",
                f"needs {_named('TRANSFORM_SPLIT_TYPE')} to be Line, RecordIO or TFRecord, not None",
                self.batch_strategy,
            )
        product = self.max_payload_mb * self.max_concurrent_transforms
        if product > PAYLOAD_TIMES_CONCURRENCY_MAX:
            raise _setting_error(
                "TRANSFORM_MAX_PAYLOAD_MB",
                f"x {_named('TRANSFORM_MAX_CONCURRENT_TRANSFORMS')}={self.max_concurrent_transforms} is "
                f"{product}; SageMaker allows at most {PAYLOAD_TIMES_CONCURRENCY_MAX}",
                self.max_payload_mb,
            )


def _required_transform(env: Mapping[str, str], function: str) -> TransformSettings:
    transform = TransformSettings.from_env(env)
    if transform is None:
        raise ConfigError(
            f"{_named('TRANSFORM_MODEL_NAME')} is required by the {function} function but not set",
            {"variable": "TRANSFORM_MODEL_NAME", "parameter": "TransformModelName"},
        )
    return transform


def _schedule_timezone(env: Mapping[str, str]) -> str:
    """NIGHTLY_SCHEDULE_TIMEZONE (template parameter NightlyScheduleTimezone), checked against the
    time zone database now rather than at the first night."""
    from orchestrator.core.nights import time_zone

    name = env.get("NIGHTLY_SCHEDULE_TIMEZONE", "").strip() or "UTC"
    try:
        time_zone(name)
    except (ValueError, LookupError) as exc:  # ZoneInfoNotFoundError is a KeyError
        raise ConfigError(
            f"NIGHTLY_SCHEDULE_TIMEZONE (template parameter NightlyScheduleTimezone)={name!r} is not a time zone "
            "this runtime knows (an IANA name such as Europe/Paris)",
            {"variable": "NIGHTLY_SCHEDULE_TIMEZONE", "parameter": "NightlyScheduleTimezone"},
        ) from exc
    return name


@dataclass(frozen=True)
class NightlySettings(_FromEnv):
    """The nightly function: the night's transform job, its input and output, its deadlines."""

    tracker: TrackerSettings = field(metadata=_TRACKER)
    transform: TransformSettings = field(metadata=_env(_required_transform, "nightly"))
    input_bucket: str = field(metadata=_env(_required, "INPUT_BUCKET"))
    output_prefix: str = field(default="results/", metadata=_OUTPUT_PREFIX)
    deadlines: DeadlineSettings = field(default_factory=DeadlineSettings, metadata=_DEADLINES)
    # Superseded versions of a key are announced (SKIPPED) on the error topic.
    error_topic_arn: str = field(default="", metadata=_ERROR_TOPIC)
    # Nights are named in the schedule's time zone; with the local time too unless it runs once a day.
    schedule_timezone: str = field(default="UTC", metadata=_env(_schedule_timezone))
    schedule_expression: str = field(
        default="", metadata=_env(lambda env: env.get("NIGHTLY_SCHEDULE_EXPRESSION", "").strip())
    )


@dataclass(frozen=True)
class BatchResultSettings(_FromEnv):
    """The batch-result function: where transform jobs' results are announced and recorded."""

    tracker: TrackerSettings = field(metadata=_TRACKER)
    success_topic_arn: str = field(metadata=_SUCCESS_TOPIC)
    error_topic_arn: str = field(metadata=_ERROR_TOPIC)
    job_prefix: str = field(default="sio", metadata=_TRANSFORM_JOB_PREFIX)
    # The deadline of the files a retry job takes (a failed nightly job's files without output).
    deadlines: DeadlineSettings = field(default_factory=DeadlineSettings, metadata=_DEADLINES)
    # A failed night's files are verified this many at a time: each segment's retry jobs start, and
    # its progress is recorded, before the next segment is read (workflows/failed_nights.py).
    night_segment_files: int = field(
        default=NIGHT_SEGMENT_FILES, metadata=_env(_integer, "NIGHT_SEGMENT_FILES", NIGHT_SEGMENT_FILES, 1, 1_000_000)
    )


@dataclass(frozen=True)
class SweeperSettings(_FromEnv):
    """The sweeper function: what it resolves, with the batch-result function's own settings."""

    # Table, topics and job prefix: the batch-result function's own.
    results: BatchResultSettings = field(metadata=_env(BatchResultSettings.from_env))
    async_endpoint_name: str = field(metadata=_env(_required, "ASYNC_ENDPOINT_NAME"))
    input_bucket: str = field(metadata=_env(_required, "INPUT_BUCKET"))
    output_prefix: str = field(default="results/", metadata=_OUTPUT_PREFIX)
    # None: no transform model, so nights are disabled (a SCHEDULED file past its night is FAILED).
    transform: TransformSettings | None = field(default=None, metadata=_TRANSFORM)
    deadlines: DeadlineSettings = field(default_factory=DeadlineSettings, metadata=_DEADLINES)
