"""Sanic: the Sanic instance is itself the ASGI callable (its ``__call__`` handles every scope type).

Typed path parameters, a blueprint with a prefix, a streamed response, a
WebSocket echo and server listeners, which Sanic runs on lifespan under ASGI.
"""

from __future__ import annotations

import uuid
from typing import Any

from sanic import Blueprint, Request, Sanic, Websocket
from sanic.response import HTTPResponse, ResponseStream, json, raw

SUITE_PATHS = ("GET:/items/1", "GET:/stream", "POST:/echo", "ws:/ws")
EVENTS: list[str] = []

app = Sanic("asgibench_corpus")
users = Blueprint("users", url_prefix="/users")


@app.before_server_start
async def startup(app: Sanic) -> None:
    EVENTS.append("startup")


@app.after_server_stop
async def shutdown(app: Sanic) -> None:
    EVENTS.append("shutdown")


@app.get("/")
async def home(request: Request) -> HTTPResponse:
    return json({"framework": "sanic"})


@app.get("/items/<item_id:int>")
async def read_item(request: Request, item_id: int) -> HTTPResponse:
    return json({"item_id": item_id})


@app.get("/stream")
async def stream(request: Request) -> ResponseStream:
    async def chunks(response: Any) -> None:
        for number in range(5):
            await response.write(f"chunk {number}\n")

    return ResponseStream(chunks, content_type="text/plain")


@app.post("/echo")
async def echo(request: Request) -> HTTPResponse:
    return raw(request.body, content_type=request.content_type or "application/octet-stream")


@app.websocket("/ws")
async def websocket_echo(request: Request, ws: Websocket) -> None:
    while True:
        message = await ws.recv()
        if message is None:  # the connection closed
            return
        await ws.send(message)


@users.get("/<user_id:uuid>")
async def read_user(request: Request, user_id: uuid.UUID) -> HTTPResponse:
    return json({"user_id": str(user_id)})


@users.get("/<user_id:uuid>/files/<rest:path>")
async def user_file(request: Request, user_id: uuid.UUID, rest: str) -> HTTPResponse:
    return json({"user_id": str(user_id), "path": rest})


app.blueprint(users)
