"""The router function on S3 notifications: what each kind of file becomes in the tracker."""

from __future__ import annotations

import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError, UnexpectedBatchTypeError
from orchestrator.errors import ConfigError

from tests.support.events import load_event, one_message, s3_object, s3_put_record, sqs_event
from tests.support.lambda_runtime import failed_ids
from tests.support.sagemaker import transform_jobs


def test_new_file_is_submitted_to_the_async_endpoint_with_its_output_location(route, upload, item_for_key, sagemaker):
    """Given a CSV file uploaded, When the router runs, Then SageMaker gets it and the item is SUBMITTED."""
    record = upload("incoming/customers/2026-11-28.csv")
    response = route(sqs_event(record))

    assert failed_ids(response) == []
    item = item_for_key("incoming/customers/2026-11-28.csv")
    [request] = sagemaker.accepted
    assert item["status"] == "SUBMITTED"
    assert item["mode"] == "async"
    assert request.inference_id == item["request_id"]
    assert item["output_location"] == sagemaker.output_location(item["request_id"])
    assert item["failure_location"] == sagemaker.failure_location(item["request_id"])
    assert item["endpoint_name"] == request.endpoint_name


def test_invocation_carries_the_configured_parameters(route, upload, stack, sagemaker, monkeypatch):
    monkeypatch.setenv("INVOCATION_TIMEOUT_SECONDS", "1200")
    monkeypatch.setenv("REQUEST_TTL_SECONDS", "3600")
    route(sqs_event(upload("incoming/scores.json", b'{"a": 1}')))

    [request] = sagemaker.accepted
    assert request.endpoint_name == stack.router_env()["ASYNC_ENDPOINT_NAME"]
    assert request.input_location == f"s3://{stack.bucket}/incoming/scores.json"
    assert request.content_type == "application/json"
    assert (request.invocation_timeout_seconds, request.request_ttl_seconds) == (1200, 3600)


def test_item_records_the_object_and_when_it_moved(route, upload, item_for_key, stack):
    record = upload("incoming/a.csv", b"x,y\n")
    route(sqs_event(record))

    item = item_for_key("incoming/a.csv")
    obj = s3_object(record)["object"]
    assert (item["object_uri"], item["key"], item["version_id"]) == (
        f"s3://{stack.bucket}/incoming/a.csv",
        "incoming/a.csv",
        obj["versionId"],
    )
    assert "bucket" not in item  # the stack's own bucket is implied
    assert (item["size"], item["content_type"], item["etag"]) == (4, "text/csv", obj["eTag"])
    assert item["created_at"] <= item["submitted_at"]
    assert item["status_since"] >= item["created_at"]
    assert "claim_expires_at" not in item  # the confirmation released the claim
    assert item["expires_at"] > 0


def test_s3_test_event_is_acknowledged_and_creates_nothing(route, items, sagemaker):
    response = route(load_event("s3-test-event"))
    assert failed_ids(response) == []
    assert items() == []
    assert sagemaker.accepted == []


def test_folder_marker_creates_no_item(route, items, sagemaker):
    event = load_event("s3-put-folder-and-unsupported")
    event["Records"] = event["Records"][:1]  # the folder marker alone
    assert failed_ids(route(event)) == []
    assert items() == []
    assert sagemaker.accepted == []


def test_zero_byte_file_is_skipped_and_announced_on_the_error_topic(route, item_for_key, published, sagemaker):
    route(load_event("s3-put-zero-byte"))

    item = item_for_key("incoming/empty.csv")
    [message] = published("error")
    assert item["status"] == "SKIPPED"
    assert "empty object (0 bytes)" in item["failure_reason"]
    assert message["invocationStatus"] == "Skipped"
    assert message["inferenceId"] == item["request_id"]
    assert message["failureReason"] == item["failure_reason"]
    assert message["requestParameters"]["inputLocation"] == item["object_uri"]
    assert published("success") == []
    assert sagemaker.accepted == []


def test_unsupported_extension_is_skipped_with_the_supported_list(route, item_for_key, published):
    event = load_event("s3-put-folder-and-unsupported")
    assert failed_ids(route(event)) == []

    item = item_for_key("incoming/photo.png")
    assert item["status"] == "SKIPPED"
    assert "unsupported file extension '.png'" in item["failure_reason"]
    assert all(ext in item["failure_reason"] for ext in ("csv", "json", "jsonl", "txt"))
    assert [m["inferenceId"] for m in published("error")] == [item["request_id"]]


def test_every_record_of_one_message_is_routed(route, upload, items, sagemaker):
    """Given one SQS body with two S3 records, both files are submitted (not only the first)."""
    record = one_message(upload("incoming/one.csv"), upload("incoming/two.csv"))

    assert failed_ids(route(sqs_event(record))) == []
    assert sorted(i["key"] for i in items()) == ["incoming/one.csv", "incoming/two.csv"]
    assert len(sagemaker.accepted) == 2


