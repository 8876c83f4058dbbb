"""Transform settings: validated at cold start, errors naming the variable and the template parameter."""

from __future__ import annotations

from dataclasses import fields

import pytest
from orchestrator.errors import ConfigError
from orchestrator.settings import (
    TRANSFORM_PARAMETERS,
    BatchResultSettings,
    NightlySettings,
    RouterSettings,
    TransformSettings,
)

MODEL = {"TRANSFORM_MODEL_NAME": "demo-model"}
ROUTER = {
    "TRACKER_TABLE": "tracker",
    "SUCCESS_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:success",
    "ERROR_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:error",
    "ASYNC_ENDPOINT_NAME": "demo-async-endpoint",
}


def test_no_model_means_batch_modes_are_off():
    assert TransformSettings.from_env({}) is None
    assert TransformSettings.from_env({"TRANSFORM_MODEL_NAME": "  ", "TRANSFORM_SPLIT_TYPE": "bogus"}) is None
    assert RouterSettings.from_env(ROUTER).transform is None


def test_model_alone_gives_sagemakers_defaults():
    settings = TransformSettings.from_env(MODEL)
    assert settings == TransformSettings(model_name="demo-model")
    assert (settings.job_prefix, settings.instance_type, settings.instance_count) == ("sio", "ml.m5.large", 1)
    assert (settings.max_payload_mb, settings.max_concurrent_transforms) == (6, 1)
    assert (settings.split_type, settings.assemble_with, settings.join_source) == ("Line", "Line", "None")
    assert settings.batch_strategy is None and settings.content_type is None


def test_router_settings_carry_the_transform_settings():
    assert RouterSettings.from_env({**ROUTER, **MODEL}).transform == TransformSettings("demo-model")


# Each variable, a value for it, the field it sets and what that field then holds.
EVERY_OPTION = [
    ("TRANSFORM_MODEL_NAME", "demo-model", "model_name", "demo-model"),
    ("TRANSFORM_JOB_PREFIX", "scoring-prod", "job_prefix", "scoring-prod"),
    ("TRANSFORM_INSTANCE_TYPE", "ml.g5.2xlarge", "instance_type", "ml.g5.2xlarge"),
    ("TRANSFORM_INSTANCE_COUNT", "4", "instance_count", 4),
    ("TRANSFORM_MAX_PAYLOAD_MB", "10", "max_payload_mb", 10),
    ("TRANSFORM_MAX_CONCURRENT_TRANSFORMS", "10", "max_concurrent_transforms", 10),
    ("TRANSFORM_BATCH_STRATEGY", "MultiRecord", "batch_strategy", "MultiRecord"),
    ("TRANSFORM_SPLIT_TYPE", "RecordIO", "split_type", "RecordIO"),
    ("TRANSFORM_ASSEMBLE_WITH", "Line", "assemble_with", "Line"),
    ("TRANSFORM_ACCEPT", "application/jsonlines", "accept", "application/jsonlines"),
    ("TRANSFORM_CONTENT_TYPE", "text/csv", "content_type", "text/csv"),
    ("TRANSFORM_JOIN_SOURCE", "Input", "join_source", "Input"),
    ("TRANSFORM_INPUT_FILTER", "$[1:]", "input_filter", "$[1:]"),
    ("TRANSFORM_OUTPUT_FILTER", "$['id','SageMakerOutput']", "output_filter", "$['id','SageMakerOutput']"),
]


def test_every_option_is_read():
    env = {variable: raw for variable, raw, _, _ in EVERY_OPTION}
    expected = TransformSettings(**{name: value for _, _, name, value in EVERY_OPTION})
    assert TransformSettings.from_env(env) == expected
    # The table covers every field and every variable a template parameter sets.
    assert {name for _, _, name, _ in EVERY_OPTION} == {f.name for f in fields(TransformSettings)}
    assert set(env) == set(TRANSFORM_PARAMETERS)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("TRANSFORM_MODEL_NAME", "my_model", "is not a SageMaker model name"),
        ("TRANSFORM_JOB_PREFIX", "Scoring", "lowercase"),
        ("TRANSFORM_JOB_PREFIX", "a" * 31, "1-30 lowercase"),
        ("TRANSFORM_JOB_PREFIX", "ends-", "lowercase"),
        ("TRANSFORM_INSTANCE_TYPE", "m5.large", "is not an ml.* instance type"),
        ("TRANSFORM_INSTANCE_COUNT", "0", "is outside 1..100"),
        ("TRANSFORM_INSTANCE_COUNT", "two", "is not an integer"),
        ("TRANSFORM_MAX_PAYLOAD_MB", "101", "is outside 0..100"),
        ("TRANSFORM_MAX_CONCURRENT_TRANSFORMS", "0", "is outside 1..100"),
        ("TRANSFORM_SPLIT_TYPE", "Lines", "must be one of None, Line, RecordIO, TFRecord"),
        ("TRANSFORM_BATCH_STRATEGY", "Multi", "must be one of"),
        ("TRANSFORM_ASSEMBLE_WITH", "RecordIO", "must be one of None, Line"),
        ("TRANSFORM_JOIN_SOURCE", "Output", "must be one of None, Input"),
        ("TRANSFORM_ACCEPT", "csv", "is not a media type"),
        ("TRANSFORM_CONTENT_TYPE", "text/csv; charset=utf-8", "is not a media type"),
        ("TRANSFORM_INPUT_FILTER", "[1:]", r"must be a JSONPath starting with \$"),
        ("TRANSFORM_OUTPUT_FILTER", "$" + "x" * 63, "at most 63 characters"),
    ],
)
def test_bad_value_is_refused_naming_variable_and_parameter(name, value, message):
    with pytest.raises(ConfigError, match=message) as caught:
        TransformSettings.from_env({**MODEL, name: value})
    assert name in caught.value.message
    assert caught.value.details["variable"] == name
    assert caught.value.details["parameter"] in caught.value.message


