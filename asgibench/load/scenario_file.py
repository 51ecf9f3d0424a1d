"""Scenario files (TOML): target, load model, stages, weighted requests, thresholds.

Every value is checked here; a wrong key or value is a UsageError naming the
file, the line and the key, so a typo never silently becomes a default.
Relative ``body_file`` paths are resolved against the scenario's directory.
"""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from asgibench.errors import UsageError
from asgibench.load.config import RequestSpec, Stage
from asgibench.load.parsing import parse_duration, parse_header, parse_path
from asgibench.load.thresholds import parse_threshold

TOP_KEYS = {"target", "load", "requests", "thresholds", "name", "description"}
LOAD_KEYS = {
    "model",
    "vus",
    "rate",
    "duration",
    "warmup",
    "timeout",
    "think",
    "connections",
    "max_connections",
    "workers",
    "stages",
}
STAGE_KEYS = {"duration", "target"}
REQUEST_KEYS = {"name", "method", "path", "weight", "headers", "body", "body_file", "json"}
# HEAD is left out: its answer has headers announcing a body that never comes, which the parser would wait for.
METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}


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
    think: float | None = None
    connections: int | None = None
    max_connections: int | None = None
    workers: int | str | None = None
    stages: tuple[Stage, ...] = ()
    requests: tuple[RequestSpec, ...] = ()
    thresholds: tuple[str, ...] = ()


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
        line = self.locator.line_of(table, key, occurrence)
        where = f"{self.path}:{line}" if line else str(self.path)
        name = f"{table}.{key}" if table else key
        if table in ("requests", "load.stages"):
            name = f"{table}[{occurrence}].{key}"
        return UsageError(f"{where}: {name}: {message}")

    def check_keys(self, table: str, values: dict[str, Any], allowed: set[str], occurrence: int = 0) -> None:
        for key in values:
            if key not in allowed:
                raise self.fail(table, key, f"unknown key (known: {', '.join(sorted(allowed))})", occurrence)

    def number(
        self, table: str, values: dict[str, Any], key: str, *, integer: bool = False, occurrence: int = 0
    ) -> Any:
        value = values.get(key)
        if value is None:
            return None
        wanted = int if integer else (int, float)
        if isinstance(value, bool) or not isinstance(value, wanted) or value < 0:
            kind = "a whole number" if integer else "a number"
            raise self.fail(table, key, f"expected {kind}, zero or more; got {value!r}", occurrence)
        return value

    def duration(self, table: str, values: dict[str, Any], key: str, occurrence: int = 0) -> float | None:
        value = values.get(key)
        if value is None:
            return None
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        if not isinstance(value, str):
            raise self.fail(table, key, f'expected a duration such as "30s"; got {value!r}', occurrence)
        try:
            return parse_duration(value)
        except ValueError as error:
            raise self.fail(table, key, str(error), occurrence) from None


def load_scenario(path: Path) -> Scenario:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise UsageError(f"--scenario {str(path)!r}: cannot read it ({error.strerror or error}).") from None
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise UsageError(f"{path}: not valid TOML: {error}") from None
    reader = _Reader(path, text)
    reader.check_keys("", document, TOP_KEYS)
    scenario = Scenario(path=path)
    target = document.get("target")
    if target is not None and not isinstance(target, str):
        raise reader.fail("", "target", f"expected a URL string; got {target!r}")
    scenario.target = target
    _read_load(reader, document.get("load", {}), scenario)
    scenario.requests = tuple(
        _read_request(reader, entry, index, path.parent) for index, entry in enumerate(_list(reader, document))
    )
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
        raise reader.fail("load", "model", f'expected "open" (a rate) or "closed" (VUs); got {model!r}')
    scenario.model = model
    scenario.vus = reader.number("load", load, "vus", integer=True)
    rate = reader.number("load", load, "rate")
    scenario.rate = None if rate is None else float(rate)
    scenario.duration = reader.duration("load", load, "duration")
    scenario.warmup = reader.duration("load", load, "warmup")
    scenario.timeout = reader.duration("load", load, "timeout")
    scenario.think = reader.duration("load", load, "think")
    scenario.connections = reader.number("load", load, "connections", integer=True)
    scenario.max_connections = reader.number("load", load, "max_connections", integer=True)
    workers = load.get("workers")
    if workers is not None and workers != "auto":
        workers = reader.number("load", load, "workers", integer=True)
        if workers < 1:
            raise reader.fail("load", "workers", 'expected 1 or more, or "auto"')
    scenario.workers = workers
    stages = load.get("stages", [])
    if not isinstance(stages, list):
        raise reader.fail("load", "stages", "expected [[load.stages]] tables")
    read = []
    for index, stage in enumerate(stages):
        reader.check_keys("load.stages", stage, STAGE_KEYS, index)
        duration = reader.duration("load.stages", stage, "duration", index)
        target = reader.number("load.stages", stage, "target", occurrence=index)
        if duration is None or target is None:
            missing = "duration" if duration is None else "target"
            raise reader.fail("load.stages", missing, "every stage needs a duration and a target", index)
        read.append(Stage(duration=duration, target=float(target)))
    scenario.stages = tuple(read)


