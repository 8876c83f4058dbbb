"""The pair list covers every function of the SAM templates (template.yaml and its nested batch/template.yaml)
and every sample in events/ (no container needed)."""

from __future__ import annotations

import json

from tests.local_invoke.cases import CASES, NOT_INVOCATION_EVENTS
from tests.local_invoke.runtime import EVENTS_DIR, functions


def template_functions() -> set[str]:
    return set(functions())


def test_every_function_in_the_template_is_invoked_locally():
    """Given the SAM templates, every function they declare has at least one (function, event) pair."""
    missing = template_functions() - {case.function for case in CASES}
    assert not missing, f"functions without a sam local invoke pair in tests/local_invoke/cases.py: {sorted(missing)}"


def test_every_sample_event_is_invoked_locally():
    """Given events/, every sample is some function's event, unless it is listed as not being one."""
    samples = {path.name for path in EVENTS_DIR.glob("*.json")}
    missing = samples - {case.event for case in CASES} - set(NOT_INVOCATION_EVENTS)
    assert not missing, (
        f"events/ samples without a sam local invoke pair in tests/local_invoke/cases.py: {sorted(missing)} "
        "(or list them in NOT_INVOCATION_EVENTS with the reason)"
    )


def test_pairs_name_existing_functions_and_events_once():
    functions = template_functions()
    ids = [case.id for case in CASES]
    assert len(ids) == len(set(ids)), "a (function, event) pair is listed twice"
    for case in CASES:
        assert case.function in functions, f"{case.function} is not a function of the SAM templates"
        assert (EVENTS_DIR / case.event).is_file(), f"events/{case.event} does not exist"
        assert case.event not in NOT_INVOCATION_EVENTS
        assert isinstance(json.loads((EVENTS_DIR / case.event).read_text(encoding="utf-8")), dict)
    for name in NOT_INVOCATION_EVENTS:
        assert (EVENTS_DIR / name).is_file(), f"NOT_INVOCATION_EVENTS names a missing file: events/{name}"
