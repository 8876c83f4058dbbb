"""The context every ``sio`` command receives (click's ``pass_obj``): the global options, the stack
they find (resolved once, on first use) and how to print. Its own module so that command modules
(e.g. ``selftest_command``) use it without importing the CLI module that registers them."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from sio.stack import Stack, resolve


@dataclass
class App:
    stack_name: str | None = None
    local: bool = False
    state_dir: Path | None = None
    region: str | None = None
    profile: str | None = None
    output: str = "table"
    _stack: Stack | None = field(default=None, repr=False)

    @property
    def json(self) -> bool:
        return self.output == "json"

    def stack(self) -> Stack:
        if self._stack is None:
            self._stack = resolve(
                stack_name=self.stack_name,
                local=self.local,
                state_dir=self.state_dir,
                region=self.region,
                profile=self.profile,
            )
            for warning in self._stack.warnings:
                self.note(f"warning: {warning}")
        return self._stack

    @property
    def out(self) -> Any:
        from rich.console import Console

        # Piped or captured output is not cut at 80 columns (a terminal's own width is used as is).
        width = None if sys.stdout.isatty() else 160
        return Console(highlight=False, soft_wrap=False, width=width)

    @property
    def err(self) -> Any:
        from rich.console import Console

        return Console(stderr=True, highlight=False)

    def note(self, text: str) -> None:
        click.echo(text, err=True)

    def emit(self, data: Any) -> None:
        click.echo(json.dumps(data, indent=2, default=str, ensure_ascii=False))

    def command(self, rest: str) -> str:
        """A sio command line that finds this stack again: ``sio [stack options] REST``."""
        return " ".join(part for part in ("sio", self.stack_args(), rest) if part)

    def stack_args(self) -> str:
        """The options that find this stack again, for the commands sio suggests."""
        if self.local or self.state_dir is not None:
            return "--local" + (f" --state-dir {self.state_dir}" if self.state_dir else "")
        if self.stack_name:
            return f"--stack {self.stack_name}" + (f" --region {self.region}" if self.region else "")
        return ""
