"""The one Console asgibench writes through (respects NO_COLOR and pipes)."""

from __future__ import annotations

import sys

from rich.console import Console
from rich.text import Text


def make_console(*, stderr: bool = False) -> Console:
    return Console(stderr=stderr, highlight=False, soft_wrap=False, file=sys.stderr if stderr else sys.stdout)


def print_error(message: str, hint: str | None = None) -> None:
    """``error: message`` and ``hint: hint`` on stderr, both literal: file names and TOML keys hold brackets.

    Text, not markup: rich.markup.escape leaves a backslash before ``[`` and a
    trailing backslash altered. Never wrapped (soft_wrap): a path stays on one line.
    """
    console = make_console(stderr=True)
    console.print(Text.assemble(("error:", "bold red"), " ", message), soft_wrap=True)
    if hint:
        console.print(Text.assemble(("hint:", "dim"), " ", hint), soft_wrap=True)
