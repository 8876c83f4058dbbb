"""What `pip install .` ships: sio, and from the Lambda layer exactly its pure core and its tracker reads.

sio takes the product's facts (statuses, limits, routing) from ``orchestrator.core`` instead of copies,
and reads the table through ``orchestrator.aws.tracker_reads`` like the functions, so the distribution
carries those, and nothing else of the layer (the other adapters and the workflows need Powertools,
which sio does not install)."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
CORE = ROOT / "layers" / "orchestrator" / "orchestrator" / "core"


def _wheel(tmp_path: Path) -> Path:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "--quiet",
            str(ROOT),
            "-w",
            str(tmp_path),
        ],
        check=True,
        capture_output=True,
    )
    [wheel] = tmp_path.glob("*.whl")
    return wheel


def test_the_distribution_ships_sio_the_layers_pure_core_and_its_tracker_reads(tmp_path: Path) -> None:
    names = set(zipfile.ZipFile(_wheel(tmp_path)).namelist())
    layer = {name for name in names if name.startswith("orchestrator/")}
    assert layer == {
        "orchestrator/__init__.py",
        "orchestrator/errors.py",
        "orchestrator/aws/__init__.py",
        "orchestrator/aws/tracker_reads.py",
        *(f"orchestrator/core/{path.name}" for path in CORE.glob("*.py")),
    }
    assert {"sio/cli.py", "sio/product.py", "sio/selftest_plan.py", "sio/prices/us-east-1.json"} <= names


def test_sios_product_facts_import_from_the_wheel_alone(tmp_path: Path) -> None:
    # Given the wheel unpacked, and an interpreter that sees nothing else (no site-packages, no PYTHONPATH)
    unpacked = tmp_path / "unpacked"
    zipfile.ZipFile(_wheel(tmp_path)).extractall(unpacked)
    probe = (
        f"import sys; sys.path.insert(0, {str(unpacked)!r}); "
        "import sio.product, sio.selftest_plan, orchestrator.core.routing as r; "
        "print(sio.product.__file__, r.__file__, sio.product.MODES == tuple(m.value for m in r.Mode))"
    )
    # When sio's fact modules are imported
    result = subprocess.run([sys.executable, "-S", "-I", "-c", probe], capture_output=True, text=True, check=True)
    # Then they load from the wheel, with the layer's core beside them
    sio_file, core_file, same = result.stdout.split()
    assert sio_file.startswith(str(unpacked)) and core_file.startswith(str(unpacked)) and same == "True"
