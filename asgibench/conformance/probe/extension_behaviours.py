"""The recording app's behaviours for the ASGI extensions (docs/extensions.rst): each uses its extension when
the server advertises it in the scope, and says "not advertised" in a note and answers plainly when not.

Imported by the recording app, in the server's process: nothing heavy here.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Protocol

PATHSEND = "http.response.pathsend"
ZEROCOPYSEND = "http.response.zerocopysend"
EARLY_HINT = "http.response.early_hint"
PUSH = "http.response.push"
DEBUG = "http.response.debug"
TLS = "tls"
NOT_ADVERTISED = "not advertised"

FILE_CONTENT = bytes(range(256)) * 12  # every byte value: a server that reads the file as text shows it
FILE_NAME = "probe-file.bin"  # beside the app's log, so it lives as long as the probe's directory
FILE_HEADER = (b"x-probe-file", b"1")  # an app header the file's response must carry
ZEROCOPY_OFFSET = 100
ZEROCOPY_COUNT = 1000
ZEROCOPY_TAIL = b"|end"  # an http.response.body after the zero-copy part: the two may be mixed
HINT_LINKS = (b"</probe.css>; rel=preload; as=style", b"</probe.js>; rel=preload; as=script")
PUSH_PATH = "/pushed"
PUSHED_SUFFIX = "-pushed"  # the pushed request's case: its own app instance logs under it


class Recording(Protocol):
    """What a behaviour uses of the recording app's Recorder."""

    @property
    def log(self) -> Callable[..., None]: ...

    async def send(self, message: dict[str, Any]) -> bool: ...


def _advertised(scope: dict[str, Any], extension: str) -> bool:
    return extension in (scope.get("extensions") or {})


def _case(scope: dict[str, Any]) -> str:
    for key, value in scope.get("headers") or ():
        if key == b"x-probe-case" and isinstance(value, bytes):
            return value.decode("latin-1")
    return ""


async def _plain(recorder: Recording, body: bytes) -> None:
    head = [(b"content-type", b"text/plain"), (b"content-length", str(len(body)).encode())]
    await recorder.send({"type": "http.response.start", "status": 200, "headers": head})
    await recorder.send({"type": "http.response.body", "body": body})


def content_file() -> Path:
    """FILE_CONTENT as a file beside the app's log, written once."""
    from asgibench.conformance.probe.recording_app import LOG_ENV  # here: the recording app imports this module

    path = Path(os.environ.get(LOG_ENV) or FILE_NAME).resolve().with_name(FILE_NAME)
    if not path.exists() or path.stat().st_size != len(FILE_CONTENT):
        temporary = path.with_name(f"{FILE_NAME}.{os.getpid()}")
        temporary.write_bytes(FILE_CONTENT)
        temporary.replace(path)  # whole, even with two workers writing it
    return path


def _file_head(length: int) -> dict[str, Any]:
    headers = [(b"content-type", b"application/octet-stream"), (b"content-length", str(length).encode())]
    return {"type": "http.response.start", "status": 200, "headers": [*headers, FILE_HEADER]}


async def pathsend(recorder: Recording, scope: dict[str, Any]) -> None:
    """The file by its absolute path, with the app's own headers (the app is in charge of them)."""
    if not _advertised(scope, PATHSEND):
        recorder.log("note", NOT_ADVERTISED)
        await _plain(recorder, NOT_ADVERTISED.encode())
        return
    path = content_file()
    await recorder.send(_file_head(len(FILE_CONTENT)))
    await recorder.send({"type": PATHSEND, "path": str(path)})


async def zerocopysend(recorder: Recording, scope: dict[str, Any]) -> None:
    """ZEROCOPY_COUNT bytes of the file from ZEROCOPY_OFFSET, then a plain body part; the app closes the file."""
    if not _advertised(scope, ZEROCOPYSEND):
        recorder.log("note", NOT_ADVERTISED)
        await _plain(recorder, NOT_ADVERTISED.encode())
        return
    with open(content_file(), "rb") as file:
        await recorder.send(_file_head(ZEROCOPY_COUNT + len(ZEROCOPY_TAIL)))
        message = {"type": ZEROCOPYSEND, "file": file, "offset": ZEROCOPY_OFFSET, "count": ZEROCOPY_COUNT}
        await recorder.send({**message, "more_body": True})
        await recorder.send({"type": "http.response.body", "body": ZEROCOPY_TAIL})


async def early_hint(recorder: Recording, scope: dict[str, Any]) -> None:
    """Two links as an early hint, before the start (where asgiref#579 put it, as a 103 comes on the wire)."""
    if not _advertised(scope, EARLY_HINT):
        recorder.log("note", NOT_ADVERTISED)
        await _plain(recorder, NOT_ADVERTISED.encode())
        return
    await recorder.send({"type": EARLY_HINT, "links": list(HINT_LINKS)})
    await _plain(recorder, b"hinted")


async def push(recorder: Recording, scope: dict[str, Any]) -> None:
    """A push of PUSH_PATH while the response streams; the pushed request names its own case."""
    if not _advertised(scope, PUSH):
        recorder.log("note", NOT_ADVERTISED)
        await _plain(recorder, NOT_ADVERTISED.encode())
        return
    head = [(b"content-type", b"text/plain"), (b"content-length", b"6")]
    await recorder.send({"type": "http.response.start", "status": 200, "headers": head})
    headers = [(b"x-probe-case", (_case(scope) + PUSHED_SUFFIX).encode()), (b"x-probe-do", b"ok")]
    await recorder.send({"type": PUSH, "path": PUSH_PATH, "headers": headers})
    await recorder.send({"type": "http.response.body", "body": b"pusher"})


Behaviour = Callable[[Recording, dict[str, Any]], Awaitable[None]]

EXTENSION_BEHAVIOURS: dict[str, Behaviour] = {
    "pathsend": pathsend,
    "zerocopysend": zerocopysend,
    "early-hint": early_hint,
    "push": push,
}
