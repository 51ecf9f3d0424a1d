"""Quart, Falcon, Sanic and BlackSheep: each keeps a flat route table with its own placeholder syntax."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

from asgibench.conformance.discovery.model import SAMPLES, Candidate, http_methods, is_framework_own

# <converter(args):name> (Quart/Werkzeug), <name:label> (Sanic), {name:converter(args)} (Falcon),
# {converter:name} (BlackSheep): each pattern names the groups "name" and "kind".
_WERKZEUG = re.compile(r"<(?:(?P<kind>\w+)(?:\([^)]*\))?:)?(?P<name>\w+)>")
_SANIC = re.compile(r"<(?P<name>\w+)(?::(?P<kind>[^>]+))?>")
_FALCON = re.compile(r"\{(?P<name>\w+)(?::(?P<kind>\w+)(?:\([^)]*\))?)?\}")
_BLACKSHEEP = re.compile(r"\{(?:(?P<kind>\w+):)?(?P<name>\w+)\}|:(?P<bare>\w+)|\*")

_WERKZEUG_KINDS = {None: "str", "default": "str", "string": "str", "int": "int", "float": "float"}
_WERKZEUG_KINDS |= {"uuid": "uuid", "path": "path"}
_SANIC_KINDS = {None: "str", "str": "str", "strorempty": "str", "slug": "slug", "alpha": "str", "int": "int"}
_SANIC_KINDS |= {"float": "float", "path": "path", "uuid": "uuid", "ymd": "date"}
_FALCON_KINDS = {None: "str", "int": "int", "float": "float", "uuid": "uuid", "path": "path", "dt": "datetime"}
_BLACKSHEEP_KINDS = {None: "str", "str": "str", "int": "int", "float": "float", "uuid": "uuid", "path": "path"}


def fill(template: str, pattern: re.Pattern[str], kinds: dict[str | None, str]) -> tuple[str | None, str]:
    """``template`` with every placeholder replaced by the sample of its kind."""
    unknown: list[str] = []

    def sample(match: re.Match[str]) -> str:
        groups = match.groupdict()
        if match.group(0) == "*":
            return SAMPLES["path"]
        kind = groups.get("kind")
        if kind not in kinds:
            unknown.append(f"{match.group(0)} (converter {kind!r})")
            return ""
        return SAMPLES[kinds[kind]]

    filled = pattern.sub(sample, template)
    if unknown:
        return None, f"no sample value for {', '.join(unknown)}"
    return filled, ""


def quart_candidates(app: Any, prefix: str) -> Iterator[Candidate]:
    for rule in app.url_map.iter_rules():
        view = app.view_functions.get(rule.endpoint)
        methods = frozenset({"WS"}) if getattr(rule, "websocket", False) else http_methods(rule.methods)
        path, reason = fill(rule.rule, _WERKZEUG, _WERKZEUG_KINDS)
        own = is_framework_own(view, "quart", "flask", "werkzeug")
        yield _candidate(prefix, rule.rule, methods, path, reason, own)


def falcon_candidates(app: Any, prefix: str) -> Iterator[Candidate]:
    from falcon.inspect import inspect_app  # the app is Falcon's: Falcon is imported already

    router = getattr(app, "_router", None)
    find: Callable[[str], Any] | None = getattr(router, "find", None)
    for route in inspect_app(app).routes:
        declared = {info.method for info in route.methods if not info.internal}
        methods = frozenset({"WS"}) if declared == {"WEBSOCKET"} else http_methods(declared)
        path, reason = fill(route.path, _FALCON, _FALCON_KINDS)
        if path is not None and find is not None and find(path) is None:
            path, reason = None, "the sample values do not match the route"
        yield _candidate(prefix, route.path, methods, path, reason, own=False)
        if "WEBSOCKET" in declared and declared != {"WEBSOCKET"}:
            yield _candidate(prefix, route.path, frozenset({"WS"}), path, reason, own=False)


def sanic_candidates(app: Any, prefix: str) -> Iterator[Candidate]:
    for route in app.router.routes:
        template = "/" + str(route.path).lstrip("/")
        websocket = bool(getattr(route.extra, "websocket", False))
        methods = frozenset({"WS"}) if websocket else http_methods(route.methods)
        path, reason = fill(template, _SANIC, _SANIC_KINDS)
        own = is_framework_own(_sanic_handler(route.handler), "sanic")
        yield _candidate(prefix, template, methods, path, reason, own)


def _sanic_handler(handler: Any) -> Any:
    """Sanic wraps a WebSocket handler as partial(app._websocket_handler, handler): look at the user's."""
    arguments = getattr(handler, "args", ())
    if arguments and callable(arguments[0]):
        return arguments[0]
    return handler


def blacksheep_candidates(app: Any, prefix: str) -> Iterator[Candidate]:
    """Before the app starts its routes wait in ``registered_routes``; after, they sit in ``routes``."""
    router = app.router
    pairs: list[tuple[str, Any]] = list(router.iter_with_methods()) + list(getattr(router, "registered_routes", ()))
    by_pattern: dict[str, set[str]] = {}
    own: dict[str, bool] = {}
    for method, route in pairs:
        pattern = route.pattern.decode() if isinstance(route.pattern, bytes) else str(route.pattern)
        by_pattern.setdefault(pattern, set()).add("WS" if method == "GET_WS" else method.upper())
        own[pattern] = is_framework_own(route.handler, "blacksheep")
    for pattern, declared in by_pattern.items():
        path, reason = fill(pattern, _BLACKSHEEP, _BLACKSHEEP_KINDS)
        if "WS" in declared:
            yield _candidate(prefix, pattern, frozenset({"WS"}), path, reason, own[pattern])
        methods = http_methods(declared)
        if methods:
            yield _candidate(prefix, pattern, methods, path, reason, own[pattern])


def _candidate(
    prefix: str, template: str, methods: frozenset[str], path: str | None, reason: str, own: bool
) -> Candidate:
    return Candidate(prefix + template, methods, None if path is None else prefix + path, reason, own)
