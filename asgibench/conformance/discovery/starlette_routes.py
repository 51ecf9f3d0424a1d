"""Starlette and FastAPI: routes, WebSocket routes, Mounts (with prefixes) and FastAPI's included routers."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from typing import Any

from asgibench.conformance.discovery.model import SAMPLES, Candidate, http_methods, is_framework_own, sample_for_type

_CONVERTOR_KINDS = {
    "StringConvertor": "str",
    "PathConvertor": "path",
    "IntegerConvertor": "int",
    "FloatConvertor": "float",
    "UUIDConvertor": "uuid",
}
_OWN_PACKAGES = ("starlette", "fastapi")
_MAX_DEPTH = 8  # mounts within mounts

Nested = Callable[[Any, str], Iterator[Candidate]]


def starlette_candidates(app: Any, prefix: str, nested: Nested, depth: int = 0) -> Iterator[Candidate]:
    """Every route of a Starlette app, FastAPI app or Router, with ``prefix`` in front."""
    for route in getattr(app, "routes", ()):
        yield from _route_candidates(route, prefix, nested, depth)


def _route_candidates(route: Any, prefix: str, nested: Nested, depth: int) -> Iterator[Candidate]:
    kind = type(route).__name__
    if hasattr(route, "original_router") and hasattr(route, "include_context"):
        # FastAPI (0.12x and later) keeps an included router whole; its prefix comes at include time.
        inner_prefix = prefix + str(getattr(route.include_context, "prefix", "") or "")
        yield from starlette_candidates(route.original_router, inner_prefix, nested, depth)
        return
    path_format = getattr(route, "path_format", None)
    if path_format is None:
        yield Candidate(f"{kind} {route!r}", frozenset(), None, f"a {kind} has no path to drive")
        return
    template = prefix + str(getattr(route, "path", path_format))
    segment, reason = _fill(route)
    if kind == "Mount" or hasattr(route, "routes") and not hasattr(route, "endpoint"):
        yield from _mount_candidates(route, prefix, template, segment, reason, nested, depth)
        return
    endpoint = getattr(route, "endpoint", None)
    own = is_framework_own(endpoint, *_OWN_PACKAGES)
    if "WebSocket" in kind:
        methods = frozenset({"WS"})
    else:
        methods = http_methods(route.methods if route.methods is not None else _endpoint_methods(endpoint))
    if segment is None:
        yield Candidate(template, methods, None, reason, own)
    else:
        yield Candidate(template, methods, prefix + segment, framework_own=own)


def _mount_candidates(
    route: Any, prefix: str, template: str, segment: str | None, reason: str, nested: Nested, depth: int
) -> Iterator[Candidate]:
    if segment is None:
        yield Candidate(f"{template}/...", frozenset(), None, f"mount prefix: {reason}")
        return
    if depth >= _MAX_DEPTH:
        yield Candidate(f"{template}/...", frozenset(), None, f"mounts nested deeper than {_MAX_DEPTH}")
        return
    inner_prefix = prefix + segment
    inner_routes = getattr(route, "routes", None)
    if inner_routes:
        for inner in inner_routes:
            yield from _route_candidates(inner, inner_prefix, nested, depth + 1)
    else:  # another framework's app, or a plain ASGI app (StaticFiles...)
        yield from nested(getattr(route, "app", None), inner_prefix)


def _fill(route: Any) -> tuple[str | None, str]:
    """The route's own path with its parameters filled, checked against the route's regex."""
    values: dict[str, str] = {}
    annotations = _fastapi_path_types(route)
    for name, convertor in getattr(route, "param_convertors", {}).items():
        kind = _CONVERTOR_KINDS.get(type(convertor).__name__)
        if kind is None:
            return None, f"custom convertor {type(convertor).__name__} for {{{name}}}"
        sample = SAMPLES[kind]
        if kind == "str" and name in annotations:  # FastAPI: the type comes from the annotation
            typed = sample_for_type(annotations[name])
            if typed is None:
                return None, f"no sample value for {{{name}}} of type {annotations[name]!r}"
            sample = typed
        values[name] = sample
    path_format = str(route.path_format)
    mount = type(route).__name__ == "Mount"
    if mount:  # a Mount's format ends with its catch-all "/{path}": only the prefix is ours to fill
        path_format = path_format.removesuffix("/{path}").removesuffix("{path}")
    try:
        filled = path_format.format(**values)
    except (KeyError, IndexError, ValueError):
        return None, "the path template could not be filled"
    regex = getattr(route, "path_regex", None)
    if regex is not None and not mount and not regex.match(filled):
        return None, "the sample values do not match the route"
    return filled, ""


def _fastapi_path_types(route: Any) -> dict[str, Any]:
    dependant = getattr(route, "dependant", None)
    types: dict[str, Any] = {}
    for field in getattr(dependant, "path_params", ()):
        info = getattr(field, "field_info", None)
        annotation = getattr(info, "annotation", None) or getattr(field, "type_", None)
        if annotation is not None:
            types[str(getattr(field, "alias", None) or field.name)] = annotation
    return types


def _endpoint_methods(endpoint: Any) -> list[str]:
    """An HTTPEndpoint class answers the methods it defines; a function answers GET."""
    if inspect.isclass(endpoint):
        return [name.upper() for name in ("get", "post", "put", "patch", "delete") if hasattr(endpoint, name)]
    return ["GET"]
