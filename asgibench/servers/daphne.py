"""daphne, Django Channels' server: one process (it has no worker option)."""

from __future__ import annotations

from asgibench.servers.base import ServerPlugin


class Daphne(ServerPlugin):
    def arguments(self, app: str, *, host: str, port: int, workers: int) -> list[str]:
        return ["daphne", "--bind", host, "--port", str(port), "--verbosity", "0", app]


PLUGIN = Daphne("daphne", "daphne", "daphne", "asgi", "daphne (Twisted), one process", max_workers=1)
