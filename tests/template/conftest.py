"""Shared fixtures for the template tier: the template as written, as translated, and the tools."""

from __future__ import annotations

from typing import Any

import pytest
from samtranslator.yaml_helper import yaml_parse

from tests.template.cfn import inline_nested
from tests.template.deployed import NESTED, Stacks, deploy
from tests.template.stack import BATCH, MONITORING, TEMPLATE, translate


@pytest.fixture(scope="session")
def source_template() -> dict[str, Any]:
    return yaml_parse(TEMPLATE.read_text())


@pytest.fixture(scope="session")
def batch_template() -> dict[str, Any]:
    return yaml_parse(BATCH.read_text())


@pytest.fixture(scope="session")
def with_batch(source_template: dict[str, Any], batch_template: dict[str, Any]) -> dict[str, Any]:
    """The translated parent with the Batch application's functions and queues inlined (translated too),
    each naming the parent's resource or parameter the parent passes for it: the deployed stack as one."""
    return inline_nested(translate(source_template), "Batch", translate(batch_template))


@pytest.fixture(scope="session")
def cfn(with_batch: dict[str, Any]) -> dict[str, Any]:
    return with_batch


@pytest.fixture(scope="session")
def monitoring_template() -> dict[str, Any]:
    return yaml_parse(MONITORING.read_text())


@pytest.fixture(scope="session")
def monitored(with_batch: dict[str, Any], monitoring_template: dict[str, Any]) -> dict[str, Any]:
    """``with_batch`` with the Monitoring stack's alarms and dashboard inlined as well, each naming the parent's
    queue, function, topic or parameter the parent passes for it."""
    return inline_nested(with_batch, "Monitoring", monitoring_template)


@pytest.fixture(scope="session")
def nested_template() -> dict[str, Any]:
    return yaml_parse(NESTED.read_text())


@pytest.fixture
def stacks(source_template, nested_template):
    def make(**values: str) -> Stacks:
        return deploy(source_template, nested_template, **values)

    return make
