"""Deliberately broken ASGI apps, each breaking exactly one rule.

Every app is the same correct app (``compose``) with one handler swapped for
a faulty one. ``BROKEN_APPS`` lists them with the check meant to catch each
and the verdict that check must give; tests/test_broken_apps.py asserts it,
and benchmarks/asgion_compare.py runs the same apps under asgion.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from reference_apps.raw_app import read_body
from reference_apps.raw_app import websocket as reference_websocket

Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
Handler = Callable[[dict[str, Any], Receive, Send], Awaitable[Any]]


# The correct parts every broken app is built from ---------------------------


def start(status: int = 200, length: int | None = None) -> dict[str, Any]:
    headers = [(b"content-type", b"text/plain")]
    if length is not None:
        headers.append((b"content-length", str(length).encode()))
    return {"type": "http.response.start", "status": status, "headers": headers}


async def correct_http(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    body = await read_body(receive)
    if body is None:
        return
    answer = body or b"hello"
    await send(start(200, len(answer)))
    await send({"type": "http.response.body", "body": answer})


async def correct_websocket(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    await reference_websocket(receive, send)


async def correct_lifespan(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        else:
            await send({"type": "lifespan.shutdown.complete"})
            return


def compose(
    http: Handler = correct_http, websocket: Handler = correct_websocket, lifespan: Handler = correct_lifespan
) -> Handler:
    async def app(scope: dict[str, Any], receive: Receive, send: Send) -> None:
        handlers = {"http": http, "websocket": websocket, "lifespan": lifespan}
        if scope["type"] not in handlers:
            raise RuntimeError(f"unsupported scope type {scope['type']!r}")
        return await handlers[scope["type"]](scope, receive, send)

    return app


@dataclass(frozen=True)
class BrokenApp:
    name: str
    check_id: str
    app: Any
    description: str
    verdict: str = "fail"
    paths: tuple[str, ...] = field(default=())
    # Other checks that must also fail, because the one fault shows there too
    # (an app that hangs also hangs after a disconnect).
    also: tuple[str, ...] = field(default=())


BROKEN_APPS: list[BrokenApp] = []


def broken(
    check_id: str,
    description: str,
    *,
    verdict: str = "fail",
    paths: tuple[str, ...] = (),
    part: str = "http",
    also: tuple[str, ...] = (),
) -> Callable[[Handler], Handler]:
    """Register the decorated handler, swapped into the correct app, as a broken app."""

    def register(handler: Handler) -> Handler:
        app = compose(**{part: handler})
        BROKEN_APPS.append(BrokenApp(handler.__name__, check_id, app, description, verdict, paths, also))
        return handler

    return register


# HTTP response ----------------------------------------------------------------


@broken("HR-01", "sends the body before http.response.start")
async def body_before_start(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    if await read_body(receive) is None:
        return  # the client left; nothing to answer
    await send({"type": "http.response.body", "body": b"hello"})
    await send(start())


@broken("HR-01", "sends http.response.start twice")
async def double_start(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    if await read_body(receive) is None:
        return  # the client left; nothing to answer
    await send(start())
    await send(start())
    await send({"type": "http.response.body", "body": b"hello"})


@broken("HR-02", "status is the string '200'")
async def status_str(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    if await read_body(receive) is None:
        return  # the client left; nothing to answer
    await send({"type": "http.response.start", "status": "200", "headers": []})
    await send({"type": "http.response.body", "body": b"hello"})


@broken("HR-02", "header names and values are str")
async def str_headers(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    if await read_body(receive) is None:
        return  # the client left; nothing to answer
    await send({"type": "http.response.start", "status": 200, "headers": [("content-type", "text/plain")]})
    await send({"type": "http.response.body", "body": b"hello"})


@broken("HR-02", "a header is a three-item tuple")
async def header_triple(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    if await read_body(receive) is None:
        return  # the client left; nothing to answer
    await send({"type": "http.response.start", "status": 200, "headers": [(b"x-a", b"1", b"2")]})
    await send({"type": "http.response.body", "body": b"hello"})


@broken("HR-02", "sends an HTTP/2 pseudo-header")
async def pseudo_header(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    if await read_body(receive) is None:
        return  # the client left; nothing to answer
    await send({"type": "http.response.start", "status": 200, "headers": [(b":status", b"200")]})
    await send({"type": "http.response.body", "body": b"hello"})


@broken("HR-02", "a header value carries CR LF (response splitting)")
async def header_injection(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    if await read_body(receive) is None:
        return  # the client left; nothing to answer
    await send({"type": "http.response.start", "status": 200, "headers": [(b"x-a", b"1\r\nset-cookie: x=1")]})
    await send({"type": "http.response.body", "body": b"hello"})


@broken("HR-02", "header name in upper case", verdict="warn")
async def uppercase_header(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    if await read_body(receive) is None:
        return  # the client left; nothing to answer
    await send({"type": "http.response.start", "status": 200, "headers": [(b"Content-Type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"hello"})


@broken("HR-03", "body is a str")
async def str_body(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    if await read_body(receive) is None:
        return  # the client left; nothing to answer
    await send(start())
    await send({"type": "http.response.body", "body": "hello"})


@broken("HR-03", "more_body is the int 1")
async def more_body_int(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    if await read_body(receive) is None:
        return  # the client left; nothing to answer
    await send(start())
    await send({"type": "http.response.body", "body": b"hel", "more_body": 1})
    await send({"type": "http.response.body", "body": b"lo"})


@broken("HR-03", "returns without sending any response")
async def no_response(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    if await read_body(receive) is None:
        return  # the client left; nothing to answer


@broken("HR-03", "returns with the response unfinished (more_body=True last)")
async def unfinished_response(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    if await read_body(receive) is None:
        return  # the client left; nothing to answer
    await send(start())
    await send({"type": "http.response.body", "body": b"hello", "more_body": True})


@broken("HR-04", "sends more body after the final one")
async def body_after_complete(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    if await read_body(receive) is None:
        return  # the client left; nothing to answer
    await send(start())
    await send({"type": "http.response.body", "body": b"hello"})
    await send({"type": "http.response.body", "body": b"again"})


@broken("HR-05", "Content-Length 100 on a 5-byte body")
async def content_length_mismatch(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    if await read_body(receive) is None:
        return  # the client left; nothing to answer
    await send(start(200, 100))
    await send({"type": "http.response.body", "body": b"hello"})


@broken("HR-05", "sets Transfer-Encoding itself", verdict="warn")
async def transfer_encoding(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    if await read_body(receive) is None:
        return  # the client left; nothing to answer
    await send({"type": "http.response.start", "status": 200, "headers": [(b"transfer-encoding", b"gzip")]})
    await send({"type": "http.response.body", "body": b"hello"})


@broken("HR-06", "returns a value from the app")
async def returns_value(scope: dict[str, Any], receive: Receive, send: Send) -> Any:
    await correct_http(scope, receive, send)
    return "done"


@broken("HR-11", "never sends anything and never returns")
async def never_responds(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    if await read_body(receive) is None:
        return  # the client left; nothing to answer
    await asyncio.Event().wait()


@broken("HR-11", "blocks the event loop with time.sleep when lifespan did not warm it up")
async def blocks_event_loop(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    if await read_body(receive) is None:
        return  # the client left; nothing to answer
    if "state" not in scope:
        time.sleep(0.7)  # loads its model synchronously, in the request
    await send(start(200, 5))
    await send({"type": "http.response.body", "body": b"hello"})


# Request body, streaming, disconnect -----------------------------------------


@broken("ST-07", "reads only the first body chunk", also=("ST-09",))
async def reads_first_chunk_only(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    message = await receive()
    body = message.get("body", b"") or b"hello"
    await send(start(200, len(body)))
    await send({"type": "http.response.body", "body": body})


@broken("ST-08", "after the final chunk, waits for one more http.request", also=("DC-06",))
async def waits_after_final_chunk(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    body = await read_body(receive) or b""
    while (await receive())["type"] != "http.request":  # expects a closing empty chunk
        pass
    await send(start(200, len(body)))
    await send({"type": "http.response.body", "body": body})


@broken("DC-06", "ignores http.disconnect while reading the body and spins forever")
async def hangs_after_disconnect(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    body = b""
    while True:
        message = await receive()
        if message["type"] != "http.request":
            continue
        body += message.get("body", b"")
        if not message.get("more_body", False):
            break
    await send(start(200, len(body or b"hello")))
    await send({"type": "http.response.body", "body": body or b"hello"})


@broken("DC-07", "retries send() forever after it raised OSError", paths=("GET:/stream",))
async def retries_after_oserror(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    if await read_body(receive) is None:
        return  # the client left; nothing to answer
    await send(start())
    for number in range(3):
        message = {"type": "http.response.body", "body": b"chunk", "more_body": number < 2}
        while True:
            try:
                await send(message)
                break
            except OSError:
                await asyncio.sleep(0.01)


# Lifespan ---------------------------------------------------------------------


@broken("LS-12", "never answers lifespan.startup", part="lifespan")
async def never_answers_startup(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    await receive()
    await asyncio.Event().wait()


@broken("LS-09", "answers startup with lifespan.shutdown.complete", part="lifespan")
async def wrong_lifespan_reply(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    await receive()
    await send({"type": "lifespan.shutdown.complete"})


@broken("LS-09", "sends lifespan.startup.complete twice", part="lifespan")
async def double_startup_complete(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    await receive()
    await send({"type": "lifespan.startup.complete"})
    await send({"type": "lifespan.startup.complete"})
    await receive()
    await send({"type": "lifespan.shutdown.complete"})


@broken("LS-10", "raises during startup instead of sending startup.failed", verdict="warn", part="lifespan")
async def raises_in_startup(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    await receive()
    raise ConnectionError("database unreachable")


@broken("LS-11", "needs lifespan state: crashes when the scope has none", verdict="warn")
async def needs_lifespan_state(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    greeting = scope["state"].get("greeting", "hello").encode()
    if await read_body(receive) is None:
        return  # the client left; nothing to answer
    await send(start(200, len(greeting)))
    await send({"type": "http.response.body", "body": greeting})


# WebSocket --------------------------------------------------------------------


@broken("WS-10", "sends a message before accepting", part="websocket")
async def ws_send_before_accept(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    await receive()
    await send({"type": "websocket.send", "text": "early"})
    await send({"type": "websocket.accept"})


@broken("WS-10", "accepts twice", part="websocket")
async def ws_double_accept(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    await receive()
    await send({"type": "websocket.accept"})
    await send({"type": "websocket.accept"})


@broken("WS-10", "sends after its own close", part="websocket")
async def ws_send_after_close(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    await receive()
    await send({"type": "websocket.accept"})
    await send({"type": "websocket.close", "code": 1000})
    await send({"type": "websocket.send", "text": "late"})


@broken("WS-11", "sends text and bytes in one message", part="websocket")
async def ws_text_and_bytes(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    await receive()
    await send({"type": "websocket.accept"})
    await send({"type": "websocket.send", "text": "a", "bytes": b"a"})


@broken("WS-11", "puts sec-websocket-protocol in the accept headers", part="websocket")
async def ws_protocol_header(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    await receive()
    await send({"type": "websocket.accept", "headers": [(b"sec-websocket-protocol", b"chat")]})
    await correct_websocket_after_accept(receive, send)


async def correct_websocket_after_accept(receive: Receive, send: Send) -> None:
    while (await receive())["type"] != "websocket.disconnect":
        pass


@broken("WS-12", "closes with the reserved code 1006", part="websocket")
async def ws_close_1006(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    await receive()
    await send({"type": "websocket.accept"})
    await send({"type": "websocket.close", "code": 1006})


@broken("WS-13", "keeps receiving after websocket.disconnect", part="websocket")
async def ws_ignores_disconnect(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    await receive()
    await send({"type": "websocket.accept"})
    while True:
        message = await receive()
        if message["type"] == "websocket.receive":
            try:
                await send({"type": "websocket.send", "text": message.get("text") or "bytes"})
            except OSError:
                pass


# Errors -----------------------------------------------------------------------


@broken("ER-07", "raises mid-stream, after the start")
async def exception_mid_stream(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    if await read_body(receive) is None:
        return  # the client left; nothing to answer
    await send(start())
    await send({"type": "http.response.body", "body": b"hel", "more_body": True})
    raise ValueError("template failed to render")


@broken("ER-07", "raises before starting the response")
async def exception_before_start(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    if await read_body(receive) is None:
        return  # the client left; nothing to answer
    raise KeyError("user_id")


@broken("ER-06", "accepts a str body silently", verdict="warn")
async def accepts_str_body(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    message = await receive()
    body = message.get("body", b"")
    if isinstance(body, str):
        body = body.encode()
    while message.get("more_body", False):
        message = await receive()
        body += message.get("body", b"")
    answer = body or b"hello"
    await send(start(200, len(answer)))
    await send({"type": "http.response.body", "body": answer})


# Scope and message types ------------------------------------------------------


@broken("SC-16", "appends to scope['headers'] in place", verdict="warn")
async def mutates_scope_headers(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    scope["headers"].append((b"x-seen-by", b"app"))
    await correct_http(scope, receive, send)


async def _treats_everything_as_http(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        await correct_lifespan(scope, receive, send)
    elif scope["type"] == "websocket":
        await correct_websocket(scope, receive, send)
    else:
        await correct_http(scope, receive, send)


BROKEN_APPS.append(
    BrokenApp(
        "serves_unknown_scope", "SC-17", _treats_everything_as_http, "treats an unknown scope type as HTTP", "warn"
    )
)


@broken("SC-18", "crashes when the optional 'client' key is absent", verdict="warn")
async def needs_client_key(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    host = scope["client"][0].encode()
    if await read_body(receive) is None:
        return  # the client left; nothing to answer
    await send(start(200, len(host)))
    await send({"type": "http.response.body", "body": host})


@broken("SC-19", "sends an unknown message type")
async def unknown_message_type(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    if await read_body(receive) is None:
        return  # the client left; nothing to answer
    await send({"type": "http.response.begin", "status": 200})


@broken("SC-20", "puts a NaN float in a message")
async def nan_in_message(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    if await read_body(receive) is None:
        return  # the client left; nothing to answer
    await send({**start(200, 5), "x-timing": math.nan})
    await send({"type": "http.response.body", "body": b"hello"})


# Extensions -------------------------------------------------------------------


@broken("EX-01", "sends pathsend when the scope does not advertise it")
async def unadvertised_pathsend(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    if await read_body(receive) is None:
        return  # the client left; nothing to answer
    await send(start())
    await send({"type": "http.response.pathsend", "path": __file__})


@broken("EX-05", "sends trailers without declaring trailers=True")
async def undeclared_trailers(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    if await read_body(receive) is None:
        return  # the client left; nothing to answer
    await send(start(200, 5))
    await send({"type": "http.response.body", "body": b"hello"})
    if "http.response.trailers" in scope.get("extensions", {}):
        await send({"type": "http.response.trailers", "headers": [(b"x-checksum", b"abc")]})


@broken("EX-06", "pathsend with a relative path")
async def relative_pathsend(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    if await read_body(receive) is None:
        return  # the client left; nothing to answer
    await send(start())
    if "http.response.pathsend" in scope.get("extensions", {}):
        await send({"type": "http.response.pathsend", "path": "tests/broken_apps.py"})
    else:
        await send({"type": "http.response.body", "body": b"hello"})


@broken("EX-07", "zerocopysend with a path string instead of a file")
async def zerocopysend_without_file(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    if await read_body(receive) is None:
        return  # the client left; nothing to answer
    await send(start())
    if "http.response.zerocopysend" in scope.get("extensions", {}):
        await send({"type": "http.response.zerocopysend", "file": __file__})
    else:
        await send({"type": "http.response.body", "body": b"hello"})


@broken("EX-08", "early hint links are str, not bytes")
async def early_hint_str_links(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    if await read_body(receive) is None:
        return  # the client left; nothing to answer
    if "http.response.early_hint" in scope.get("extensions", {}):
        await send({"type": "http.response.early_hint", "links": ["</style.css>; rel=preload"]})
    await send(start(200, 5))
    await send({"type": "http.response.body", "body": b"hello"})


@broken("EX-03", "sends a denial response after accepting", part="websocket")
async def denial_after_accept(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    await receive()
    await send({"type": "websocket.accept"})
    if "websocket.http.response" in scope.get("extensions", {}):
        await send({"type": "websocket.http.response.start", "status": 403, "headers": []})
    await correct_websocket_after_accept(receive, send)


def _sync_app(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    """Not async at all: the call returns None instead of an awaitable."""


BROKEN_APPS.append(BrokenApp("sync_callable", "HR-06", _sync_app, "a plain function, not a coroutine"))
