"""Litestar: typed handlers, a router with a path prefix, a Stream response and a WebSocket listener."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

from litestar import Litestar, Request, Response, Router, get, post, put
from litestar.handlers import websocket_listener
from litestar.params import FromPath
from litestar.response import Stream

SUITE_PATHS = ("GET:/items/1", "GET:/stream", "POST:/echo", "ws:/ws")
EVENTS: list[str] = []


def on_startup() -> None:
    EVENTS.append("startup")


def on_shutdown() -> None:
    EVENTS.append("shutdown")


@get("/")
async def home() -> dict[str, str]:
    return {"framework": "litestar"}


@get("/items/{item_id:int}")
async def read_item(item_id: FromPath[int]) -> dict[str, int]:
    return {"item_id": item_id}


@get("/stream")
async def stream() -> Stream:
    async def chunks() -> AsyncIterator[bytes]:
        for number in range(5):
            yield f"chunk {number}\n".encode()

    return Stream(chunks(), media_type="text/plain")


@post("/echo", status_code=200)
async def echo(request: Request) -> Response[bytes]:
    return Response(await request.body(), media_type=request.headers.get("content-type", "application/octet-stream"))


@websocket_listener("/ws")
async def websocket_echo(data: str) -> str:
    return data


@get("/{user_id:uuid}")
async def read_user(user_id: FromPath[uuid.UUID]) -> dict[str, str]:
    return {"user_id": str(user_id)}


@put("/{user_id:uuid}/name/{name:str}")
async def rename_user(user_id: FromPath[uuid.UUID], name: FromPath[str]) -> dict[str, str]:
    return {"user_id": str(user_id), "name": name}


@get("/docs/{rest:path}")
async def document(rest: FromPath[Path]) -> dict[str, str]:
    return {"path": str(rest)}


users = Router(path="/users", route_handlers=[read_user, rename_user])

app = Litestar(
    route_handlers=[home, read_item, stream, echo, websocket_echo, users, document],
    on_startup=[on_startup],
    on_shutdown=[on_shutdown],
)
