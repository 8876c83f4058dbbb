"""The template tier's subjects and tools: the templates' paths, the parameters a deployment passes, the
SAM translation (offline) and the command-line tools of this virtual environment."""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from boto3 import Session
from samtranslator.parser.parser import Parser
from samtranslator.translator.translator import Translator

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
# Every alarm and the dashboard: the nested application Monitoring (plain CloudFormation).
MONITORING = ROOT / "monitoring" / "template.yaml"
# The nightly run and the batch-result function: the nested application Batch (SAM, translated as well).
BATCH = ROOT / "batch" / "template.yaml"
VENV_BIN = Path(sys.executable).parent

# What a deployment would pass: the parameters without defaults, and pseudo parameters SAM cannot
# guess offline.
PARAMETERS = {
    "AsyncEndpointName": "my-async-endpoint",
    "AWS::AccountId": "123456789012",
    "AWS::StackName": "sagemaker-inference-orchestrator",
}


def run_tool(*args: str, cwd: Path = ROOT, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run a command-line tool from this virtual environment, offline-friendly and without telemetry."""
    env = {
        **os.environ,
        "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "SAM_CLI_TELEMETRY": "0",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    return subprocess.run(
        [str(VENV_BIN / args[0]), *args[1:]],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def translate(template: dict[str, Any], parameters: dict[str, Any] | None = None) -> dict[str, Any]:
    """SAM → CloudFormation with aws-sam-translator, offline: no managed-policy lookup, no AWS call."""
    template = copy.deepcopy(template)
    for resource in template["Resources"].values():
        properties = resource.get("Properties", {})
        for key in ("CodeUri", "ContentUri"):  # local paths become S3 locations at package time
            if isinstance(properties.get(key), str):
                properties[key] = f"s3://placeholder-bucket/{properties[key].rstrip('/')}"
    translator = Translator(None, Parser(), boto_session=Session(region_name="us-east-1"))
    return translator.translate(template, parameter_values=dict(parameters or PARAMETERS), get_managed_policy_map=dict)
