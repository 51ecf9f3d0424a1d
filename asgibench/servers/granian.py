"""granian, a Rust HTTP server, on its ASGI interface."""

from __future__ import annotations

from asgibench.servers.base import ServerPlugin


class Granian(ServerPlugin):
    def arguments(self, app: str, *, host: str, port: int, workers: int) -> list[str]:
        return [
            "granian", "--interface", "asgi", "--host", host, "--port", str(port),
            "--workers", str(workers), "--log-level", "warning", app,
        ]  # fmt: skip


PLUGIN = Granian("granian", "granian", "granian", "asgi", "granian (Rust), ASGI interface")
