"""Deliberately broken ASGI apps, each breaking exactly one rule.

Every app is the same correct app (``compose``) with one handler swapped for
a faulty one. ``BROKEN_APPS`` lists them with the check meant to catch each
and the verdict that check must give; tests/test_broken_apps.py asserts it,
and benchmarks/asgion_compare.py runs the same apps under asgion.
"""

from __future__ import annotations

import asyncio
import io
import math
import os
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
    timeout: float | None = None  # a deadline of its own, when the default would mask the fault


BROKEN_APPS: list[BrokenApp] = []


def broken(
    check_id: str,
    description: str,
    *,
    verdict: str = "fail",
    paths: tuple[str, ...] = (),
    part: str = "http",
    also: tuple[str, ...] = (),
    timeout: float | None = None,
) -> Callable[[Handler], Handler]:
    """Register the decorated handler, swapped into the correct app, as a broken app."""

    def register(handler: Handler) -> Handler:
        app = compose(**{part: handler})
        BROKEN_APPS.append(BrokenApp(handler.__name__, check_id, app, description, verdict, paths, also, timeout))
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


@broken("HR-04", "sends more body after the final one (the server ignores it)", verdict="warn")
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


@broken("HR-05", "sets Transfer-Encoding itself (allowed: recorded, not flagged)", verdict="info")
async def transfer_encoding(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    if await read_body(receive) is None:
        return  # the client left; nothing to answer
    await send({"type": "http.response.start", "status": 200, "headers": [(b"transfer-encoding", b"gzip")]})
    await send({"type": "http.response.body", "body": b"hello"})


@broken("HR-06", "returns a value from the app (the spec is silent: recorded)", verdict="info")
async def returns_value(scope: dict[str, Any], receive: Receive, send: Send) -> Any:
    await correct_http(scope, receive, send)
    return "done"


@broken("HR-11", "never sends anything and never returns")
async def never_responds(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    if await read_body(receive) is None:
        return  # the client left; nothing to answer
    await asyncio.Event().wait()


@broken("HR-11", "blocks the event loop with time.sleep when lifespan did not warm it up", also=("HR-13",))
async def blocks_event_loop(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    if await read_body(receive) is None:
        return  # the client left; nothing to answer
    if "state" not in scope:
        time.sleep(0.7)  # loads its model synchronously, in the request
    await send(start(200, 5))
    await send({"type": "http.response.body", "body": b"hello"})


# Request body, streaming, disconnect -----------------------------------------


@broken("ST-07", "reads only the first body chunk", verdict="warn", also=("ST-09",))
async def reads_first_chunk_only(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    message = await receive()
    body = message.get("body", b"") or b"hello"
    await send(start(200, len(body)))
    await send({"type": "http.response.body", "body": body})


@broken("ST-08", "after the final chunk, waits for one more http.request", verdict="warn", also=("DC-06",))
async def waits_after_final_chunk(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    body = await read_body(receive) or b""
    while (await receive())["type"] != "http.request":  # expects a closing empty chunk
        pass
    await send(start(200, len(body)))
    await send({"type": "http.response.body", "body": body})


@broken("DC-06", "ignores http.disconnect while reading the body and spins forever", verdict="warn")
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


@broken("DC-07", "retries send() forever after it raised OSError", verdict="warn", paths=("GET:/stream",))
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


@broken("LS-11", "stores into scope['state'] at lifespan startup, though a server may not provide it", verdict="warn",
        part="lifespan")  # fmt: skip
async def lifespan_needs_state(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    await receive()
    scope["state"]["greeting"] = "hello"
    await correct_lifespan_after_startup(receive, send)


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


@broken("WS-10", "sends after its own close (the server drops it)", verdict="warn", part="websocket")
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


@broken("WS-13", "keeps receiving after websocket.disconnect", verdict="warn", part="websocket")
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
        if message["type"] == "http.disconnect":
            return  # the client left; nothing to answer
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


# A unix-socket server gives no client either (SC-21's scenario): the same fault shows there.
@broken("SC-18", "crashes when the optional 'client' key is absent", verdict="warn", also=("SC-21",))
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


# Rules added with the full catalogue -------------------------------------------


def advertised(scope: dict[str, Any], extension: str) -> bool:
    return extension in (scope.get("extensions") or {})


async def answer(send: Send, body: bytes = b"hello", **start_keys: Any) -> None:
    await send({**start(200, len(body)), **start_keys})
    await send({"type": "http.response.body", "body": body})


@broken("HR-02", "answers with the interim status 103 as its final response")
async def interim_status(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    if await read_body(receive) is None:
        return  # the client left; nothing to answer
    await send(start(103))
    await send({"type": "http.response.body", "body": b"hello"})


@broken("HR-12", "sends body bytes with a 204 No Content")
async def body_on_204(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    if await read_body(receive) is None:
        return  # the client left; nothing to answer
    await send({"type": "http.response.start", "status": 204, "headers": []})
    await send({"type": "http.response.body", "body": b"hello"})


@broken("HR-12", "sets Content-Length: 0 on a 204 No Content")
async def content_length_on_204(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    if await read_body(receive) is None:
        return  # the client left; nothing to answer
    await send({"type": "http.response.start", "status": 204, "headers": [(b"content-length", b"0")]})
    await send({"type": "http.response.body", "body": b""})


_PAGE_ETAG = b'"asgibench-v1"'


async def conditional_page(scope: dict[str, Any], receive: Receive, send: Send, not_modified: list[Any]) -> None:
    """A page with an ETag; a request whose If-None-Match holds it gets a 304 built from ``not_modified``."""
    if await read_body(receive) is None:
        return  # the client left; nothing to answer
    if dict(scope["headers"]).get(b"if-none-match") == _PAGE_ETAG:
        start_message, *bodies = not_modified
        await send(start_message)
        for body in bodies:
            await send(body)
        return
    await answer(send, headers=[(b"content-length", b"5"), (b"etag", _PAGE_ETAG)])


@broken("HR-12", "answers a revalidation with a 304 whose Content-Length is 0, not the page's 5", verdict="warn")
async def not_modified_length_zero(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    start_304 = {
        "type": "http.response.start",
        "status": 304,
        "headers": [(b"etag", _PAGE_ETAG), (b"content-length", b"0")],
    }
    await conditional_page(scope, receive, send, [start_304, {"type": "http.response.body", "body": b""}])


@broken("HR-12", "sends the page again with the 304 to a revalidation")
async def not_modified_with_body(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    start_304 = {"type": "http.response.start", "status": 304, "headers": [(b"etag", _PAGE_ETAG)]}
    await conditional_page(scope, receive, send, [start_304, {"type": "http.response.body", "body": b"hello"}])


@broken("HR-13", "blocks the event loop with time.sleep on HEAD requests", verdict="warn", timeout=1.5)
async def sleeps_on_head(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    if await read_body(receive) is None:
        return  # the client left; nothing to answer
    if scope["method"] == "HEAD":
        time.sleep(0.4)  # a synchronous call in an async handler
    await answer(send)


@broken("SC-20", "sends the body as a bytearray (one failure, under SC-20 only)")
async def bytearray_body(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    if await read_body(receive) is None:
        return  # the client left; nothing to answer
    await send(start(200, 5))
    await send({"type": "http.response.body", "body": bytearray(b"hello")})


@broken("SC-20", "puts a tuple where the spec asks for a list (recorded)", verdict="info")
async def tuple_in_message(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    if await read_body(receive) is None:
        return  # the client left; nothing to answer
    await answer(send, **{"x-timing": (1, 2)})


@broken("DC-08", "keeps streaming after its watcher received http.disconnect", verdict="warn")
async def streams_after_disconnect(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    if await read_body(receive) is None:
        return  # the client left; nothing to answer
    gone = asyncio.Event()

    async def watch() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass
        gone.set()  # noticed, and then ignored below

    watcher = asyncio.ensure_future(watch())
    try:
        await send(start())
        for _ in range(6):  # well past the one or two sends a concurrent app may race out before it stops
            await send({"type": "http.response.body", "body": b"chunk", "more_body": True})
            await asyncio.sleep(0.01)
        await send({"type": "http.response.body", "body": b""})
    except OSError:
        return
    finally:
        watcher.cancel()


@broken("DC-09", "answers 200 to an upload cut short by a disconnect, as if it were whole", verdict="warn")
async def answers_cut_short_upload(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    body = b""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break  # takes what arrived for the whole body
        body += message.get("body", b"")
        if not message.get("more_body", False):
            break
    await answer(send, body or b"hello")


@broken("LS-10", "raises during shutdown (recorded: the spec has no rule for it)", verdict="info", part="lifespan")
async def raises_in_shutdown(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    await receive()
    await send({"type": "lifespan.startup.complete"})
    await receive()
    raise ConnectionError("could not flush the cache")


@broken("WS-10", "returns without answering the handshake", part="websocket")
async def ws_returns_unanswered(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    await receive()


@broken("WS-11", "sends text holding a lone surrogate", part="websocket")
async def ws_surrogate_text(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    await receive()
    await send({"type": "websocket.accept"})
    await send({"type": "websocket.send", "text": "half a pair: \ud800"})
    await correct_websocket_after_accept(receive, send)


@broken("WS-11", "sends accept headers even to a spec 2.0 server", part="websocket")
async def ws_headers_at_2_0(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    await receive()
    await send({"type": "websocket.accept", "headers": [(b"x-served-by", b"asgibench")]})
    await correct_websocket_after_accept(receive, send)


@broken("WS-12", "closes with a reason holding a lone surrogate", part="websocket")
async def ws_surrogate_reason(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    await receive()
    await send({"type": "websocket.accept"})
    await send({"type": "websocket.close", "code": 1000, "reason": "bye \udc80"})


@broken("WS-13", "never answers websocket.connect", part="websocket")
async def ws_never_answers(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    await receive()
    await asyncio.Event().wait()


@broken("WS-14", "accepts a subprotocol the client never offered", part="websocket")
async def ws_unoffered_subprotocol(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    await receive()
    await send({"type": "websocket.accept", "subprotocol": "chat"})
    await correct_websocket_after_accept(receive, send)


@broken("WS-14", "accepts the empty string as subprotocol", part="websocket")
async def ws_empty_subprotocol(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    await receive()
    await send({"type": "websocket.accept", "subprotocol": ""})
    await correct_websocket_after_accept(receive, send)


@broken("EX-03", "denies with status 101, the upgrade it refuses", part="websocket")
async def denial_with_101(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    await receive()
    if not advertised(scope, "websocket.http.response"):
        await send({"type": "websocket.close", "code": 1000})
        return
    await send({"type": "websocket.http.response.start", "status": 101, "headers": []})
    await send({"type": "websocket.http.response.body", "body": b"no"})


async def _trailers(
    scope: dict[str, Any], receive: Receive, send: Send, trailer: list[Any] | None, declared: bool
) -> None:
    if await read_body(receive) is None:
        return  # the client left; nothing to answer
    if not advertised(scope, "http.response.trailers"):
        await answer(send)
        return
    headers = [(b"content-type", b"text/plain")] + ([(b"trailer", b"x-checksum")] if declared else [])
    await send({"type": "http.response.start", "status": 200, "headers": headers, "trailers": True})
    await send({"type": "http.response.body", "body": b"hello"})
    message: dict[str, Any] = {"type": "http.response.trailers"}
    if trailer is not None:
        message["headers"] = trailer
    await send(message)


@broken("EX-05", "sends content-length as a trailer field")
async def forbidden_trailer(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    await _trailers(scope, receive, send, [(b"content-length", b"5")], declared=True)


@broken("EX-05", "sends trailers without their headers key")
async def trailers_without_headers(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    await _trailers(scope, receive, send, None, declared=True)


@broken("EX-05", "sends a trailer field no Trailer header announced", verdict="warn")
async def undeclared_trailer_field(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    await _trailers(scope, receive, send, [(b"x-checksum", b"5d41")], declared=False)


@broken("EX-06", "sends pathsend twice")
async def double_pathsend(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    if await read_body(receive) is None:
        return  # the client left; nothing to answer
    if not advertised(scope, "http.response.pathsend"):
        await answer(send)
        return
    await send(start(200, os.path.getsize(__file__)))
    await send({"type": "http.response.pathsend", "path": os.path.abspath(__file__)})
    await send({"type": "http.response.pathsend", "path": os.path.abspath(__file__)})


@broken("EX-06", "declares a Content-Length other than the file's size for pathsend")
async def pathsend_wrong_length(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    if await read_body(receive) is None:
        return  # the client left; nothing to answer
    if not advertised(scope, "http.response.pathsend"):
        await answer(send)
        return
    await send(start(200, 10))
    await send({"type": "http.response.pathsend", "path": os.path.abspath(__file__)})


@broken("EX-07", "zerocopysend with a BytesIO, which has no OS descriptor")
async def zerocopysend_bytesio(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    if await read_body(receive) is None:
        return  # the client left; nothing to answer
    if not advertised(scope, "http.response.zerocopysend"):
        await answer(send)
        return
    await send(start())
    await send({"type": "http.response.zerocopysend", "file": io.BytesIO(b"hello")})


_LEFT_OPEN: list[Any] = []  # keeps the leaked files alive, as a real leak would


@broken("EX-07", "leaves the zerocopysend file open", verdict="warn")
async def zerocopysend_leaves_file_open(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    if await read_body(receive) is None:
        return  # the client left; nothing to answer
    if not advertised(scope, "http.response.zerocopysend"):
        await answer(send)
        return
    file = open(__file__, "rb")  # noqa: SIM115 - left open on purpose
    _LEFT_OPEN.append(file)
    await send(start())
    await send({"type": "http.response.zerocopysend", "file": file, "count": 10})


@broken("EX-08", "sends an early hint after http.response.start", verdict="warn")
async def early_hint_after_start(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    if await read_body(receive) is None:
        return  # the client left; nothing to answer
    await send(start(200, 5))
    if advertised(scope, "http.response.early_hint"):
        await send({"type": "http.response.early_hint", "links": [b"</style.css>; rel=preload"]})
    await send({"type": "http.response.body", "body": b"hello"})


@broken("EX-08", "puts CR LF in an early-hint link (header injection)")
async def early_hint_injection(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    if await read_body(receive) is None:
        return  # the client left; nothing to answer
    if advertised(scope, "http.response.early_hint"):
        await send({"type": "http.response.early_hint", "links": [b"</a.css>; rel=preload\r\nset-cookie: x=1"]})
    await answer(send)


@broken("EX-11", "pushes with str headers")
async def push_str_headers(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    if await read_body(receive) is None:
        return  # the client left; nothing to answer
    await send(start(200, 5))
    if advertised(scope, "http.response.push"):
        await send({"type": "http.response.push", "path": "/style.css", "headers": [("accept", "text/css")]})
    await send({"type": "http.response.body", "body": b"hello"})


@broken("EX-11", "pushes after the response is complete")
async def push_after_body(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    if await read_body(receive) is None:
        return  # the client left; nothing to answer
    await answer(send)
    if advertised(scope, "http.response.push"):
        await send({"type": "http.response.push", "path": "/style.css", "headers": []})


@broken("EX-12", "sends http.response.debug twice")
async def debug_twice(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    if await read_body(receive) is None:
        return  # the client left; nothing to answer
    if advertised(scope, "http.response.debug"):
        await send({"type": "http.response.debug", "info": {"template": "index.html"}})
        await send({"type": "http.response.debug", "info": {"template": "index.html"}})
    await answer(send)


@broken("EX-12", "sends http.response.debug after the start")
async def debug_after_start(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    if await read_body(receive) is None:
        return  # the client left; nothing to answer
    await send(start(200, 5))
    if advertised(scope, "http.response.debug"):
        await send({"type": "http.response.debug", "info": {}})
    await send({"type": "http.response.body", "body": b"hello"})


# Unusual but valid input, and how the app is called -----------------------------


@broken("SC-18", "reads message['body'] from every http.request, though the key is optional", verdict="warn")
async def needs_body_key(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return  # the client left; nothing to answer
        chunks.append(message["body"])
        if not message["more_body"]:
            break
    await answer(send, b"".join(chunks) or b"hello")


@broken("SC-18", "raises on an event key it does not know", verdict="warn")
async def rejects_unknown_event_keys(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    message = await receive()
    unknown = set(message) - {"type", "body", "more_body"}
    if unknown:
        raise ValueError(f"unexpected keys in {message['type']}: {sorted(unknown)}")
    body = message.get("body", b"")
    while message.get("more_body", False):
        message = await receive()
        if message["type"] == "http.disconnect":
            return  # the client left; nothing to answer
        body += message.get("body", b"")
    await answer(send, body or b"hello")


@broken("SC-18", "takes a 'text' key in websocket.receive for a text message, even when it is None", part="websocket",
        verdict="warn")  # fmt: skip
async def ws_text_key_means_text(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    await receive()
    await send({"type": "websocket.accept"})
    while True:
        message = await receive()
        if message["type"] == "websocket.disconnect":
            return
        if "text" in message:
            await send({"type": "websocket.send", "text": message["text"].strip()})
        else:
            await send({"type": "websocket.send", "bytes": message["bytes"]})


@broken("SC-18", "reads scope['subprotocols'], which is optional", part="websocket", verdict="warn")
async def ws_needs_subprotocols(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    await receive()
    await send({"type": "websocket.accept", "subprotocol": next(iter(scope["subprotocols"]), None)})
    await correct_websocket_after_accept(receive, send)


@broken("SC-21", "finds Content-Type only by its lower-case name, and answers 415 without it", verdict="warn")
async def lower_case_header_lookup(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    body = await read_body(receive)
    if body is None:
        return  # the client left; nothing to answer
    headers = dict(scope["headers"])
    if scope["method"] == "POST" and headers.get(b"content-type") != b"application/json":
        await answer(send, b"unsupported media type", status=415)
        return
    await answer(send, body or b"hello")


@broken("SC-21", "formats the server's port, which a unix socket does not have", verdict="warn")
async def needs_server_port(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    host, port = scope.get("server") or ("localhost", 80)
    where = f"{host}:{port:d}".encode()
    if await read_body(receive) is None:
        return  # the client left; nothing to answer
    await answer(send, where)


@broken("SC-21", "looks its handler up in a fixed table of methods: an extension method raises KeyError",
        verdict="warn")  # fmt: skip
async def fixed_method_table(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    handlers = {method: correct_http for method in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")}
    await handlers[scope["method"]](scope, receive, send)


@broken("SC-21", "encodes the path as ASCII, which a decoded non-ASCII path is not", verdict="warn")
async def ascii_path(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    where = scope["path"].encode("ascii")
    if await read_body(receive) is None:
        return  # the client left; nothing to answer
    await answer(send, where)


@broken("SC-18", "reads scope['asgi']['version'], which may be missing (recorded: every server sends it)",
        verdict="info")  # fmt: skip
async def needs_asgi_version(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    version = scope["asgi"]["version"].encode()
    if await read_body(receive) is None:
        return  # the client left; nothing to answer
    await answer(send, version)


@broken("HR-14", "declares Content-Length 0 on HEAD, though GET sends a body")
async def head_length_zero(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    if await read_body(receive) is None:
        return  # the client left; nothing to answer
    if scope["method"] == "HEAD":
        await send(start(200, 0))
        await send({"type": "http.response.body", "body": b""})
        return
    await answer(send)


@broken("HR-14", "answers HEAD with 405, though GET works", verdict="warn")
async def head_not_allowed(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    if await read_body(receive) is None:
        return  # the client left; nothing to answer
    if scope["method"] == "HEAD":
        await answer(send, b"", status=405)
        return
    await answer(send)


@broken("EX-03", "declares a denial Content-Length the body does not match", part="websocket")
async def denial_wrong_length(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    await receive()
    if not advertised(scope, "websocket.http.response"):
        await send({"type": "websocket.close", "code": 1000})
        return
    await send({"type": "websocket.http.response.start", "status": 403, "headers": [(b"content-length", b"20")]})
    await send({"type": "websocket.http.response.body", "body": b"forbidden"})


@broken("HR-02", "joins two cookies into one Set-Cookie value (recorded: a guess)", verdict="info")
async def joined_set_cookie(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    if await read_body(receive) is None:
        return  # the client left; nothing to answer
    cookies = b"session=abc; Path=/; Expires=Wed, 21 Oct 2037 07:28:00 GMT, theme=light; Path=/"
    await answer(send, b"hello", headers=[(b"set-cookie", cookies)])


@broken("HR-06", "calls send() from a worker thread's own event loop", verdict="warn")
async def sends_from_another_loop(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    if await read_body(receive) is None:
        return  # the client left; nothing to answer
    await asyncio.to_thread(asyncio.run, send(start(200, 5)))
    await send({"type": "http.response.body", "body": b"hello"})


@broken("SC-16", "keeps each scope and changes its headers during the next request", verdict="warn")
async def mutates_scope_later(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    if _kept_scopes:
        _kept_scopes.pop()["headers"].append((b"x-seen-by", b"a later request"))
    _kept_scopes.append(scope)
    await correct_http(scope, receive, send)


_kept_scopes: list[dict[str, Any]] = []


@broken("LS-10", "raises on the unknown key lifespan.startup carries", part="lifespan", verdict="warn")
async def lifespan_rejects_unknown_keys(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    message = await receive()
    if set(message) != {"type"}:
        raise ValueError(f"unexpected keys in {message['type']}: {sorted(set(message) - {'type'})}")
    await correct_lifespan_after_startup(receive, send)


async def correct_lifespan_after_startup(receive: Receive, send: Send) -> None:
    await send({"type": "lifespan.startup.complete"})
    await receive()
    await send({"type": "lifespan.shutdown.complete"})


class _LegacyApp:
    """ASGI 2 style: constructed with the scope, then awaited with receive and send."""

    def __init__(self, scope: dict[str, Any]) -> None:
        self.scope = scope

    async def __call__(self, receive: Receive, send: Send) -> None:
        await compose()(self.scope, receive, send)


BROKEN_APPS.append(
    BrokenApp("legacy_double_callable", "HR-06", _LegacyApp, "an ASGI 2 two-callable app (recorded, run)", "info")
)
