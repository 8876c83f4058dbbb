"""S3 notifications inside SQS bodies (docs/architecture.md §7.1)."""

from __future__ import annotations

import json

import pytest
from orchestrator.core import s3_events
from orchestrator.errors import BadEventError

from tests.support.events import body_of, load_event, s3_put_record


def _body(record: dict) -> str:
    return record["body"]


def test_put_sample_decodes_to_one_object_created():
    record = load_event("s3-put")["Records"][0]
    [event] = s3_events.parse_body(record["body"])
    raw = body_of(record)["Records"][0]
    assert event.bucket == raw["s3"]["bucket"]["name"]
    assert event.key == raw["s3"]["object"]["key"]  # nothing to decode in this key
    assert (event.size, event.etag) == (raw["s3"]["object"]["size"], raw["s3"]["object"]["eTag"])
    assert (event.version_id, event.sequencer) == (raw["s3"]["object"]["versionId"], raw["s3"]["object"]["sequencer"])
    assert (event.event_name, event.event_time) == (raw["eventName"], raw["eventTime"])
    assert event.uri == f"s3://{event.bucket}/{event.key}"


def test_encoded_key_sample_is_decoded_as_a_form():
    """Given S3's form encoding (space → +, + → %2B), the key is decoded with unquote_plus."""
    [event] = s3_events.parse_body(load_event("s3-put-encoded-key")["Records"][0]["body"])
    assert event.key == "incoming/q4 results/a+b 100% é=1.csv"


@pytest.mark.parametrize(
    "key",
    ["incoming/with space.csv", "incoming/a+b.csv", "incoming/100%.csv", "incoming/é/ü.json", "incoming/k=v.csv"],
)
def test_any_encoded_key_round_trips(key):
    [event] = s3_events.parse_body(_body(s3_put_record(key)))
    assert event.key == key


def test_every_record_of_a_body_is_returned_not_only_the_first():
    record = load_event("s3-put")["Records"][0]
    body = body_of(record)
    second = json.loads(json.dumps(body["Records"][0]))
    second["s3"]["object"]["key"] = "incoming/second+file.csv"
    body["Records"].append(second)
    events = s3_events.parse_body(json.dumps(body))
    assert [e.key for e in events] == [body["Records"][0]["s3"]["object"]["key"], "incoming/second file.csv"]


def test_s3_test_event_yields_nothing():
    assert s3_events.parse_body(load_event("s3-test-event")["Records"][0]["body"]) == []


def test_folder_marker_is_recognised():
    [folder] = s3_events.parse_body(load_event("s3-put-folder-and-unsupported")["Records"][0]["body"])
    assert folder.is_folder_marker
    [file] = s3_events.parse_body(load_event("s3-put")["Records"][0]["body"])
    assert not file.is_folder_marker


def test_missing_version_and_sequencer_are_none():
    [event] = s3_events.parse_body(_body(s3_put_record(version_id=None, sequencer=None)))
    assert (event.version_id, event.sequencer) == (None, None)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        pytest.param("not json", "SQS body is not JSON", id="not-json"),  # core.payloads.json_object
        pytest.param("{}", "no S3 'Records' list", id="no-records"),
        pytest.param('{"Records": []}', "no S3 'Records' list", id="empty-records"),
        pytest.param('{"Records": ["x"]}', "malformed S3 record", id="record-not-object"),
    ],
)
def test_unparseable_body_is_a_bad_event_saying_why(body, message):
    with pytest.raises(BadEventError, match=message):
        s3_events.parse_body(body)


def _changed(change) -> str:
    body = body_of(load_event("s3-put")["Records"][0])
    change(body["Records"][0])
    return json.dumps(body)


@pytest.mark.parametrize("version", ["1.0", "3.0", None])
def test_event_version_other_than_2x_is_refused(version):
    body = _changed(lambda r: r.update(eventVersion=version))
    with pytest.raises(BadEventError, match=r"unsupported eventVersion .*expected 2\.x"):
        s3_events.parse_body(body)


@pytest.mark.parametrize("version", ["2.0", "2.1", "2.2", "2.3"])
def test_any_2x_event_version_is_accepted(version):
    assert len(s3_events.parse_body(_changed(lambda r: r.update(eventVersion=version)))) == 1


def test_non_object_created_event_is_refused_with_its_name():
    body = _changed(lambda r: r.update(eventName="ObjectRemoved:Delete"))
    with pytest.raises(BadEventError, match="'ObjectRemoved:Delete' is not an ObjectCreated event"):
        s3_events.parse_body(body)


def test_record_without_s3_part_is_refused_with_its_index():
    body = _changed(lambda r: r.pop("s3"))
    with pytest.raises(BadEventError, match="record 0: malformed S3 record"):
        s3_events.parse_body(body)


def test_non_numeric_size_is_refused():
    body = _changed(lambda r: r["s3"]["object"].update(size="big"))
    with pytest.raises(BadEventError, match="malformed"):
        s3_events.parse_body(body)
