"""hypercorn on its uvloop worker class."""

from __future__ import annotations

from asgibench.servers.base import ServerPlugin


class Hypercorn(ServerPlugin):
    def arguments(self, app: str, *, host: str, port: int, workers: int) -> list[str]:
        bind = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        return ["hypercorn", app, "--bind", bind, "--workers", str(workers), "--worker-class", "uvloop"]


PLUGIN = Hypercorn("hypercorn", "hypercorn", "hypercorn", "asgi", "hypercorn with uvloop workers")
