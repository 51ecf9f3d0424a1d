"""Launch one server with an app: free port, CPU pinning, log capture, readiness, sampling, stop.

The server runs in its own session (Ctrl-C in the terminal reaches asgibench,
which then stops the server itself) with its output in a log file. A server
that is not installed, exits during start-up or does not answer in time is a
``ServerStartError`` (exit 3) carrying the server's own last log lines.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from asgibench.errors import TargetUnreachableError, UsageError
from asgibench.launch.readiness import answers_http
from asgibench.launch.sampler import TreeSampler
from asgibench.servers.base import ServerPlugin

HOST = "127.0.0.1"
START_TIMEOUT = 30.0  # seconds for a server to answer its first request
STOP_GRACE = 5.0  # seconds between SIGTERM and SIGKILL
LOG_TAIL_LINES = 15
PORT_ATTEMPTS = 3  # another process may take the free port between our probe and the server's bind


class ServerStartError(TargetUnreachableError):
    """The server is not installed, or did not start (exit 3)."""

    def __init__(self, message: str, *, log_tail: Sequence[str] = (), hint: str | None = None) -> None:
        lines = "".join(f"\n  | {line}" for line in log_tail)
        super().__init__(message + (f" Its last log lines:{lines}" if lines else ""), hint=hint)
        self.summary = message  # without the log lines, which are kept apart in log_tail
        self.log_tail = list(log_tail)


@dataclass
class LaunchedServer:
    plugin: ServerPlugin
    app: str
    port: int
    workers: int
    cpus: tuple[int, ...]
    process: subprocess.Popen[bytes]
    log_path: Path
    sampler: TreeSampler = field(init=False)
    exit_code: int | None = None  # set when the server stopped by itself
    log_is_temporary: bool = False  # removed when the server stops

    def __post_init__(self) -> None:
        self.sampler = TreeSampler(self.process.pid)

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def alive(self) -> bool:
        return self.process.poll() is None

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> list[str]:
        return read_tail(self.log_path, lines)

    def describe(self) -> dict[str, object]:
        return {
            "name": self.plugin.name,
            "version": self.plugin.version(),
            "interface": self.plugin.interface,
            "app": self.app,
            "workers": self.workers,
            "cpus": list(self.cpus),
            "pid": self.process.pid,
            "command": self.plugin.command(self.app, host=HOST, port=self.port, workers=self.workers),
        }


def free_port(host: str = HOST) -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def launched(
    plugin: ServerPlugin,
    app: str,
    *,
    workers: int = 1,
    cpus: Sequence[int] = (),
    log_path: Path | None = None,
    ready_path: str = "/",
    start_timeout: float = START_TIMEOUT,
) -> Iterator[LaunchedServer]:
    """The server, started and answering; sampling starts with it and it is stopped on the way out."""
    if not plugin.is_available():
        raise ServerStartError(
            f"{plugin.name} is not installed in this Python ({plugin.module} cannot be imported).",
            hint=f"pip install {plugin.distribution}" + (" uvicorn-worker" if plugin.name == "gunicorn" else ""),
        )
    temporary = log_path is None
    if log_path is None:  # kept when the server fails to start, so the message can point at it
        log_path = Path(tempfile.mkdtemp(prefix="asgibench-")) / "server.log"
    server = _start_with_retries(plugin, app, workers, tuple(cpus), log_path, ready_path, start_timeout)
    server.log_is_temporary = temporary
    try:
        server.sampler.start()
        yield server
    finally:
        server.sampler.stop()
        server.exit_code = server.process.poll()
        stop(server)
        if temporary:
            shutil.rmtree(log_path.parent, ignore_errors=True)


def stop(server: LaunchedServer, grace: float = STOP_GRACE) -> None:
    """SIGTERM to the server, then SIGKILL to whatever of its process tree is still there after ``grace``."""
    tree = [*server.sampler.pids(), server.process.pid]
    if server.process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            server.process.send_signal(signal.SIGTERM)
        try:
            server.process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            pass
    for pid in tree:  # workers orphaned by a master that died, or a master that ignored SIGTERM
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        server.process.wait(timeout=grace)


def read_tail(path: Path, lines: int = LOG_TAIL_LINES) -> list[str]:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    return [line.rstrip() for line in text.splitlines() if line.strip()][-lines:]


def _start_with_retries(
    plugin: ServerPlugin,
    app: str,
    workers: int,
    cpus: tuple[int, ...],
    log_path: Path,
    ready_path: str,
    start_timeout: float,
) -> LaunchedServer:
    for attempt in range(PORT_ATTEMPTS):
        server = _start(plugin, app, workers, cpus, log_path)
        try:
            _wait_until_ready(server, ready_path, start_timeout)
            return server
        except ServerStartError as error:
            stop(server)
            lost_port = any("in use" in line.lower() for line in error.log_tail)
            if not lost_port or attempt == PORT_ATTEMPTS - 1:
                raise
        except BaseException:  # Ctrl-C while waiting: the server is ours to stop
            stop(server)
            raise
    raise AssertionError("unreachable")


def _start(plugin: ServerPlugin, app: str, workers: int, cpus: tuple[int, ...], log_path: Path) -> LaunchedServer:
    port = free_port()
    try:
        command = plugin.command(app, host=HOST, port=port, workers=workers)
    except ValueError as error:  # a worker count the server cannot run: the user's flag, not the server
        raise UsageError(f"--server-workers {workers}: {error}.") from None
    if cpus:  # pinned before the server's first instruction, so every worker it forks inherits the CPUs
        command = [sys.executable, "-m", "asgibench.launch.pinned", ",".join(map(str, cpus)), "--", *command]
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    return LaunchedServer(plugin, app, port, workers, cpus, process, log_path)


def _wait_until_ready(server: LaunchedServer, path: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise ServerStartError(
                f"{server.plugin.name} exited with code {server.process.returncode} while starting "
                f"{server.app} (log: {server.log_path}).",
                log_tail=server.log_tail(),
            )
        if answers_http(HOST, server.port, path):
            return
        time.sleep(0.05)
    raise ServerStartError(
        f"{server.plugin.name} did not answer on {server.url}{path} within {timeout:.0f} s (log: {server.log_path}).",
        log_tail=server.log_tail(),
    )
