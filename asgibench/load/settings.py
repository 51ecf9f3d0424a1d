"""From what the user typed (flags, a scenario file, pyproject.toml) to one ``LoadConfig``.

Precedence, highest first: command-line flags, the scenario file, then
defaults. The target comes from the TARGET argument, else the scenario, else
``[tool.asgibench]`` in the current directory's pyproject.toml, else
http://127.0.0.1:8000/ (where ``uvicorn main:app`` listens); the config
records which one it used. Every error names the flag or key at fault, and
every number is checked against ``limits`` so that no input makes a run
endless or unbounded.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TypeVar

from asgibench.boundedio import BODY_FILE_LIMIT, read_bytes_bounded
from asgibench.errors import UsageError
from asgibench.load import limits
from asgibench.load.config import DEFAULT_TARGET, LoadConfig, MessageKind, Model, Protocol, RequestSpec, Target
from asgibench.load.expect import DEFAULT_STATUS, Expectation, parse_status
from asgibench.load.parsing import parse_duration, parse_header, parse_path, parse_target
from asgibench.load.scenario_file import (
    MAX_MESSAGE_BYTES,
    METHODS,
    MIN_MESSAGE_BYTES,
    Scenario,
    load_scenario,
    message_payload,
    pyproject_target,
)
from asgibench.load.thresholds import parse_threshold

DEFAULT_VUS = 10
DEFAULT_DURATION = 10.0
DEFAULT_TIMEOUT = 10.0
DEFAULT_MAX_CONNECTIONS = 1024
DEFAULT_MAX_SKEW = 0.025  # seconds; see asgibench.cluster.clock
T = TypeVar("T")


@dataclass
class LoadFlags:
    """The load command's options as typed; None where the user gave none."""

    target: str | None = None
    vus: int | None = None
    rate: float | None = None
    duration: str | None = None
    warmup: str | None = None
    timeout: str | None = None
    drain: str | None = None
    think: str | None = None
    workers: str | None = None
    connections: int | None = None
    cluster: str | None = None
    max_skew: str | None = None
    max_connections: int | None = None
    headers: list[str] = field(default_factory=list)
    method: str | None = None
    body: str | None = None
    body_file: Path | None = None
    paths: list[str] = field(default_factory=list)
    expect_status: str | None = None
    expect_body: str | None = None
    expect_headers: list[str] = field(default_factory=list)
    scenario: Path | None = None
    thresholds: list[str] = field(default_factory=list)
    abort_on_fail: bool = False
    http: str | None = None
    insecure: bool = False
    streams: int | None = None
    message_size: int | None = None
    binary: bool = False
    subprotocols: list[str] = field(default_factory=list)
    stream: bool = False
    hold: int | None = None
    hold_target: str | None = None


