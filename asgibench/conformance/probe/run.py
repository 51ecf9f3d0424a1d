"""Probing servers: launch each on the recording app, run every case against it, stop it, judge.

One server at a time, on 127.0.0.1, with one worker. The recording app's log
goes to a temporary file named in the server's environment; the lifespan
record is read after the server stopped, so shutdown is in it. A server that
serves HTTP/2 is launched for it (on the same port as HTTP/1.1); the cases
that need it are N/A elsewhere. With ``lifespans``, the server is stopped
with a request in flight, to see it drain and wait for the lifespan's end.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from asgibench.conformance.findings import Verdict
from asgibench.conformance.observation import AppRecord, Observation, WireRecord
from asgibench.conformance.probe.cases import CASES, SHUTDOWN_CASE, Case
from asgibench.conformance.probe.extension_cases import EXTENSION_CASES
from asgibench.conformance.probe.judge import Judgement, ServerFinding, judge, judge_lifespans
from asgibench.conformance.probe.judge_extensions import judge_extensions
from asgibench.conformance.probe.lifespans import run_modes
from asgibench.conformance.probe.log import ProbeLog
from asgibench.conformance.probe.recording_app import LOG_ENV
from asgibench.conformance.probe.server_log import LOGGED_CASES, PREFIX, SETTLE, ServerLog
from asgibench.conformance.probe.shutdown import stop_in_flight
from asgibench.conformance.probe.tls_leg import TLS_CASES, throwaway_certificate
from asgibench.launch.server import LaunchedServer, launched
from asgibench.load.config import Protocol
from asgibench.servers import get_plugin
from asgibench.servers.base import ServerPlugin

RECORDING_APP = "asgibench.conformance.probe.recording_app:app"
SHUTDOWN_WAIT = 2.0
ALL_CASES: tuple[Case, ...] = (*CASES, *EXTENSION_CASES, *TLS_CASES)


@dataclass
class ServerProbe:
    """One server's run: its name and version, and the judgement (None when it could not be probed)."""

    server: str
    version: str | None
    judgement: Judgement | None
    error: str = ""
    elapsed: float = 0.0
    case_errors: dict[str, str] = field(default_factory=dict)


@contextlib.contextmanager
def _environment(name: str, value: str) -> Iterator[None]:
    """``name`` set for the servers started inside (they inherit os.environ), restored after."""
    previous = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = previous


def probe_server(
    name: str,
    *,
    cases: tuple[Case, ...] = ALL_CASES,
    lifespans: bool = True,
    progress: Callable[[str], None] | None = None,
) -> ServerProbe:
    """Run ``cases`` against the server plugin ``name``, then (``lifespans``) start it again with each lifespan
    fault; a server that cannot start gives ``error``."""
    from asgibench.launch.server import ServerStartError

    plugin = get_plugin(name)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="asgibench-probe-") as directory:
        path = Path(directory) / "app.log"
        log = ProbeLog(path)
        observations: dict[str, Observation] = {}
        errors: dict[str, str] = {}
        runnable = [case for case in cases if plugin.unsupported(case.protocol) is None]
        secure = [case for case in runnable if case.tls]  # run on the TLS leg, once the plain server stopped
        runnable = [case for case in runnable if not case.tls]
        protocol: Protocol = "h2" if any(case.protocol == "h2" for case in runnable) else "http/1.1"
        try:
            with (
                _environment(LOG_ENV, str(path)),
                launched(plugin, RECORDING_APP, ready_path="/", protocol=protocol) as server,
            ):
                observations |= _run_cases(runnable, server, log, errors, progress, name)
                if lifespans:
                    if progress is not None:
                        progress(f"{name}: stopped with a request in flight")
                    try:
                        observations[SHUTDOWN_CASE] = stop_in_flight(server, log)
                    except OSError as error:  # the server refused the probe's socket
                        errors[SHUTDOWN_CASE] = f"{type(error).__name__}: {error}"
        except ServerStartError as error:
            return ServerProbe(name, plugin.version(), None, error=error.summary, elapsed=time.monotonic() - started)
        deadline = time.monotonic() + SHUTDOWN_WAIT
        lifespan = log.app("lifespan")
        while lifespan.scope is not None and not lifespan.of_kind("sent")[-1:] and time.monotonic() < deadline:
            time.sleep(0.05)
            lifespan = log.app("lifespan")
        secured = _tls_leg(plugin, Path(directory), secure, errors, progress) if secure else {}
        judgement = judge(observations, log.app("lifespan") if lifespan.scope is not None else AppRecord())
    # The TLS leg ran in another server process: judged for the extensions and TLS only, kept for the report.
    judgement.observations.update(secured)
    judgement.findings.extend(judge_extensions(judgement.observations))
    judgement.findings.extend(_not_served(plugin, cases))
    if lifespans and lifespan.scope is not None:  # a server that runs no lifespan has no lifespan faults to show
        if progress is not None:
            progress(f"{name}: lifespan faults")
        judgement.findings.extend(judge_lifespans(run_modes(plugin, RECORDING_APP)))
    elif lifespans:
        judgement.findings.extend(
            ServerFinding(check, Verdict.NOT_APPLICABLE, "lifespan", "the server ran no lifespan scope")
            for check in ("LS-03", "LS-04", "LS-08")
        )
    return ServerProbe(name, plugin.version(), judgement, elapsed=time.monotonic() - started, case_errors=errors)


