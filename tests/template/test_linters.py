"""The templates pass sam validate (template.yaml and the nested batch/template.yaml), cfn-lint with the
serverless rules and checkov (those and the nested endpoints/template.yaml and monitoring/template.yaml),
and every suppression in them carries its reason."""

from __future__ import annotations

import functools
import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from samtranslator.yaml_helper import yaml_parse

from tests.template.deployed import NESTED
from tests.template.stack import BATCH, MONITORING, ROOT, TEMPLATE, run_tool

# Checks skipped stack-wide, each with its reason (the others are skipped per resource, in its Metadata).
CHECKOV_CONFIG = ROOT / ".checkov.yaml"

# The parent and the nested applications it deploys (Batch in SAM, the others plain CloudFormation).
PATHS = (TEMPLATE, BATCH, NESTED, MONITORING)
TEMPLATES = pytest.mark.parametrize("template", PATHS, ids=lambda path: str(path.relative_to(ROOT)))


# Each linter runs once over the four templates (its start-up is most of its time); each template's
# test reads its own findings. The tier's tests share one worker (tests/conftest.py), so one run.
@functools.cache
def cfn_lint() -> subprocess.CompletedProcess[str]:
    return run_tool("cfn-lint", *map(str, PATHS), "--append-rules", "cfn_lint_serverless.rules")


@functools.cache
def checkov() -> dict[str, Any]:
    # Not --quiet: the report must list the skipped checks to compare them with the declared ones.
    files = [arg for path in PATHS for arg in ("-f", str(path))]
    options = ("--config-file", str(CHECKOV_CONFIG), "--framework", "cloudformation", "--skip-download")
    result = run_tool("checkov", *files, *options, "--compact", "-o", "json")
    report: dict[str, Any] = json.loads(result.stdout)
    return report


def declared_checkov_skips(template: dict[str, Any]) -> dict[tuple[str, str], str]:
    """(resource, check id) → comment, for every checkov skip in the template's Metadata."""
    return {
        (name, skip["id"]): skip.get("comment", "")
        for name, resource in template["Resources"].items()
        for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", [])
    }


@pytest.mark.parametrize("template", (TEMPLATE, BATCH), ids=lambda path: str(path.relative_to(ROOT)))
def test_sam_validate_with_lint_passes(template: Path):
    """Given a SAM template, when `sam validate --lint` runs, then it exits 0."""
    result = run_tool("sam", "validate", "--lint", "--template-file", str(template), "--region", "us-east-1")
    assert result.returncode == 0, result.stdout + result.stderr


@TEMPLATES
def test_cfn_lint_with_serverless_rules_reports_nothing(template: Path):
    """Given a template, when cfn-lint runs with cfn-lint-serverless' rules, then it reports no error,
    warning or informational finding."""
    result = cfn_lint()
    assert result.returncode == 0, result.stdout + result.stderr
    assert [line for line in result.stdout.splitlines() if str(template) in line] == [], result.stdout


@TEMPLATES
def test_every_cfn_lint_suppression_is_preceded_by_its_reason(template: Path):
    """Given each `ignore_checks` in a template, then the line above is a comment giving the reason."""
    lines = template.read_text().splitlines()
    suppressions = [i for i, line in enumerate(lines) if "ignore_checks" in line]
    for i in suppressions:
        assert lines[i - 1].strip().startswith("#"), f"{template.relative_to(ROOT)}:{i + 1} has no reason above it"


@TEMPLATES
def test_checkov_finds_no_failed_check_and_every_skip_is_used_and_explained(template: Path):
    """Given a template, when checkov scans it offline, then no check fails, and the checks it skipped are
    exactly those the template declares, each with a comment (no stale or silent suppression)."""
    report = checkov()
    assert report["summary"]["parsing_errors"] == 0
    # Every resource of the four templates was read.
    assert report["summary"]["resource_count"] == sum(len(yaml_parse(p.read_text())["Resources"]) for p in PATHS)
    mine = "/" + str(template.relative_to(ROOT))
    results = report["results"]
    assert [(c["resource"], c["check_id"]) for c in results["failed_checks"] if c["file_path"] == mine] == []
    declared = declared_checkov_skips(yaml_parse(template.read_text()))
    skipped = {
        (c["resource"].split(".", 1)[1], c["check_id"]) for c in results["skipped_checks"] if c["file_path"] == mine
    }
    assert skipped == set(declared)
    for (resource, check), comment in declared.items():
        assert len(comment) > 20, f"{resource} {check}: no reason given"


def test_every_check_skipped_stack_wide_has_its_reason_and_names_the_test_that_stands_for_it():
    """Given .checkov.yaml's stack-wide skips and the template-wide cfn-lint suppressions, then each is
    preceded by comment lines giving its reason, and every test named there as standing for the skipped
    check ("Tested: name") exists in tests/template."""
    lines = CHECKOV_CONFIG.read_text().splitlines()
    skipped = yaml.safe_load(CHECKOV_CONFIG.read_text())["skip-check"]
    assert skipped, "no stack-wide skip: drop the file"
    for check in skipped:
        at = lines.index(f"  - {check}")
        reason = []
        while lines[at - 1].lstrip().startswith("#"):
            at -= 1
            reason.insert(0, lines[at].strip("# "))
        assert len(" ".join(reason)) > 60, f"{check}: no reason given above it"
    tests = "".join(path.read_text() for path in (ROOT / "tests" / "template").glob("test_*.py"))
    named = re.findall(r"Tested: ([\w, ]+)", CHECKOV_CONFIG.read_text() + TEMPLATE.read_text() + BATCH.read_text())
    assert named
    for name in (n.strip() for group in named for n in group.split(",")):
        assert f"def {name}(" in tests, f"{name} is named as a skipped check's test but does not exist"
