"""Settings every test tier shares. Set at import, before any test imports the package: Powertools
reads its service name and namespace when the package's logger and metrics are created."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "sagemaker-inference-orchestrator")
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "SageMakerInferenceOrchestrator")
# Fake credentials and the region of the events/ samples: no test can reach a real account.
os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
    }
)


# Tiers that share one expensive fixture per session (the local stack; the Lambda image, `sam build` and
# the moto server of `sam local invoke`) each stay on one pytest-xdist worker (`--dist loadgroup`);
# the other tests spread over both.
_ONE_WORKER_TIERS = ("e2e", "local_invoke")


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the groups
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        parts = item.path.parts
        tier = next((name for name in _ONE_WORKER_TIERS if name in parts), None)
        if tier is not None:
            item.add_marker(pytest.mark.xdist_group(tier))
