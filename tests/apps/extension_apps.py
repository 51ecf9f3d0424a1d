"""Correct apps that use the optional parts of the spec: extensions, denial, close."""

from __future__ import annotations

import asyncio
import os
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

from tests.broken_apps import Receive, Send, correct_lifespan, read_body

THIS_FILE = os.path.abspath(__file__)


async def raw_extensions(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    """Uses trailers, early hints, pathsend and zerocopysend when advertised, correctly."""
    if scope["type"] == "lifespan":
        await correct_lifespan(scope, receive, send)
        return
    if scope["type"] != "http":
        raise RuntimeError("HTTP only")
    if await read_body(receive) is None:
        return  # the client left mid-body: nothing to answer
    extensions = scope.get("extensions") or {}
    if "http.response.early_hint" in extensions:
        await send({"type": "http.response.early_hint", "links": [b"</style.css>; rel=preload; as=style"]})
    if "http.response.zerocopysend" in extensions and scope["path"] == "/file":
        with open(THIS_FILE, "rb") as file:
            await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
            await send(
                {"type": "http.response.zerocopysend", "file": file, "offset": 0, "count": 10, "more_body": True}
            )
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        return
    trailers = "http.response.trailers" in extensions
    headers = [(b"content-type", b"text/plain")] + ([(b"trailer", b"x-checksum")] if trailers else [])
    await send({"type": "http.response.start", "status": 200, "headers": headers, "trailers": trailers})
    await send({"type": "http.response.body", "body": b"hello", "more_body": False})
    if trailers:
        await send(
            {"type": "http.response.trailers", "headers": [(b"x-checksum", b"5d41402a")], "more_trailers": False}
        )


async def http_only(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    """Raises at once on anything but HTTP: lifespan and websocket unsupported."""
    assert scope["type"] == "http", "HTTP only"
    if await read_body(receive) is None:
        return  # the client left mid-body: nothing to answer
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
    await send({"type": "http.response.body", "body": b"ok"})


async def file_endpoint(request: Request) -> Response:
    return FileResponse(THIS_FILE, media_type="text/plain")


async def denies(websocket: WebSocket) -> None:
    """Denies with an HTTP 403 response when the extension is there, else a close."""
    await websocket.send_denial_response(PlainTextResponse("no entry", status_code=403))


async def closes_itself(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.send_text("goodbye")
    await websocket.close(code=4000, reason="done")


starlette_files = Starlette(
    routes=[
        Route("/", file_endpoint, methods=["GET", "HEAD", "POST"]),
        WebSocketRoute("/", denies),
        WebSocketRoute("/closes", closes_itself),
    ]
)


async def endless_events(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    """Server-sent events forever, until the client goes: correct, and never "complete"."""
    if scope["type"] == "lifespan":
        await correct_lifespan(scope, receive, send)
        return
    assert scope["type"] == "http", "HTTP only"
    if scope["path"] != "/events":
        if await read_body(receive) is None:
            return  # the client left mid-body: nothing to answer
        await send({"type": "http.response.start", "status": 404, "headers": [(b"content-length", b"0")]})
        await send({"type": "http.response.body", "body": b""})
        return
    await read_body(receive)
    gone = asyncio.Event()

    async def watch() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass
        gone.set()

    watcher = asyncio.ensure_future(watch())
    try:
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/event-stream")]})
        number = 0
        while not gone.is_set():
            await send({"type": "http.response.body", "body": f"data: {number}\n\n".encode(), "more_body": True})
            number += 1
            await asyncio.sleep(0.01)
    except OSError:
        pass
    finally:
        watcher.cancel()
