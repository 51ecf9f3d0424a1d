"""A correct raw ASGI3 app, no framework: the reference for how to do it by hand."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qs

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

STREAM_CHUNKS = 5
# The endpoints the published comparisons load (results/): a JSON document built per request, a
# response streamed in chunks with no waits, and a handler that awaits I/O (a database, an API) for 10 ms.
CHUNKS = 16
CHUNK = b"x" * 1023 + b"\n"
SLOW_SECONDS = 0.010
# GET /sse?events=N&interval_ms=M: Server-Sent Events for the streaming load; events=0 runs until the client leaves.
SSE_EVENTS, SSE_MAX_EVENTS = 10, 100_000
SSE_INTERVAL_MS, SSE_MAX_INTERVAL_MS = 100, 60_000
SSE_HEADERS = [(b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache")]


def catalogue() -> dict[str, Any]:
    return {"items": [{"id": number, "name": f"item {number}", "price": round(number * 1.25, 2), "tags": ["a", "b"]}
                      for number in range(20)]}  # fmt: skip


async def app(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    if scope["type"] == "http":
        await http(scope, receive, send)
    elif scope["type"] == "websocket":
        await websocket(receive, send)
    elif scope["type"] == "lifespan":
        await lifespan(scope, receive, send)
    else:
        raise RuntimeError(f"unsupported scope type {scope['type']!r}")


async def lifespan(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            if "state" in scope:
                scope["state"]["greeting"] = "hello, world"
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def read_body(receive: Receive) -> bytes | None:
    """The whole request body, or None when the client left first."""
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


async def respond(send: Send, status: int, body: bytes, content_type: bytes = b"text/plain; charset=utf-8") -> None:
    headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def http(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    method, path = scope["method"], scope["path"]
    body = await read_body(receive)
    if body is None:
        return  # the client left; nobody to answer
    greeting = scope.get("state", {}).get("greeting", "hello, world")
    if path == "/" and method in {"GET", "HEAD"}:
        await respond(send, 200, greeting.encode())
    elif path in {"/", "/echo"} and method == "POST":
        document = json.dumps({"received_bytes": len(body)}).encode() if path == "/" else body
        await respond(send, 200, document, b"application/json" if path == "/" else b"application/octet-stream")
    elif path == "/stream" and method == "GET":
        await stream(receive, send)
    elif path == "/json" and method == "GET":
        await respond(send, 200, json.dumps(catalogue()).encode(), b"application/json")
    elif path == "/chunks" and method == "GET":
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        for _ in range(CHUNKS):
            await send({"type": "http.response.body", "body": CHUNK, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
    elif path == "/sse" and method == "GET":
        query = sse_query(scope.get("query_string", b""))
        if query is None:
            await respond(send, 400, b"events and interval_ms must be whole numbers, events at least 0")
        else:
            await sse(receive, send, *query)
    elif path == "/slow" and method == "GET":
        await asyncio.sleep(SLOW_SECONDS)
        await respond(send, 200, greeting.encode())
    else:
        await respond(send, 404, b"not found")


async def stream(receive: Receive, send: Send) -> None:
    """Stream chunks; stop as soon as the client leaves (spec 2.3 and 2.4 alike)."""
    gone = asyncio.Event()

    async def watch_disconnect() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass
        gone.set()

    watcher = asyncio.create_task(watch_disconnect())
    try:
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        for number in range(STREAM_CHUNKS):
            if gone.is_set():
                return
            await send({"type": "http.response.body", "body": f"chunk {number}\n".encode(), "more_body": True})
            await asyncio.sleep(0.005)
        await send({"type": "http.response.body", "body": b""})
    except OSError:
        return  # spec 2.4: send() raises once the client has gone
    finally:
        watcher.cancel()


def sse_query(query_string: bytes) -> tuple[int, float] | None:
    """``events`` (at most SSE_MAX_EVENTS) and the interval in seconds (0 to 60), or None when a value is bad."""
    query = parse_qs(query_string.decode("latin-1"))
    try:
        events = int(query.get("events", [str(SSE_EVENTS)])[-1])
        interval_ms = int(query.get("interval_ms", [str(SSE_INTERVAL_MS)])[-1])
    except ValueError:
        return None
    if events < 0:
        return None  # not clamped to 0, which would mean endless
    return min(events, SSE_MAX_EVENTS), min(max(interval_ms, 0), SSE_MAX_INTERVAL_MS) / 1000


async def sse(receive: Receive, send: Send, events: int, interval: float) -> None:
    """Server-Sent Events ``interval`` s apart, each its own body message; stop as soon as the client leaves."""

    async def watch_disconnect() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass

    watcher = asyncio.create_task(watch_disconnect())
    try:
        await send({"type": "http.response.start", "status": 200, "headers": SSE_HEADERS})
        for number in itertools.count() if events == 0 else range(events):
            if number:
                # asyncio.sleep(interval), cut short when the client leaves (the watcher is not cancelled by this)
                await asyncio.wait((watcher,), timeout=interval)
            if watcher.done():
                return
            data = json.dumps({"n": number, "sent": time.time()})
            event = f"id: {number}\ndata: {data}\n\n".encode()
            await send({"type": "http.response.body", "body": event, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
    except OSError:
        return  # spec 2.4: send() raises once the client has gone
    finally:
        watcher.cancel()


async def websocket(receive: Receive, send: Send) -> None:
    message = await receive()
    assert message["type"] == "websocket.connect"
    await send({"type": "websocket.accept"})
    try:
        while True:
            message = await receive()
            if message["type"] == "websocket.disconnect":
                return
            if message.get("text") == "bye":
                await send({"type": "websocket.close", "code": 1000, "reason": "bye"})
                return
            if message.get("text") is not None:
                await send({"type": "websocket.send", "text": message["text"]})
            else:
                await send({"type": "websocket.send", "bytes": message.get("bytes") or b""})
    except OSError:
        return
