"""`sam local invoke <Function> -e events/<sample>.json` for every pair in cases.CASES, against moto.

Needs a container runtime. Without one the module is skipped with a line saying how to enable it;
with REQUIRE_LOCAL_INVOKE=1 (CI) it fails instead. The Lambda image is the official one when it is
present or can be pulled, else the one scripts/build-invoke-image builds; see runtime.py.
"""

from __future__ import annotations

import pytest

from tests.local_invoke import runtime
from tests.local_invoke.cases import CASES, Case

pytestmark = pytest.mark.docker

PROBLEM = runtime.problem()
if PROBLEM and not runtime.REQUIRED:
    pytest.skip(
        f"sam local invoke tier skipped: {PROBLEM}. To run it: {runtime.HOW_TO_ENABLE}", allow_module_level=True
    )


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_sam_local_invoke(case: Case, local_invoke_results):
    """Given the stack's resources in moto and the sample event, when `sam local invoke` runs the built
    function in its Lambda container, then it answers as expected and leaves the expected side effects."""
    result = local_invoke_results[case.id]
    invocation = result.invocation
    assert invocation.returncode == 0, invocation.transcript()
    assert result.outcome is not None, f"the function printed no JSON response\n{invocation.transcript()}"
    try:
        case.check(result.outcome)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{invocation.transcript()}") from exc
