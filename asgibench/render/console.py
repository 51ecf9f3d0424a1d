"""The one Console asgibench writes through (respects NO_COLOR and pipes)."""

from __future__ import annotations

import sys

from rich.console import Console


def make_console(*, stderr: bool = False) -> Console:
    return Console(stderr=stderr, highlight=False, soft_wrap=False, file=sys.stderr if stderr else sys.stdout)


def print_error(message: str, hint: str | None = None) -> None:
    console = make_console(stderr=True)
    console.print(f"[bold red]error:[/] {message}", markup=True)
    if hint:
        console.print(f"[dim]hint:[/] {hint}")
