"""FastAPI: typed path parameters, a router with a prefix, a mounted sub-app, streaming and a WebSocket echo."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from enum import StrEnum

from fastapi import APIRouter, FastAPI, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import Response, StreamingResponse

SUITE_PATHS = ("GET:/items/1", "GET:/stream", "POST:/echo", "ws:/ws")
EVENTS: list[str] = []


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    EVENTS.append("startup")
    yield
    EVENTS.append("shutdown")


class Colour(StrEnum):
    RED = "red"
    BLUE = "blue"


app = FastAPI(lifespan=lifespan)
users = APIRouter(prefix="/users")


@app.get("/")
async def home() -> dict[str, str]:
    return {"framework": "fastapi"}


@app.get("/items/{item_id}")
async def read_item(item_id: int, q: str | None = None) -> dict[str, int | str | None]:
    return {"item_id": item_id, "q": q}


@app.get("/stream")
async def stream() -> StreamingResponse:
    async def chunks() -> AsyncIterator[bytes]:
        for number in range(5):
            yield f"chunk {number}\n".encode()

    return StreamingResponse(chunks(), media_type="text/plain")


@app.post("/echo")
async def echo(request: Request) -> Response:
    return Response(await request.body(), media_type=request.headers.get("content-type", "application/octet-stream"))


@app.websocket("/ws")
async def websocket_echo(websocket: WebSocket) -> None:
    await websocket.accept()
    try:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            if message.get("text") is not None:
                await websocket.send_text(message["text"])
            else:
                await websocket.send_bytes(message["bytes"])
    except WebSocketDisconnect:
        return


@users.get("/{user_id}")
async def read_user(user_id: uuid.UUID) -> dict[str, str]:
    return {"user_id": str(user_id)}


@users.put("/{user_id}/colour/{colour}")
async def set_colour(user_id: uuid.UUID, colour: Colour) -> dict[str, str]:
    return {"user_id": str(user_id), "colour": colour.value}


app.include_router(users)

admin = FastAPI()


@admin.get("/stats")
async def stats() -> dict[str, int]:
    return {"users": 0}


app.mount("/admin", admin)
