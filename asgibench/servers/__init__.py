"""Server plugins: how to start each ASGI (or WSGI) server on an app, looked up by name.

Adding a server is adding one module here and one line to ``registry.PLUGINS``.
"""

from asgibench.servers.base import ServerPlugin
from asgibench.servers.registry import PLUGINS, get_plugin, plugin_names

__all__ = ["PLUGINS", "ServerPlugin", "get_plugin", "plugin_names"]
