"""Counting the calls of one method or property of a class (often a third party's, such as moto's), for
tests that assert how often the code under test reaches it."""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any

import pytest


@dataclass
class Calls:
    n: int = 0


def count_calls(monkeypatch: pytest.MonkeyPatch, owner: type, name: str) -> Calls:
    """Every call of ``owner.name`` (a method, or a property's getter), counted in the ``Calls`` returned;
    the original still answers. ``monkeypatch`` puts it back."""
    calls = Calls()
    original = inspect.getattr_static(owner, name)
    if isinstance(original, property):
        getter = original.fget
        assert getter is not None

        def counted_getter(self: Any) -> Any:
            calls.n += 1
            return getter(self)

        monkeypatch.setattr(owner, name, property(counted_getter))
    else:

        def counted(*args: Any, **kwargs: Any) -> Any:
            calls.n += 1
            return original(*args, **kwargs)

        monkeypatch.setattr(owner, name, counted)
    return calls
