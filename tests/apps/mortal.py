"""An ASGI app whose process dies after a number of requests: a server that crashes mid-run."""

from __future__ import annotations

import os
import sys
from typing import Any

LIVES = int(os.environ.get("MORTAL_REQUESTS", "300"))
_served = 0


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    global _served
    if scope["type"] != "http":
        return
    _served += 1
    if _served > LIVES:
        print(f"mortal: dying after {LIVES} requests", file=sys.stderr, flush=True)
        os._exit(3)
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"still here"})
