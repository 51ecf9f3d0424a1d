"""granian, a Rust HTTP server, on its ASGI interface."""

from __future__ import annotations

from asgibench.load.config import Protocol
from asgibench.servers.base import Certificate, ServerPlugin


class Granian(ServerPlugin):
    def arguments(self, app: str, *, host: str, port: int, workers: int) -> list[str]:
        return [
            "granian", "--interface", "asgi", "--host", host, "--port", str(port),
            "--workers", str(workers), "--log-level", "warning", app,
        ]  # fmt: skip

    def tls_arguments(self, tls: Certificate) -> list[str]:
        return ["--ssl-certificate", str(tls.cert), "--ssl-keyfile", str(tls.key)]

    def protocol_arguments(self, protocol: Protocol) -> list[str]:
        # "auto" (today's default, named so a new default cannot silently drop h2c) answers h2c with prior
        # knowledge and still HTTP/1.1, which the readiness probe sends; "--http 2" would refuse HTTP/1.1.
        return ["--http", "auto"] if protocol == "h2" else []


PLUGIN = Granian(
    "granian", "granian", "granian", "asgi", "granian (Rust), ASGI interface",
    protocols=frozenset({"http/1.1", "h2", "websocket"}),
)  # fmt: skip
