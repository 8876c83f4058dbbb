"""Finding the stack without AWS: environment variables and the local stack's state file.
(CloudFormation's answers are in tests/integration/sio/test_sio_stack.py, on moto.)"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from sio.cli import cli
from sio.errors import StackError
from sio.stack import env_name, local_state_path, resolve


def test_every_output_has_an_environment_variable() -> None:
    assert env_name("TrackerTableName") == "SIO_TRACKER_TABLE_NAME"
    assert env_name("RouterDeadLetterQueueUrl") == "SIO_ROUTER_DEAD_LETTER_QUEUE_URL"


def test_nothing_given_says_what_to_pass() -> None:
    with pytest.raises(StackError, match=r"--stack NAME.*--local.*SIO_STACK"):
        resolve(environ={"AWS_REGION": "us-east-1"})


def test_environment_stack_names_the_variable_of_a_missing_output() -> None:
    # Given only the bucket in the environment
    stack = resolve(environ={"SIO_INPUT_BUCKET_NAME": "b", "AWS_REGION": "eu-west-1"})
    assert (stack.source, stack.region, stack.bucket) == ("environment", "eu-west-1", "b")
    # When a command needs the table / Then the error names the variable that provides it
    with pytest.raises(StackError, match="set SIO_TRACKER_TABLE_NAME"):
        _ = stack.table


def test_local_stack_not_started_says_how_to_start_it(tmp_path: Path) -> None:
    with pytest.raises(StackError, match=r"local stack is not running: no .*stack\.json\. Start it with `make stack`"):
        resolve(local=True, state_dir=tmp_path / "orchestrator-local", environ={})


def test_local_state_left_by_a_stopped_stack_is_not_running(tmp_path: Path) -> None:
    # Given the state file of a stack whose moto server is gone (a closed port)
    state = tmp_path / "stack.json"
    state.write_text(json.dumps({"aws_endpoint": "http://127.0.0.1:9", "region": "us-east-1", "outputs": {}}))
    # When resolved / Then the error says nothing answers there
    with pytest.raises(StackError, match=r"is not running: nothing answers at http://127\.0\.0\.1:9"):
        resolve(state_dir=tmp_path, environ={})


def test_local_state_is_found_from_inside_the_repository(tmp_path: Path) -> None:
    (tmp_path / "local" / ".state").mkdir(parents=True)
    (tmp_path / "cli").mkdir()
    found = local_state_path(None, {"LOCAL_STACK_NAME": "mine"}, cwd=tmp_path / "cli")
    assert found == tmp_path / "local" / ".state" / "mine"


def test_cli_reports_a_stack_error_in_one_line_and_as_json(tmp_path: Path) -> None:
    result = CliRunner(mix_stderr=False).invoke(cli, ["--state-dir", str(tmp_path), "-o", "json", "status", "a.csv"])
    assert result.exit_code == 2
    error = json.loads(result.stdout)
    assert "local stack is not running" in error["error"]
    assert "Traceback" not in result.stderr and result.stderr.startswith("sio: error: ")
