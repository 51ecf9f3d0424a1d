"""Scenario files (TOML): target, load model, stages, weighted requests with their checks, thresholds.

Every value is checked here; a wrong key or value is a UsageError naming the
file, the line and the key, so a typo never silently becomes a default and no
value can make a run endless (see ``limits``). Relative ``body_file`` paths are
resolved against the scenario's directory.
"""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from asgibench.boundedio import BODY_FILE_LIMIT, SCENARIO_FILE_LIMIT, read_bytes_bounded, read_text_bounded
from asgibench.errors import UsageError
from asgibench.load import limits
from asgibench.load.config import RequestSpec, Stage
from asgibench.load.expect import Expectation, parse_status
from asgibench.load.parsing import parse_duration, parse_header, parse_path
from asgibench.load.thresholds import parse_threshold

TOP_KEYS = {"target", "load", "requests", "messages", "thresholds", "name", "description"}
LOAD_KEYS = {
    "model",
    "vus",
    "rate",
    "duration",
    "warmup",
    "timeout",
    "drain",
    "think",
    "connections",
    "max_connections",
    "workers",
    "stages",
    "http",
    "streams",
    "subprotocols",
    "hold",
    "hold_target",
}
STAGE_KEYS = {"duration", "target"}
REQUEST_KEYS = {"name", "method", "path", "weight", "headers", "body", "body_file", "json", "expect", "stream"}
MESSAGE_KEYS = {"name", "kind", "size", "body", "body_file", "json", "weight", "headers"}
# A message carries a 16-byte id (asgibench.load.websocket_link.ID_BYTES): no payload is shorter.
MIN_MESSAGE_BYTES = 16
MAX_MESSAGE_BYTES = 16 * 1024 * 1024
EXPECT_KEYS = {"status", "body_contains", "headers"}
METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}


@dataclass
class Scenario:
    """What a scenario file sets; None (or empty) where it leaves the choice to flags and defaults."""

    path: Path
    target: str | None = None
    model: str | None = None
    vus: int | None = None
    rate: float | None = None
    duration: float | None = None
    warmup: float | None = None
    timeout: float | None = None
    drain: float | None = None
    think: float | None = None
    connections: int | None = None
    max_connections: int | None = None
    workers: int | str | None = None
    stages: tuple[Stage, ...] = ()
    requests: tuple[RequestSpec, ...] = ()
    thresholds: tuple[str, ...] = ()
    http: str | None = None
    streams: int | None = None
    subprotocols: tuple[str, ...] = ()
    hold: int | None = None
    hold_target: str | None = None


