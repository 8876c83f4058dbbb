"""`sam build` produces deployable artifacts: the functions and a layer holding the shared package."""

from __future__ import annotations

import shutil

from tests.template.stack import ROOT, run_tool

BUILD_INPUTS = ("template.yaml", "functions", "layers", "endpoints", "monitoring", "batch")


def test_sam_build_packages_both_functions_and_the_shared_layer(tmp_path):
    """Given a copy of the project (so the build touches nothing in the checkout), when `sam build` runs
    for the default architecture, then it succeeds, each function has its app.py, and the layer holds
    the orchestrator package and Powertools under python/."""
    source = tmp_path / "src"
    for name in BUILD_INPUTS:
        origin = ROOT / name
        if origin.is_dir():
            shutil.copytree(origin, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            source.mkdir(exist_ok=True)
            shutil.copy2(origin, source / name)
    build = tmp_path / "build"

    result = run_tool(
        "sam", "build", "--build-dir", str(build), "--cache-dir", str(tmp_path / "cache"), "--parallel",
        cwd=source, timeout=240,
    )  # fmt: skip

    assert result.returncode == 0, result.stdout + result.stderr
    assert (build / "RouterFunction" / "app.py").is_file()
    assert (build / "TrackerFunction" / "app.py").is_file()
    # The nested application Batch's functions are built with it, its template pointing at them.
    assert (build / "Batch" / "NightlyFunction" / "app.py").is_file()
    assert (build / "Batch" / "BatchResultFunction" / "app.py").is_file()
    assert "CodeUri: NightlyFunction" in (build / "Batch" / "template.yaml").read_text()
    assert (build / "Batch" / "BatchLayer" / "python" / "orchestrator" / "__init__.py").is_file()
    layer = build / "SharedLayer" / "python"
    assert (layer / "orchestrator" / "__init__.py").is_file()
    assert (layer / "aws_lambda_powertools" / "__init__.py").is_file()
    # The layer ships bytecode compiled by 3.13 (the Lambda runtime), or every cold start compiles it.
    assert list((layer / "orchestrator" / "workflows" / "__pycache__").glob("router.cpython-313.pyc"))
    assert list((layer / "aws_lambda_powertools" / "__pycache__").glob("__init__.cpython-313.pyc"))
    assert not list(layer.rglob("__pycache__/*.cpython-311.pyc")), "bytecode from the wrong Python"
    # The optional endpoints (nested application) are built beside the functions, for `sam deploy`.
    assert (build / "Endpoints" / "template.yaml").is_file()
