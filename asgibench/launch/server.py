"""Launch one server with an app: free port, CPU pinning, log capture, readiness, sampling, stop.

The server runs in its own session (Ctrl-C in the terminal reaches asgibench,
which then stops the server itself) with its output in a log file. A server
that is not installed, exits during start-up or does not answer in time is a
``ServerStartError`` (exit 3) carrying the server's own last log lines.

Whatever interrupts asgibench (Ctrl-C, or SIGTERM and SIGHUP under
``asgibench.interrupts.signals_as_interrupts``) while a server starts, runs or
stops, the server's whole process tree is stopped and its temporary log
directory removed: signals that arrive while that is done wait until it is.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from asgibench.errors import TargetUnreachableError, UsageError
from asgibench.interrupts import held
from asgibench.launch.readiness import answers_http
from asgibench.launch.sampler import TreeSampler
from asgibench.load.config import Protocol
from asgibench.servers.base import Certificate, ServerPlugin

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
    log_is_temporary: bool = False  # removed when the server stops
    stopped: bool = False
    protocol: Protocol = "http/1.1"  # what it was launched to serve (a server may need a switch for it)
    tls: Certificate | None = None  # served over TLS with this certificate (the conformance probe's TLS leg)

    def __post_init__(self) -> None:
        self.sampler = TreeSampler(self.process.pid)

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{HOST}:{self.port}"

    def alive(self) -> bool:
        return self.exit_status() is None

    def exit_status(self) -> int | None:
        """Its exit code (minus the signal that killed it) once it has exited, else None.

        Read without reaping it: until ``stop()`` reaps it, its PID, which is
        also its process group's ID, cannot be reused, so the group can safely
        be sent SIGKILL.
        """
        if self.process.returncode is not None:
            return self.process.returncode
        try:
            status = os.waitid(os.P_PID, self.process.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:  # reaped elsewhere
            return self.process.poll()
        if status is None:
            return None
        return status.si_status if status.si_code == os.CLD_EXITED else -status.si_status

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
            "command": self.plugin.command(
                self.app, host=HOST, port=self.port, workers=self.workers, protocol=self.protocol, tls=self.tls
            ),
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
    protocol: Protocol = "http/1.1",
    tls: Certificate | None = None,
) -> Iterator[LaunchedServer]:
    """The server, started and answering; sampling starts with it and it is stopped on the way out.

    ``protocol`` is what the load will speak: the plugin adds the switch its server needs for it, if any.
    Readiness is always asked over HTTP/1.1, which every plugin serves beside the others (over TLS with ``tls``).

    Stopped however the way out is taken: an error, Ctrl-C or ``Interrupted``
    at any point, from the server's start to its stop.
    """
    if not plugin.is_available():
        raise ServerStartError(
            f"{plugin.name} is not installed in this Python ({plugin.module} cannot be imported).",
            hint=f"pip install {plugin.distribution}" + (" uvicorn-worker" if plugin.name == "gunicorn" else ""),
        )
    started: list[LaunchedServer] = []  # every server process started, so none is left behind
    temporary: Path | None = None
    keep_log = False
    try:
        if log_path is None:
            with held():  # the directory is never made without our knowing to remove it
                temporary = Path(tempfile.mkdtemp(prefix="asgibench-"))
            log_path = temporary / "server.log"
        try:
            server = _start_with_retries(
                plugin, app, workers, tuple(cpus), log_path, ready_path, start_timeout, started, protocol, tls
            )
        except ServerStartError:
            keep_log = True  # the message points at it
            raise
        server.log_is_temporary = temporary is not None
        server.sampler.start()
        yield server
    finally:
        with held():  # a second signal must not leave the server running
            _clean_up(started, None if keep_log else temporary)


def _clean_up(started: list[LaunchedServer], temporary: Path | None) -> None:
    for server in started:
        server.sampler.stop()
        stop(server)
    if temporary is not None:
        shutil.rmtree(temporary, ignore_errors=True)


def stop(server: LaunchedServer, grace: float = STOP_GRACE) -> None:
    """SIGTERM to the server, then SIGKILL to whatever of its process tree is still there after ``grace``.

    Signals that arrive meanwhile wait until it is done. Stopping a stopped
    server does nothing.
    """
    with held():
        if not server.stopped:
            _stop(server, grace)
            server.stopped = True


def _stop(server: LaunchedServer, grace: float) -> None:
    process = server.process
    tree = _descendants(server)
    if server.exit_status() is None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(process.pid, signal.SIGTERM)  # not Popen.send_signal, which would reap it (see exit_status)
        deadline = time.monotonic() + grace
        while server.exit_status() is None and time.monotonic() < deadline:
            time.sleep(0.05)
    if process.returncode is None:  # not reaped yet: the group's ID is still the server's alone
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)  # the master if it ignored SIGTERM, and every process it started
    for descendant in tree:  # those that left the group, or outlived a master reaped before
        with contextlib.suppress(psutil.Error):
            descendant.kill()  # psutil checks it is still the same process, not a reused PID
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=grace)


def _descendants(server: LaunchedServer) -> list[psutil.Process]:
    """The server's processes under its master: the ones the sampler saw (workers since orphaned too) and any now."""
    found: dict[int, psutil.Process] = {}
    for pid in server.sampler.pids():
        with contextlib.suppress(psutil.Error):
            found.setdefault(pid, psutil.Process(pid))
    if server.exit_status() is None:
        with contextlib.suppress(psutil.Error):
            for child in psutil.Process(server.process.pid).children(recursive=True):
                found.setdefault(child.pid, child)
    found.pop(server.process.pid, None)  # the master is the Popen's to signal and reap
    return list(found.values())


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
    started: list[LaunchedServer],
    protocol: Protocol,
    tls: Certificate | None = None,
) -> LaunchedServer:
    """The server, answering; each process started is added to ``started`` (the caller stops them all)."""
    for attempt in range(PORT_ATTEMPTS):
        server = start_process(plugin, app, workers, cpus, log_path, started, protocol, tls)
        try:
            _wait_until_ready(server, ready_path, start_timeout)
            return server
        except ServerStartError as error:
            stop(server)
            lost_port = any("in use" in line.lower() for line in error.log_tail)
            if not lost_port or attempt == PORT_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