def _read_request(reader: _Reader, entry: dict[str, Any], index: int, base: Path) -> RequestSpec:
    table = "requests"
    reader.check_keys(table, entry, REQUEST_KEYS, index)
    method = entry.get("method", "GET")
    if not isinstance(method, str) or method.upper() not in METHODS:
        raise reader.fail(table, "method", f"expected one of {', '.join(sorted(METHODS))}; got {method!r}", index)
    path = entry.get("path")
    if path is not None:
        if not isinstance(path, str):
            raise reader.fail(table, "path", f"expected a string; got {path!r}", index)
        try:
            parse_path(path)
        except ValueError as error:
            raise reader.fail(table, "path", str(error), index) from None
    weight = reader.number(table, entry, "weight", occurrence=index)
    if weight == 0:
        raise reader.fail(table, "weight", "expected more than 0", index)
    headers_table = entry.get("headers", {})
    if not isinstance(headers_table, dict):
        raise reader.fail(table, "headers", 'expected a table of name = "value"', index)
    headers = []
    for name, value in headers_table.items():
        try:
            headers.append(parse_header(f"{name}: {value}"))
        except ValueError as error:
            raise reader.fail(table, "headers", str(error), index) from None
    bodies = [key for key in ("body", "body_file", "json") if key in entry]
    if len(bodies) > 1:
        raise reader.fail(table, bodies[1], f"give only one of body, body_file and json (found {bodies})", index)
    body = b""
    if "body" in entry:
        if not isinstance(entry["body"], str):
            raise reader.fail(table, "body", "expected a string", index)
        body = entry["body"].encode()
    elif "body_file" in entry:
        file = base / str(entry["body_file"])
        try:
            body = file.read_bytes()
        except OSError as error:
            raise reader.fail(
                table, "body_file", f"cannot read {str(file)!r} ({error.strerror or error})", index
            ) from None
    elif "json" in entry:
        body = json.dumps(entry["json"]).encode()
        if not any(name.lower() == "content-type" for name, _ in headers):
            headers.append(("Content-Type", "application/json"))
    name = entry.get("name", f"{method.upper()} {path or '(target path)'}")
    return RequestSpec(
        method=method.upper(),
        path=path,
        headers=tuple(headers),
        body=body,
        weight=float(weight if weight is not None else 1.0),
        name=str(name),
    )


def pyproject_target(directory: Path) -> tuple[str, str] | None:
    """``target`` from ``[tool.asgibench]`` in ``directory``'s pyproject.toml, with where it came from."""
    path = directory / "pyproject.toml"
    if not path.is_file():
        return None
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise UsageError(f"{path}: cannot read it for [tool.asgibench]: {error}") from None
    settings = document.get("tool", {}).get("asgibench")
    if not isinstance(settings, dict) or "target" not in settings:
        return None
    target = settings["target"]
    if not isinstance(target, str):
        line = _Locator(path.read_text(encoding="utf-8")).line_of("tool.asgibench", "target")
        raise UsageError(f"{path}:{line}: tool.asgibench.target: expected a URL string; got {target!r}")
    return target, f"{path} [tool.asgibench]"