KEYS = [
    pytest.param("incoming/q4 results/a+b 100% é=1.csv", id="sample-mix"),
    pytest.param("incoming/with space.csv", id="space"),
    pytest.param("incoming/a+b.csv", id="plus"),
    pytest.param("incoming/100%25 off.csv", id="percent-sequence"),
    pytest.param("incoming/café/naïve-日本.json", id="non-ascii"),
    pytest.param("incoming/year=2026/month=11.csv", id="equals"),
]


@pytest.mark.parametrize("key", KEYS)
def test_encoded_keys_round_trip_exactly(key, route, upload, item_for_key, stack, sagemaker):
    """Given a key S3 form-encodes, the item and SageMaker's InputLocation hold the original key."""
    route(sqs_event(upload(key)))

    item = item_for_key(key)
    [request] = sagemaker.accepted
    assert item["key"] == key
    assert item["status"] == "SUBMITTED"
    assert request.input_location == f"s3://{stack.bucket}/{key}"


def test_encoded_key_sample_event_round_trips(route, aws, stack, item_for_key, sagemaker):
    """The events/ sample itself: its encoded key decodes to the object S3 holds."""
    event = load_event("s3-put-encoded-key")
    key = "incoming/q4 results/a+b 100% é=1.csv"
    aws.client("s3").put_object(Bucket=stack.bucket, Key=key, Body=b"x")
    route(event)
    assert item_for_key(key)["key"] == key
    assert sagemaker.accepted[0].input_location.endswith("/" + key)


def test_input_location_over_sagemakers_limit_fails_without_calling_it(
    route, item_for_key, published, sagemaker, stack
):
    """Given a key so long that s3://bucket/key exceeds 1024 characters, the request is FAILED."""
    key = "incoming/" + "k" * (1024 - len("incoming/") - 4) + ".csv"  # a legal S3 key of 1024 bytes
    route(sqs_event(s3_put_record(key)))

    item = item_for_key(key)
    assert item["status"] == "FAILED"
    assert "at most 1024" in item["failure_reason"]
    assert [m["invocationStatus"] for m in published("error")] == ["Failed"]
    assert sagemaker.accepted == []


def test_notification_without_version_or_sequencer_fails_only_that_record(route, upload, items):
    good = upload("incoming/good.csv", message_id="good")
    bad = s3_put_record("incoming/bad.csv", version_id=None, sequencer=None, message_id="bad")

    assert failed_ids(route(sqs_event(good, bad))) == ["bad"]
    assert [i["key"] for i in items()] == ["incoming/good.csv"]


def test_unversioned_notification_uses_the_sequencer(route, item_for_key):
    route(sqs_event(s3_put_record("incoming/plain.csv", version_id=None)))
    assert item_for_key("incoming/plain.csv")["status"] == "SUBMITTED"


def test_single_bad_record_fails_the_whole_batch(route):
    """A batch whose only record fails is reported as an error (Powertools), so SQS retries it."""
    with pytest.raises(BatchProcessingError):
        route(sqs_event(s3_put_record(version_id=None, sequencer=None)))


def test_event_without_records_is_refused(route):
    with pytest.raises(UnexpectedBatchTypeError):
        route({"Records": []})


