"""The server's own log, cut into the part each case wrote: what did it log while a client left?"""

from __future__ import annotations

from pathlib import Path

SETTLE = 0.3  # seconds a server may take to log a task's end after the app returned
LINE_LIMIT = 40  # lines kept per case
PREFIX = "server-log: "  # how the lines are kept in the case's notes
# Cases where a client leaves: the server's log lines written meanwhile are kept, for DC-05.
LOGGED_CASES = ("client-leaves", "ws-vanish", "ws-send-after-disconnect")


class ServerLog:
    def __init__(self, path: Path) -> None:
        self.path = path

    def size(self) -> int:
        try:
            return self.path.stat().st_size
        except OSError:
            return 0

    def since(self, offset: int) -> list[str]:
        """The non-blank lines written after ``offset`` (at most LINE_LIMIT, the first ones)."""
        try:
            with self.path.open("rb") as handle:
                handle.seek(offset)
                data = handle.read()
        except OSError:
            return []
        lines = [line.rstrip() for line in data.decode("utf-8", errors="replace").splitlines() if line.strip()]
        return lines[:LINE_LIMIT]
