"""The cold start runs without cyclic collections in a Lambda execution environment, and building a
function's workflow ends it (orchestrator/coldstart.py, orchestrator/wiring.py)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest
from orchestrator import coldstart, wiring

from tests.support.wiring import cached_builders

LAMBDA = {"AWS_LAMBDA_FUNCTION_NAME": "sagemaker-inference-orchestrator-router"}


@pytest.fixture(autouse=True)
def _collector_restored() -> Iterator[None]:
    yield
    coldstart.resume()
    gc.unfreeze()  # the frozen objects are this test process's: give them back to the collector
    gc.enable()


def test_outside_lambda_nothing_is_paused() -> None:
    assert coldstart.pause({}) is False
    assert gc.isenabled()


def test_in_lambda_the_collector_waits_until_the_cold_start_is_over_then_runs_on_what_comes_after() -> None:
    assert coldstart.pause(LAMBDA) is True
    assert not gc.isenabled()
    assert coldstart.pause(LAMBDA) is False  # once

    coldstart.resume()

    assert gc.isenabled()
    assert gc.get_freeze_count() > 0  # what the cold start made is out of later collections
    frozen = gc.get_freeze_count()  # may fall a little as frozen objects are freed, never rise by itself
    made_after = [[] for _ in range(10_000)]  # tracked objects of the invocations, not of the cold start
    coldstart.resume()  # again: nothing is frozen now
    assert gc.get_freeze_count() < frozen + len(made_after)


def test_building_a_workflow_ends_the_cold_start() -> None:
    assert coldstart.pause(LAMBDA)
    build = wiring._root(lambda: "workflow")
    assert gc.isenabled() is False
    assert build() == "workflow"
    assert gc.isenabled()
    assert build() == "workflow" and build.cache_info().hits == 1  # built once per container


def test_a_workflow_that_cannot_be_built_ends_the_cold_start_too() -> None:
    def misconfigured() -> str:
        raise ValueError("TRACKER_TABLE is not set")

    assert coldstart.pause(LAMBDA)
    with pytest.raises(ValueError, match="TRACKER_TABLE"):
        wiring._root(misconfigured)()
    assert gc.isenabled()


def test_every_functions_composition_root_ends_the_cold_start() -> None:
    # A builder that did not would leave the collector paused for the container's life.
    builders = cached_builders()
    assert {"router", "scorer", "outcome_recorder", "sweeper"} <= set(builders)
    ends_the_cold_start = wiring._root(object).__wrapped__.__code__  # _root's wrapper, whatever it builds
    for name, builder in builders.items():
        assert builder.__wrapped__.__code__ is ends_the_cold_start, f"{name} is not built by wiring._root"


# What the router's cold start must not load: the announcer and the result shape (the async happy
# path never announces, SageMaker does), and the other functions' workflows and the batch modes.
NOT_ON_THE_ASYNC_PATH = (
    "orchestrator.aws.announce",
    "orchestrator.core.messages",
    "orchestrator.aws.transform_jobs",
    "orchestrator.modes.file_jobs",
    "orchestrator.workflows.scorer",
    "orchestrator.workflows.tracker",
    "orchestrator.workflows.nightly",
    "orchestrator.workflows.batch_results",
    "orchestrator.workflows.sweeper",
)
_COLD_START = """
import importlib.util, json, os, sys
import boto3
from moto import mock_aws

from tests.support.aws import create_stack
from tests.support.events import s3_put_record, sqs_event
from tests.support.lambda_runtime import FakeLambdaContext

with mock_aws():
    setup = boto3.Session()  # the test's stack; the function's own clients come from boto3.client
    stack = create_stack(setup)
    os.environ.update(stack.router_env())
    version = setup.client("s3").put_object(Bucket=stack.bucket, Key="incoming/a.csv", Body=b"1")["VersionId"]
    made, real = [], boto3.client

    def client(service, *args, **kwargs):
        made.append(service)
        return real(service, *args, **kwargs)

    boto3.client = client
    before = {m for m in sys.modules if m.startswith("orchestrator")}  # what the stack's setup loaded
    spec = importlib.util.spec_from_file_location("app", sys.argv[1])
    app = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(app)
    sys.modules["orchestrator.wiring"].router()
    cold = sorted(m for m in sys.modules if m.startswith("orchestrator"))
    record = s3_put_record("incoming/a.csv", size=1, version_id=version)
    answer = app.lambda_handler(sqs_event(record), FakeLambdaContext("router"))
    first = sorted(m for m in sys.modules if m.startswith("orchestrator"))
    print(json.dumps({"clients": made, "setup": sorted(before), "cold": cold, "first": first, "answer": answer}))
"""


def test_the_routers_cold_start_loads_and_builds_only_what_the_async_happy_path_uses() -> None:
    # A fresh interpreter, as Lambda's: the module, the composition root and a first async file (on
    # moto), with the async mode alone.
    import json
    import os
    import subprocess
    import sys

    from tests.bench.common import LAYER, ROOT, function_env  # the cold-start bench's environment
    from tests.support.lambda_runtime import FUNCTIONS_DIR

    env = function_env(PYTHONPATH=os.pathsep.join([str(LAYER), str(ROOT)]), ASYNC_ENDPOINT_NAME="demo-async-endpoint")
    env.update({key: value for key, value in os.environ.items() if key in ("PATH", "HOME")})
    done = subprocess.run(
        [sys.executable, "-c", _COLD_START, str(FUNCTIONS_DIR / "router" / "app.py")],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    loaded = json.loads(done.stdout.splitlines()[-1])
    assert loaded["answer"] == {"batchItemFailures": []}  # the file was routed, claimed and submitted
    assert sorted(loaded["clients"]) == ["dynamodb", "sagemaker-runtime"]  # SNS and S3 are made on first use
    assert "orchestrator.workflows.router" in loaded["cold"]
    assert [m for m in NOT_ON_THE_ASYNC_PATH if m in loaded["setup"]] == []  # the check below can fail
    assert [m for m in NOT_ON_THE_ASYNC_PATH if m in loaded["cold"]] == []
    assert [m for m in NOT_ON_THE_ASYNC_PATH if m in loaded["first"]] == []  # nor the first invocation
