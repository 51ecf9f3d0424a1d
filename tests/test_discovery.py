"""Route discovery reads each framework's route table: methods, filled paths, WebSockets, mounts."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from asgibench.conformance.discovery import Discovery, discover_routes, summary_lines
from tests.apps.frameworks.corpus import FRAMEWORKS
from tests.test_framework_corpus import framework_settings, load_corpus_module

UUID = "123e4567-e89b-42d3-a456-426614174000"
REPOSITORY = Path(__file__).resolve().parent.parent
urlpatterns: list[Any] = []  # this module is a Django URLconf in the regex test

# The routes each corpus app declares, as the suite names them ("ws /ws").
EXPECTED: dict[str, set[str]] = {
    "Starlette": {
        "GET /",
        "GET /items/1",
        "GET /stream",
        "POST /echo",
        "ws /ws",
        f"GET /api/users/{UUID}",  # a Starlette app mounted at /api, uuid convertor
        "GET /docs/a/b",  # a Mount of routes, path convertor
    },
    "FastAPI": {
        "GET /",
        "GET /items/1",  # typed int in the signature, str in the path
        "GET /stream",
        "POST /echo",
        "ws /ws",
        f"GET /users/{UUID}",  # an included router with a prefix
        f"PUT /users/{UUID}/colour/red",  # an Enum parameter gets its first value
        "GET /admin/stats",  # a FastAPI app mounted at /admin
    },
    "Django": {
        "GET /",
        "GET /items/1",
        "GET /stream",
        "POST /echo",  # a class-based view that defines only post()
        f"GET /api/users/{UUID}",  # an include() with a prefix
        "GET /api/articles/sample",
        "GET /docs/a/b",
        "GET /about/",  # re_path without groups
        "GET /archive/2024/",  # re_path with a group: the sample that resolves
    },
    "Litestar": {
        "GET /",
        "GET /items/1",
        "GET /stream",
        "POST /echo",
        "ws /ws",
        f"GET /users/{UUID}",  # a Router with a path
        f"PUT /users/{UUID}/name/sample",
        "GET /docs/a/b",
    },
    "Quart": {
        "GET /",
        "GET /items/1",
        "GET /stream",
        "POST /echo",
        "ws /ws",
        f"GET /users/{UUID}",  # a blueprint with a url_prefix
        "GET /users/sample/files/a/b",
    },
    "Falcon": {
        "GET /",
        "GET /items/1",
        "GET /stream",
        "POST /echo",
        "ws /ws",
        f"GET /users/{UUID}",
        f"DELETE /users/{UUID}",
    },
    "Sanic": {
        "GET /",
        "GET /items/1",
        "GET /stream",
        "POST /echo",
        "ws /ws",
        f"GET /users/{UUID}",
        f"GET /users/{UUID}/files/a/b",
    },
    "BlackSheep": {
        "GET /",
        "GET /items/1",
        "GET /stream",
        "POST /echo",
        "ws /ws",
        f"GET /users/{UUID}",
        f"DELETE /users/{UUID}",
    },
    "sse-starlette": {"GET /", "GET /events", "POST /echo", "ws /ws"},
}


def discover_corpus_app(name: str) -> Discovery:
    framework = next(f for f in FRAMEWORKS if f.name == name)
    module = load_corpus_module(framework)
    with framework_settings(framework):
        return discover_routes(module.app)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_discovery_finds_every_route_the_app_declares(name: str) -> None:
    discovery = discover_corpus_app(name)
    assert {str(route) for route in discovery.routes} == EXPECTED[name]
    assert discovery.skipped == ()
    assert discover_corpus_app(name).routes == discovery.routes  # the same order every time


def test_the_frameworks_own_routes_are_left_out_and_counted() -> None:
    fastapi = discover_corpus_app("FastAPI")  # /docs, /redoc, /openapi.json... of the app and its mounted app
    assert fastapi.framework == "FastAPI" and fastapi.framework_routes == 8
    assert not any("openapi" in route.path or "redoc" in route.path for route in fastapi.routes)
    litestar = discover_corpus_app("Litestar")  # the /schema pages and the OPTIONS answers
    assert litestar.framework_routes > 0 and not any(r.path.startswith("/schema") for r in litestar.routes)


def test_middleware_is_looked_through() -> None:
    pytest.importorskip("starlette")
    from starlette.middleware.gzip import GZipMiddleware

    from tests.apps.frameworks.starlette_app import app

    class Timing:  # a hand-written ASGI middleware
        def __init__(self, app: Any) -> None:
            self.app = app

        async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
            await self.app(scope, receive, send)

    assert discover_routes(Timing(GZipMiddleware(app))).routes == discover_routes(app).routes


def test_routes_that_cannot_be_filled_are_skipped_with_the_reason() -> None:
    pytest.importorskip("starlette")
    from starlette.applications import Starlette
    from starlette.convertors import Convertor, register_url_convertor
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    class HexConvertor(Convertor[int]):
        regex = "[0-9a-f]+"

        def convert(self, value: str) -> int:
            return int(value, 16)

        def to_string(self, value: int) -> str:
            return format(value, "x")

    register_url_convertor("asgibenchhex", HexConvertor())

    async def page(request: Any) -> PlainTextResponse:
        return PlainTextResponse("ok")

    app = Starlette(routes=[Route("/colours/{code:asgibenchhex}", page), Route("/plain", page)])
    discovery = discover_routes(app)
    assert [str(route) for route in discovery.routes] == ["GET /plain"]
    assert len(discovery.skipped) == 1
    assert discovery.skipped[0].route == "/colours/{code:asgibenchhex}"
    assert "HexConvertor" in discovery.skipped[0].reason
    assert "skipped /colours/{code:asgibenchhex}" in "\n".join(summary_lines(discovery))


def test_django_regex_routes_no_sample_fits_are_skipped() -> None:
    pytest.importorskip("django")
    from django.test import override_settings
    from django.urls import re_path

    load_corpus_module(next(f for f in FRAMEWORKS if f.name == "Django"))  # configures Django
    from django.core.asgi import get_asgi_application

    global urlpatterns
    urlpatterns = [re_path(r"^codes/(?P<code>[A-Z]{3})/$", _django_view), re_path(r"^ok/$", _django_view)]
    with override_settings(ROOT_URLCONF=__name__):
        discovery = discover_routes(get_asgi_application())
    assert [str(route) for route in discovery.routes] == ["GET /ok/"]
    assert [(s.route, s.reason) for s in discovery.skipped] == [
        ("/^codes/(?P<code>[A-Z]{3})/$", "no sample value resolves to this view")
    ]


def _django_view(request: Any) -> Any:
    from django.http import HttpResponse

    return HttpResponse("ok")


def test_the_count_is_bounded_and_the_rest_counted() -> None:
    pytest.importorskip("fastapi")
    from tests.apps.frameworks.fastapi_30 import app

    discovery = discover_routes(app, limit=10)
    assert len(discovery.routes) == 10 and discovery.beyond_limit == 20
    assert discovery.routes == discover_routes(app).routes[:10]
    assert "20 beyond the limit" in summary_lines(discovery)[0]


def test_an_app_of_no_known_framework_discovers_nothing() -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        raise RuntimeError("never called")

    discovery = discover_routes(app)
    assert discovery.framework is None and discovery.routes == ()
    assert "--path" in summary_lines(discovery)[0]


@contextlib.contextmanager
def json_report(tmp_path: Path, *options: str) -> Iterator[tuple[str, dict[str, Any]]]:
    out = tmp_path / f"report{len(options)}.json"
    result = subprocess.run(
        [sys.executable, "-m", "asgibench", "conform", "tests.apps.frameworks.fastapi_app:app", "--json", str(out)]
        + list(options),
        cwd=REPOSITORY,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    yield result.stdout, json.loads(out.read_text())


def test_the_command_drives_discovered_routes_and_says_so(tmp_path: Path) -> None:
    pytest.importorskip("fastapi")
    with json_report(tmp_path) as (output, discovered):
        assert "discovered 8 routes in the FastAPI app" in output
        scenarios = {scenario["name"] for scenario in discovered["scenarios"]}
        assert "GET /items/1" in scenarios and "GET /admin/stats" in scenarios
    with json_report(tmp_path, "--no-discover", "--path", "GET:/stream") as (output, plain):
        assert "discovered" not in output
        scenarios = {scenario["name"] for scenario in plain["scenarios"]}
        assert "GET /stream" in scenarios and "GET /items/1" not in scenarios
    assert discovered["summary"]["not_applicable"] < plain["summary"]["not_applicable"]
