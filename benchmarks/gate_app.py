"""A tiny raw ASGI app whose per-request delay is set from the environment: the subject of gate_sensitivity.py.

Every HTTP request, on any path and with any method, is answered ``200`` with a small body. Before answering, the app
awaits ``GATE_APP_DELAY_MS`` milliseconds (read once, at import; default 0, and a float, so ``0.5`` works). With 0 it
answers at once: under a millisecond a request through uvicorn on a small machine (p50 0.25 to 1 ms on a 2-core one).
With 4 it does ``await asyncio.sleep(0.004)`` first: the same app, 4 ms a request slower, as a build that regressed
would be.

The server that ``asgibench load APP --server NAME`` launches inherits asgibench's environment, so::

    GATE_APP_DELAY_MS=4 asgibench load benchmarks.gate_app:app --server uvicorn --rate 200 --duration 4s

run from the repository root (uvicorn puts the current directory on the import path) loads the slowed app. The
response carries the delay in an ``x-gate-app-delay-ms`` header, so a run can be checked to have loaded the
intended variant. Lifespan is answered (startup and shutdown complete); other scope types are refused by raising.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

DELAY_VARIABLE = "GATE_APP_DELAY_MS"
BODY = b"hello, gate\n"


def delay_from_environment() -> float:
    """The delay in seconds from ``GATE_APP_DELAY_MS`` (milliseconds); refuses a value that is not a finite >= 0."""
    text = os.environ.get(DELAY_VARIABLE, "0").strip() or "0"
    try:
        milliseconds = float(text)
    except ValueError:
        raise RuntimeError(f"{DELAY_VARIABLE}={text!r} is not a number of milliseconds") from None
    if not 0 <= milliseconds < 60_000:  # also false for nan
        raise RuntimeError(f"{DELAY_VARIABLE}={text!r} must be between 0 and 60000 milliseconds")
    return milliseconds / 1000


DELAY_SECONDS = delay_from_environment()
HEADERS = [
    (b"content-type", b"text/plain; charset=utf-8"),
    (b"content-length", str(len(BODY)).encode()),
    (b"x-gate-app-delay-ms", f"{DELAY_SECONDS * 1000:g}".encode()),
]


async def app(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    if scope["type"] == "http":
        await http(receive, send)
    elif scope["type"] == "lifespan":
        await lifespan(receive, send)
    else:
        raise RuntimeError(f"unsupported scope type {scope['type']!r}")


async def http(receive: Receive, send: Send) -> None:
    while True:  # the request body, if any, is read and dropped
        message = await receive()
        if message["type"] == "http.disconnect":
            return
        if not message.get("more_body", False):
            break
    if DELAY_SECONDS > 0:
        await asyncio.sleep(DELAY_SECONDS)
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": BODY})


async def lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
