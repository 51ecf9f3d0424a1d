"""Run a comparison: each server launched fresh for each of its runs, in the interleaved order of ``plan``.

Every run's result file, and the comparison file, are written as soon as the
run ends, so a comparison cut short by Ctrl-C (or SIGTERM, SIGHUP: see
``asgibench.interrupts``) or a crashing server keeps what it measured. A
server that does not start, or exits during a run, is marked failed and the
others go on; the run it died in is kept in its file but not in its figures.
A server that cannot speak the load's protocol (asgibench.compare.protocols)
is never launched: it is listed as unsupported, with its reason.
With ``profile``, each server gets one extra run, after the measured ones,
with py-spy attached: the profiler's own CPU never lands in the compared runs.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from asgibench.compare.plan import PlannedRun, run_order
from asgibench.compare.protocols import comparison_config, unsupported_reason
from asgibench.compare.stats import server_stats
from asgibench.interrupts import describe, signal_in, signal_of
from asgibench.launch.cpus import CpuPlan, plan_cpus, usable_cpus
from asgibench.launch.measure import LaunchedRun, load_launched, with_server
from asgibench.launch.profile import find_py_spy
from asgibench.launch.server import ServerStartError, launched
from asgibench.load.config import LoadConfig
from asgibench.load.result import assess, build_result
from asgibench.load.runner import SecondObserver
from asgibench.results import write_result
from asgibench.results.comparison import COMPARISON_SCHEMA, write_comparison
from asgibench.results.environment import collect
from asgibench.results.model import results_of
from asgibench.servers.base import ServerPlugin
from asgibench.servers.registry import get_plugin

COMPARISON_FILE = "comparison.json"


@dataclass(frozen=True)
class ComparisonSpec:
    app: str
    wsgi_app: str | None
    servers: tuple[str, ...]
    config: LoadConfig
    repeat: int = 3
    server_workers: int = 1
    out: Path | None = None
    profile: bool = False

    def app_for(self, plugin: ServerPlugin) -> str:
        if plugin.interface == "wsgi":
            assert self.wsgi_app is not None, "checked when the spec was built"
            return self.wsgi_app
        return self.app


@dataclass
class ServerRecord:
    plugin: ServerPlugin
    results: list[dict[str, Any]] = field(default_factory=list)
    run_files: list[str] = field(default_factory=list)
    error: str | None = None
    log_tail: list[str] = field(default_factory=list)
    profile: str | None = None
    profile_error: str | None = None
    unsupported: str | None = None  # why it cannot take this load: not launched, neither ok nor failed

    @property
    def failed(self) -> bool:
        return self.error is not None

    @property
    def status(self) -> str:
        return "unsupported" if self.unsupported is not None else "failed" if self.failed else "ok"


class CompareView(Protocol):
    """What the terminal shows while a comparison runs (asgibench.render.compare implements it)."""

    def starting(self, run: PlannedRun, index: int, total: int, plugin: ServerPlugin) -> None: ...

    def observer(self, config: LoadConfig) -> tuple[SecondObserver | None, Callable[[], None]]: ...

    def finished(self, run: PlannedRun, result: dict[str, Any]) -> None: ...

    def failed(self, server: str, message: str) -> None: ...

    def profiled(self, server: str, path: Path | None, error: str | None) -> None: ...


@dataclass
class Comparison:
    spec: ComparisonSpec
    cpus: CpuPlan
    records: dict[str, ServerRecord]
    interrupted_by: int | None = None  # the signal that cut it short: SIGINT for Ctrl-C
    document: dict[str, Any] = field(default_factory=dict)

    @property
    def interrupted(self) -> bool:
        return self.interrupted_by is not None

    @property
    def path(self) -> Path | None:
        return self.spec.out / COMPARISON_FILE if self.spec.out is not None else None


def run_comparison(spec: ComparisonSpec, view: CompareView) -> Comparison:
    plugins = {name: get_plugin(name) for name in spec.servers}
    py_spy = find_py_spy() if spec.profile else None
    records = {name: ServerRecord(plugin, unsupported=unsupported_reason(plugin, spec.config))
               for name, plugin in plugins.items()}  # fmt: skip
    comparison = Comparison(spec, plan_cpus(usable_cpus(), spec.server_workers), records)
    order = run_order([name for name, record in records.items() if record.unsupported is None], spec.repeat)
    try:
        for index, planned in enumerate(order, 1):
            record = comparison.records[planned.server]
            if record.failed:
                continue
            view.starting(planned, index, len(order), record.plugin)
            run = _measure(comparison, record, planned.stem, view)
            if run is None:
                continue
            interrupted_by = signal_in(run.outcome.partial_reason)
            died = _check_survived(record, run, f"run {planned.repeat}")
            result = _result_of(run)
            _keep(comparison, record, planned.stem, result, counted=not died)  # its figures would be bogus
            view.finished(planned, result)
            if died:
                view.failed(record.plugin.name, record.error or "")
            if interrupted_by is not None:
                comparison.interrupted_by = interrupted_by
                break
        if spec.profile and not comparison.interrupted:
            _profile_each(comparison, view, py_spy)
    except KeyboardInterrupt as interruption:  # Interrupted (SIGTERM, SIGHUP) included
        comparison.interrupted_by = signal_of(interruption)
    _save_comparison(comparison)
    return comparison


def _check_survived(record: ServerRecord, run: LaunchedRun, which: str) -> bool:
    """False, with the server marked failed and the run partial, when the server exited during the run."""
    exit_code = run.server["exit_code"]
    if exit_code is None:
        return False
    record.error = f"{record.plugin.name} exited with code {exit_code} during {which}"
    record.log_tail = list(run.server.get("log_tail") or ())
    if run.outcome.partial_reason is None:  # an interruption stays the reason: it is what ends the comparison
        run.outcome.partial_reason = record.error
    return True


def _measure(
    comparison: Comparison,
    record: ServerRecord,
    stem: str,
    view: CompareView,
    profile_to: Path | None = None,
    py_spy: str | None = None,
) -> LaunchedRun | None:
    spec = comparison.spec
    log = spec.out / "logs" / f"{stem}.log" if spec.out is not None else None
    ready_path = spec.config.requests[0].path or spec.config.target.path
    observer, close_view = view.observer(spec.config)
    try:
        with launched(record.plugin, spec.app_for(record.plugin), workers=spec.server_workers,
                      cpus=comparison.cpus.server, log_path=log, ready_path=ready_path,
                      protocol=spec.config.protocol) as server:  # fmt: skip
            # Ctrl-C, SIGTERM and SIGHUP end the load keeping what it measured (asgibench.load.runner).
            return load_launched(server, spec.config, comparison.cpus, observer=observer,
                                 profile_to=profile_to, py_spy=py_spy)  # fmt: skip
    except ServerStartError as error:
        record.error = error.summary
        record.log_tail = error.log_tail
        view.failed(record.plugin.name, error.message)
        _save_comparison(comparison)
        return None
    finally:
        close_view()


def _result_of(run: LaunchedRun) -> dict[str, Any]:
    result = build_result(run.outcome, assess(run.outcome, ()))
    return with_server(result, run)


def _keep(comparison: Comparison, record: ServerRecord, stem: str, result: dict[str, Any], *, counted: bool) -> None:
    """The run's file written and listed; ``counted``: in the server's figures too."""
    if counted:
        record.results.append(result)
    if comparison.spec.out is not None:
        write_result(comparison.spec.out / f"{stem}.json", result, option="--out")
        record.run_files.append(f"{stem}.json")
    _save_comparison(comparison)


def _profile_each(comparison: Comparison, view: CompareView, py_spy: str | None) -> None:
    out = comparison.spec.out
    assert out is not None, "--profile requires --out (checked by the CLI)"
    for name, record in comparison.records.items():
        if record.status != "ok":
            continue
        run = _measure(comparison, record, f"{name}-profiled", view, profile_to=out / f"{name}.svg", py_spy=py_spy)
        if run is None:
            continue
        interrupted_by = signal_in(run.outcome.partial_reason)
        if _check_survived(record, run, "its profiled run"):
            view.failed(name, record.error or "")
        write_result(out / f"{name}-profiled.json", _result_of(run), option="--out")
        record.profile = run.profile.name if run.profile is not None else None
        record.profile_error = run.profile_error
        view.profiled(name, run.profile, run.profile_error)
        _save_comparison(comparison)
        if interrupted_by is not None:
            comparison.interrupted_by = interrupted_by
            return


def _save_comparison(comparison: Comparison) -> None:
    comparison.document = comparison_document(comparison)
    if comparison.path is not None:
        write_comparison(comparison.path, comparison.document)


def comparison_document(comparison: Comparison) -> dict[str, Any]:
    spec = comparison.spec
    return {
        "schema": COMPARISON_SCHEMA,
        "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "partial": comparison.interrupted,
        "partial_reason": describe(comparison.interrupted_by) if comparison.interrupted_by is not None else None,
        "app": spec.app,
        "wsgi_app": spec.wsgi_app,
        "environment": collect(None),
        "config": comparison_config(spec.config),
        "repeat": spec.repeat,
        "server_workers": spec.server_workers,
        "cpus": comparison.cpus.as_dict(),
        "servers": [
            {
                "name": name,
                "version": record.plugin.version(),
                "interface": record.plugin.interface,
                "app": spec.app_for(record.plugin),
                "status": record.status,
                "error": record.error,
                "reason": record.unsupported,
                "log_tail": record.log_tail,
                "runs": record.run_files,
                "profile": record.profile,
                "profile_error": record.profile_error,
                "stats": server_stats(results_of(record.results)) if record.results else None,
            }
            for name, record in comparison.records.items()
        ],
    }
