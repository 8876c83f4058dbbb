"""One run of the tier: a Lambda image, one `sam build`, one moto server, then every pair in CASES
invoked with `sam local invoke`, in parallel, each in its own moto account."""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# The checks use the shared package (request ids, the tracker adapter), as Lambda does from /opt/python.
if str(ROOT / "layers" / "orchestrator") not in sys.path:
    sys.path.insert(0, str(ROOT / "layers" / "orchestrator"))

# The checks live in cases.py: let pytest show the compared values when one fails.
pytest.register_assert_rewrite("tests.local_invoke.cases", "tests.local_invoke.world")

from moto.server import ThreadedMotoServer  # noqa: E402

from tests.local_invoke import runtime  # noqa: E402
from tests.local_invoke.cases import CASES, Case, Outcome, load, shared_objects  # noqa: E402
from tests.local_invoke.world import Account, create_bucket  # noqa: E402

# Invocations at a time: each is CPU-bound for a few seconds (SAM start, image build, container start).
WORKERS = int(os.environ.get("LOCAL_INVOKE_WORKERS") or min(8, max(2, os.cpu_count() or 2)))
SUMMARY: list[str] = []  # printed at the end of the session: what ran, with which image, how long it took


@dataclass
class Result:
    case: Case
    invocation: runtime.Invocation
    outcome: Outcome | None  # None when the function's output was not a response


@pytest.fixture(scope="session")
def local_invoke_results(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Result]]:
    problem = runtime.problem()
    if problem:  # only reached with REQUIRE_LOCAL_INVOKE=1: the test module skips otherwise
        pytest.fail(f"REQUIRE_LOCAL_INVOKE=1 but `sam local invoke` cannot run: {problem}", pytrace=False)
    started = time.monotonic()
    arch = runtime.lambda_architecture()
    failure = ""
    try:
        image = runtime.lambda_image(arch)
        image_seconds = time.monotonic() - started
        work = tmp_path_factory.mktemp("local_invoke")
        template = runtime.sam_build(work / "build", Path(tempfile.gettempdir()) / "sio-local-invoke-cache", arch)
        gateway = runtime.bridge_gateway()
    except RuntimeError as exc:
        failure = str(exc)
    if failure:
        pytest.fail(failure, pytrace=False)
    built = time.monotonic()

    server = ThreadedMotoServer(ip_address=gateway, port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    try:
        events = {case.event: load(case.event) for case in CASES}
        for bucket, objects in shared_objects().items():
            create_bucket(endpoint, bucket, objects)

        def invoke(index: int, case: Case) -> Result:
            account = Account.create(endpoint, f"{100000000001 + index}")
            if case.prepare:
                case.prepare(account, events[case.event])
            invocation = runtime.sam_local_invoke(
                case.function,
                case.event,
                template=template,
                env_vars=account.write_env_vars(work / f"env-vars-{case.id}.json"),
                image=image,
                arch=arch,
                env=runtime.sam_env(
                    AWS_ACCESS_KEY_ID=account.session.get_credentials().access_key,
                    AWS_SECRET_ACCESS_KEY=account.session.get_credentials().secret_key,
                    # SAM asks STS for the account id before every invocation; offline that call hangs
                    # for 5-12 s before SAM gives up. Answered by moto, it is instant.
                    AWS_ENDPOINT_URL_STS=endpoint,
                ),
            )
            try:
                response = invocation.response
            except ValueError:  # not JSON: the transcript tells what happened
                return Result(case, invocation, None)
            return Result(case, invocation, Outcome(response, account.snapshot(), events[case.event]))

        invoking = time.monotonic()
        with ThreadPoolExecutor(max_workers=max(1, WORKERS)) as pool:
            results = {r.case.id: r for r in pool.map(invoke, range(len(CASES)), CASES)}
        done = time.monotonic()
    finally:
        server.stop()

    slowest = max(results.values(), key=lambda r: r.invocation.seconds)
    summary = (
        f"local_invoke: {len(CASES)} invocations ({arch}, {WORKERS} at a time) in {done - invoking:.1f}s, "
        f"slowest {slowest.invocation.seconds:.1f}s ({slowest.case.id}); image {image_seconds:.1f}s "
        f"[{image.description}], sam build {built - started - image_seconds:.1f}s; "
        f"tier total {done - started:.1f}s"
    )
    SUMMARY.append(summary)
    yield results


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for line in SUMMARY:
        terminalreporter.write_line(line)
