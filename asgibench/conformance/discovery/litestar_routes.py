"""Litestar: ``app.routes`` is already flat (routers and controllers merged, prefixes applied)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from asgibench.conformance.discovery.model import Candidate, http_methods, is_framework_own, sample_for_type

_PLACEHOLDER = re.compile(r"\{([^}:]+)(?::[^}]*)?\}")


def litestar_candidates(app: Any, prefix: str) -> Iterator[Candidate]:
    for route in getattr(app, "routes", ()):
        kind = type(route).__name__
        template = prefix + str(route.path)
        if kind == "WebSocketRoute":
            methods = frozenset({"WS"})
            own = False
        elif kind == "HTTPRoute":
            handlers = {str(method).upper(): _handler(entry) for method, entry in route.route_handler_map.items()}
            user = {method for method, handler in handlers.items() if not _is_own(handler)}
            own = not user
            methods = http_methods(user or handlers)
        else:  # ASGIRoute: a mounted or plain ASGI handler, whose methods are not declared
            yield Candidate(template, frozenset(), None, f"a {kind} declares no methods")
            continue
        path, reason = _fill(route)
        yield Candidate(template, methods, None if path is None else prefix + path, reason, own)


def _handler(entry: Any) -> Any:
    """Litestar 2.0-2.x keep (handler, kwargs model) pairs in the map; later versions keep the handler."""
    return entry[0] if isinstance(entry, tuple) else entry


def _is_own(handler: Any) -> bool:
    function = getattr(handler, "fn", None)
    function = getattr(function, "value", function)  # early 2.x wrap it in a Ref
    return is_framework_own(function, "litestar")


def _fill(route: Any) -> tuple[str | None, str]:
    parameters = route.path_parameters
    definitions = parameters.values() if isinstance(parameters, dict) else parameters
    values: dict[str, str] = {}
    for definition in definitions:
        name = _get(definition, "name")
        sample = sample_for_type(_get(definition, "type"))
        if sample is None:
            return None, f"no sample value for {{{_get(definition, 'full')}}}"
        values[name] = sample
    path_format = str(getattr(route, "path_format", route.path))
    return _PLACEHOLDER.sub(lambda match: values.get(match.group(1), match.group(0)), path_format), ""


def _get(definition: Any, key: str) -> Any:
    return definition[key] if isinstance(definition, dict) else getattr(definition, key)
