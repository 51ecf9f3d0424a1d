"""Hello world that waits ``DELAY_MS`` milliseconds (environment, default 0) before it answers.

The gate tests run it twice, once as is and once slowed by 200 ms (a change no
load on the machine can hide), so the only difference between the two servers
is that one sleep.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Message = MutableMapping[str, Any]

DELAY = float(os.environ.get("DELAY_MS", "0")) / 1000
BODY = b"Hello, world!"


async def app(
    scope: dict[str, Any], receive: Callable[[], Awaitable[Message]], send: Callable[[Message], Awaitable[None]]
) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    assert scope["type"] == "http"
    await asyncio.sleep(DELAY)  # also at 0: both servers take the same path through the event loop
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"text/plain"), (b"content-length", str(len(BODY)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": BODY})
