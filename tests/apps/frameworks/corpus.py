"""The corpus as data: each framework's app module and the findings its framework really earns.

``Known`` entries are the only fail/warn findings a corpus app may raise:
either a real deviation of the framework (the finding says how), or a false
alarm of asgibench that is known and described in docs/frameworks.md.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Known:
    check_id: str
    verdict: str  # "fail" or "warn"
    fragment: str  # part of the finding's observed text
    why: str
    false_alarm: bool = False


@dataclass(frozen=True)
class Framework:
    name: str
    module: str  # tests.apps.frameworks.<module>, attribute ``app``
    imports: str  # the package that must be importable
    distribution: str  # the name its version is published under
    websocket: bool = True
    lifespan: bool = True
    known: tuple[Known, ...] = ()

    @property
    def target(self) -> str:
        return f"tests.apps.frameworks.{self.module}:app"


# Findings allowed on every framework: none. (DC-08 once fired on seven of them for a 500 page after
# ClientDisconnect or a stream's next chunk; it now counts only an app that keeps sending.)
SUITE_WIDE: tuple[Known, ...] = ()

FRAMEWORKS: tuple[Framework, ...] = (
    Framework("Starlette", "starlette_app", "starlette", "starlette"),
    Framework(
        "FastAPI",
        "fastapi_app",
        "fastapi",
        "fastapi",
        known=(
            Known(
                "HR-14",
                "warn",
                "HEAD answered 405, GET 200",
                "@app.get registers GET alone: a HEAD to the route gets 405 (Starlette's own Route adds HEAD)",
            ),
        ),
    ),
    Framework(
        "Django",
        "django_app",
        "django",
        "django",
        websocket=False,
        lifespan=False,
        known=(
            Known(
                "HR-02",
                "warn",
                "is not lower-case",
                "ASGIHandler sends header names as the response spells them (b'Content-Type')",
            ),
        ),
    ),
    Framework(
        "Litestar",
        "litestar_app",
        "litestar",
        "litestar",
        known=(
            Known(
                "HR-14",
                "warn",
                "HEAD answered 405, GET 200",
                "@get handlers serve GET alone; HEAD needs its own @head handler, so a HEAD gets 405",
            ),
        ),
    ),
    Framework(
        "Quart",
        "quart_app",
        "quart",
        "quart",
        known=(
            Known(
                "SC-18",
                "warn",
                "KeyError: 'scheme'",
                "Quart reads scope['scheme'], which the spec makes optional (default 'http')",
            ),
        ),
    ),
    Framework(
        "Falcon",
        "falcon_app",
        "falcon",
        "falcon",
        known=(
            Known(
                "HR-14",
                "warn",
                "HEAD answered 405, GET 200",
                "a resource with on_get alone answers HEAD with 405; HEAD needs its own on_head responder",
            ),
            Known(
                "ER-06",
                "warn",
                "body is a str and did not raise",
                "Falcon passes a str request body through unchecked instead of raising",
            ),
            Known(
                "DC-09",
                "warn",
                "whose body was cut short by the disconnect",
                "req.stream.read() ends at the disconnect as if the body were complete",
            ),
        ),
    ),
    Framework(
        "BlackSheep",
        "blacksheep_app",
        "blacksheep",
        "blacksheep",
        known=(
            Known(
                "HR-12",
                "fail",
                "a 204 response carries a Content-Length header",
                "Response(204) goes out with content-length: 0, which RFC 9110 §8.6 forbids (uvicorn forwards it)",
            ),
            Known(
                "HR-14",
                "warn",
                "HEAD answered 404, GET 200",
                "the router matches routes by method, and @router.get does not cover HEAD: a HEAD finds no route",
            ),
        ),
    ),
    Framework(
        "Sanic",
        "sanic_app",
        "sanic",
        "sanic",
        known=(
            Known(
                "SC-19",
                "fail",
                "'http.response.start' is not a message type of the websocket scope",
                "a WebSocket to a path with no WebSocket route gets an HTTP error response in the websocket "
                "scope (uvicorn rejects it the same way)",
            ),
            Known("SC-18", "warn", "KeyError: 'raw_path'", "Sanic reads scope['raw_path'], which is optional"),
            Known("HR-02", "warn", "b'Allow' is not lower-case", "Sanic's 405 responses carry b'Allow'"),
            Known(
                "HR-14",
                "warn",
                "HEAD answered 405, GET 200",
                "@app.get routes serve GET alone without sanic-ext's automatic HEAD: a HEAD gets 405",
            ),
            Known(
                "LS-11",
                "warn",
                "Loop can only be retrieved after the app has started",
                "Sanic cannot serve a request before lifespan startup ran",
            ),
            Known(
                "DC-09",
                "warn",
                "whose body was cut short by the disconnect",
                "request.body holds what arrived before the client left, and the handler runs on it",
            ),
        ),
    ),
    Framework("sse-starlette", "sse_app", "sse_starlette", "sse-starlette"),
)
