"""One measured load run against a server asgibench launched: pinning, profiling and the server's usage.

``load_launched`` is shared by ``asgibench load APP --server`` and ``asgibench
compare``: it points the load config at the launched server, runs the load
with the generator pinned to its own CPUs, optionally records a flame graph of
the measured window, and returns the server's CPU and memory over that window.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from asgibench.load.parsing import parse_target
from asgibench.load.runner import RunOutcome, SecondObserver, run_load

if TYPE_CHECKING:
    # Types only: `asgibench load` imports this module for every run, and the launcher (psutil among others) is
    # imported by the caller that launches a server.
    from asgibench.launch.cpus import CpuPlan
    from asgibench.launch.server import LaunchedServer
    from asgibench.load.config import LoadConfig, Target


@dataclass
class LaunchedRun:
    outcome: RunOutcome
    server: dict[str, Any]  # describe() + usage over the measured window + exit code; the result's "server"
    profile: Path | None = None
    profile_error: str | None = None


def aimed_at(config: LoadConfig, server: LaunchedServer) -> LoadConfig:
    """The same load, sent to the launched server: only host and port change, the scheme and path stay.

    The held streams' target (--hold) is moved there too: a server launched on a free port cannot have
    been named in advance, so a hold target can only have meant the server under test.
    """
    hold_target = None if config.hold_target is None else on_server(config.hold_target, server)
    return replace(
        config,
        target=on_server(config.target, server),
        hold_target=hold_target,
        target_source=f"{server.plugin.name} launched by asgibench",
    )


def on_server(target: Target, server: LaunchedServer) -> Target:
    """``target``'s path on the launched server: ws:// for a WebSocket target, else http:// (it serves no TLS)."""
    scheme = "ws" if target.scheme in ("ws", "wss") else "http"
    address = server.url.partition("://")[2]  # host:port, read off the URL: the launcher is not imported here
    return parse_target(f"{scheme}://{address}{target.path}")


@contextlib.contextmanager
def pinned_to(cpus: tuple[int, ...]) -> Iterator[None]:
    """This process (and the generator workers it starts) on ``cpus`` for the run, then as before."""
    if not cpus:
        yield
        return
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, cpus)
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


def load_launched(
    server: LaunchedServer,
    config: LoadConfig,
    plan: CpuPlan,
    *,
    observer: SecondObserver | None = None,
    profile_to: Path | None = None,
    py_spy: str | None = None,
) -> LaunchedRun:
    from asgibench.launch.profile import FlameGraphRecorder
    from asgibench.launch.usage import summarise

    config = aimed_at(config, server)
    recorder = None
    if profile_to is not None and py_spy is not None:
        recorder = FlameGraphRecorder(server.process.pid, profile_to, py_spy)

    def measured_window_opens(time_zero: float) -> None:
        if recorder is not None:
            recorder.schedule(time_zero + config.warmup, config.measured_duration)

    try:
        with pinned_to(plan.generator):
            outcome = run_load(config, observer, measured_window_opens)
    except BaseException:
        if recorder is not None:
            recorder.finish(timeout=0)  # a run that did not end has no flame graph: py-spy is stopped now
        raise
    server.sampler.sample()  # one reading after the window closed, so its end is interpolated, not cut
    start = outcome.started_at + config.warmup
    usage = summarise(server.sampler.samples, start, start + outcome.measured_seconds)
    exit_code = server.exit_status()  # not reaped: stop() can still send its process group SIGKILL
    details = {
        **server.describe(),
        **usage,
        "exit_code": exit_code,
        "log": None if server.log_is_temporary else str(server.log_path),
    }
    if exit_code is not None:
        details["log_tail"] = server.log_tail()
    run = LaunchedRun(outcome, details)
    if recorder is not None:
        run.profile = recorder.finish()
        run.profile_error = recorder.error
    return run


def with_server(result: dict[str, Any], run: LaunchedRun) -> dict[str, Any]:
    """The result file of a launched run: the server's name and version in the environment, its usage beside."""
    result["environment"]["server"] = {"name": run.server["name"], "version": run.server["version"]}
    result["server"] = run.server
    if run.profile is not None:
        result["server"]["profile"] = run.profile.name
    return result
