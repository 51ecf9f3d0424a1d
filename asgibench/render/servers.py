"""The table ``asgibench servers`` prints."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console
from rich.table import Table
from rich.text import Text

from asgibench.servers.base import ServerPlugin


def render_servers(console: Console, plugins: Sequence[ServerPlugin]) -> None:
    table = Table(title=Text("Servers", style="bold"), title_justify="left")
    table.add_column("name")
    table.add_column("interface")
    table.add_column("version")
    table.add_column("what it runs")
    for plugin in plugins:
        version = plugin.version() if plugin.is_available() else None
        shown = Text(version, style="green") if version else Text("not installed", style="dim")
        # Text, not str: Rich would read brackets in a plugin's name or description as markup.
        table.add_row(Text(plugin.name), Text(plugin.interface.upper()), shown, Text(plugin.description))
    console.print(table)
    missing = [plugin.distribution for plugin in plugins if not plugin.is_available()]
    if missing:
        packages = " ".join(sorted(set(missing) | ({"uvicorn-worker"} if "gunicorn" in missing else set())))
        console.print(Text(f"install the missing ones with: pip install {packages}", style="dim"))
