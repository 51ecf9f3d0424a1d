"""uvicorn with its fastest parts: httptools for HTTP/1.1, uvloop for the event loop."""

from __future__ import annotations

from asgibench.servers.base import Certificate, ServerPlugin


class Uvicorn(ServerPlugin):
    def arguments(self, app: str, *, host: str, port: int, workers: int) -> list[str]:
        return [
            "uvicorn", app, "--host", host, "--port", str(port), "--workers", str(workers),
            "--http", "httptools", "--loop", "uvloop", "--log-level", "warning", "--no-access-log",
        ]  # fmt: skip

    def tls_arguments(self, tls: Certificate) -> list[str]:
        return ["--ssl-certfile", str(tls.cert), "--ssl-keyfile", str(tls.key)]


# WebSocket through the websockets (or wsproto) package, which uvicorn picks by itself.
PLUGIN = Uvicorn(
    "uvicorn", "uvicorn", "uvicorn", "asgi", "uvicorn with httptools and uvloop",
    protocols=frozenset({"http/1.1", "websocket"}),
    reasons=(("h2", "uvicorn speaks HTTP/1.1 only (h11 or httptools): no HTTP/2"),),
)  # fmt: skip
