"""A plausible-looking but broken app, for `make demo`: three classic mistakes.

1. POST /echo reads only the first body chunk (fine under a client that sends
   small bodies in one piece; wrong under every real server sooner or later).
2. GET /stream keeps streaming after the client has gone (it never listens
   for http.disconnect and ignores the OSError a 2.4 server raises).
3. The WebSocket handler greets the client before accepting the connection.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from reference_apps.raw_app import Receive, Send, lifespan, read_body, respond


async def app(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        await lifespan(scope, receive, send)
    elif scope["type"] == "websocket":
        await receive()
        await send({"type": "websocket.send", "text": "welcome!"})  # mistake 3
        await send({"type": "websocket.accept"})
    elif scope["path"] == "/echo":
        first = await receive()  # mistake 1: the body may come in many messages
        await respond(send, 200, first.get("body", b""), b"application/octet-stream")
    elif scope["path"] == "/stream":
        await read_body(receive)
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        for number in range(40):  # mistake 2: never checks whether anyone is listening
            with contextlib.suppress(OSError):
                await send({"type": "http.response.body", "body": f"tick {number}\n".encode(), "more_body": True})
            await asyncio.sleep(0.1)
        await send({"type": "http.response.body", "body": b""})
    else:
        await read_body(receive)
        await respond(send, 200, b"hello, world")
