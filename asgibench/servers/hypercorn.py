"""hypercorn on its uvloop worker class."""

from __future__ import annotations

from asgibench.servers.base import Certificate, ServerPlugin


class Hypercorn(ServerPlugin):
    def arguments(self, app: str, *, host: str, port: int, workers: int) -> list[str]:
        bind = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        return ["hypercorn", app, "--bind", bind, "--workers", str(workers), "--worker-class", "uvloop"]

    def tls_arguments(self, tls: Certificate) -> list[str]:
        return ["--certfile", str(tls.cert), "--keyfile", str(tls.key)]


# h2c with prior knowledge on the same port as HTTP/1.1 (it reads the connection preface): no option needed.
PLUGIN = Hypercorn(
    "hypercorn", "hypercorn", "hypercorn", "asgi", "hypercorn with uvloop workers",
    protocols=frozenset({"http/1.1", "h2", "websocket"}),
)  # fmt: skip
