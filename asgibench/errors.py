"""Errors, modelled by who is at fault; each carries the exit code the CLI uses.

The CLI prints an ``AsgibenchError`` as a one-line message and exits with its
``exit_code``; any other exception is a bug in asgibench and keeps its traceback.
"""

from __future__ import annotations

from pathlib import Path


class AsgibenchError(Exception):
    """Root of every error asgibench reports to the user."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class UsageError(AsgibenchError):
    """Bad input from the user: a flag, a file, an app path (exit 2)."""

    exit_code = 2


class AppLoadError(UsageError):
    """The APP argument does not name an importable ASGI3 application (exit 2)."""


class TargetUnreachableError(AsgibenchError):
    """The target or a server could not be started or reached (exit 3)."""

    exit_code = 3


class OutputError(AsgibenchError):
    """An output could not be written (exit 2): ``option``, ``path`` and the OS's ``reason`` say which and why.

    ``saved`` is where the text went instead, when a caller saved it elsewhere (asgibench.atomicio.rescued).
    """

    exit_code = 2

    def __init__(
        self, message: str, *, option: str, path: str, reason: str, saved: Path | None = None, hint: str | None = None
    ) -> None:
        super().__init__(message, hint=hint)
        self.option = option
        self.path = path
        self.reason = reason
        self.saved = saved
