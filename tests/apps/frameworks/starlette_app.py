"""Starlette: routes, a mounted sub-app, streaming and a WebSocket echo."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.websockets import WebSocket

SUITE_PATHS = ("GET:/items/1", "GET:/stream", "POST:/echo", "ws:/ws")
EVENTS: list[str] = []


@contextlib.asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    EVENTS.append("startup")
    yield
    EVENTS.append("shutdown")


async def home(request: Request) -> JSONResponse:
    return JSONResponse({"framework": "starlette"})


async def item(request: Request) -> JSONResponse:
    return JSONResponse({"item_id": request.path_params["item_id"]})


async def stream(request: Request) -> StreamingResponse:
    async def chunks() -> AsyncIterator[bytes]:
        for number in range(5):
            yield f"chunk {number}\n".encode()

    return StreamingResponse(chunks(), media_type="text/plain")


async def echo(request: Request) -> Response:
    return Response(await request.body(), media_type=request.headers.get("content-type", "application/octet-stream"))


async def user(request: Request) -> JSONResponse:
    return JSONResponse({"user_id": str(request.path_params["user_id"])})


async def document(request: Request) -> JSONResponse:
    return JSONResponse({"path": request.path_params["rest"]})


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


api = Starlette(routes=[Route("/users/{user_id:uuid}", user)])

app = Starlette(
    routes=[
        Route("/", home),
        Route("/items/{item_id:int}", item),
        Route("/stream", stream),
        Route("/echo", echo, methods=["POST"]),
        WebSocketRoute("/ws", websocket_echo),
        Mount("/api", app=api),
        Mount("/docs", routes=[Route("/{rest:path}", document)]),
    ],
    lifespan=lifespan,
)
