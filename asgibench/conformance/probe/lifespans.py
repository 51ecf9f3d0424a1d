"""Lifespan faults: the server started again with an app whose lifespan raises, fails or never answers.

Each mode needs a server of its own, started without the launcher's wait for
an answer: whether the server exits (and with what status), or serves anyway,
is the observation, not an error. Every wait is bounded and the
process is always stopped.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from asgibench.conformance.probe.recording_app import LIFESPAN_ENV, LOG_ENV
from asgibench.launch.readiness import answers_http
from asgibench.launch.server import HOST, read_tail, start_process, stop
from asgibench.servers.base import ServerPlugin

MODES = ("raise", "fail", "return")
WATCH = 4.0  # seconds to see the server either serve or exit
STOP_GRACE = 3.0


@dataclass
class LifespanRun:
    """What one server did with one lifespan mode."""

    mode: str
    served: bool = False  # answered an HTTP request within WATCH
    exit_status: int | None = None  # it exited by itself within WATCH (None: still running, stopped by us)
    log_tail: list[str] = field(default_factory=list)


def run_mode(plugin: ServerPlugin, app: str, mode: str) -> LifespanRun:
    run = LifespanRun(mode)
    with tempfile.TemporaryDirectory(prefix="asgibench-lifespan-") as directory:
        log_path = Path(directory) / "server.log"
        orders = {LIFESPAN_ENV: mode, LOG_ENV: str(Path(directory) / "app.log")}
        server = start_process(plugin, app, 1, (), log_path, [], env=orders)
        port = server.port
        try:
            deadline = time.monotonic() + WATCH
            while time.monotonic() < deadline:
                status = server.exit_status()  # not reaped: stop() below may still signal its process group
                if status is not None:
                    run.exit_status = status
                    break
                if not run.served and answers_http(HOST, port, "/", timeout=0.5):
                    run.served = True
                    if mode != "fail":
                        break  # after startup.failed, whether it exits later is the point: keep watching
                time.sleep(0.05)
        finally:
            stop(server, STOP_GRACE)  # SIGTERM, then SIGKILL to the whole tree after the grace time
        run.log_tail = read_tail(log_path, 30)
    return run


def run_modes(plugin: ServerPlugin, app: str) -> list[LifespanRun]:
    return [run_mode(plugin, app, mode) for mode in MODES]