class _Locator:
    """Finds the line a key sits on, for error messages (tomllib reports lines only for syntax errors)."""

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()

    def line_of(self, table: str, key: str, occurrence: int = 0) -> int | None:
        current, seen = "", -1
        pattern = re.compile(rf"^\s*[\"']?{re.escape(key)}[\"']?\s*=")
        for number, line in enumerate(self.lines, start=1):
            header = re.match(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?", line)
            if header:
                current = header.group(1)
                if current == table:
                    seen += 1
                continue
            if current == table and (table == "" or seen == occurrence) and pattern.match(line):
                return number
        return None


class _Reader:
    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.locator = _Locator(text)

    def fail(self, table: str, key: str, message: str, occurrence: int = 0) -> UsageError:
        if table == "requests.expect":  # an inline expect = {...}, else an [requests.expect] table
            line = self.locator.line_of("requests", "expect", occurrence) or self.locator.line_of(table, key)
        else:
            line = self.locator.line_of(table, key, occurrence)
        where = f"{self.path}:{line}" if line else str(self.path)
        name = f"{table}.{key}" if table else key
        if table in ("requests", "messages", "load.stages"):
            name = f"{table}[{occurrence}].{key}"
        elif table == "requests.expect":
            name = f"requests[{occurrence}].expect.{key}"
        return UsageError(f"{where}: {name}: {message}")

    def table(self, table: str, values: Any, key: str, occurrence: int = 0) -> dict[str, Any]:
        if not isinstance(values, dict):
            raise self.fail(table, key, f"expected a table; got {_shown(values)}", occurrence)
        return values

    def check_keys(self, table: str, values: dict[str, Any], allowed: set[str], occurrence: int = 0) -> None:
        for key in values:
            if key not in allowed:
                raise self.fail(table, key, f"unknown key (known: {', '.join(sorted(allowed))})", occurrence)

    def number(
        self,
        table: str,
        values: dict[str, Any],
        key: str,
        *,
        integer: bool = False,
        low: float = 0.0,
        high: float,
        low_inclusive: bool = True,
        occurrence: int = 0,
    ) -> Any:
        value = values.get(key)
        if value is None:
            return None
        if integer and (isinstance(value, bool) or not isinstance(value, int)):
            raise self.fail(table, key, f"expected a whole number; got {_shown(value)}", occurrence)
        problem = limits.check_number(value, low=low, high=high, low_inclusive=low_inclusive)
        if problem:
            raise self.fail(table, key, f"{problem}; got {_shown(value)}", occurrence)
        return value

    def duration(
        self, table: str, values: dict[str, Any], key: str, *, high: float, positive: bool = False, occurrence: int = 0
    ) -> float | None:
        value = values.get(key)
        if value is None:
            return None
        if isinstance(value, str):
            try:
                value = parse_duration(value)
            except ValueError as error:
                raise self.fail(table, key, str(error), occurrence) from None
        elif isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(table, key, f'expected a duration such as "30s"; got {_shown(value)}', occurrence)
        problem = limits.check_number(value, low=0.0, high=high, low_inclusive=not positive)
        if problem:
            unit = " seconds" if isinstance(values.get(key), int | float) else ""
            raise self.fail(table, key, f"{problem}{unit}; got {_shown(values.get(key))}", occurrence)
        return float(value)


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def load_scenario(path: Path) -> Scenario:
    text = read_text_bounded(path, limit=SCENARIO_FILE_LIMIT, option="--scenario")
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise UsageError(f"{path}: not valid TOML: {error}") from None
    reader = _Reader(path, text)
    reader.check_keys("", document, TOP_KEYS)
    scenario = Scenario(path=path)
    target = document.get("target")
    if target is not None and not isinstance(target, str):
        raise reader.fail("", "target", f"expected a URL string; got {_shown(target)}")
    scenario.target = target
    _read_load(reader, document.get("load", {}), scenario)
    scenario.requests = tuple(
        _read_request(reader, entry, index, path.parent) for index, entry in enumerate(_list(reader, document))
    )
    messages = document.get("messages", [])
    if not isinstance(messages, list) or not all(isinstance(entry, dict) for entry in messages):
        raise reader.fail("", "messages", "expected [[messages]] tables")
    if messages and scenario.requests:
        raise reader.fail("", "messages", "give [[requests]] (HTTP) or [[messages]] (WebSocket), not both")
    if messages:
        scenario.requests = tuple(
            _read_message(reader, entry, index, path.parent) for index, entry in enumerate(messages)
        )
    table = "messages" if messages else "requests"
    names = [spec.label for spec in scenario.requests]
    for index, name in enumerate(names):
        if name in names[:index]:
            raise reader.fail(table, "name", f"{name!r} names an earlier one too; give each its own", index)
    thresholds = document.get("thresholds", [])
    if not isinstance(thresholds, list) or not all(isinstance(item, str) for item in thresholds):
        raise reader.fail("", "thresholds", 'expected a list of strings such as ["p99<50ms"]')
    for item in thresholds:
        try:
            parse_threshold(item)
        except ValueError as error:
            raise reader.fail("", "thresholds", str(error)) from None
    scenario.thresholds = tuple(thresholds)
    return scenario


def _list(reader: _Reader, document: dict[str, Any]) -> list[dict[str, Any]]:
    requests = document.get("requests", [])
    if not isinstance(requests, list) or not all(isinstance(entry, dict) for entry in requests):
        raise reader.fail("", "requests", "expected [[requests]] tables")
    return requests


def _read_load(reader: _Reader, load: Any, scenario: Scenario) -> None:
    if not isinstance(load, dict):
        raise reader.fail("", "load", "expected a [load] table")
    reader.check_keys("load", load, LOAD_KEYS)
    model = load.get("model")
    if model is not None and model not in ("open", "closed"):
        raise reader.fail("load", "model", f'expected "open" (a rate) or "closed" (VUs); got {_shown(model)}')
    scenario.model = model
    scenario.vus = reader.number("load", load, "vus", integer=True, low=1, high=10_000_000)
    rate = reader.number("load", load, "rate", high=limits.MAX_RATE, low_inclusive=False)
    scenario.rate = None if rate is None else float(rate)
    scenario.duration = reader.duration("load", load, "duration", high=limits.MAX_DURATION, positive=True)
    scenario.warmup = reader.duration("load", load, "warmup", high=limits.MAX_DURATION)
    scenario.timeout = reader.duration("load", load, "timeout", high=limits.MAX_WAIT, positive=True)
    scenario.drain = reader.duration("load", load, "drain", high=limits.MAX_WAIT)
    scenario.think = reader.duration("load", load, "think", high=limits.MAX_WAIT)
    scenario.connections = reader.number("load", load, "connections", integer=True, high=10_000_000)
    scenario.max_connections = reader.number("load", load, "max_connections", integer=True, low=1, high=10_000_000)
    workers = load.get("workers")
    if workers is not None and workers != "auto":
        workers = reader.number("load", load, "workers", integer=True, low=1, high=limits.MAX_WORKERS)
    scenario.workers = workers
    stages = load.get("stages", [])
    if not isinstance(stages, list):
        raise reader.fail("load", "stages", "expected [[load.stages]] tables")
    read = []
    for index, stage in enumerate(stages):
        if not isinstance(stage, dict):
            raise reader.fail(
                "load", "stages", f"expected [[load.stages]] tables (duration, target); got {_shown(stage)}"
            )
        reader.check_keys("load.stages", stage, STAGE_KEYS, index)
        duration = reader.duration("load.stages", stage, "duration", high=limits.MAX_DURATION, positive=True,
                                   occurrence=index)  # fmt: skip
        target = reader.number("load.stages", stage, "target", high=limits.MAX_RATE, occurrence=index)
        if duration is None or target is None:
            missing = "duration" if duration is None else "target"
            raise reader.fail("load.stages", missing, "every stage needs a duration and a target", index)
        read.append(Stage(duration=duration, target=float(target)))
    if sum(stage.duration for stage in read) > limits.MAX_DURATION:
        raise reader.fail(
            "load", "stages", f"the stages last longer than {limits.MAX_DURATION / 86400:g} days together"
        )
    scenario.stages = tuple(read)
    http = load.get("http")
    if http is not None and http not in ("1.1", "2"):
        raise reader.fail("load", "http", f'expected "1.1" or "2"; got {_shown(http)}')
    scenario.http = http
    scenario.streams = reader.number("load", load, "streams", integer=True, low=1, high=limits.MAX_STREAMS)
    subprotocols = load.get("subprotocols", [])
    if not isinstance(subprotocols, list) or not all(isinstance(item, str) and item for item in subprotocols):
        raise reader.fail("load", "subprotocols", 'expected a list of names such as ["chat"]')
    scenario.subprotocols = tuple(subprotocols)
    scenario.hold = reader.number("load", load, "hold", integer=True, high=limits.MAX_HELD)
    hold_target = load.get("hold_target")
    if hold_target is not None and not isinstance(hold_target, str):
        raise reader.fail("load", "hold_target", f"expected a URL string; got {_shown(hold_target)}")
    scenario.hold_target = hold_target


def _read_request(reader: _Reader, entry: dict[str, Any], index: int, base: Path) -> RequestSpec:
    table = "requests"
    reader.check_keys(table, entry, REQUEST_KEYS, index)
    method = entry.get("method", "GET")
    if not isinstance(method, str) or method.upper() not in METHODS:
        raise reader.fail(table, "method", f"expected one of {', '.join(sorted(METHODS))}; got {_shown(method)}", index)
    path = entry.get("path")
    if path is not None:
        if not isinstance(path, str):
            raise reader.fail(table, "path", f"expected a string; got {_shown(path)}", index)
        try:
            parse_path(path)
        except ValueError as error:
            raise reader.fail(table, "path", str(error), index) from None
    weight = reader.number(table, entry, "weight", high=limits.MAX_WEIGHT, low_inclusive=False, occurrence=index)
    headers_table = entry.get("headers", {})
    if not isinstance(headers_table, dict):
        raise reader.fail(table, "headers", 'expected a table of name = "value"', index)
    headers = []
    for name, value in headers_table.items():
        if not isinstance(value, str):
            raise reader.fail(table, "headers", f"the value of {name!r} must be a string; got {_shown(value)}", index)
        try:
            headers.append(parse_header(f"{name}: {value}"))
        except ValueError as error:
            raise reader.fail(table, "headers", str(error), index) from None
    body = _read_body(reader, entry, index, base, headers)
    name = entry.get("name")
    if name is not None and (not isinstance(name, str) or not name.strip()):
        raise reader.fail(table, "name", f"expected a non-empty string; got {_shown(name)}", index)
    stream = entry.get("stream", False)
    if not isinstance(stream, bool):
        raise reader.fail(table, "stream", f"expected true or false; got {_shown(stream)}", index)
    return RequestSpec(
        method=method.upper(),
        path=path,
        headers=tuple(headers),
        body=body,
        weight=float(weight if weight is not None else 1.0),
        name=name.strip() if name else f"{method.upper()} {path or '(target path)'}",
        expect=_read_expect(reader, entry.get("expect"), index),
        stream=stream,
    )


def _read_message(reader: _Reader, entry: dict[str, Any], index: int, base: Path) -> RequestSpec:
    """A ``[[messages]]`` entry: one kind of WebSocket message, echoed back by the server."""
    table = "messages"
    reader.check_keys(table, entry, MESSAGE_KEYS, index)
    kind = entry.get("kind", "text")
    if kind not in ("text", "binary"):
        raise reader.fail(table, "kind", f'expected "text" or "binary"; got {_shown(kind)}', index)
    size = reader.number(
        table, entry, "size", integer=True, low=MIN_MESSAGE_BYTES, high=MAX_MESSAGE_BYTES, occurrence=index
    )
    if size is not None and any(key in entry for key in ("body", "body_file", "json")):
        raise reader.fail(table, "size", "give size or a body (body, body_file, json), not both", index)
    body = _read_body(reader, entry, index, base, [], table=table) if size is None else b""
    payload = message_payload(int(size) if size is not None else None, body)
    weight = reader.number(table, entry, "weight", high=limits.MAX_WEIGHT, low_inclusive=False, occurrence=index)
    name = entry.get("name")
    if name is not None and (not isinstance(name, str) or not name.strip()):
        raise reader.fail(table, "name", f"expected a non-empty string; got {_shown(name)}", index)
    if kind == "text":
        try:
            payload.decode("utf-8")
        except UnicodeDecodeError:
            raise reader.fail(table, "kind", 'a text message must be UTF-8; use kind = "binary"', index) from None
    return RequestSpec(
        method="GET",
        body=payload,
        weight=float(weight if weight is not None else 1.0),
        name=name.strip() if name else f"{kind} {len(payload)} B",
        expect=Expectation(("101",)),
        message=kind,
    )


def message_payload(size: int | None, body: bytes, *, default_size: int = 64) -> bytes:
    """A message's payload: ``body`` after room for the id, or ``size`` bytes of filler (id included)."""
    if size is None and not body:
        size = default_size
    if size is not None:
        return b"-" * max(size, MIN_MESSAGE_BYTES)
    return b"-" * MIN_MESSAGE_BYTES + body


def _read_body(
    reader: _Reader,
    entry: dict[str, Any],
    index: int,
    base: Path,
    headers: list[tuple[str, str]],
    *,
    table: str = "requests",
) -> bytes:
    bodies = [key for key in ("body", "body_file", "json") if key in entry]
    if len(bodies) > 1:
        raise reader.fail(table, bodies[1], f"give only one of body, body_file and json (found {bodies})", index)
    if "body" in entry:
        if not isinstance(entry["body"], str):
            raise reader.fail(table, "body", "expected a string", index)
        return entry["body"].encode()
    if "body_file" in entry:
        if not isinstance(entry["body_file"], str):
            raise reader.fail(table, "body_file", "expected a file path string", index)
        file = base / entry["body_file"]
        try:
            return read_bytes_bounded(file, limit=BODY_FILE_LIMIT)
        except UsageError as error:
            raise reader.fail(table, "body_file", error.message, index) from None
    if "json" in entry:
        try:
            body = json.dumps(entry["json"], allow_nan=False).encode()
        except (TypeError, ValueError) as error:  # TOML dates and times, nan and inf have no JSON form
            raise reader.fail(table, "json", f"cannot be written as JSON ({error})", index) from None
        if not any(name.lower() == "content-type" for name, _ in headers):
            headers.append(("Content-Type", "application/json"))
        return body
    return b""


def _read_expect(reader: _Reader, expect: Any, index: int) -> Expectation:
    if expect is None:
        return Expectation()
    table = "requests.expect"
    if not isinstance(expect, dict):
        raise reader.fail("requests", "expect", "expected a table: status, body_contains, headers", index)
    reader.check_keys(table, expect, EXPECT_KEYS, index)
    status = expect.get("status")
    statuses: tuple[str, ...] = Expectation().status
    if status is not None:
        listed = status if isinstance(status, list) else [status]
        if not listed or not all(isinstance(item, int | str) and not isinstance(item, bool) for item in listed):
            raise reader.fail(table, "status", 'expected codes or classes, as in [200, 201] or ["2xx"]', index)
        statuses = tuple(str(item) for item in listed)
        for item in statuses:
            try:
                parse_status(item)
            except ValueError as error:
                raise reader.fail(table, "status", str(error), index) from None
    body = expect.get("body_contains")
    if body is not None and (not isinstance(body, str) or not body):
        raise reader.fail(table, "body_contains", "expected a non-empty string", index)
    headers = expect.get("headers", {})
    if not isinstance(headers, dict) or not all(isinstance(value, str) for value in headers.values()):
        raise reader.fail(table, "headers", 'expected a table of name = "text the value must contain"', index)
    for name in headers:
        try:
            parse_header(f"{name}: x")
        except ValueError as error:
            raise reader.fail(table, "headers", str(error), index) from None
    return Expectation(statuses, body, tuple((name.lower(), text) for name, text in headers.items()))


def pyproject_target(directory: Path) -> tuple[str, str] | None:
    """``target`` from ``[tool.asgibench]`` in ``directory``'s pyproject.toml, with where it came from."""
    path = directory / "pyproject.toml"
    if not path.is_file():
        return None
    text = read_text_bounded(path, limit=SCENARIO_FILE_LIMIT)
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise UsageError(f"{path}: cannot read it for [tool.asgibench]: {error}") from None
    settings = document.get("tool", {}).get("asgibench")
    if not isinstance(settings, dict) or "target" not in settings:
        return None
    target = settings["target"]
    if not isinstance(target, str):
        line = _Locator(text).line_of("tool.asgibench", "target")
        raise UsageError(f"{path}:{line}: tool.asgibench.target: expected a URL string; got {_shown(target)}")
    return target, f"{path} [tool.asgibench]"
