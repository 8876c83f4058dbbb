"""Settings: validated once, with errors that name the variable."""

from __future__ import annotations

import pytest
from orchestrator.errors import ConfigError
from orchestrator.settings import ASYNC_MAX_BYTES, RouterSettings, TrackerSettings, parse_content_types

REQUIRED = {
    "TRACKER_TABLE": "tracker",
    "SUCCESS_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:success",
    "ERROR_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:error",
    "ASYNC_ENDPOINT_NAME": "demo-async-endpoint",
}


def test_required_variables_alone_give_the_documented_defaults():
    settings = RouterSettings.from_env(REQUIRED)
    assert settings.tracker == TrackerSettings("tracker", 90)
    assert (settings.invocation_timeout_seconds, settings.request_ttl_seconds) == (900, 21600)
    assert settings.content_types == {
        "csv": "text/csv",
        "json": "application/json",
        "jsonl": "application/jsonlines",
        "txt": "text/plain",
    }
    assert settings.read_object_metadata is False
    assert (settings.input_prefix, settings.nightly_prefix, settings.batch_prefix) == (
        "incoming/",
        "incoming/nightly/",
        "incoming/batch/",
    )
    assert settings.async_max_bytes == ASYNC_MAX_BYTES


def test_reads_os_environ_when_given_nothing(monkeypatch):
    for name, value in REQUIRED.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("CLAIM_TIMEOUT_SECONDS", "90")
    assert RouterSettings.from_env().claim_timeout_seconds == 90


@pytest.mark.parametrize("missing", sorted(REQUIRED))
def test_missing_variable_is_named(missing):
    env = {k: v for k, v in REQUIRED.items() if k != missing}
    with pytest.raises(ConfigError, match=missing) as caught:
        RouterSettings.from_env(env)
    assert caught.value.details == {"variable": missing}


def test_blank_required_variable_counts_as_missing():
    with pytest.raises(ConfigError, match="TRACKER_TABLE is required"):
        TrackerSettings.from_env({"TRACKER_TABLE": "  "})


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("INVOCATION_TIMEOUT_SECONDS", "soon", "is not an integer"),
        ("INVOCATION_TIMEOUT_SECONDS", "0", r"outside 1\.\.3600"),
        ("INVOCATION_TIMEOUT_SECONDS", "3601", r"outside 1\.\.3600"),
        ("REQUEST_TTL_SECONDS", "59", r"outside 60\.\.21600"),
        ("REQUEST_TTL_SECONDS", "21601", r"outside 60\.\.21600"),
        ("ASYNC_MAX_BYTES", str(ASYNC_MAX_BYTES + 1), "outside"),
        ("CLAIM_TIMEOUT_SECONDS", "1.5", "is not an integer"),
        ("RECORD_RETENTION_DAYS", "0", "outside"),
        ("SPILLOVER_CHECK_SECONDS", "0", r"outside 1\.\.300"),
        ("SPILLOVER_CHECK_SECONDS", "2.5", "is not an integer"),
    ],
)
def test_bad_integer_is_refused_naming_the_variable(name, value, message):
    with pytest.raises(ConfigError, match=message) as caught:
        RouterSettings.from_env({**REQUIRED, name: value})
    assert caught.value.details["variable"] == name


def test_spill_rules_read_the_backlog_every_5_seconds_unless_the_environment_says_otherwise():
    assert RouterSettings.from_env(REQUIRED).spillover_check_seconds == 5
    assert RouterSettings.from_env({**REQUIRED, "SPILLOVER_CHECK_SECONDS": "1"}).spillover_check_seconds == 1


@pytest.mark.parametrize(("name", "value"), [("INVOCATION_TIMEOUT_SECONDS", "1"), ("REQUEST_TTL_SECONDS", "21600")])
def test_limits_themselves_are_accepted(name, value):
    settings = RouterSettings.from_env({**REQUIRED, name: value})
    assert int(value) in (settings.invocation_timeout_seconds, settings.request_ttl_seconds)


@pytest.mark.parametrize(
    ("raw", "expected"), [("true", True), ("YES", True), ("1", True), ("false", False), ("no", False)]
)
def test_boolean_spellings(raw, expected):
    assert RouterSettings.from_env({**REQUIRED, "READ_OBJECT_METADATA": raw}).read_object_metadata is expected


def test_bad_boolean_is_refused():
    with pytest.raises(ConfigError, match="READ_OBJECT_METADATA='maybe' must be true or false"):
        RouterSettings.from_env({**REQUIRED, "READ_OBJECT_METADATA": "maybe"})


def test_content_types_are_parsed_with_lower_case_extensions():
    assert parse_content_types(" CSV=text/csv , .Parquet = application/x-parquet,") == {
        "csv": "text/csv",
        "parquet": "application/x-parquet",
    }