def test_batch_strategy_without_split_type_is_refused_naming_both():
    with pytest.raises(ConfigError) as caught:
        TransformSettings.from_env({**MODEL, "TRANSFORM_BATCH_STRATEGY": "MultiRecord", "TRANSFORM_SPLIT_TYPE": "None"})
    assert "TransformBatchStrategy" in caught.value.message and "TransformSplitType" in caught.value.message


def test_payload_times_concurrency_over_100_is_refused_naming_both():
    env = {**MODEL, "TRANSFORM_MAX_PAYLOAD_MB": "20", "TRANSFORM_MAX_CONCURRENT_TRANSFORMS": "6"}
    with pytest.raises(ConfigError, match="is 120; SageMaker allows at most 100") as caught:
        TransformSettings.from_env(env)
    assert "TransformMaxPayloadInMB" in caught.value.message
    assert "TransformMaxConcurrentTransforms" in caught.value.message


def test_payload_times_concurrency_of_exactly_100_is_fine():
    env = {**MODEL, "TRANSFORM_MAX_PAYLOAD_MB": "25", "TRANSFORM_MAX_CONCURRENT_TRANSFORMS": "4"}
    assert TransformSettings.from_env(env) is not None


def test_nightly_function_needs_a_model_the_bucket_and_the_error_topic():
    """The error topic is new: a superseded version of a key is announced (SKIPPED) by the nightly run."""
    env = {"TRACKER_TABLE": "tracker", "INPUT_BUCKET": "bucket", "ERROR_TOPIC_ARN": ROUTER["ERROR_TOPIC_ARN"]}
    with pytest.raises(ConfigError, match=r"TRANSFORM_MODEL_NAME .*TransformModelName.* is required by the nightly"):
        NightlySettings.from_env(env)
    with pytest.raises(ConfigError, match="INPUT_BUCKET"):
        NightlySettings.from_env({"TRACKER_TABLE": "tracker", **MODEL})
    with pytest.raises(ConfigError, match="ERROR_TOPIC_ARN"):
        NightlySettings.from_env({"TRACKER_TABLE": "tracker", "INPUT_BUCKET": "bucket", **MODEL})
    settings = NightlySettings.from_env({**env, **MODEL})
    assert (settings.input_bucket, settings.output_prefix) == ("bucket", "results/")
    assert (settings.schedule_timezone, settings.schedule_expression) == ("UTC", "")


def test_nightly_schedule_time_zone_is_checked_at_cold_start():
    env = {"TRACKER_TABLE": "tracker", "INPUT_BUCKET": "bucket", "ERROR_TOPIC_ARN": ROUTER["ERROR_TOPIC_ARN"], **MODEL}
    paris = {**env, "NIGHTLY_SCHEDULE_TIMEZONE": "Europe/Paris", "NIGHTLY_SCHEDULE_EXPRESSION": "rate(6 hours)"}
    settings = NightlySettings.from_env(paris)
    assert (settings.schedule_timezone, settings.schedule_expression) == ("Europe/Paris", "rate(6 hours)")
    with pytest.raises(ConfigError, match=r"NIGHTLY_SCHEDULE_TIMEZONE .*NightlyScheduleTimezone.*'Mars/Olympus'"):
        NightlySettings.from_env({**env, "NIGHTLY_SCHEDULE_TIMEZONE": "Mars/Olympus"})


def test_batch_result_function_needs_topics_and_reads_the_prefix():
    env = {key: ROUTER[key] for key in ("TRACKER_TABLE", "SUCCESS_TOPIC_ARN", "ERROR_TOPIC_ARN")}
    assert BatchResultSettings.from_env(env).job_prefix == "sio"
    assert BatchResultSettings.from_env({**env, "TRANSFORM_JOB_PREFIX": "night-shift"}).job_prefix == "night-shift"
    with pytest.raises(ConfigError, match="TRANSFORM_JOB_PREFIX"):
        BatchResultSettings.from_env({**env, "TRANSFORM_JOB_PREFIX": "Night"})
