"""The ``asgibench`` command line: a Typer app, one module per command.

Commands only map options onto a frozen config and call the library; errors
derived from ``AsgibenchError`` become a message and their exit code.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from asgibench import __version__
from asgibench.cli.command import Group, closed_pipe, quiet_on_closed_pipe
from asgibench.errors import AsgibenchError

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


from asgibench.cli import compare as _compare  # noqa: E402  (registers the command)
from asgibench.cli import conform as _conform  # noqa: E402
from asgibench.cli import gate as _gate  # noqa: E402
from asgibench.cli import load as _load  # noqa: E402
from asgibench.cli import report as _report  # noqa: E402
from asgibench.cli import servers as _servers  # noqa: E402

__all__ = ["app", "main", "_compare", "_conform", "_gate", "_load", "_report", "_servers"]


def main() -> None:
    try:
        try:
            app()
        finally:
            # A closed pipe that only the interpreter's last flush would meet is met here, and handled below.
            sys.stdout.flush()
    except AsgibenchError as error:  # raised outside a command (standalone_mode edge cases)
        from asgibench.render.console import print_error

        print_error(error.message, error.hint)
        raise SystemExit(error.exit_code) from None
    except BrokenPipeError:
        raise SystemExit(closed_pipe().exit_code) from None
