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
from typing import Any

from asgibench.launch.cpus import CpuPlan
from asgibench.launch.profile import FlameGraphRecorder
from asgibench.launch.server import LaunchedServer
from asgibench.launch.usage import summarise
from asgibench.load.config import LoadConfig
from asgibench.load.parsing import parse_target
from asgibench.load.runner import RunOutcome, SecondObserver, run_load


@dataclass
class LaunchedRun:
    outcome: RunOutcome
    server: dict[str, Any]  # describe() + usage over the measured window + exit code; the result's "server"
    profile: Path | None = None
    profile_error: str | None = None


def aimed_at(config: LoadConfig, server: LaunchedServer) -> LoadConfig:
    """The same load, sent to the launched server (keeping the request path)."""
    target = parse_target(f"{server.url}{config.target.path}")
    return replace(config, target=target, target_source=f"{server.plugin.name} launched by asgibench")


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
