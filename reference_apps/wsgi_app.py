"""The WSGI twin of the reference app's benchmark endpoints, for gunicorn's classic sync workers.

Same paths and bodies as reference_apps.raw_app: / (hello), /json, /chunks
(streamed) and /slow (10 ms of waiting, which blocks a sync worker).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from reference_apps.raw_app import CHUNK, CHUNKS, SLOW_SECONDS, catalogue

StartResponse = Callable[[str, list[tuple[str, str]]], Any]
HELLO = b"hello, world"


def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    path, method = environ["PATH_INFO"], environ["REQUEST_METHOD"]
    if method not in ("GET", "HEAD"):
        return _answer(start_response, "405 Method Not Allowed", b"method not allowed")
    if path == "/":
        return _answer(start_response, "200 OK", HELLO, "text/plain; charset=utf-8")
    if path == "/json":
        return _answer(start_response, "200 OK", json.dumps(catalogue()).encode(), "application/json")
    if path == "/chunks":
        start_response("200 OK", [("Content-Type", "text/plain")])  # no length: the server streams it chunked
        return _chunks()
    if path == "/slow":
        time.sleep(SLOW_SECONDS)
        return _answer(start_response, "200 OK", HELLO, "text/plain; charset=utf-8")
    return _answer(start_response, "404 Not Found", b"not found")


def _answer(start_response: StartResponse, status: str, body: bytes, kind: str = "text/plain") -> list[bytes]:
    start_response(status, [("Content-Type", kind), ("Content-Length", str(len(body)))])
    return [body]


def _chunks() -> Iterator[bytes]:
    for _ in range(CHUNKS):
        yield CHUNK
