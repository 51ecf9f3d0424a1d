"""A correct Starlette app: the same routes as raw_app, written the framework's way."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect


@contextlib.asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[dict[str, str]]:
    yield {"greeting": "hello, world"}


async def home(request: Request) -> Response:
    if request.method == "POST":
        body = await request.body()
        return JSONResponse({"received_bytes": len(body)})
    return PlainTextResponse(getattr(request.state, "greeting", "hello, world"))


async def echo(request: Request) -> Response:
    return Response(await request.body(), media_type="application/octet-stream")


async def stream(request: Request) -> Response:
    async def chunks() -> AsyncIterator[bytes]:
        for number in range(5):
            yield f"chunk {number}\n".encode()
            await asyncio.sleep(0.005)

    return StreamingResponse(chunks(), media_type="text/plain")


async def websocket_echo(websocket: WebSocket) -> None:
    await websocket.accept()
    try:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            if message.get("text") == "bye":
                await websocket.close(code=1000, reason="bye")
                return
            if message.get("text") is not None:
                await websocket.send_text(message["text"])
            else:
                await websocket.send_bytes(message.get("bytes") or b"")
    except WebSocketDisconnect:
        return


app = Starlette(
    routes=[
        Route("/", home, methods=["GET", "HEAD", "POST"]),
        Route("/echo", echo, methods=["POST"]),
        Route("/stream", stream),
        WebSocketRoute("/", websocket_echo),
        WebSocketRoute("/ws", websocket_echo),
    ],
    lifespan=lifespan,
)