def start_process(
    plugin: ServerPlugin,
    app: str,
    workers: int,
    cpus: tuple[int, ...],
    log_path: Path,
    started: list[LaunchedServer],
    protocol: Protocol = "http/1.1",
    tls: Certificate | None = None,
    env: Mapping[str, str] | None = None,
) -> LaunchedServer:
    """The server's process, started and added to ``started``; not waited for (``launched`` waits for it to answer).

    ``env`` adds to this process's environment (the probe's recording app reads its orders there).
    """
    port = free_port()
    try:
        command = plugin.command(app, host=HOST, port=port, workers=workers, protocol=protocol, tls=tls)
    except ValueError as error:  # a worker count the server cannot run: the user's flag, not the server
        raise UsageError(f"--server-workers {workers}: {error}.") from None
    if cpus:  # pinned before the server's first instruction, so every worker it forks inherits the CPUs
        command = [sys.executable, "-m", "asgibench.launch.pinned", ",".join(map(str, cpus)), "--", *command]
    log_path.parent.mkdir(parents=True, exist_ok=True)
    # A signal raised inside Popen, after the fork, would lose the process; held, it is raised once it is in started.
    with open(log_path, "ab") as log, held():
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={**os.environ, **(env or {}), "PYTHONUNBUFFERED": "1"},
        )
        server = LaunchedServer(plugin, app, port, workers, cpus, process, log_path, protocol=protocol, tls=tls)
        started.append(server)
    return server


def _answers(server: LaunchedServer, path: str) -> bool:
    if server.tls is None:
        return answers_http(HOST, server.port, path)
    return _answers_over_tls(server.port, path)


def _answers_over_tls(port: int, path: str, timeout: float = 1.0) -> bool:
    """``answers_http`` through TLS. The certificate is not verified: only "does it answer" is asked here."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    request = f"GET {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\nConnection: close\r\n\r\n".encode("ascii")
    try:
        with (
            socket.create_connection((HOST, port), timeout=timeout) as connection,
            context.wrap_socket(connection, server_hostname=HOST) as secured,
        ):
            secured.sendall(request)
            head = secured.recv(16)
    except OSError:  # ssl.SSLError included: a server still starting, or not speaking TLS
        return False
    return head.startswith(b"HTTP/")


def _wait_until_ready(server: LaunchedServer, path: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        code = server.exit_status()
        if code is not None:
            raise ServerStartError(
                f"{server.plugin.name} exited with code {code} while starting {server.app} (log: {server.log_path}).",
                log_tail=server.log_tail(),
            )
        if _answers(server, path):
            return
        time.sleep(0.05)
    raise ServerStartError(
        f"{server.plugin.name} did not answer on {server.url}{path} within {timeout:.0f} s (log: {server.log_path}).",
        log_tail=server.log_tail(),
    )
