"""The ``asgibench`` command line: a Typer app, one module per command.

Commands only map options onto a frozen config and call the library; errors
derived from ``AsgibenchError`` become a message and their exit code. A
command's module is imported only when that command runs or a help lists it
(``COMMANDS``), and commands import what they need inside their functions:
``asgibench --version`` imports Typer alone, ``asgibench load`` neither what
compare, report, gate or conform need nor, without --server, the launcher.
"""

from __future__ import annotations

import gc
import sys
from typing import Annotated

import typer

from asgibench import __version__
from asgibench.cli.command import Group, closed_pipe, quiet_on_closed_pipe
from asgibench.errors import AsgibenchError

# Each command's module, in the order the help lists them; its @app.command registers the command when
# asgibench.cli.command.LazyCommands imports it, the first time the command is looked up.
COMMANDS = {
    "compare": "asgibench.cli.compare",
    "conform": "asgibench.cli.conform",
    "gate": "asgibench.cli.gate",
    "load": "asgibench.cli.load",
    "report": "asgibench.cli.report",
    "servers": "asgibench.cli.servers",
}

app = typer.Typer(
    name="asgibench",
    cls=Group,
    help="ASGI conformance, load and server comparison: does it follow the spec, how fast is it at the tail.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        with quiet_on_closed_pipe():
            typer.echo(f"asgibench {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """ASGI conformance, load and server comparison."""


__all__ = ["COMMANDS", "app", "main"]


def main() -> None:
    try:
        try:
            app()
        finally:
            # Out of the interpreter's last garbage collections: at exit they would go through every object left,
            # about 30 ms of CPU after a load run, to free cycles that no output needs (each is written and closed).
            gc.freeze()
            # A closed pipe that only the interpreter's last flush would meet is met here, and handled below.
            sys.stdout.flush()
    except AsgibenchError as error:  # raised outside a command (standalone_mode edge cases)
        from asgibench.render.console import print_error

        print_error(error.message, error.hint)
        raise SystemExit(error.exit_code) from None
    except BrokenPipeError:
        raise SystemExit(closed_pipe().exit_code) from None
