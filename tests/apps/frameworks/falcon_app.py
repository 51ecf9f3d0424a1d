"""Falcon (ASGI): resources with responders, field converters, a streamed body and a WebSocket echo.

Lifespan goes through a middleware's ``process_startup``/``process_shutdown``.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import falcon
import falcon.asgi
from falcon.asgi import Request, Response, WebSocket

SUITE_PATHS = ("GET:/items/1", "GET:/stream", "POST:/echo", "ws:/ws")
EVENTS: list[str] = []


class LifespanMiddleware:
    async def process_startup(self, scope: dict[str, Any], event: dict[str, Any]) -> None:
        EVENTS.append("startup")

    async def process_shutdown(self, scope: dict[str, Any], event: dict[str, Any]) -> None:
        EVENTS.append("shutdown")


class HomeResource:
    async def on_get(self, req: Request, resp: Response) -> None:
        resp.media = {"framework": "falcon"}


class ItemResource:
    async def on_get(self, req: Request, resp: Response, item_id: int) -> None:
        resp.media = {"item_id": item_id}


class StreamResource:
    async def on_get(self, req: Request, resp: Response) -> None:
        async def chunks() -> AsyncIterator[bytes]:
            for number in range(5):
                yield f"chunk {number}\n".encode()

        resp.content_type = falcon.MEDIA_TEXT
        resp.stream = chunks()


class EchoResource:
    async def on_post(self, req: Request, resp: Response) -> None:
        resp.content_type = req.content_type or falcon.MEDIA_JSON
        resp.data = await req.stream.read()


class WebSocketEchoResource:
    async def on_websocket(self, req: Request, ws: WebSocket) -> None:
        await ws.accept()
        while True:
            try:
                message = await ws.receive_text()
            except falcon.WebSocketDisconnected:
                return
            except falcon.PayloadTypeError:
                await ws.close(1003)  # a text protocol: binary frames are unsupported data
                return
            await ws.send_text(message)


class UserResource:
    async def on_get(self, req: Request, resp: Response, user_id: uuid.UUID) -> None:
        resp.media = {"user_id": str(user_id)}

    async def on_delete(self, req: Request, resp: Response, user_id: uuid.UUID) -> None:
        resp.status = falcon.HTTP_204


app = falcon.asgi.App(middleware=[LifespanMiddleware()])
app.add_route("/", HomeResource())
app.add_route("/items/{item_id:int}", ItemResource())
app.add_route("/stream", StreamResource())
app.add_route("/echo", EchoResource())
app.add_route("/ws", WebSocketEchoResource())
app.add_route("/users/{user_id:uuid}", UserResource())
