"""The one Console asgibench writes through (respects NO_COLOR and pipes)."""

from __future__ import annotations

import contextlib
import os
import sys
from typing import IO

from rich.console import Console
from rich.text import Text

_closed_pipes = 0  # ever in this process: a command compares the count before and after it ran


def closed_pipes() -> int:
    """How many consoles found their pipe closed (``asgibench load ... | head -1``): their reader had gone."""
    return _closed_pipes


class _Console(Console):
    def on_broken_pipe(self) -> None:
        """Rich exits 1 here, asgibench's "a threshold failed": this console falls silent instead.

        The command carries on, so that a load still writes its result file (a
        reader can leave before the run has even begun), and ends with 141
        (asgibench.cli.command).
        """
        global _closed_pipes
        _closed_pipes += 1
        self.quiet = True
        to_devnull(self.file)


def to_devnull(stream: IO[str]) -> None:
    """Point ``stream``'s descriptor at /dev/null, for a pipe whose reader has gone.

    What is still buffered for it then goes nowhere, instead of failing again
    in the interpreter's last flush with a message on stderr: Python's
    documented way (the signal module's "Note on SIGPIPE").
    """
    with contextlib.suppress(OSError, ValueError):  # no descriptor behind it (a test's capture): nothing to do
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, stream.fileno())
        finally:
            os.close(devnull)


def make_console(*, stderr: bool = False) -> Console:
    return _Console(stderr=stderr, highlight=False, soft_wrap=False, file=sys.stderr if stderr else sys.stdout)


def print_error(message: str, hint: str | None = None) -> None:
    """``error: message`` and ``hint: hint`` on stderr, both literal: file names and TOML keys hold brackets.

    Text, not markup: rich.markup.escape leaves a backslash before ``[`` and a
    trailing backslash altered. Never wrapped (soft_wrap): a path stays on one line.
    """
    console = make_console(stderr=True)
    console.print(Text.assemble(("error:", "bold red"), " ", message), soft_wrap=True)
    if hint:
        console.print(Text.assemble(("hint:", "dim"), " ", hint), soft_wrap=True)
