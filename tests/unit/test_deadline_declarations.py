"""Each status's deadline is declared as the settings it sums, plus grace (orchestrator/core/deadlines.py)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from orchestrator.core.deadlines import DeadlineSettings, _Deadline


def test_each_deadline_is_its_settings_sum_plus_grace() -> None:
    s = DeadlineSettings(
        request_ttl_seconds=60,
        invocation_timeout_seconds=5,
        transform_max_runtime_seconds=700,
        nightly_interval_seconds=86400,
        nightly_retry_window_seconds=3600,
        grace_seconds=9,
        queue_retention_seconds=1000,
    )
    assert s.received == s.submitted_sync == 1000 + 9
    assert s.submitted_async == 60 + 5 + 9
    assert s.submitted_batch == 700 + 9
    assert s.scheduled == 86400 + 3600 + 9


def test_a_deadline_read_on_the_class_is_its_declaration() -> None:
    declared = DeadlineSettings.submitted_async
    assert isinstance(declared, _Deadline)
    assert declared.spans == ("request_ttl_seconds", "invocation_timeout_seconds", "grace_seconds")


def test_a_deadline_naming_no_field_fails_when_its_class_is_made() -> None:
    with pytest.raises(TypeError, match="deadline late sums request_tll_seconds, not fields of Misspelled"):

        @dataclass(frozen=True)
        class Misspelled:
            request_ttl_seconds: int = 60
            grace_seconds: int = 0
            late = _Deadline("request_tll_seconds")
