"""A correct FastAPI app: the same routes as raw_app, with a typed JSON endpoint."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from fastapi import FastAPI, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import PlainTextResponse, Response, StreamingResponse


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, str]]:
    yield {"greeting": "hello, world"}


app = FastAPI(lifespan=lifespan)


@app.api_route("/", methods=["GET", "HEAD"], response_class=PlainTextResponse)
async def home(request: Request) -> str:
    return str(getattr(request.state, "greeting", "hello, world"))


@app.post("/")
async def receive_document(request: Request) -> dict[str, int]:
    return {"received_bytes": len(await request.body())}


@app.post("/echo")
async def echo(request: Request) -> Response:
    return Response(await request.body(), media_type="application/octet-stream")


@app.get("/stream")
async def stream() -> StreamingResponse:
    async def chunks() -> AsyncIterator[bytes]:
        for number in range(5):
            yield f"chunk {number}\n".encode()
            await asyncio.sleep(0.005)

    return StreamingResponse(chunks(), media_type="text/plain")


@app.websocket("/")
@app.websocket("/ws")
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
