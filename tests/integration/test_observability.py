"""Logs carry the request id as correlation id; metrics count outcomes per mode and time the stages."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator

import pytest
from orchestrator.observability import logger

from tests.support import emf
from tests.support.events import load_event, s3_put_record, sagemaker_notification, sqs_event, tracker_record

KEY = "incoming/a.csv"


@pytest.fixture
def logs() -> Iterator[Callable[[], list[dict]]]:
    """The functions' JSON log lines (the logger's stream, redirected for the test)."""
    buffer = io.StringIO()
    previous = logger.registered_handler.setStream(buffer)
    yield lambda: emf.log_lines(buffer.getvalue())
    logger.registered_handler.setStream(previous)


@pytest.fixture
def routed(route, upload, item_for_key, capfd) -> dict:
    """Given a file routed (stdout captured from before it)."""
    route(sqs_event(upload(KEY)))
    return item_for_key(KEY)


def test_router_logs_carry_the_request_id_as_correlation_id(logs, routed):
    lines = [line for line in logs() if line["message"] == "routing"]
    assert [line["correlation_id"] for line in lines] == [routed["request_id"]]
    assert lines[0]["key"] == KEY and lines[0]["mode"] == "async"


def test_log_lines_leave_out_what_the_log_group_already_says(logs, routed):
    """Given a routed file, then its log line names the function and invocation, but not the function's
    ARN or memory size: the log group (one per function) says those, and log bytes are billed."""
    [line] = [line for line in logs() if line["message"] == "routing"]
    assert {"function_name", "function_request_id", "cold_start", "correlation_id"} <= set(line)
    assert not {"function_arn", "function_memory_size"} & set(line)


def test_routed_file_counts_per_mode_and_times_its_queue_wait(routed, capfd):
    published = emf.metrics(capfd.readouterr().out)
    assert ("RequestsRouted", {"Mode": "async", "service": "sagemaker-inference-orchestrator"}) in published
    assert "QueueTime" in [name for name, _ in published]


def test_a_batch_of_files_publishes_one_document_per_dimension_set(route, upload, capfd):
    """Given five files routed by one invocation, then their per-mode metrics are one EMF document (a
    log line, billed by its bytes) whose values hold one entry per file, not one document per value."""
    records = [upload(f"incoming/batch-{i}.csv") for i in range(5)]
    capfd.readouterr()
    route(sqs_event(*records))

    documents = [d for d in emf.documents(capfd.readouterr().out) if "_aws" in d and d.get("Mode") == "async"]
    assert len(documents) == 1
    assert documents[0]["RequestsRouted"] == [1.0] * 5
    assert len(documents[0]["QueueTime"]) == 5


def test_result_counts_per_mode_and_times_processing_and_end_to_end(routed, track, capfd):
    capfd.readouterr()
    track(sqs_event(tracker_record(sagemaker_notification("success", routed["request_id"]))))

    published = emf.metrics(capfd.readouterr().out)
    names = [name for name, _ in published]
    assert ("RequestsSucceeded", {"Mode": "async", "service": "sagemaker-inference-orchestrator"}) in published
    assert {"ProcessingTime", "EndToEndLatency"} <= set(names)


@pytest.mark.parametrize(("kind", "metric"), [("error", "RequestsFailed"), ("expired", "RequestsExpired")])
def test_unsuccessful_results_are_counted(kind, metric, routed, track, capfd):
    capfd.readouterr()
    track(sqs_event(tracker_record(sagemaker_notification(kind, routed["request_id"]))))
    assert metric in emf.metric_names(capfd.readouterr().out)


def test_stale_result_is_counted_not_recorded_again(routed, track, capfd):
    result = sqs_event(tracker_record(sagemaker_notification("success", routed["request_id"])))
    track(result)
    capfd.readouterr()

    track(result)
    names = emf.metric_names(capfd.readouterr().out)
    assert "StaleResultsIgnored" in names
    assert "RequestsSucceeded" not in names


def test_duplicate_delivery_is_counted(route, upload, capfd):
    record = upload(KEY)
    route(sqs_event(record))
    capfd.readouterr()

    route(sqs_event(record))
    assert emf.metric_names(capfd.readouterr().out) == ["DuplicateDeliveries"]


def test_skipped_file_is_counted_without_a_mode(route, capfd):
    route(load_event("s3-put-zero-byte"))
    assert ("RequestsSkipped", {"Mode": "none", "service": "sagemaker-inference-orchestrator"}) in emf.metrics(
        capfd.readouterr().out
    )


def test_event_time_ahead_of_the_clock_publishes_no_negative_queue_time(route, stack, capfd):
    """Clock skew between S3 and the function must not produce negative durations."""
    record = s3_put_record("incoming/future.csv")
    body = record["body"].replace('"eventTime": "2026-', '"eventTime": "2999-')
    record["body"] = body
    route(sqs_event(record))

    names = emf.metric_names(capfd.readouterr().out)
    assert "RequestsRouted" in names
    assert "QueueTime" not in names


def test_failed_record_is_logged_with_its_reason_and_message_id(logs, route, upload):
    bad = s3_put_record(version_id=None, sequencer=None, message_id="bad")
    route(sqs_event(upload(KEY), bad))

    errors = [line for line in logs() if line["level"] == "ERROR"]
    assert [(e["message_id"], e["error"]) for e in errors] == [("bad", "BadEventError")]
    assert "neither versionId nor sequencer" in errors[0]["reason"]
