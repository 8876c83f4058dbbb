"""Shared fixtures for the template tier: the template as written, as translated, and the tools."""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from boto3 import Session
from samtranslator.parser.parser import Parser
from samtranslator.translator.translator import Translator
from samtranslator.yaml_helper import yaml_parse

from tests.template.cfn import inline_nested

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
# Every alarm and the dashboard: the nested application Monitoring (plain CloudFormation).
MONITORING = ROOT / "monitoring" / "template.yaml"
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


@pytest.fixture(scope="session")
def source_template() -> dict[str, Any]:
    return yaml_parse(TEMPLATE.read_text())


@pytest.fixture(scope="session")
def cfn(source_template: dict[str, Any]) -> dict[str, Any]:
    return translate(source_template)


@pytest.fixture(scope="session")
def monitoring_template() -> dict[str, Any]:
    return yaml_parse(MONITORING.read_text())


@pytest.fixture(scope="session")
def monitored(source_template: dict[str, Any], monitoring_template: dict[str, Any]) -> dict[str, Any]:
    """The translated parent with the Monitoring stack's alarms and dashboard inlined, each naming the
    parent's queue, function, topic or parameter the parent passes for it."""
    return inline_nested(translate(source_template), "Monitoring", monitoring_template)