def _tls_leg(
    plugin: ServerPlugin,
    directory: Path,
    cases: list[Case],
    errors: dict[str, str],
    progress: Callable[[str], None] | None,
) -> dict[str, Observation]:
    """``cases`` against the server started again over TLS, with a throwaway certificate and its own app log;
    a server that does not start over TLS leaves each case's error."""
    from asgibench.launch.server import ServerStartError

    path = directory / "tls-app.log"
    log = ProbeLog(path)
    observations: dict[str, Observation] = {}
    certificate = throwaway_certificate(directory / "tls")
    try:
        with (
            _environment(LOG_ENV, str(path)),
            launched(plugin, RECORDING_APP, ready_path="/", tls=certificate) as server,
        ):
            observations |= _run_cases(cases, server, log, errors, progress, plugin.name, " (TLS)")
    except ServerStartError as error:
        errors.update((case.name, f"not started over TLS: {error.summary}") for case in cases)
    return observations


def _run_cases(
    cases: Sequence[Case],
    server: LaunchedServer,
    log: ProbeLog,
    errors: dict[str, str],
    progress: Callable[[str], None] | None,
    name: str,
    leg: str = "",
) -> dict[str, Observation]:
    """Each case in turn against ``server``, its progress said as ``name: case`` (and the leg, e.g. " (TLS)")."""
    observations = {}
    for case in cases:
        if progress is not None:
            progress(f"{name}: {case.name}{leg}")
        observations[case.name] = _run_case(case, server, log, errors)
    return observations


def _run_case(case: Case, server: LaunchedServer, log: ProbeLog, errors: dict[str, str]) -> Observation:
    """One case; where a client leaves, the server's log lines written meanwhile go in its notes."""
    server_log = ServerLog(server.log_path)
    before = server_log.size()
    try:
        observation = case.run(server.port, log)
    except OSError as error:  # the server refused or dropped the probe's socket
        errors[case.name] = f"{type(error).__name__}: {error}"
        observation = Observation(case.name, log.app(case.name), WireRecord(reset=True))
    if case.name in LOGGED_CASES:
        time.sleep(SETTLE)
        observation.notes.extend(PREFIX + line for line in server_log.since(before))
    return observation


def _not_served(plugin: ServerPlugin, cases: tuple[Case, ...]) -> list[ServerFinding]:
    """N/A for the checks of cases the server cannot run (HTTP/2 on a server that does not serve it)."""
    findings: list[ServerFinding] = []
    for case in cases:
        reason = plugin.unsupported(case.protocol)
        if reason is not None:
            findings.extend(ServerFinding(check, Verdict.NOT_APPLICABLE, case.name, reason) for check in case.checks)
    return findings
