"""``tests.apps.mortal`` under one server only: a comparison in which one server dies mid-run and the others do not.

The server whose module ``FRAGILE_UNDER`` names (default uvicorn) is the one
that imported the app when that module is loaded in its process: there the app
dies after ``MORTAL_REQUESTS`` requests, as mortal does; under any other
server it answers every request.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from tests.apps import mortal

UNDER = os.environ.get("FRAGILE_UNDER", "uvicorn")


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if UNDER in sys.modules:
        await mortal.app(scope, receive, send)
        return
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"still here"})