def resolve(
    flags: LoadFlags, directory: Path, *, connection_limits: limits.ConnectionLimits | None = None
) -> LoadConfig:
    scenario = load_scenario(flags.scenario) if flags.scenario is not None else None
    file = scenario or Scenario(path=Path("."))  # an empty scenario sets nothing
    target_text, source = _target(flags, scenario, directory)
    try:
        target = parse_target(target_text)
    except ValueError as error:
        raise UsageError(f"{source}: {error}") from None
    protocol = _protocol(flags, file, target)
    model = _model(flags, scenario)
    vus = _first(flags.vus, file.vus, DEFAULT_VUS)
    rate = float(_first(flags.rate, file.rate, 0.0))
    stages = file.stages
    if flags.vus is not None:
        _check("--vus", vus, low=1, high=10_000_000)
    if flags.rate is not None:
        _check("--rate", rate, low=0.0, high=limits.MAX_RATE, low_inclusive=False)
    if model == "closed" and vus < 1 and not stages:
        raise UsageError(f"--vus {vus}: give at least one virtual user.")
    if model == "open" and rate <= 0 and not stages:
        raise UsageError("The open model needs a rate: give --rate R (requests per second) or [[load.stages]].")
    duration = _duration("--duration", flags.duration, file.duration, DEFAULT_DURATION, high=limits.MAX_DURATION)
    if duration <= 0 and not stages:
        raise UsageError("--duration must be more than zero.")
    timeout = _duration("--timeout", flags.timeout, file.timeout, DEFAULT_TIMEOUT, high=limits.MAX_WAIT)
    if timeout <= 0:
        raise UsageError("--timeout must be more than zero.")
    drain = _duration("--drain", flags.drain, file.drain, timeout, high=limits.MAX_WAIT)
    max_connections = _first(flags.max_connections, file.max_connections, DEFAULT_MAX_CONNECTIONS)
    connections = _first(flags.connections, file.connections, 0)
    if flags.max_connections is not None:
        _check("--max-connections", max_connections, low=1, high=10_000_000)
    if flags.connections is not None:
        _check("--connections", connections, low=0, high=10_000_000)
    if connections > max_connections:
        raise UsageError(f"--connections {connections} is more than --max-connections {max_connections}.")
    workers = _workers(flags.workers, file.workers)
    thresholds = (*file.thresholds, *flags.thresholds)
    for text in flags.thresholds:
        try:
            parse_threshold(text)
        except ValueError as error:
            raise UsageError(f"--threshold {error}") from None
    requests = _messages(flags, scenario) if protocol == "websocket" else _requests(flags, scenario)
    if flags.stream and protocol != "websocket":
        requests = tuple(replace(spec, stream=True) for spec in requests)
    _check_protocol_options(protocol, requests, flags, scenario)
    _check_threshold_names(thresholds, requests)
    streams = _first(flags.streams, file.streams, 1)
    if flags.streams is not None:
        _check("--streams", streams, low=1, high=limits.MAX_STREAMS)
    if streams > 1 and protocol == "http/1.1":
        raise UsageError(f"--streams {streams}: an HTTP/1.1 connection carries one request at a time; add --http 2.")
    hold = _first(flags.hold, file.hold, 0)
    if flags.hold is not None:
        _check("--hold", hold, low=0, high=limits.MAX_HELD)
    hold_text = flags.hold_target or file.hold_target
    try:
        hold_target = parse_target(hold_text) if hold_text else None
    except ValueError as error:
        raise UsageError(f"--hold-target {error}") from None
    if hold_target is not None and not hold:
        raise UsageError("--hold-target: give --hold N too (how many streams to hold).")
    config = LoadConfig(
        target=target,
        model=model,
        vus=vus,
        rate=rate,
        duration=duration,
        warmup=_duration("--warmup", flags.warmup, file.warmup, 0.0, high=limits.MAX_DURATION),
        timeout=timeout,
        drain=drain,
        think=_duration("--think", flags.think, file.think, 0.0, high=limits.MAX_WAIT),
        workers=workers,
        connections=connections,
        max_connections=max_connections,
        requests=requests,
        stages=stages,
        thresholds=thresholds,
        abort_on_fail=flags.abort_on_fail,
        insecure=flags.insecure,
        target_source=source,
        scenario_path=str(scenario.path) if scenario else None,
        protocol=protocol,
        streams=streams,
        subprotocols=tuple(flags.subprotocols) or file.subprotocols,
        hold=hold,
        hold_target=hold_target,
        cluster=_cluster(flags),
        workers_given=flags.workers is not None or file.workers is not None,
        max_skew=_duration("--max-skew", flags.max_skew, None, DEFAULT_MAX_SKEW, high=limits.MAX_WAIT),
    )
    if config.cluster is None:  # a cluster's shards hold their connections on the workers' machines
        _check_connections(config, connection_limits or limits.read_connection_limits(), flags)
    return config


def _protocol(flags: LoadFlags, file: Scenario, target: Target) -> Protocol:
    """WebSocket for a ws:// target; HTTP/2 when --http 2 (or the scenario's http = "2") asks; else HTTP/1.1."""
    http = flags.http or file.http or "1.1"
    if http not in ("1.1", "1", "2"):
        raise UsageError(f"--http {http!r}: use 1.1 or 2.")
    if target.scheme in ("ws", "wss"):
        if http == "2":
            raise UsageError("--http 2: a ws:// target is a WebSocket over HTTP/1.1; drop --http 2.")
        return "websocket"
    if flags.subprotocols:
        raise UsageError("--subprotocol: only for a WebSocket target (ws:// or wss://).")
    return "h2" if http == "2" else "http/1.1"


def _check_protocol_options(
    protocol: Protocol, requests: tuple[RequestSpec, ...], flags: LoadFlags, scenario: Scenario | None
) -> None:
    """Options that only mean something for another protocol are refused, not ignored."""
    if protocol != "websocket" and (flags.message_size is not None or flags.binary):
        raise UsageError(f"{'--binary' if flags.binary else '--message-size'}: only for a WebSocket target (ws://).")
    if protocol != "websocket" and any(spec.message is not None for spec in requests):
        where = scenario.path if scenario is not None else "the scenario"
        raise UsageError(f"{where}: [[messages]] are for a WebSocket target (ws://); this target is HTTP.")
    if protocol == "h2" and any(spec.expect.captures for spec in requests):
        raise UsageError("--http 2: body and header checks are made on HTTP/1.1 only; drop them or use --http 1.1.")
    if protocol == "websocket" and flags.stream:
        raise UsageError("--stream: a WebSocket target sends messages; --stream times streamed HTTP responses.")
    if protocol == "h2" and (flags.stream or any(spec.stream for spec in requests)):
        raise UsageError("--stream: streamed responses are timed over HTTP/1.1 only; drop --http 2.")


