"""sse-starlette: Server-Sent Events from an async generator, next to the usual Starlette routes."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

SUITE_PATHS = ("GET:/events", "POST:/echo", "ws:/ws")
EVENTS: list[str] = []


@contextlib.asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    EVENTS.append("startup")
    yield
    EVENTS.append("shutdown")


async def home(request: Request) -> JSONResponse:
    return JSONResponse({"framework": "sse-starlette"})


async def events(request: Request) -> EventSourceResponse:
    async def ticks() -> AsyncIterator[ServerSentEvent]:
        for number in range(5):
            yield ServerSentEvent(data=f"tick {number}", event="tick", id=str(number))

    return EventSourceResponse(ticks())


async def echo(request: Request) -> Response:
    return Response(await request.body(), media_type=request.headers.get("content-type", "application/octet-stream"))


async def websocket_echo(websocket: WebSocket) -> None:
    await websocket.accept()
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return
        if message.get("text") is not None:
            await websocket.send_text(message["text"])
        else:
            await websocket.send_bytes(message["bytes"])


app = Starlette(
    routes=[
        Route("/", home),
        Route("/events", events),
        Route("/echo", echo, methods=["POST"]),
        WebSocketRoute("/ws", websocket_echo),
    ],
    lifespan=lifespan,
)
