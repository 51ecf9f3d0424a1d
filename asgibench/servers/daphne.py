"""daphne, Django Channels' server: one process (it has no worker option)."""

from __future__ import annotations

from asgibench.servers.base import ServerPlugin


class Daphne(ServerPlugin):
    def arguments(self, app: str, *, host: str, port: int, workers: int) -> list[str]:
        return ["daphne", "--bind", host, "--port", str(port), "--verbosity", "0", app]


# Twisted offers h2 only as an ALPN choice on a TLS endpoint (daphne -e ssl:...); a plain port never speaks it.
PLUGIN = Daphne(
    "daphne", "daphne", "daphne", "asgi", "daphne (Twisted), one process", max_workers=1,
    protocols=frozenset({"http/1.1", "websocket"}),
    reasons=(("h2", "daphne serves HTTP/2 only over TLS, by ALPN (Twisted's http2 extra): no cleartext h2c"),),
)  # fmt: skip
