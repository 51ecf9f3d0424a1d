"""``asgibench servers``: which servers asgibench can launch here, and their versions."""

from __future__ import annotations

import typer

from asgibench.cli import app


@app.command()
def servers() -> None:
    """List the servers asgibench knows, whether each is installed, and its version."""
    from asgibench.render.console import make_console
    from asgibench.render.servers import render_servers
    from asgibench.servers import get_plugin, plugin_names

    render_servers(make_console(), [get_plugin(name) for name in plugin_names()])
    raise typer.Exit(0)
