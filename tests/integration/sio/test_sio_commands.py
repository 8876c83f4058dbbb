"""sio's commands on moto, in-process, against a stack given by ``SIO_*`` variables: what a user sees
(the tables, the JSON) and the exit status (0 ok, 1 a failure reported, 2 usage or AWS refused, 3
timed out, 130 interrupted), with each usage error naming the problem.

Tracker items are written by the product's own tracker adapter; files go to moto's S3; Lambda's
Invoke (which moto runs only in docker) is answered by a botocore hook as Lambda answers.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from click.testing import CliRunner, Result
from moto import mock_aws
from orchestrator.aws.tracker_table import TrackerTable
from orchestrator.core.status import Status
from sio import app as sio_app
from sio import submit as submitting
from sio.cli import cli
from sio.stack import resolve_environment
from sio.tracker import TrackerReader

from tests.support.aws import create_tracker_table
from tests.support.sio_moto import ENV, TABLE, answer

BUCKET = ENV["SIO_INPUT_BUCKET_NAME"]
STACK = {**ENV, "SIO_NIGHTLY_FUNCTION_NAME": "nightly-fn", "SIO_SUCCESS_TOPIC_ARN": "arn:aws:sns:us-east-1:1:ok"}


@pytest.fixture
def aws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[boto3.Session]:
    monkeypatch.setenv("SIO_STATE_DIR", str(tmp_path / "receipts"))  # where sio keeps its receipts
    with mock_aws():
        session = boto3.Session(region_name="us-east-1")
        create_tracker_table(session.client("dynamodb"), TABLE)
        session.client("s3").create_bucket(Bucket=BUCKET)
        yield session


def sio(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner(mix_stderr=False).invoke(cli, list(args), env=env or STACK)


def scored(aws: boto3.Session, name: str, status: Status | None, fields: dict[str, Any] | None = None) -> str:
    """A file the router claimed, then (with a status) its outcome: its request id."""
    tracker = TrackerTable(TABLE, aws.client("dynamodb"))
    request_id = hashlib.sha256(name.encode()).hexdigest()[:32]
    key = f"incoming/{name}"
    tracker.claim(request_id, {"key": key, "object_uri": f"s3://{BUCKET}/{key}", "mode": "async"}, 150)
    if status is not None:
        assert tracker.confirm(request_id, status, fields or {})
    return request_id


# ---------------------------------------------------------------- stack


def test_stack_shows_the_outputs_and_how_to_drop_files_and_subscribe(aws):
    result = sio("stack")

    assert result.exit_code == 0, result.stderr
    assert "TrackerTableName" in result.stdout and TABLE in result.stdout
    # The stack is found by the environment: the hints name no stack option, with single spaces
    assert "Drop files:   sio submit PATH… [--wait]" in result.stdout and "Results live: sio watch" in result.stdout
    assert "aws sns subscribe --topic-arn arn:aws:sns:us-east-1:1:ok --protocol sqs" in result.stdout


# ---------------------------------------------------------------- submit


def test_submit_uploads_files_and_a_folder_under_the_input_prefix(aws, tmp_path):
    folder = tmp_path / "customers"
    (folder / "2026").mkdir(parents=True)
    (folder / "2026" / "a.csv").write_text("1,2\n")
    (tmp_path / "b.csv").write_text("3,4\n")

    result = sio("-o", "json", "submit", str(folder), str(tmp_path / "b.csv"), "--prefix", "drop")

    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert [u["key"] for u in data["uploaded"]] == ["incoming/drop/customers/2026/a.csv", "incoming/drop/b.csv"]
    assert (data["files"], data["bytes"], data["failed_uploads"]) == (2, 8, 0)
    s3 = aws.client("s3")
    assert s3.get_object(Bucket=BUCKET, Key="incoming/drop/b.csv")["Body"].read() == b"3,4\n"


def test_submit_says_what_the_router_will_skip_and_shows_a_table(aws, tmp_path):
    (tmp_path / "notes.md").write_text("# not scored\n")

    result = sio("submit", str(tmp_path / "notes.md"), "--no-progress")

    assert result.exit_code == 0, result.stderr
    assert "notes.md: will be SKIPPED" in result.stderr
    assert "uploaded 1 of 1 file(s)" in result.stderr
    assert "incoming/notes.md" in result.stdout


def test_submit_with_a_progress_bar_uploads_the_same(aws, tmp_path):
    (tmp_path / "a.csv").write_text("1\n")

    result = sio("-o", "json", "submit", str(tmp_path / "a.csv"), "--progress")

    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["uploaded"][0]["key"] == "incoming/a.csv"


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda tmp: tmp / "missing.csv", "no such file or folder"),
        (lambda tmp: (tmp / "empty").mkdir() or tmp / "empty", "nothing to upload: the folders are empty"),
    ],
)
def test_submit_usage_errors_exit_2_naming_the_problem(aws, tmp_path, make, message):
    result = sio("submit", str(make(tmp_path)))

    assert result.exit_code == 2
    assert message in result.stderr


# ---------------------------------------------------------------- wait


def test_wait_on_a_request_id_and_a_key_until_terminal(aws):
    done = scored(aws, "done.csv", Status.SUCCEEDED, {"output_location": f"s3://{BUCKET}/results/done.csv.out"})
    scored(aws, "failed.csv", Status.FAILED, {"failure_reason": "the model answered 400"})

    result = sio("wait", done, "failed.csv", "--interval", "0")

    assert result.exit_code == 1  # one of them failed
    assert "incoming/done.csv  async  SUCCEEDED  s3://bucket/results/done.csv.out" in result.stdout
    assert "incoming/failed.csv  async  FAILED  the model answered 400" in result.stdout
    assert "1 failed, 1 succeeded" in result.stdout


def test_wait_times_out_with_exit_3_and_a_receipt_to_resume_from(aws, tmp_path):
    pending = scored(aws, "pending.csv", None)

    result = sio("-o", "json", "wait", pending, "--timeout", "0", "--interval", "0")

    assert result.exit_code == 3
    data = json.loads(result.stdout)
    assert data["all_terminal"] is False
    assert data["files"][0]["status"] == "RECEIVED"
    receipt = Path(data["receipt"])
    assert receipt.parent == tmp_path / "receipts"
    assert [e.request_id for e in submitting.load_receipt(receipt)] == [pending]

    TrackerTable(TABLE, aws.client("dynamodb")).confirm(pending, Status.SUCCEEDED, {})
    resumed = sio("wait", str(receipt), "--interval", "0")
    assert resumed.exit_code == 0, resumed.stderr
    assert "1 succeeded" in resumed.stdout


def test_wait_in_a_table_says_which_files_are_not_routed_yet_and_how_to_resume(aws):
    pending = scored(aws, "pending.csv", None)

    result = sio("wait", pending, "--timeout", "0", "--interval", "0")

    assert result.exit_code == 3
    assert "0 of 1 terminal" in result.stdout
    assert "timed out with files in flight: resume with  sio wait " in result.stderr


def test_wait_for_a_key_the_tracker_never_saw_is_an_error(aws):
    result = sio("wait", "never.csv")

    assert result.exit_code == 2
    assert "no tracker item for s3://bucket/incoming/never.csv" in result.stderr


def test_a_file_that_is_not_a_receipt_is_named(aws, tmp_path):
    (tmp_path / "r.json").write_text("{}")

    result = sio("wait", str(tmp_path / "r.json"))

    assert result.exit_code == 2
    assert f"{tmp_path / 'r.json'} is not a receipt written by sio submit" in result.stderr


def test_ctrl_c_while_waiting_leaves_a_receipt_and_exits_130(aws, monkeypatch):
    pending = scored(aws, "pending.csv", None)

    def interrupted(*_: Any, **__: Any) -> Iterator[Any]:
        raise KeyboardInterrupt
        yield

    monkeypatch.setattr(submitting, "poll", interrupted)

    result = sio("wait", pending)

    assert result.exit_code == 130
    assert "interrupted: the 1 file(s) keep scoring. Resume watching with:\n  sio wait " in result.stderr


# ---------------------------------------------------------------- results


def test_results_says_where_each_outcome_is_and_downloads_it(aws, tmp_path):
    s3 = aws.client("s3")
    s3.put_object(Bucket=BUCKET, Key="results/ok.csv.out", Body=b"scores")
    scored(aws, "ok.csv", Status.SUCCEEDED, {"output_location": f"s3://{BUCKET}/results/ok.csv.out"})

    result = sio("results", "ok.csv", "--download", str(tmp_path / "got"))

    assert result.exit_code == 0, result.stderr
    assert "incoming/ok.csv" in result.stdout and "SUCCEEDED" in result.stdout
    assert "output location: s3://bucket/results/ok.csv.out" in result.stdout
    assert (tmp_path / "got" / "ok.csv.out").read_bytes() == b"scores"


def test_results_of_a_failed_and_an_unfinished_file_exit_1(aws):
    failed = scored(aws, "bad.csv", Status.FAILED, {"failure_reason": "ModelError"})
    scored(aws, "slow.csv", None)

    by_id = sio("results", failed)
    in_flight = sio("results", "slow.csv")

    assert by_id.exit_code == 1 and "failure reason: ModelError" in by_id.stdout
    assert in_flight.exit_code == 1 and "not finished yet: sio wait KEY, or sio watch" in in_flight.stdout


def test_results_for_a_file_the_tracker_never_saw_is_an_error(aws):
    result = sio("-o", "json", "results", "nothing.csv")

    assert result.exit_code == 2
    assert json.loads(result.stdout) == {
        "error": "no tracker item for nothing.csv",
        "details": {"target": "nothing.csv"},
    }


# ---------------------------------------------------------------- AWS errors and interruptions


def test_aws_refusing_a_call_is_one_line_naming_the_operation_exit_2(aws):
    result = sio("status", "a" * 32, env={**STACK, "SIO_TRACKER_TABLE_NAME": "no-such-table"})

    assert result.exit_code == 2
    assert "sio: error: AWS refused GetItem: ResourceNotFoundException:" in result.stderr
    assert "Traceback" not in result.stderr


def test_no_credentials_says_how_to_give_them(monkeypatch, tmp_path):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")

    result = sio("status", "a" * 32)

    assert result.exit_code == 2
    assert "no AWS credentials found: configure them (aws configure, AWS_PROFILE), or use --local" in result.stderr


# ---------------------------------------------------------------- night rerun (Lambda's Invoke)


def invoked(monkeypatch: pytest.MonkeyPatch, payload: bytes, function_error: str | None = None) -> None:
    reply: dict[str, Any] = {"StatusCode": 200, "Payload": io.BytesIO(payload)}
    if function_error:
        reply["FunctionError"] = function_error
    answer(monkeypatch, {"Invoke": [(200, reply)]})


def test_rerun_invokes_the_nightly_function_with_its_documented_input(aws, monkeypatch):
    invoked(monkeypatch, json.dumps({"job": "night-2026-12-01-rerun-2", "started": True}).encode())

    result = sio("-o", "json", "night", "rerun", "2026-12-01", "--attempt", "2")

    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["event"] == {"rerun": 2, "date": "2026-12-01"}
    assert data["function"] == "nightly-fn" and data["ok"] is True
    assert data["response"] == {"job": "night-2026-12-01-rerun-2", "started": True}


def test_a_rerun_that_waits_says_to_invoke_it_again_later(aws, monkeypatch):
    invoked(monkeypatch, json.dumps({"waiting": "the first run is still going"}).encode())

    result = sio("night", "rerun", "2026-12-01-0200")

    assert result.exit_code == 0, result.stderr
    assert "nightly-fn answered:" in result.stdout
    assert "the re-run is waiting (see above): invoke it again later" in result.stdout


def test_a_failed_rerun_shows_the_functions_error_and_exits_1(aws, monkeypatch):
    error = {"errorType": "NightNotFound", "errorMessage": "no night 2026-12-01"}
    invoked(monkeypatch, json.dumps(error).encode(), function_error="Unhandled")

    result = sio("night", "rerun", "2026-12-01")

    assert result.exit_code == 1
    assert "nightly-fn failed: NightNotFound: no night 2026-12-01" in result.stdout


def test_an_answer_that_is_not_json_is_shown_as_text(aws, monkeypatch):
    invoked(monkeypatch, b"Task timed out", function_error="Unhandled")

    result = sio("-o", "json", "night", "rerun", "2026-12-01")

    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert (data["errorType"], data["errorMessage"]) == ("Unhandled", "Task timed out")


@pytest.mark.parametrize("night", ["yesterday", "2026-13-01", "2026-12-01T02"])
def test_a_night_that_is_not_a_date_is_a_usage_error(night):
    result = sio("night", "rerun", night)

    assert result.exit_code == 2
    assert (
        "DATE must be the night's name, YYYY-MM-DD (YYYY-MM-DD-HHMM for a schedule that runs several times a "
        f"day), got {night!r}" in result.stderr
    )


def test_ctrl_c_in_any_command_is_one_line_and_exit_130(aws, monkeypatch):
    def interrupted(*_: Any, **__: Any) -> Any:
        raise KeyboardInterrupt

    monkeypatch.setattr(TrackerReader, "get", interrupted)

    result = sio("status", "a" * 32)

    assert result.exit_code == 130
    assert result.stderr == "sio: interrupted\n"


def test_a_stack_being_updated_is_used_with_a_warning_and_resumes_name_it(aws, monkeypatch):
    pending = scored(aws, "pending.csv", None)
    updating = resolve_environment(STACK)
    updating.name, updating.source = "orchestrator", "cloudformation"
    updating.warnings.append("stack 'orchestrator' is UPDATE_IN_PROGRESS: using the outputs it has now")
    asked: list[dict[str, Any]] = []
    monkeypatch.setattr(sio_app, "resolve", lambda **options: asked.append(options) or updating)

    result = sio("--stack", "orchestrator", "--region", "us-east-1", "wait", pending, "--timeout", "0")

    assert result.exit_code == 3
    assert asked[0]["stack_name"] == "orchestrator" and asked[0]["region"] == "us-east-1"
    assert "warning: stack 'orchestrator' is UPDATE_IN_PROGRESS: using the outputs it has now" in result.stderr
    assert "resume with  sio --stack orchestrator --region us-east-1 wait " in result.stderr