def _messages(flags: LoadFlags, scenario: Scenario | None) -> tuple[RequestSpec, ...]:
    """A WebSocket target's messages: the scenario's [[messages]], else one kind from --message-size, --body."""
    for flag, given in (("--method", flags.method), ("--path", flags.paths or None)):
        if given is not None:
            raise UsageError(f"{flag}: a WebSocket target sends messages, not requests; the path is the URL's.")
    if flags.expect_body is not None or flags.expect_headers or flags.expect_status is not None:
        raise UsageError("--expect-*: a WebSocket reply is checked by its id, not by status or body.")
    headers = _headers(flags)
    defines = flags.message_size is not None or flags.body is not None or flags.body_file is not None or flags.binary
    if scenario is not None and scenario.requests and not defines:
        if any(spec.message is None for spec in scenario.requests):
            raise UsageError(f"{scenario.path}: a WebSocket target sends [[messages]], not [[requests]].")
        return tuple(replace(spec, headers=spec.headers + tuple(headers)) for spec in scenario.requests)
    if flags.message_size is not None:
        _check("--message-size", flags.message_size, low=MIN_MESSAGE_BYTES, high=MAX_MESSAGE_BYTES)
        if flags.body is not None or flags.body_file is not None:
            raise UsageError("Give --message-size or a body (--body, --body-file), not both.")
    if flags.body is not None and flags.body_file is not None:
        raise UsageError("Give --body or --body-file, not both.")
    body = b""
    if flags.body is not None:
        body = flags.body.encode()
    elif flags.body_file is not None:
        body = read_bytes_bounded(flags.body_file, limit=BODY_FILE_LIMIT, option="--body-file")
    kind: MessageKind = "binary" if flags.binary or flags.body_file is not None else "text"
    if kind == "text":
        try:
            body.decode("utf-8")
        except UnicodeDecodeError:
            raise UsageError("--body: a text message must be UTF-8; add --binary.") from None
    payload = message_payload(flags.message_size, body)
    return (RequestSpec(body=payload, headers=tuple(headers), expect=Expectation(("101",)), message=kind),)


def _first(*values: T | None) -> T:
    for value in values:
        if value is not None:
            return value
    raise AssertionError("the last value is the default and never None")


def _check(flag: str, value: float, *, low: float, high: float, low_inclusive: bool = True) -> None:
    problem = limits.check_number(value, low=low, high=high, low_inclusive=low_inclusive)
    if problem:
        raise UsageError(f"{flag} {value!r}: {problem}.")


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


def _duration(flag: str, typed: str | None, from_scenario: float | None, default: float, *, high: float) -> float:
    if typed is None:
        return from_scenario if from_scenario is not None else default
    try:
        seconds = parse_duration(typed)
    except ValueError as error:
        raise UsageError(f"{flag} {error}") from None
    if seconds > high:
        raise UsageError(f"{flag} {typed!r}: at most {_describe_seconds(high)}.")
    return seconds


def _describe_seconds(seconds: float) -> str:
    if seconds >= 86400:
        return f"{seconds / 86400:g} days"
    if seconds >= 3600:
        return f"{seconds / 3600:g} hour" + ("s" if seconds != 3600 else "")
    return f"{seconds:g} s"


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
    if not 1 <= workers <= limits.MAX_WORKERS:
        raise UsageError(f"--workers {workers}: give 1 to {limits.MAX_WORKERS}, or 'auto'.")
    return workers


def _cluster(flags: LoadFlags) -> str | None:
    """The --cluster address, checked (and Dask's presence with it) before anything starts."""
    if flags.cluster is None:
        if flags.max_skew is not None:
            raise UsageError("--max-skew: it applies to --cluster runs only; give --cluster too.")
        return None
    from asgibench.cluster.address import parse_cluster
    from asgibench.cluster.session import require_distributed

    address = parse_cluster(flags.cluster)
    require_distributed()
    return address.describe()


