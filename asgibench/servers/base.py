"""What a server plugin knows: its command line, its package, its version. Pure, apart from the version lookup."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import sys
from dataclasses import dataclass
from typing import Literal

Interface = Literal["asgi", "wsgi"]


@dataclass(frozen=True, slots=True)
class ServerPlugin:
    name: str
    distribution: str  # the PyPI package whose version is reported
    module: str  # importable when the server is installed
    interface: Interface
    description: str
    max_workers: int | None = None  # None: any number; daphne serves from one process

    def is_available(self) -> bool:
        return importlib.util.find_spec(self.module) is not None

    def version(self) -> str | None:
        try:
            return importlib.metadata.version(self.distribution)
        except importlib.metadata.PackageNotFoundError:
            return None

    def command(self, app: str, *, host: str, port: int, workers: int = 1) -> list[str]:
        """The argv that serves ``app`` (module:attribute) on host:port with ``workers`` processes."""
        if self.max_workers is not None and workers > self.max_workers:
            raise ValueError(f"{self.name} serves from at most {self.max_workers} process(es), not {workers}")
        return [sys.executable, "-m", *self.arguments(app, host=host, port=port, workers=workers)]

    def arguments(self, app: str, *, host: str, port: int, workers: int) -> list[str]:
        raise NotImplementedError
