"""What a server plugin knows: its command line, its package, its version, the protocols it serves. Pure,
apart from the version lookup."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from asgibench.load.config import Protocol

Interface = Literal["asgi", "wsgi"]
PROTOCOL_NAMES: dict[Protocol, str] = {"http/1.1": "HTTP/1.1", "h2": "HTTP/2 (h2c)", "websocket": "WebSocket"}


@dataclass(frozen=True, slots=True)
class Certificate:
    """What a server needs to serve over TLS: PEM files of its certificate (then its chain) and private key."""

    cert: Path
    key: Path  # unencrypted


@dataclass(frozen=True, slots=True)
class ServerPlugin:
    name: str
    distribution: str  # the PyPI package whose version is reported
    module: str  # importable when the server is installed
    interface: Interface
    description: str
    max_workers: int | None = None  # None: any number; daphne serves from one process
    # What it serves on a plain TCP port, as asgibench launches it (no TLS): a plugin that says nothing
    # is taken at its word for HTTP/1.1 only, so a comparison never launches it for what it cannot speak.
    protocols: frozenset[Protocol] = frozenset({"http/1.1"})
    # Why not, for each protocol it does not serve: shown where the comparison lists it as unsupported.
    reasons: tuple[tuple[Protocol, str], ...] = ()

    def is_available(self) -> bool:
        return importlib.util.find_spec(self.module) is not None

    def version(self) -> str | None:
        try:
            return importlib.metadata.version(self.distribution)
        except importlib.metadata.PackageNotFoundError:
            return None

    def unsupported(self, protocol: Protocol) -> str | None:
        """Why this server cannot serve ``protocol`` as launched; None when it can."""
        if protocol in self.protocols:
            return None
        return dict(self.reasons).get(protocol) or f"{self.name} does not serve {PROTOCOL_NAMES[protocol]}"

    def command(
        self,
        app: str,
        *,
        host: str,
        port: int,
        workers: int = 1,
        protocol: Protocol = "http/1.1",
        tls: Certificate | None = None,
    ) -> list[str]:
        """The argv that serves ``app`` (module:attribute) on host:port with ``workers`` processes.

        ``protocol`` is the comparison's: a server that needs a switch to speak it gets it, and only then.
        ``tls``: served over TLS with that certificate instead of in cleartext (the conformance probe's TLS leg).
        """
        if self.max_workers is not None and workers > self.max_workers:
            raise ValueError(f"{self.name} serves from at most {self.max_workers} process(es), not {workers}")
        if tls is None:
            arguments = self.arguments(app, host=host, port=port, workers=workers)
        else:
            arguments = self.tls_command(app, host=host, port=port, workers=workers, tls=tls)
        return [sys.executable, "-m", *arguments, *self.protocol_arguments(protocol)]

    def arguments(self, app: str, *, host: str, port: int, workers: int) -> list[str]:
        raise NotImplementedError

    def tls_command(self, app: str, *, host: str, port: int, workers: int, tls: Certificate) -> list[str]:
        """``arguments`` served over TLS: the cleartext ones followed by ``tls_arguments``."""
        return [*self.arguments(app, host=host, port=port, workers=workers), *self.tls_arguments(tls)]

    def tls_arguments(self, tls: Certificate) -> list[str]:
        """The options that make the server answer over TLS with ``tls``; a plugin without them cannot."""
        raise ValueError(f"{self.name} has no TLS options in asgibench")

    def protocol_arguments(self, protocol: Protocol) -> list[str]:
        """Options added after ``arguments`` for ``protocol``; none unless the server needs them."""
        return []
