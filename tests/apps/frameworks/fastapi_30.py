"""A 30-route FastAPI app, to time ``asgibench conform`` with route discovery on a realistic API.

Nine resources, each with a list, a typed item read and a create that
echoes its body (27 routes), a home page, a stream and a WebSocket echo.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

from fastapi import APIRouter, FastAPI, Request, WebSocket
from fastapi.responses import Response, StreamingResponse

RESOURCES = ("users", "teams", "projects", "tasks", "comments", "files", "tags", "events", "invoices")

app = FastAPI()


def _list(name: str) -> Callable[[], Awaitable[dict[str, list[int]]]]:
    async def list_items() -> dict[str, list[int]]:
        return {name: [1, 2, 3]}

    return list_items


async def read_item(item_id: int) -> dict[str, int]:
    return {"id": item_id}


async def create_item(request: Request) -> Response:
    return Response(await request.body(), media_type="application/json")


for resource in RESOURCES:
    router = APIRouter(prefix=f"/{resource}")
    router.add_api_route("/", _list(resource), methods=["GET"], name=f"list_{resource}")
    router.add_api_route("/{item_id}", read_item, methods=["GET"], name=f"read_{resource}")
    router.add_api_route("/", create_item, methods=["POST"], name=f"create_{resource}")
    app.include_router(router)


@app.get("/")
async def home() -> dict[str, str]:
    return {"resources": ", ".join(RESOURCES)}


async def stream() -> StreamingResponse:
    async def chunks() -> AsyncIterator[bytes]:
        for number in range(5):
            yield f"chunk {number}\n".encode()

    return StreamingResponse(chunks(), media_type="text/plain")


app.add_api_route("/stream", stream, methods=["GET"])


@app.websocket("/ws")
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