def test_content_types_variable_replaces_the_default():
    settings = RouterSettings.from_env({**REQUIRED, "CONTENT_TYPES": "tsv=text/tab-separated-values"})
    assert settings.content_types == {"tsv": "text/tab-separated-values"}


@pytest.mark.parametrize("entry", ["csv", "csv=", "=text/csv", "csv=text"])
def test_bad_content_types_entry_is_named(entry):
    with pytest.raises(ConfigError, match="CONTENT_TYPES entry") as caught:
        RouterSettings.from_env({**REQUIRED, "CONTENT_TYPES": f"json=application/json,{entry}"})
    assert caught.value.details == {"variable": "CONTENT_TYPES", "entry": entry}


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, {"async", "nightly"}),  # unset: the default
        ({"REQUESTABLE_MODES": ""}, set()),  # the parameter left empty: nothing may be requested
        (
            {"REQUESTABLE_MODES": " Async , batch,realtime ,serverless,nightly"},
            {"async", "batch", "realtime", "serverless", "nightly"},
        ),
    ],
)
def test_requestable_modes_are_read_with_their_default(env, expected):
    assert RouterSettings.from_env({**REQUIRED, **env}).requestable_modes == expected


@pytest.mark.parametrize("raw", ["async,turbo", "sync", "async;nightly"])
def test_unknown_requestable_mode_is_refused_naming_the_variable_and_the_modes(raw):
    with pytest.raises(ConfigError, match=r"REQUESTABLE_MODES \(template parameter RequestableModes\) names") as caught:
        RouterSettings.from_env({**REQUIRED, "REQUESTABLE_MODES": raw})
    assert caught.value.details == {"variable": "REQUESTABLE_MODES", "parameter": "RequestableModes"}
    assert "realtime, serverless, async, batch, nightly" in str(caught.value)


def test_content_types_with_no_entry_is_refused():
    with pytest.raises(ConfigError, match="maps no extension"):
        parse_content_types(" , ")


@pytest.mark.parametrize(
    ("input_prefix", "output_prefix"),
    [
        ("incoming/", "incoming/results/"),  # results inside the routed prefix: routed again, forever
        ("incoming/", "incoming/"),
        ("results/async/", "results/"),  # inputs inside the output prefix: async results land among them
    ],
)
def test_overlapping_input_and_output_prefixes_are_refused_naming_both(input_prefix, output_prefix):
    """Given INPUT_PREFIX and OUTPUT_PREFIX where one contains the other, when the router's settings are
    read at cold start, then they are refused naming both variables and the OutputPrefix parameter."""
    env = {**REQUIRED, "INPUT_PREFIX": input_prefix, "OUTPUT_PREFIX": output_prefix}
    with pytest.raises(ConfigError) as caught:
        RouterSettings.from_env(env)
    message = str(caught.value)
    assert "OUTPUT_PREFIX (template parameter OutputPrefix)" in message and "INPUT_PREFIX" in message
    assert repr(input_prefix) in message and repr(output_prefix) in message
    assert caught.value.details == {
        "variable": "OUTPUT_PREFIX",
        "parameter": "OutputPrefix",
        "input_prefix": input_prefix,
    }


@pytest.mark.parametrize(
    ("input_prefix", "output_prefix"),
    [("incoming/", "results/"), ("data/in/", "data/out/"), ("in/", "incoming-results/")],
)
def test_disjoint_input_and_output_prefixes_are_accepted(input_prefix, output_prefix):
    """Given prefixes that share at most a parent folder (or a string prefix short of a folder), then both are kept."""
    settings = RouterSettings.from_env({**REQUIRED, "INPUT_PREFIX": input_prefix, "OUTPUT_PREFIX": output_prefix})
    assert (settings.input_prefix, settings.output_prefix) == (input_prefix, output_prefix)


def test_night_segment_files_defaults_to_ten_thousand_and_scales_down_through_the_environment():
    from orchestrator.settings import BatchResultSettings

    assert BatchResultSettings.from_env(REQUIRED).night_segment_files == 10_000
    assert BatchResultSettings.from_env({**REQUIRED, "NIGHT_SEGMENT_FILES": "4"}).night_segment_files == 4


@pytest.mark.parametrize(("raw", "message"), [("0", "outside 1..1000000"), ("ten", "is not an integer")])
def test_bad_night_segment_files_is_refused_naming_the_variable(raw, message):
    from orchestrator.settings import BatchResultSettings

    with pytest.raises(ConfigError, match=f"NIGHT_SEGMENT_FILES=.*{message}") as caught:
        BatchResultSettings.from_env({**REQUIRED, "NIGHT_SEGMENT_FILES": raw})
    assert caught.value.details == {"variable": "NIGHT_SEGMENT_FILES"}
