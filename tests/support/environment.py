"""Environment variables for one test, set as a group (pytest's monkeypatch restores them afterwards)."""

from __future__ import annotations

from collections.abc import Mapping

import pytest


def set_variables(monkeypatch: pytest.MonkeyPatch, variables: Mapping[str, str]) -> None:
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
