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

Start-up: each command's module is imported when that command runs or a help
lists it (``LazyCommands``), so that ``asgibench load`` builds and imports only
load's. And a plain value (a string, a decimal number in range, a path, a list
of them) is coerced here as Typer would (``PlainFirst``): Typer coerces every
value through a Pydantic TypeAdapter, and importing Pydantic and building an
adapter per option cost ``asgibench load`` about 75 ms of CPU at each start.
Any other value goes to Typer's own coercion, so its result and its error
messages are Typer's.

Click passes its own ``Context`` (Typer's copy of Click), so ``ctx`` is ``Any`` here.
"""

from __future__ import annotations

import contextlib
import importlib
import math
import os
import re
import signal
import sys
from collections.abc import Iterable, Iterator, Mapping, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast, get_args, get_origin

import typer
import typer.main
from typer._coercion import RuntimeParam, TypeDescriptor, build_runtime_param
from typer._param_types import coerce_cli_path
from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption, _TyperParameter
from typer.models import ParameterInfo

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


class _NotPlain:
    """What ``_plain`` returns for a value it leaves to Typer."""


NOT_PLAIN = _NotPlain()
# Integers and decimals that Python and Pydantic read alike: ASCII digits, no sign but "-", no leading zero, no
# exponent or underscore, few enough digits to fit a 64-bit integer. Anything else is read by Typer (Pydantic).
_INTEGER = re.compile(r"-?(?:0|[1-9][0-9]{0,17})")
_DECIMAL = re.compile(r"-?(?:0|[1-9][0-9]{0,14})(?:\.[0-9]{1,15})?")


def _plain(descriptor: TypeDescriptor, value: Any, param: Any, ctx: Any) -> Any:
    """``value`` as Typer's coercion of ``descriptor`` would return it, or ``NOT_PLAIN`` when not sure to be alike.

    Typer builds a TypeAdapter per annotation (typer._adapters.build_adapter):
    ``str`` returns the string; ``int`` and ``float`` read the number, within
    the option's min and max; ``Path`` is checked by ``coerce_cli_path``; a list
    is its items, each coerced. The same, here, for the values that leave no
    doubt; tests/test_cli_startup.py compares the two on generated values.
    """
    info: ParameterInfo = descriptor.parameter_info
    annotation: Any = descriptor.annotation
    if descriptor.file_annotation is not None or info.parser is not None:
        return NOT_PLAIN
    if get_origin(annotation) is list:
        if not isinstance(value, list | tuple):
            return NOT_PLAIN
        item_type = TypeDescriptor(get_args(annotation)[0], info, None)
        items = [_plain(item_type, item, param, ctx) for item in value]
        return NOT_PLAIN if any(item is NOT_PLAIN for item in items) else items
    if annotation is str:
        return value if type(value) is str else NOT_PLAIN
    if annotation is int or annotation is float:
        number: int | float
        if type(value) is annotation:
            number = value
        elif type(value) is str and (_INTEGER if annotation is int else _DECIMAL).fullmatch(value):
            number = annotation(value)
        else:
            return NOT_PLAIN
        if not math.isfinite(number):
            return NOT_PLAIN  # nan passes every bound by comparison; Typer's own check decides
        if info.clamp or (info.min is not None and number < info.min) or (info.max is not None and number > info.max):
            return NOT_PLAIN  # Typer's message (or clamping) for a number out of range
        return number
    if annotation is Path and info.path_type is None and not info.allow_dash and not info.resolve_path:
        if type(value) is str and "\0" not in value:
            # Typer makes the Path with Pydantic first, then checks what coerce_cli_path checks, naming ``value``;
            # with no path_type, coerce_cli_path checks and returns ``value`` itself.
            return Path(cast(str, coerce_cli_path(value, info, path_type=None, param=param, ctx=ctx)))
        if type(value) is Path:  # a default
            return coerce_cli_path(value, info, path_type=Path, param=param, ctx=ctx)
    return NOT_PLAIN


@dataclass(frozen=True)
class PlainFirst(RuntimeParam):
    """A parameter's coercion: ``_plain`` first, else Typer's own (and its TypeAdapter), built when first needed."""

    descriptor: TypeDescriptor
    _typer: list[RuntimeParam] = field(default_factory=list, compare=False, repr=False)

    def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
        plain = _plain(self.descriptor, value, param, ctx)
        if plain is not NOT_PLAIN:
            return plain
        if not self._typer:
            self._typer.append(build_runtime_param(self.descriptor))
        return self._typer[0]._coerce_value(value, param=param, ctx=ctx)


class _Parameter(_TyperParameter):
    """A Typer argument or option whose coercion is ``PlainFirst``."""

    def get_runtime_param(self) -> RuntimeParam:
        if self._runtime_param is None:
            descriptor = self.type_descriptor
            self._runtime_param = PlainFirst(descriptor.parameter_info, descriptor.annotation, descriptor)
        return self._runtime_param


class _Option(_Parameter, TyperOption):
    """An option whose coercion is ``PlainFirst``."""


class _Argument(_Parameter, TyperArgument):
    """An argument whose metavar is its whole placeholder, as Click shows it: ``[TARGET]``, ``RESULT...``."""

    def display_type_rich(self, ctx: Any) -> str | None:
        return None  # the help's name column already shows the metavar: no "<str>" beside it

    def get_usage_pieces(self, ctx: Any) -> list[str]:
        return [self.metavar] if self.metavar else list(super().get_usage_pieces(ctx))


def _adapt_params(params: Iterable[object]) -> None:
    """asgibench's classes for the parameters Typer built: their placeholders, and ``PlainFirst`` coercion."""
    for param in params:
        if isinstance(param, TyperOption) and param.is_flag and param.metavar is None:
            param.metavar = ""  # a flag takes no value: no "<bool>"
        # Typer builds its own TyperArgument and TyperOption and offers no hook for other classes.
        if type(param) is TyperArgument:
            param.__class__ = _Argument
        elif type(param) is TyperOption:
            param.__class__ = _Option


def _help_option(option: Any) -> Any:
    """The --help flag of a command or of the group, without "<bool>"."""
    _adapt_params([option])
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
    Its commands are ``LazyCommands``: each is built when first looked up.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _adapt_params(self.params)
        self.commands = LazyCommands(self.commands)

    def list_commands(self, ctx: Any) -> list[str]:
        return list(self.commands)  # the names alone: Typer's list_commands would build every command

    def get_help_option(self, ctx: Any) -> Any:
        return _help_option(super().get_help_option(ctx))

    def format_help(self, ctx: Any, formatter: Any) -> None:
        with _help_on_closed_pipe():
            super().format_help(ctx, formatter)


class LazyCommands(MutableMapping[str, Any]):
    """The group's commands by name, in the help's order (``asgibench.cli.COMMANDS``); each built when first looked up.

    Looking a command up imports its module, whose ``@app.command`` registers
    it, and builds it as Typer builds a group's commands. ``asgibench load``
    imports and builds load alone; the group's help, every command.
    """

    def __init__(self, built: Mapping[str, Any]) -> None:
        from asgibench.cli import COMMANDS  # the package that makes this group, imported by the time it does

        self._modules = dict(COMMANDS)
        self._built = {name: _as_command(command) for name, command in built.items()}  # modules imported earlier

    def __getitem__(self, name: str) -> Any:
        if name not in self._built:
            self._built[name] = _as_command(_build(self._modules[name]))  # KeyError: no such command
        return self._built[name]

    def __setitem__(self, name: str, command: Any) -> None:
        self._built[name] = _as_command(command)

    def __delitem__(self, name: str) -> None:
        if self._modules.pop(name, None) is None:
            del self._built[name]
        else:
            self._built.pop(name, None)

    def __iter__(self) -> Iterator[str]:
        return iter(dict.fromkeys([*self._modules, *self._built]))

    def __len__(self) -> int:
        return len(dict.fromkeys([*self._modules, *self._built]))


def _build(module: str) -> Any:
    """The command that ``module`` registers on asgibench's app, built by Typer."""
    from asgibench.cli import app

    importlib.import_module(module)
    info = next(info for info in app.registered_commands if getattr(info.callback, "__module__", None) == module)
    return typer.main.get_command_from_info(
        info, pretty_exceptions_short=app.pretty_exceptions_short, rich_markup_mode=app.rich_markup_mode
    )


def _as_command(command: Any) -> Any:
    if type(command) is TyperCommand:
        command.__class__ = Command
    _adapt_params(command.params)
    return command