class TestMetadataLookup:
    """READ_OBJECT_METADATA=true: HeadObject supplies Content-Type and x-amz-meta-inference-mode."""

    @pytest.fixture(autouse=True)
    def _metadata_on(self, monkeypatch):
        monkeypatch.setenv("READ_OBJECT_METADATA", "true")

    def test_objects_content_type_is_sent_to_sagemaker(self, route, upload, item_for_key, sagemaker):
        route(sqs_event(upload("incoming/export.txt", b'{"a":1}', ContentType="application/json")))

        assert item_for_key("incoming/export.txt")["content_type"] == "application/json"
        assert sagemaker.accepted[0].content_type == "application/json"

    def test_generic_content_type_defers_to_the_extension(self, route, upload, sagemaker):
        route(sqs_event(upload("incoming/data.csv", ContentType="binary/octet-stream")))
        assert sagemaker.accepted[0].content_type == "text/csv"

    def test_requested_mode_is_honoured(self, route, upload, item_for_key):
        route(sqs_event(upload("incoming/nightly/urgent.csv", Metadata={"inference-mode": "async"})))

        item = item_for_key("incoming/nightly/urgent.csv")
        assert (item["status"], item["mode"]) == ("SUBMITTED", "async")
        assert "x-amz-meta-inference-mode" in item["route_reason"]

    def test_requested_mode_not_in_the_stack_is_skipped_saying_so(
        self, route, upload, item_for_key, sagemaker, monkeypatch
    ):
        monkeypatch.setenv("REQUESTABLE_MODES", "async,nightly,realtime")  # requestable, but not configured
        route(sqs_event(upload("incoming/fast.csv", Metadata={"inference-mode": "realtime"})))

        item = item_for_key("incoming/fast.csv")
        assert item["status"] == "SKIPPED"
        assert "'realtime' is not configured" in item["failure_reason"]
        assert sagemaker.accepted == []

    def test_content_type_outside_content_types_is_skipped_and_announced(
        self, route, upload, item_for_key, published, sagemaker
    ):
        """Given an uploader stored a Content-Type ContentTypes does not list, When the router runs, Then the
        file is SKIPPED naming that Content-Type and the allowed ones, announced on the error topic, and
        nothing reaches the model."""
        route(sqs_event(upload("incoming/page.csv", b"<script>", ContentType="text/html")))

        item = item_for_key("incoming/page.csv")
        [message] = published("error")
        assert item["status"] == "SKIPPED"
        assert "Content-Type 'text/html' is not one of the ContentTypes" in item["failure_reason"]
        assert "text/csv" in item["failure_reason"] and "application/json" in item["failure_reason"]
        assert (message["invocationStatus"], message["failureReason"]) == ("Skipped", item["failure_reason"])
        assert sagemaker.accepted == []

    def test_content_types_parameter_decides_which_stored_content_types_pass(
        self, route, upload, item_for_key, sagemaker, monkeypatch
    ):
        monkeypatch.setenv("CONTENT_TYPES", "csv=text/csv,html=text/html")
        route(sqs_event(upload("incoming/page.csv", b"<p>", ContentType="text/html")))
        assert item_for_key("incoming/page.csv")["status"] == "SUBMITTED"
        assert sagemaker.accepted[0].content_type == "text/html"

    @pytest.mark.usefixtures("batch_configured")
    def test_requesting_batch_is_skipped_by_default_and_starts_no_job(
        self, route, upload, item_for_key, published, interceptor
    ):
        """Given batch is configured and an uploader asks for it in x-amz-meta-inference-mode, When the router
        runs with the default RequestableModes (async, nightly), Then the file is SKIPPED naming
        RequestableModes, announced, and no transform job is started."""
        transform = transform_jobs().attach(interceptor)
        route(sqs_event(upload("incoming/a.csv", Metadata={"inference-mode": "batch"})))

        item = item_for_key("incoming/a.csv")
        [message] = published("error")
        assert item["status"] == "SKIPPED"
        assert "x-amz-meta-inference-mode 'batch'" in item["failure_reason"]
        assert "RequestableModes: async, nightly" in item["failure_reason"]
        assert message["failureReason"] == item["failure_reason"]
        assert transform.jobs == {}

    @pytest.mark.usefixtures("batch_configured")
    def test_requestable_modes_parameter_lets_uploaders_ask_for_batch(
        self, route, upload, item_for_key, interceptor, monkeypatch
    ):
        monkeypatch.setenv("REQUESTABLE_MODES", "async,nightly,batch")
        transform = transform_jobs().attach(interceptor)
        route(sqs_event(upload("incoming/a.csv", Metadata={"inference-mode": "batch"})))

        item = item_for_key("incoming/a.csv")
        assert (item["status"], item["mode"]) == ("SUBMITTED", "batch")
        assert [job.name for job in transform.jobs.values()] == [item["job_name"]]

    def test_unknown_requestable_mode_fails_the_cold_start_naming_the_variable(self, route, monkeypatch):
        monkeypatch.setenv("REQUESTABLE_MODES", "async,turbo")
        with pytest.raises(ConfigError, match="REQUESTABLE_MODES"):
            route(load_event("s3-put"))

    def test_object_deleted_before_routing_is_skipped(self, route, item_for_key, aws, stack):
        route(sqs_event(s3_put_record("incoming/gone.csv", size=10)))

        item = item_for_key("incoming/gone.csv")
        assert item["status"] == "SKIPPED"
        assert "no longer exists" in item["failure_reason"]

    def test_unversioned_notification_reads_the_current_object(self, route, aws, stack, item_for_key):
        aws.client("s3").put_object(Bucket=stack.bucket, Key="incoming/u.bin", Body=b"x", ContentType="text/csv")
        route(sqs_event(s3_put_record("incoming/u.bin", size=1, version_id=None)))
        assert item_for_key("incoming/u.bin")["content_type"] == "text/csv"

    def test_head_object_reads_the_notified_version(self, route, upload, aws, stack, item_for_key, sagemaker):
        """Given the key was overwritten since, the notified version's metadata decides."""
        record = upload("incoming/v.bin", ContentType="text/csv")
        aws.client("s3").put_object(Bucket=stack.bucket, Key="incoming/v.bin", Body=b"x", ContentType="image/png")
        route(sqs_event(record))
        assert sagemaker.accepted[0].content_type == "text/csv"


def test_settings_error_names_the_variable(route, monkeypatch):
    monkeypatch.delenv("ASYNC_ENDPOINT_NAME")
    with pytest.raises(ConfigError, match="ASYNC_ENDPOINT_NAME"):
        route(load_event("s3-put"))
