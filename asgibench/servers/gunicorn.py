"""gunicorn as a process manager over uvicorn workers, and gunicorn's classic sync workers for WSGI."""

from __future__ import annotations

from asgibench.servers.base import Certificate, ServerPlugin


class Gunicorn(ServerPlugin):
    def tls_arguments(self, tls: Certificate) -> list[str]:
        # gunicorn hands its TLS settings to the worker class, uvicorn's workers included.
        return ["--certfile", str(tls.cert), "--keyfile", str(tls.key)]


class GunicornUvicorn(Gunicorn):
    def arguments(self, app: str, *, host: str, port: int, workers: int) -> list[str]:
        return [
            "gunicorn", app, "--bind", f"{host}:{port}", "--workers", str(workers),
            "--worker-class", "uvicorn_worker.UvicornWorker", "--log-level", "warning",
        ]  # fmt: skip

    def is_available(self) -> bool:
        return super().is_available() and _importable("uvicorn_worker")


class GunicornSync(Gunicorn):
    def arguments(self, app: str, *, host: str, port: int, workers: int) -> list[str]:
        return ["gunicorn", app, "--bind", f"{host}:{port}", "--workers", str(workers), "--log-level", "warning"]


def _importable(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


# The uvicorn workers parse the connections themselves: gunicorn's own HTTP/2 (25+) never sees them.
PLUGIN = GunicornUvicorn(
    "gunicorn", "gunicorn", "gunicorn", "asgi", "gunicorn managing uvicorn workers",
    protocols=frozenset({"http/1.1", "websocket"}),
    reasons=(("h2", "its uvicorn workers speak HTTP/1.1 only: no HTTP/2"),),
)  # fmt: skip
SYNC_PLUGIN = GunicornSync(
    "gunicorn-sync", "gunicorn", "gunicorn", "wsgi", "gunicorn sync workers on a WSGI app",
    reasons=(
        ("websocket", "WSGI has no WebSocket: a WSGI app cannot take over an upgraded connection"),
        ("h2", "gunicorn's sync workers serve HTTP/1.1 only (its HTTP/2 needs gthread, gevent or asgi workers)"),
    ),
)  # fmt: skip
