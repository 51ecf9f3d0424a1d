"""Server plugins by name, imported only when asked for (the CLI stays fast)."""

from __future__ import annotations

import importlib

from asgibench.errors import UsageError
from asgibench.servers.base import ServerPlugin

# name -> "module:attribute" of its plugin. Adding a server: one module, one line here.
PLUGINS = {
    "uvicorn": "asgibench.servers.uvicorn:PLUGIN",
    "hypercorn": "asgibench.servers.hypercorn:PLUGIN",
    "daphne": "asgibench.servers.daphne:PLUGIN",
    "gunicorn": "asgibench.servers.gunicorn:PLUGIN",
    "gunicorn-sync": "asgibench.servers.gunicorn:SYNC_PLUGIN",
    "granian": "asgibench.servers.granian:PLUGIN",
}


def plugin_names() -> list[str]:
    return list(PLUGINS)


def get_plugin(name: str) -> ServerPlugin:
    try:
        location = PLUGINS[name]
    except KeyError:
        raise UsageError(f"Unknown server {name!r}; known: {', '.join(PLUGINS)}.") from None
    module, _, attribute = location.partition(":")
    plugin = getattr(importlib.import_module(module), attribute)
    if not isinstance(plugin, ServerPlugin):
        raise TypeError(f"{location} is not a ServerPlugin")
    return plugin
