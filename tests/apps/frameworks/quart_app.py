"""Quart: routes with converters, a blueprint with a prefix, a streamed generator and a WebSocket echo."""

from __future__ import annotations

import uuid
from collections.abc import AsyncGenerator

from quart import Blueprint, Quart, Response, request, websocket

SUITE_PATHS = ("GET:/items/1", "GET:/stream", "POST:/echo", "ws:/ws")
EVENTS: list[str] = []

app = Quart(__name__)
users = Blueprint("users", __name__, url_prefix="/users")


@app.before_serving
async def startup() -> None:
    EVENTS.append("startup")


@app.after_serving
async def shutdown() -> None:
    EVENTS.append("shutdown")


@app.get("/")
async def home() -> dict[str, str]:
    return {"framework": "quart"}


@app.get("/items/<int:item_id>")
async def read_item(item_id: int) -> dict[str, int]:
    return {"item_id": item_id}


@app.get("/stream")
async def stream() -> Response:
    async def chunks() -> AsyncGenerator[bytes, None]:
        for number in range(5):
            yield f"chunk {number}\n".encode()

    return Response(chunks(), mimetype="text/plain")


@app.post("/echo")
async def echo() -> Response:
    return Response(await request.get_data(), mimetype=request.mimetype or "application/octet-stream")


@app.websocket("/ws")
async def websocket_echo() -> None:
    while True:
        await websocket.send(await websocket.receive())


@users.get("/<uuid:user_id>")
async def read_user(user_id: uuid.UUID) -> dict[str, str]:
    return {"user_id": str(user_id)}


@users.get("/<user_id>/files/<path:rest>")
async def user_file(user_id: str, rest: str) -> dict[str, str]:
    return {"user_id": user_id, "path": rest}


app.register_blueprint(users)
