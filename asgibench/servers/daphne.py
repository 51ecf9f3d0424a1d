"""daphne, Django Channels' server: one process (it has no worker option)."""

from __future__ import annotations

from asgibench.servers.base import Certificate, ServerPlugin


class Daphne(ServerPlugin):
    def arguments(self, app: str, *, host: str, port: int, workers: int) -> list[str]:
        return ["daphne", "--bind", host, "--port", str(port), "--verbosity", "0", app]

    def tls_command(self, app: str, *, host: str, port: int, workers: int, tls: Certificate) -> list[str]:
        # TLS is a Twisted endpoint in place of --bind/--port (both would listen, on the same port).
        endpoint = f"ssl:{port}:privateKey={_escaped(tls.key)}:certKey={_escaped(tls.cert)}:interface={_escaped(host)}"
        return ["daphne", "-e", endpoint, "--verbosity", "0", app]


def _escaped(value: object) -> str:
    """A value inside a Twisted endpoint string, where ``:``, ``=`` and ``\\`` separate or escape."""
    return "".join("\\" + ch if ch in ":=\\" else ch for ch in str(value))


# Twisted offers h2 only as an ALPN choice on a TLS endpoint (daphne -e ssl:...); a plain port never speaks it.
PLUGIN = Daphne(
    "daphne", "daphne", "daphne", "asgi", "daphne (Twisted), one process", max_workers=1,
    protocols=frozenset({"http/1.1", "websocket"}),
    reasons=(("h2", "daphne serves HTTP/2 only over TLS, by ALPN (Twisted's http2 extra): no cleartext h2c"),),
)  # fmt: skip
