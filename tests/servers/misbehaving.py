"""A small HTTP/1.1 server on plain asyncio whose behaviour is picked on the command line.

The load tests need targets that fail in known ways, which real servers do
not do on demand. It prints ``PORT <n>`` once listening on 127.0.0.1.

    python -m tests.servers.misbehaving MODE [--ca-file PATH]

ok       answer 200 at once, keep-alive
freeze   like ok, but the whole event loop blocks for 1 s in every 5 s
mix      every 5th request is answered after 50 ms, the others at once
reset    read a request, then close the connection with a TCP reset
garbage  answer every request with bytes that are not HTTP
stall    read requests and never answer
count    like ok, and count requests per path; GET /__counts answers the counts as JSON

The modes below (tls aside) parse each request (head up to CRLFCRLF, then a Content-Length
body), keep the connection alive unless told otherwise, and honour a client's
``Connection: close``.

interim         before each 200, a 100 Continue and a 103 Early Hints, each in its own write
expect          on ``Expect: 100-continue``, 100 Continue first, then read the body, then 200
close10         HTTP/1.0 200, no Content-Length: the body ends when the server closes
close11         HTTP/1.1 200 with Connection: close, no Content-Length, body, then close
upgrade         answer 101 Switching Protocols with Upgrade: websocket and Connection: Upgrade
upgrade-bare    answer 101 Switching Protocols with no headers at all
truncated       announce Content-Length: 100, send 10 bytes of body, then close (FIN)
truncated-head  send "HTTP/1.1 200 OK", CRLF, "Content-Len" and close (FIN)
status:NNN      answer status NNN with the body "status NNN" (no body for 1xx, 204 and 304)
capacity:N      answer 200, released one at a time N per second across all connections
noaccept        a socket listening with backlog 1 that never accepts
trickle         answer 200 with a 20-byte body, the whole response one byte every 20 ms
routes          / 200 "ok", /slow after 5 ms, /slower after 50 ms, /missing 404, /fail 500,
                /json and /text 200 with a content type, others 404; HEAD on any of them
head            GET 200 "Hello, world!" with Content-Length: 13; HEAD the same head, no body
close-after:N   like ok, but every N-th response on a connection says Connection: close, then closes
tls             ok's handler over TLS, certificate for 127.0.0.1 and localhost; ``--ca-file PATH`` writes the CA

WebSocket and Server-Sent Events faults (N may be 0):

ws-abort:N      accept a WebSocket handshake, echo N data messages, then drop the TCP connection (FIN, no close frame)
ws-close:N      the same, but after N messages send a close frame 1011 "server error", then close
ws-refuse       answer the handshake with 403 Forbidden and a small body, then close
sse-stall:N     GET: a chunked text/event-stream of N events 10 ms apart, nothing for 2 s (connection open),
                N more events, then the terminating chunk; keep-alive. Other methods: 405
sse-drop:N      GET: N events 10 ms apart, then close mid-stream (no terminating chunk)

The WebSocket modes answer pings with pongs and a client's close frame with the same frame; a
message sent in fragments is echoed whole. Event ``n`` is ``id: n``, ``data: {"n": n}``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import hashlib
import json
import socket
import ssl
import struct
import time
from collections import Counter
from dataclasses import dataclass
from http import HTTPStatus

OK = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok"
FREEZE_EVERY = 5.0
FREEZE_FOR = 1.0
SLOW_EVERY = 5
SLOW_FOR = 0.050


class Handler(asyncio.Protocol):
    counts: Counter[str] = Counter()
    served = 0

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while b"\r\n\r\n" in self.buffer:
            head, _, rest = self.buffer.partition(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            if len(rest) < length:
                return
            self.buffer = rest[length:]
            path = head.split(b" ")[1].decode()
            self.request(path)

    def request(self, path: str) -> None:
        assert self.transport is not None
        Handler.served += 1
        if self.mode == "reset":
            sock = self.transport.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.transport.abort()
        elif self.mode == "garbage":
            self.transport.write(b"this is not HTTP at all\r\n\r\n")
        elif self.mode == "stall":
            pass
        elif self.mode == "mix" and Handler.served % SLOW_EVERY == 0:
            asyncio.get_running_loop().call_later(SLOW_FOR, self.transport.write, OK)
        elif self.mode == "count" and path == "/__counts":
            body = json.dumps(Handler.counts).encode()
            self.transport.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
        else:
            Handler.counts[path] += 1
            self.transport.write(OK)


def freeze_periodically(loop: asyncio.AbstractEventLoop) -> None:
    time.sleep(FREEZE_FOR)  # blocks the whole loop: nothing is read or answered meanwhile
    loop.call_later(FREEZE_EVERY - FREEZE_FOR, freeze_periodically, loop)


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]  # names lower-cased
    body: bytes
    number: int  # 1 for the first request on its connection


def phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


def head(status: int, *headers: str, version: str = "HTTP/1.1") -> bytes:
    return "".join(f"{line}\r\n" for line in (f"{version} {status} {phrase(status)}", *headers, "")).encode()


def full(status: int, body: bytes, *headers: str, method: str = "GET") -> bytes:
    """A response framed by Content-Length; a HEAD gets the same head and no body."""
    return head(status, *headers, f"Content-Length: {len(body)}") + (b"" if method == "HEAD" else body)


CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
EARLY_HINTS = b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n"
CLOSE_BODY = b"close-delimited body"
TRICKLE_BODY = b"twenty bytes, slowly"
TRICKLE_EVERY = 0.020
ROUTES: dict[str, tuple[int, float, str, bytes]] = {  # path: status, delay, content type, body
    "/": (200, 0.0, "text/plain", b"ok"),
    "/slow": (200, 0.005, "text/plain", b"ok"),
    "/slower": (200, 0.050, "text/plain", b"ok"),
    "/missing": (404, 0.0, "text/plain", b"not found"),
    "/fail": (500, 0.0, "text/plain", b"server error"),
    "/json": (200, 0.0, "application/json", b'{"ok": true}'),
    "/text": (200, 0.0, "text/plain", b"hello world"),
}
NOT_FOUND = ROUTES["/missing"]
WS_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455 1.3
CONTINUATION, TEXT, BINARY, CLOSE, PING, PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
SSE_EVERY = 0.010
SSE_STALL = 2.0
next_release = 0.0  # capacity: when the one global queue may release its next answer


async def read_request(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, mode: str, number: int) -> Request:
    line, *fields = (await reader.readuntil(b"\r\n\r\n"))[:-4].decode("latin-1").split("\r\n")
    method, target, _ = line.split(" ", 2)
    headers: dict[str, str] = {}
    for field in fields:
        name, _, value = field.partition(":")
        headers[name.strip().lower()] = value.strip()
    if mode == "expect" and headers.get("expect", "").lower() == "100-continue":
        writer.write(CONTINUE)  # the client holds its body back until it sees this
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    return Request(method, target.partition("?")[0], headers, body, number)


def ws_frame(opcode: int, payload: bytes = b"") -> bytes:
    """One unmasked, final frame, as a server sends it, with a 7-, 16- or 64-bit length."""
    length = len(payload)
    if length < 126:
        header = struct.pack("!BB", 0x80 | opcode, length)
    elif length < 1 << 16:
        header = struct.pack("!BBH", 0x80 | opcode, 126, length)
    else:
        header = struct.pack("!BBQ", 0x80 | opcode, 127, length)
    return header + payload


async def ws_read_frame(reader: asyncio.StreamReader) -> tuple[bool, int, bytes]:
    """One frame from the client: whether it is final, its opcode and its unmasked payload."""
    first, second = await reader.readexactly(2)
    length = second & 0x7F
    if length == 126:
        (length,) = struct.unpack("!H", await reader.readexactly(2))
    elif length == 127:
        (length,) = struct.unpack("!Q", await reader.readexactly(8))
    mask = await reader.readexactly(4) if second & 0x80 else b""
    payload = await reader.readexactly(length)
    if mask and payload:  # XOR with the 4-byte key repeated, as one big integer: fast for long payloads
        key = (mask * (length // 4 + 1))[:length]
        payload = (int.from_bytes(payload, "big") ^ int.from_bytes(key, "big")).to_bytes(length, "big")
    return bool(first & 0x80), first & 0x0F, payload


async def websocket(
    name: str, arg: str, request: Request, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    """The ws-* modes: the handshake, then echo until the fault; the caller closes the connection."""
    key = request.headers.get("sec-websocket-key", "")
    if name == "ws-refuse" or not key or request.headers.get("upgrade", "").lower() != "websocket":
        status, body = (403, b"forbidden") if name == "ws-refuse" else (400, b"not a websocket handshake")
        writer.write(full(status, body, "Content-Type: text/plain", "Connection: close"))
        return
    accept = base64.b64encode(hashlib.sha1(key.encode() + WS_GUID).digest()).decode()
    writer.write(head(101, "Upgrade: websocket", "Connection: Upgrade", f"Sec-WebSocket-Accept: {accept}"))
    echoed, kind, parts = 0, TEXT, list[bytes]()
    while echoed < int(arg):
        final, opcode, payload = await ws_read_frame(reader)
        if opcode == CLOSE:
            writer.write(ws_frame(CLOSE, payload[:2]))  # the closing handshake: echo the client's code
            return
        if opcode == PING:
            writer.write(ws_frame(PONG, payload))
        elif opcode in (TEXT, BINARY, CONTINUATION):
            if opcode != CONTINUATION:  # a new message; continuation frames add to it
                kind, parts = opcode, []
            parts.append(payload)
            if final:
                writer.write(ws_frame(kind, b"".join(parts)))
                echoed += 1
        await writer.drain()
    if name == "ws-close":
        writer.write(ws_frame(CLOSE, struct.pack("!H", 1011) + b"server error"))
        await writer.drain()
        with contextlib.suppress(TimeoutError):  # let the client answer the close frame before the FIN
            await asyncio.wait_for(reader.read(65536), 1.0)


async def sse(name: str, arg: str, writer: asyncio.StreamWriter) -> bool:
    """The sse-* modes: a chunked event stream with a stall in it, or cut off; False closes the connection."""
    writer.write(head(200, "Content-Type: text/event-stream", "Cache-Control: no-cache", "Transfer-Encoding: chunked"))
    count = int(arg)
    for number in range(2 * count if name == "sse-stall" else count):
        if number:
            await asyncio.sleep(SSE_STALL if number == count else SSE_EVERY)
        event = f'id: {number}\ndata: {{"n": {number}}}\n\n'.encode()
        writer.write(b"%x\r\n%s\r\n" % (len(event), event))  # one chunk per event
        await writer.drain()
    if name == "sse-drop":
        return False  # mid-stream: no terminating chunk
    writer.write(b"0\r\n\r\n")
    return True


async def answer(mode: str, request: Request, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
    """Answers one request in ``mode``; False closes the connection."""
    global next_release
    name, _, arg = mode.partition(":")
    if name in WS_MODES:
        await websocket(name, arg, request, reader, writer)
        return False
    elif name in ("sse-stall", "sse-drop"):
        if request.method != "GET":
            writer.write(full(405, b"method not allowed", "Content-Type: text/plain", "Allow: GET"))
            return True
        return await sse(name, arg, writer)
    elif name == "interim":
        for interim in (CONTINUE, EARLY_HINTS):
            writer.write(interim)
            await writer.drain()
        writer.write(OK)
    elif name == "expect":
        writer.write(OK)
    elif name == "close10":
        writer.write(head(200, "Content-Type: text/plain", version="HTTP/1.0"))
        await writer.drain()
        writer.write(CLOSE_BODY)  # no Content-Length: closing the connection ends the body
        return False
    elif name == "close11":
        writer.write(head(200, "Content-Type: text/plain", "Connection: close"))
        await writer.drain()
        writer.write(CLOSE_BODY)
        return False
    elif name == "upgrade":
        writer.write(head(101, "Upgrade: websocket", "Connection: Upgrade"))
    elif name == "upgrade-bare":
        writer.write(head(101))
    elif name == "truncated":
        writer.write(head(200, "Content-Type: text/plain", "Content-Length: 100") + b"0123456789")
        return False
    elif name == "truncated-head":
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Len")
        return False
    elif name == "status":
        status = int(arg)
        # These statuses never carry a body; a Content-Length would promise one.
        bodiless = status < 200 or status in (204, 304)
        writer.write(head(status) if bodiless else full(status, b"status %d" % status, "Content-Type: text/plain"))
    elif name == "capacity":
        # One virtual queue for the whole server: each answer takes the next free 1/N s slot.
        loop = asyncio.get_running_loop()
        release = max(loop.time(), next_release)
        next_release = release + 1 / float(arg)
        await asyncio.sleep(release - loop.time())
        writer.write(OK)
    elif name == "trickle":
        for byte in full(200, TRICKLE_BODY):
            if writer.is_closing():  # the client gave up: stop, rather than log a failed send per byte
                return False
            writer.write(bytes([byte]))
            await asyncio.sleep(TRICKLE_EVERY)
    elif name == "routes":
        status, delay, kind, body = ROUTES.get(request.path, NOT_FOUND)
        await asyncio.sleep(delay)
        writer.write(full(status, body, f"Content-Type: {kind}", method=request.method))
    elif name == "head":
        writer.write(full(200, b"Hello, world!", "Content-Type: text/plain", method=request.method))
    elif name == "close-after":
        if request.number % int(arg) == 0:
            writer.write(full(200, b"ok", "Content-Type: text/plain", "Connection: close"))
            return False
        writer.write(OK)
    return True


async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, mode: str) -> None:
    number = 0
    try:
        while True:
            number += 1
            request = await read_request(reader, writer, mode, number)
            keep = await answer(mode, request, reader, writer)
            await writer.drain()
            if not keep or request.headers.get("connection", "").lower() == "close":
                break
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError, ValueError):
        pass  # the client went away, or sent what these servers do not parse
    finally:
        writer.close()  # after the whole request was read, so the kernel sends FIN, not RST


def never_accept() -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(1)  # the kernel completes handshakes into this backlog; nothing ever takes them out
    print(f"PORT {sock.getsockname()[1]}", flush=True)
    while True:
        time.sleep(3600)


def tls_context(ca_file: str | None) -> ssl.SSLContext:
    import trustme  # a dev dependency, needed by this mode only

    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    if ca_file:
        ca.cert_pem.write_to_path(ca_file)  # before the PORT line, so it exists once a client can connect
    return context


OLD_MODES = {"ok", "freeze", "mix", "reset", "garbage", "stall", "count"}
PLAIN_MODES = {"interim", "expect", "close10", "close11", "upgrade", "upgrade-bare", "truncated", "truncated-head"}
PLAIN_MODES |= {"trickle", "routes", "head", "noaccept", "tls", "ws-refuse"}
STREAM_MODES = {"ws-abort", "ws-close", "sse-stall", "sse-drop"}  # their count may be 0
COUNTED_MODES = {"status", "capacity", "close-after"} | STREAM_MODES  # these take a number after a colon
WS_MODES = {"ws-abort", "ws-close", "ws-refuse"}


def check(mode: str) -> None:
    name, colon, arg = mode.partition(":")
    if name in COUNTED_MODES:
        if not colon or (name != "capacity" and not arg.isdigit()):
            raise ValueError(arg)
        if float(arg) <= 0 and name not in STREAM_MODES:
            raise ValueError(arg)
    elif mode not in OLD_MODES | PLAIN_MODES:
        raise ValueError(mode)


async def main(mode: str, ca_file: str | None = None) -> None:
    loop = asyncio.get_running_loop()
    if mode in OLD_MODES:
        server = await loop.create_server(lambda: Handler(mode), "127.0.0.1", 0, backlog=4096)
    elif mode == "tls":
        context = tls_context(ca_file)
        server = await loop.create_server(lambda: Handler("ok"), "127.0.0.1", 0, backlog=4096, ssl=context)
    else:
        server = await asyncio.start_server(lambda r, w: serve(r, w, mode), "127.0.0.1", 0, backlog=4096)
    port = server.sockets[0].getsockname()[1]
    if mode == "freeze":
        loop.call_later(FREEZE_EVERY - FREEZE_FOR, freeze_periodically, loop)
    print(f"PORT {port}", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m tests.servers.misbehaving", description=__doc__.split("\n")[0])
    parser.add_argument("mode")
    parser.add_argument("--ca-file", help="tls: write the CA certificate (PEM) here")
    args = parser.parse_args()
    try:
        check(args.mode)
    except ValueError:
        parser.error(f"unknown mode {args.mode!r}; see the module docstring")
    if args.mode == "noaccept":
        never_accept()
    else:
        asyncio.run(main(args.mode, args.ca_file))
