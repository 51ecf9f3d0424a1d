"""Find an app's routes from the app object itself, so ``conform`` drives them without ``--path``.

Each supported framework keeps a route table; a reader per framework turns
it into candidates (methods, the path with its parameters filled with sample
values that their converters or types accept). Middleware is looked through
(``.app``), Mounts and included routers add their prefixes. Routes whose
parameters cannot be filled are skipped with the reason; the framework's own
routes (OpenAPI pages, static files, OPTIONS answers) are left out. The
result is bounded and in the framework's declaration order, so two runs on
the same app drive the same routes.

Frameworks are recognised by class name, never imported here: an app of a
framework means the framework is loaded already.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from asgibench.conformance.discovery.django_routes import django_candidates
from asgibench.conformance.discovery.litestar_routes import litestar_candidates
from asgibench.conformance.discovery.model import Candidate
from asgibench.conformance.discovery.other_routes import (
    blacksheep_candidates,
    falcon_candidates,
    quart_candidates,
    sanic_candidates,
)
from asgibench.conformance.discovery.starlette_routes import starlette_candidates
from asgibench.conformance.scenarios import RouteSpec

__all__ = ["MAX_ROUTES", "Discovery", "Skipped", "discover_routes"]

MAX_ROUTES = 50
_MAX_WRAPPERS = 16  # middleware layers looked through
_METHOD_ORDER = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "WS")
_PATH_SAFE = "/-._~!$&'()*+,;=:@%"


@dataclass(frozen=True, slots=True)
class Skipped:
    route: str  # as the framework writes it
    reason: str


@dataclass(frozen=True, slots=True)
class Discovery:
    framework: str | None  # None: no route table found
    routes: tuple[RouteSpec, ...]
    skipped: tuple[Skipped, ...] = ()
    framework_routes: int = 0  # the framework's own routes, left out
    beyond_limit: int = 0  # routes found past MAX_ROUTES, left out


Reader = Callable[[Any, str], Iterator[Candidate]]


def discover_routes(app: Any, *, limit: int = MAX_ROUTES) -> Discovery:
    """The routes of ``app``, or an empty Discovery when no known framework is found under it."""
    found = _reader(app)
    if found is None:
        return Discovery(None, ())
    framework, target, reader = found
    routes: list[RouteSpec] = []
    skipped: list[Skipped] = []
    own = beyond = 0
    for candidate in reader(target, ""):
        if candidate.framework_own:
            own += 1
            continue
        if candidate.path is None:
            skipped.append(Skipped(candidate.template, candidate.reason))
            continue
        for method in sorted(candidate.methods, key=_METHOD_ORDER.index):
            route = RouteSpec(method, quote(candidate.path, safe=_PATH_SAFE))
            if route in routes:
                continue
            if len(routes) >= limit:
                beyond += 1
                continue
            routes.append(route)
    return Discovery(framework, tuple(routes), tuple(skipped), own, beyond)


def _reader(app: Any) -> tuple[str, Any, Reader] | None:
    """The framework under ``app`` (looking through middleware), the object to read, and its reader."""
    for _ in range(_MAX_WRAPPERS):
        names = _class_names(app)
        if "fastapi.applications.FastAPI" in names:
            return "FastAPI", app, _starlette
        if names & {"starlette.applications.Starlette", "starlette.routing.Router"}:
            return "Starlette", app, _starlette
        if "litestar.app.Litestar" in names:
            return "Litestar", app, litestar_candidates
        if "django.core.handlers.asgi.ASGIHandler" in names:
            return "Django", app, lambda _app, prefix: django_candidates(prefix)
        if "quart.app.Quart" in names:
            return "Quart", app, quart_candidates
        if "falcon.asgi.app.App" in names:
            return "Falcon", app, falcon_candidates
        if "sanic.app.Sanic" in names:
            return "Sanic", app, sanic_candidates
        if "blacksheep.server.application.Application" in names:
            return "BlackSheep", app, blacksheep_candidates
        inner = getattr(app, "app", None)  # the usual attribute of an ASGI middleware
        if inner is None or inner is app:
            return None
        app = inner
    return None


def _starlette(app: Any, prefix: str) -> Iterator[Candidate]:
    return starlette_candidates(app, prefix, _nested)


def _nested(app: Any, prefix: str) -> Iterator[Candidate]:
    """A mounted app: read it with its own framework's reader, or skip it."""
    found = _reader(app) if app is not None else None
    if found is None:
        kind = type(app).__name__
        yield Candidate(f"{prefix}/...", frozenset(), None, f"a mounted {kind} has no route table to read")
        return
    _, target, reader = found
    yield from reader(target, prefix)


def _class_names(app: Any) -> set[str]:
    return {f"{cls.__module__}.{cls.__qualname__}" for cls in type(app).__mro__}


def summary_lines(discovery: Discovery) -> list[str]:
    """What the command says about discovery, before its report."""
    if discovery.framework is None:
        return [
            "route discovery: no Starlette, FastAPI, Litestar, Django, Quart, Falcon, Sanic or BlackSheep "
            "route table under the app; name routes with --path"
        ]
    notes = []
    if discovery.framework_routes:
        notes.append(f"{discovery.framework_routes} of the framework's own left out")
    if discovery.beyond_limit:
        notes.append(f"{discovery.beyond_limit} beyond the limit of {MAX_ROUTES} left out (name them with --path)")
    if discovery.skipped:
        notes.append(f"{len(discovery.skipped)} skipped")
    count = len(discovery.routes)
    lines = [
        f"discovered {count} route{'' if count == 1 else 's'} in the {discovery.framework} app"
        + (f" ({'; '.join(notes)})" if notes else "")
        + "; --no-discover turns this off"
    ]
    lines.extend(f"  skipped {skipped.route}: {skipped.reason}" for skipped in discovery.skipped)
    return lines
