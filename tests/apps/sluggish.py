"""An app whose import takes ``SLUGGISH_IMPORT_S`` seconds (default 60): a server caught while it starts."""

from __future__ import annotations

import os
import time
from typing import Any

time.sleep(float(os.environ.get("SLUGGISH_IMPORT_S", "60")))


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"at last"})