def _check_connections(config: LoadConfig, machine: limits.ConnectionLimits, flags: LoadFlags) -> None:
    """VUs (or the open model's pool) must fit the open files and local ports this machine allows."""
    unix = config.target.unix_path is not None
    most = machine.most(workers=config.workers, unix_socket=unix)
    if config.model == "closed":
        wanted = max([config.vus, *(round(stage.target) for stage in config.stages)])
        flag = "--vus" if flags.vus is not None or not config.stages else "[[load.stages]] target"
        what = "virtual users (each holds a connection)"
    else:
        wanted = config.max_connections
        flag = "--max-connections" + ("" if flags.max_connections is not None else f" (default {wanted})")
        what = "connections"
    if wanted > most:
        hint = "add --workers (each worker process has its own open files)" if most and not unix else None
        raise UsageError(
            f"{flag} {wanted:,}: this machine can hold at most {most:,} {what} ({machine.explain(unix_socket=unix)}).",
            hint=hint,
        )


def _check_threshold_names(thresholds: tuple[str, ...], requests: tuple[RequestSpec, ...]) -> None:
    names = [spec.label for spec in requests]
    for text in thresholds:
        name = parse_threshold(text).name
        if name is not None and name not in names:
            raise UsageError(
                f"threshold {text!r}: no request is named {name!r} (names: {', '.join(repr(n) for n in names)})."
            )


def _headers(flags: LoadFlags) -> list[tuple[str, str]]:
    headers = []
    for text in flags.headers:
        try:
            headers.append(parse_header(text))
        except ValueError as error:
            raise UsageError(f"--header {error}") from None
    return headers


def _requests(flags: LoadFlags, scenario: Scenario | None) -> tuple[RequestSpec, ...]:
    headers = _headers(flags)
    if flags.body is not None and flags.body_file is not None:
        raise UsageError("Give --body or --body-file, not both.")
    method = (flags.method or "GET").upper()
    if method not in METHODS:
        raise UsageError(f"--method {flags.method!r}: use one of {', '.join(sorted(METHODS))}.")
    body = b""
    if flags.body is not None:
        body = flags.body.encode()
    elif flags.body_file is not None:
        body = read_bytes_bounded(flags.body_file, limit=BODY_FILE_LIMIT, option="--body-file")
    expectation = _expectation(flags)
    defines_request = flags.method is not None or flags.body is not None or flags.body_file is not None
    if flags.paths:
        return _path_requests(flags.paths, method, headers, body, expectation)
    if scenario is not None and scenario.requests and not defines_request:
        return tuple(
            replace(
                spec,
                headers=spec.headers + tuple(headers),
                expect=expectation if _expects(flags) else spec.expect,
            )
            for spec in scenario.requests
        )
    return (RequestSpec(method=method, headers=tuple(headers), body=body, name=method, expect=expectation),)


def _path_requests(
    paths: list[str], method: str, headers: list[tuple[str, str]], body: bytes, expectation: Expectation
) -> tuple[RequestSpec, ...]:
    """``--path`` (repeatable): one request per path, equal weights; ``METHOD:/path`` picks a method for one."""
    specs = []
    for text in paths:
        verb, separator, path = text.partition(":")
        if not separator or verb.upper() not in METHODS:
            verb, path = method, text
        try:
            parse_path(path)
        except ValueError as error:
            raise UsageError(f"--path {error}") from None
        verb = verb.upper()
        specs.append(
            RequestSpec(
                method=verb, path=path, headers=tuple(headers), body=body, name=f"{verb} {path}", expect=expectation
            )  # fmt: skip
        )
    labels = [spec.label for spec in specs]
    duplicates = sorted({label for label in labels if labels.count(label) > 1})
    if duplicates:
        raise UsageError(f"--path: {', '.join(duplicates)} given twice.")
    return tuple(specs)


def _expects(flags: LoadFlags) -> bool:
    return flags.expect_status is not None or flags.expect_body is not None or bool(flags.expect_headers)


def _expectation(flags: LoadFlags) -> Expectation:
    statuses: tuple[str, ...] = DEFAULT_STATUS
    if flags.expect_status is not None:
        statuses = tuple(part.strip() for part in flags.expect_status.split(",") if part.strip())
        if not statuses:
            raise UsageError("--expect-status: give codes or classes, as in 200,201 or 2xx.")
        for text in statuses:
            try:
                parse_status(text)
            except ValueError as error:
                raise UsageError(f"--expect-status {error}") from None
    if flags.expect_body is not None and not flags.expect_body:
        raise UsageError("--expect-body: give the text the body must contain.")
    headers = []
    for text in flags.expect_headers:
        try:
            name, value = parse_header(text)
        except ValueError as error:
            raise UsageError(f"--expect-header {error}") from None
        headers.append((name.lower(), value))
    return Expectation(statuses, flags.expect_body, tuple(headers))
