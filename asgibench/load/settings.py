"""From what the user typed (flags, a scenario file, pyproject.toml) to one ``LoadConfig``.

Precedence, highest first: command-line flags, the scenario file, then
defaults. The target comes from the TARGET argument, else the scenario, else
``[tool.asgibench]`` in the current directory's pyproject.toml, else
http://127.0.0.1:8000/ (where ``uvicorn main:app`` listens); the config
records which one it used. Every error names the flag or key at fault.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from asgibench.errors import UsageError
from asgibench.load.config import DEFAULT_TARGET, LoadConfig, Model, RequestSpec
from asgibench.load.parsing import parse_duration, parse_header, parse_target
from asgibench.load.scenario_file import Scenario, load_scenario, pyproject_target
from asgibench.load.thresholds import parse_threshold

DEFAULT_VUS = 10
DEFAULT_DURATION = 10.0
DEFAULT_TIMEOUT = 10.0
T = TypeVar("T")
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


@dataclass
class LoadFlags:
    """The load command's options as typed; None where the user gave none."""

    target: str | None = None
    vus: int | None = None
    rate: float | None = None
    duration: str | None = None
    warmup: str | None = None
    timeout: str | None = None
    think: str | None = None
    workers: str | None = None
    connections: int | None = None
    max_connections: int | None = None
    headers: list[str] = field(default_factory=list)
    method: str | None = None
    body: str | None = None
    body_file: Path | None = None
    scenario: Path | None = None
    thresholds: list[str] = field(default_factory=list)
    abort_on_fail: bool = False
    http: str = "1.1"
    insecure: bool = False


def resolve(flags: LoadFlags, directory: Path) -> LoadConfig:
    scenario = load_scenario(flags.scenario) if flags.scenario is not None else None
    file = scenario or Scenario(path=Path("."))  # an empty scenario sets nothing
    if flags.http not in ("1.1", "1"):
        raise UsageError(f"--http {flags.http!r}: only HTTP/1.1 load is supported so far.")
    target_text, source = _target(flags, scenario, directory)
    try:
        target = parse_target(target_text)
    except ValueError as error:
        raise UsageError(f"{source}: {error}") from None
    model = _model(flags, scenario)
    vus = _first(flags.vus, file.vus, DEFAULT_VUS)
    rate = float(_first(flags.rate, file.rate, 0.0))
    stages = file.stages
    if model == "closed" and vus < 1 and not stages:
        raise UsageError(f"--vus {vus}: give at least one virtual user.")
    if model == "open" and rate <= 0 and not stages:
        raise UsageError("The open model needs a rate: give --rate R (requests per second) or [[load.stages]].")
    duration = _duration("--duration", flags.duration, file.duration, DEFAULT_DURATION)
    if duration <= 0 and not stages:
        raise UsageError("--duration must be more than zero.")
    timeout = _duration("--timeout", flags.timeout, file.timeout, DEFAULT_TIMEOUT)
    if timeout <= 0:
        raise UsageError("--timeout must be more than zero.")
    max_connections = _first(flags.max_connections, file.max_connections, 1024)
    connections = _first(flags.connections, file.connections, 0)
    if max_connections < 1:
        raise UsageError("--max-connections must be 1 or more.")
    if connections > max_connections:
        raise UsageError(f"--connections {connections} is more than --max-connections {max_connections}.")
    thresholds = (*file.thresholds, *flags.thresholds)
    for text in flags.thresholds:
        try:
            parse_threshold(text)
        except ValueError as error:
            raise UsageError(f"--threshold {error}") from None
    return LoadConfig(
        target=target,
        model=model,
        vus=vus,
        rate=rate,
        duration=duration,
        warmup=_duration("--warmup", flags.warmup, file.warmup, 0.0),
        timeout=timeout,
        think=_duration("--think", flags.think, file.think, 0.0),
        workers=_workers(flags.workers, file.workers),
        connections=connections,
        max_connections=max_connections,
        requests=_requests(flags, scenario),
        stages=stages,
        thresholds=thresholds,
        abort_on_fail=flags.abort_on_fail,
        insecure=flags.insecure,
        target_source=source,
        scenario_path=str(scenario.path) if scenario else None,
    )


def _first(*values: T | None) -> T:
    for value in values:
        if value is not None:
            return value
    raise AssertionError("the last value is the default and never None")


def _target(flags: LoadFlags, scenario: Scenario | None, directory: Path) -> tuple[str, str]:
    if flags.target is not None:
        return flags.target, "TARGET"
    if scenario is not None and scenario.target is not None:
        return scenario.target, str(scenario.path)
    found = pyproject_target(directory)
    if found is not None:
        return found
    return DEFAULT_TARGET, "default (where uvicorn main:app listens)"


def _model(flags: LoadFlags, scenario: Scenario | None) -> Model:
    if flags.vus is not None and flags.rate is not None:
        raise UsageError("Give --vus (closed model) or --rate (open model), not both.")
    if flags.rate is not None:
        return "open"
    if flags.vus is not None:
        return "closed"
    if scenario is not None:
        if scenario.model is not None:
            return "open" if scenario.model == "open" else "closed"
        if scenario.rate is not None:
            return "open"
    return "closed"


def _duration(flag: str, typed: str | None, from_scenario: float | None, default: float) -> float:
    if typed is not None:
        try:
            return parse_duration(typed)
        except ValueError as error:
            raise UsageError(f"{flag} {error}") from None
    return from_scenario if from_scenario is not None else default


def _workers(typed: str | None, from_scenario: int | str | None) -> int:
    value: int | str = typed if typed is not None else (from_scenario or 1)
    if value == "auto":
        try:
            return len(os.sched_getaffinity(0))
        except AttributeError:
            return os.cpu_count() or 1
    try:
        workers = int(value)
    except ValueError:
        raise UsageError(f"--workers {value!r}: give a number of processes or 'auto' (one per core).") from None
    if workers < 1:
        raise UsageError(f"--workers {workers}: give 1 or more.")
    return workers


def _requests(flags: LoadFlags, scenario: Scenario | None) -> tuple[RequestSpec, ...]:
    headers = []
    for text in flags.headers:
        try:
            headers.append(parse_header(text))
        except ValueError as error:
            raise UsageError(f"--header {error}") from None
    if flags.body is not None and flags.body_file is not None:
        raise UsageError("Give --body or --body-file, not both.")
    method = (flags.method or "GET").upper()
    if method not in METHODS:
        raise UsageError(f"--method {flags.method!r}: use one of {', '.join(METHODS)} (HEAD is not supported yet).")
    body = b""
    if flags.body is not None:
        body = flags.body.encode()
    elif flags.body_file is not None:
        try:
            body = flags.body_file.read_bytes()
        except OSError as error:
            raise UsageError(f"--body-file {str(flags.body_file)!r}: {error.strerror or error}.") from None
    defines_request = flags.method is not None or flags.body is not None or flags.body_file is not None
    if scenario is not None and scenario.requests and not defines_request:
        return tuple(
            RequestSpec(
                method=spec.method,
                path=spec.path,
                headers=spec.headers + tuple(headers),
                body=spec.body,
                weight=spec.weight,
                name=spec.name,
            )
            for spec in scenario.requests
        )
    return (RequestSpec(method=method, headers=tuple(headers), body=body, name=method),)
