"""The table ``asgibench servers`` prints."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console
from rich.table import Table
from rich.text import Text

from asgibench.render.tables import print_table
from asgibench.servers.base import PROTOCOL_NAMES, ServerPlugin


def render_servers(console: Console, plugins: Sequence[ServerPlugin]) -> None:
    table = Table(title=Text("Servers", style="bold"), title_justify="left")
    table.add_column("name", no_wrap=True)
    table.add_column("interface", no_wrap=True)
    table.add_column("version", no_wrap=True)
    table.add_column("serves", overflow="fold")  # the protocols compare may load it with
    table.add_column("what it runs", overflow="fold")  # prose: wraps at spaces
    for plugin in plugins:
        version = plugin.version() if plugin.is_available() else None
        shown = Text(version, style="green") if version else Text("not installed", style="dim")
        serves = ", ".join(label for protocol, label in PROTOCOL_NAMES.items() if protocol in plugin.protocols)
        # Text, not str: Rich would read brackets in a plugin's name or description as markup.
        table.add_row(Text(plugin.name), Text(plugin.interface.upper()), shown, Text(serves), Text(plugin.description))
    print_table(console, table)
    missing = [plugin.distribution for plugin in plugins if not plugin.is_available()]
    if missing:
        packages = " ".join(sorted(set(missing) | ({"uvicorn-worker"} if "gunicorn" in missing else set())))
        hint = f"install the missing ones with: pip install {packages}"
        if len(hint) > console.width:  # the command on a line of its own, to be copied whole
            hint = hint.replace(": ", ":\n  ", 1)
        console.print(Text(hint, style="dim"))
