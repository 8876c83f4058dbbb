"""Settings every test tier shares. Set at import, before any test imports the package: Powertools
reads its service name and namespace when the package's logger and metrics are created."""

from __future__ import annotations

import os

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
