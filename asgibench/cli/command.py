"""The Click classes behind asgibench's commands: the usual help placeholders, and a quiet end on a closed pipe.

Placeholders: Typer names a value by its Python type (``<str>``, ``<bool>``,
``<int range>``). asgibench's options name theirs (``SECONDS``, ``FILE``),
a flag shows none, and an argument's metavar (``APP``, ``[TARGET]``,
``RESULT...``) is its whole placeholder, in the usage line too, as in Click.

A closed pipe (``asgibench load ... | head -1``): asgibench's console falls
silent and the command finishes its work (a load still writes its result
file), then exits 141, as a shell reports a program that SIGPIPE ended (128 +
the signal, as for the other signals, see asgibench.interrupts), with nothing
on stderr. Any other write to a closed pipe (the help, ``--version``, the
Markdown of ``report``) ends the command there, with 141 too. Typer and Rich
would exit 1, which is asgibench's "a threshold failed".

Click passes its own ``Context`` (Typer's copy of Click), so ``ctx`` is ``Any`` here.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from collections.abc import Iterable, Iterator
from typing import Any

import typer
from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption

PIPE_CLOSED = 128 + signal.SIGPIPE


def closed_pipe() -> typer.Exit:
    """The exit for a reader that has gone, with standard output pointed at /dev/null (see ``to_devnull``)."""
    from asgibench.render.console import to_devnull

    to_devnull(sys.stdout)
    return typer.Exit(PIPE_CLOSED)


@contextlib.contextmanager
def quiet_on_closed_pipe() -> Iterator[None]:
    """A write to a closed pipe in the block ends the command with ``closed_pipe()``."""
    try:
        yield
    except BrokenPipeError:
        raise closed_pipe() from None


@contextlib.contextmanager
def _help_on_closed_pipe() -> Iterator[None]:
    """As ``quiet_on_closed_pipe``, for Typer's help, which Rich prints: Rich ends on a closed pipe itself.

    Its console points standard output at /dev/null and exits 1: printing the
    help raises SystemExit for no other reason.
    """
    try:
        with quiet_on_closed_pipe():
            yield
    except SystemExit:
        if not _stdout_is_devnull():
            raise
        raise closed_pipe() from None


def _stdout_is_devnull() -> bool:
    try:
        return os.path.samestat(os.fstat(sys.stdout.fileno()), os.stat(os.devnull))
    except (OSError, ValueError):
        return False


class _Argument(TyperArgument):
    """An argument whose metavar is its whole placeholder, as Click shows it: ``[TARGET]``, ``RESULT...``."""

    def display_type_rich(self, ctx: Any) -> str | None:
        return None  # the help's name column already shows the metavar: no "<str>" beside it

    def get_usage_pieces(self, ctx: Any) -> list[str]:
        return [self.metavar] if self.metavar else list(super().get_usage_pieces(ctx))


def _with_placeholders(params: Iterable[object]) -> None:
    for param in params:
        if isinstance(param, TyperOption) and param.is_flag and param.metavar is None:
            param.metavar = ""  # a flag takes no value: no "<bool>"
        elif type(param) is TyperArgument:
            # Typer builds its own TyperArgument and offers no hook for another class.
            param.__class__ = _Argument


def _help_option(option: Any) -> Any:
    """The --help flag of a command or of the group, without "<bool>"."""
    _with_placeholders([option])
    return option


class Command(TyperCommand):
    """Every asgibench command is one: ``Group`` makes each command it holds a ``Command``."""

    def get_help_option(self, ctx: Any) -> Any:
        return _help_option(super().get_help_option(ctx))

    def format_help(self, ctx: Any, formatter: Any) -> None:
        with _help_on_closed_pipe():
            super().format_help(ctx, formatter)

    def invoke(self, ctx: Any) -> Any:
        # asgibench's console falls silent on a closed pipe and the command goes on (asgibench.render.console);
        # any other write to one raises, which Typer would turn into exit 1 just outside this call.
        from asgibench.render.console import closed_pipes  # every command prints through it

        before = closed_pipes()
        with quiet_on_closed_pipe():
            try:
                result = super().invoke(ctx)
            except typer.Exit:
                if closed_pipes() > before:
                    raise closed_pipe() from None
                raise
            if closed_pipes() > before:
                raise closed_pipe()
            return result


class Group(TyperGroup):
    """The ``asgibench`` command (``typer.Typer(cls=Group)``): its own help and ``--version``, and its commands'.

    Typer builds each command as a TyperCommand unless each ``@app.command``
    names another class; the group makes them ``Command`` in one place, so
    that no command can miss the placeholders or the quiet end on a closed pipe.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _with_placeholders(self.params)
        for command in self.commands.values():
            if type(command) is TyperCommand:
                command.__class__ = Command
            _with_placeholders(command.params)

    def get_help_option(self, ctx: Any) -> Any:
        return _help_option(super().get_help_option(ctx))

    def format_help(self, ctx: Any, formatter: Any) -> None:
        with _help_on_closed_pipe():
            super().format_help(ctx, formatter)
