"""Ports: each local server's port is configurable, and one already in use is named in a clear error."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
VARIABLES = ("LOCAL_AWS_PORT", "LOCAL_SAGEMAKER_PORT", "LOCAL_MODEL_PORT")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize("variable", VARIABLES)
def test_a_port_already_in_use_stops_the_demo_with_an_error_naming_it(variable: str) -> None:
    """Given something listening on the port one variable chooses, when `make demo`'s entry point
    starts, then it exits non-zero before starting anything, naming the port and the variable."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        env = {
            **os.environ,
            # The other ports free ones too: the defaults may be taken (a stack or demo left running).
            **{other: str(_free_port()) for other in VARIABLES if other != variable},
            variable: str(port),
            "PYTHONPATH": os.pathsep.join([str(ROOT / "layers/orchestrator"), str(ROOT)]),
        }
        done = subprocess.run(
            [sys.executable, "-m", "local.demo"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
        )

    assert done.returncode != 0
    assert f"port {port}" in done.stderr
    assert variable in done.stderr
    assert "Traceback" not in done.stderr
