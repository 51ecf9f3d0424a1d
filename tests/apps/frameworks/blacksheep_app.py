"""BlackSheep: typed route parameters, a streamed response, a WebSocket echo and a lifespan context."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

from blacksheep import Application, Content, Request, Response, StreamedContent, WebSocket, json
from blacksheep.server.websocket import WebSocketDisconnectError

SUITE_PATHS = ("GET:/items/1", "GET:/stream", "POST:/echo", "ws:/ws")
EVENTS: list[str] = []

app = Application()
router = app.router


@app.lifespan
async def lifespan() -> AsyncIterator[None]:
    EVENTS.append("startup")
    yield
    EVENTS.append("shutdown")


@router.get("/")
async def home() -> Response:
    return json({"framework": "blacksheep"})


@router.get("/items/{int:item_id}")
async def read_item(item_id: int) -> Response:
    return json({"item_id": item_id})


@router.get("/stream")
async def stream() -> Response:
    async def chunks() -> AsyncIterator[bytes]:
        for number in range(5):
            yield f"chunk {number}\n".encode()

    return Response(200, content=StreamedContent(b"text/plain", chunks))


@router.post("/echo")
async def echo(request: Request) -> Response:
    content_type = request.content_type() or b"application/octet-stream"
    return Response(200, content=Content(content_type, await request.read() or b""))


@router.ws("/ws")
async def websocket_echo(websocket: WebSocket) -> None:
    await websocket.accept()
    try:
        while True:
            message = await websocket.receive()
            if message.get("text") is not None:
                await websocket.send_text(message["text"])
            else:
                await websocket.send_bytes(message["bytes"])
    except WebSocketDisconnectError:
        return


@router.get("/users/{uuid:user_id}")
async def read_user(user_id: uuid.UUID) -> Response:
    return json({"user_id": str(user_id)})


@router.delete("/users/{uuid:user_id}")
async def delete_user(user_id: uuid.UUID) -> Response:
    return Response(204)
