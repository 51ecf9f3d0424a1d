"""Each mode of tests/servers/misbehaving.py sends exactly the bytes its docstring promises, seen over a raw socket.

The load generator's fault-matrix tests trust these servers to fail in one known way each; these tests are that trust.
Timings are lower bounds only: a busy machine makes everything slower, never faster.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http import HTTPStatus
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import ConnectionClosedError, InvalidStatus

from tests.loadkit import ROOT, misbehaving

GET = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
OK = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok"
PHRASE_422 = HTTPStatus(422).phrase.encode()


def get(path: str, method: str = "GET") -> bytes:
    return f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()


@contextmanager
def connected(mode: str) -> Iterator[socket.socket]:
    with misbehaving(mode) as url, connect(url) as sock:
        yield sock


def connect(url: str) -> socket.socket:
    parts = urlsplit(url)
    assert parts.hostname is not None and parts.port is not None
    return socket.create_connection((parts.hostname, parts.port), timeout=5)


def receive(sock: socket.socket, expected: bytes) -> None:
    """Reads as many bytes as ``expected`` has (fewer if the peer closes first) and compares."""
    got = b""
    try:
        while len(got) < len(expected) and (chunk := sock.recv(len(expected) - len(got))):
            got += chunk
    except TimeoutError:
        pass  # the comparison below shows what did arrive
    assert got == expected


def until_eof(sock: socket.socket) -> bytes:
    """Everything up to the peer's FIN (a reset raises instead)."""
    got = b""
    while chunk := sock.recv(65536):
        got += chunk
    return got


def silent(sock: socket.socket, wait: float = 0.2) -> bool:
    """True when nothing arrives, and the connection is not closed, for ``wait`` seconds."""
    sock.settimeout(wait)
    try:
        sock.recv(1)
    except TimeoutError:
        return True
    finally:
        sock.settimeout(5)
    return False


# The modes that were there first; the load tests rely on them unchanged.


def test_ok_answers_200_keep_alive() -> None:
    with connected("ok") as sock:
        for _ in range(3):
            sock.sendall(GET)
            receive(sock, OK)


def test_garbage_answers_bytes_that_are_not_http() -> None:
    with connected("garbage") as sock:
        sock.sendall(GET)
        receive(sock, b"this is not HTTP at all\r\n\r\n")


def test_reset_resets_the_connection() -> None:
    with connected("reset") as sock:
        sock.sendall(GET)
        with pytest.raises(ConnectionResetError):
            until_eof(sock)


def test_stall_never_answers() -> None:
    with connected("stall") as sock:
        sock.sendall(GET)
        assert silent(sock)


def test_count_counts_requests_per_path() -> None:
    with connected("count") as sock:
        for path in ("/a", "/a", "/b"):
            sock.sendall(get(path))
            receive(sock, OK)
        sock.sendall(get("/__counts"))
        body = b'{"/a": 2, "/b": 1}'
        receive(sock, b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))


def test_an_unknown_mode_is_refused() -> None:
    for mode in (
        "nope",
        "status",
        "status:x",
        "capacity:0",
        "close-after:1.5",
        "ws-abort",
        "ws-close:-1",
        "sse-drop:x",
    ):
        run = subprocess.run(
            [sys.executable, "-m", "tests.servers.misbehaving", mode], cwd=ROOT, capture_output=True, text=True
        )
        assert run.returncode == 2 and "unknown mode" in run.stderr, (mode, run.stderr)


# The fault matrix.


def test_interim_sends_100_then_103_then_the_200() -> None:
    interim = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n"
    with connected("interim") as sock:
        for _ in range(2):  # on every request, and the connection stays usable
            sock.sendall(GET)
            receive(sock, interim + OK)


def test_expect_sends_100_continue_and_waits_for_the_body() -> None:
    with connected("expect") as sock:
        sock.sendall(b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n")
        receive(sock, b"HTTP/1.1 100 Continue\r\n\r\n")
        assert silent(sock)  # no final answer before the body
        sock.sendall(b"hello")
        receive(sock, OK)
        # Without the header: no 100; a body the server had not read would show up here as a broken request.
        sock.sendall(b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 2\r\n\r\nhi")
        receive(sock, OK)
        sock.sendall(GET)
        receive(sock, OK)


def test_close10_sends_a_close_delimited_http10_body() -> None:
    with connected("close10") as sock:
        sock.sendall(GET)
        assert until_eof(sock) == b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nclose-delimited body"


def test_close11_sends_connection_close_and_a_close_delimited_body() -> None:
    with connected("close11") as sock:
        sock.sendall(GET)
        expected = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\nclose-delimited body"
        assert until_eof(sock) == expected


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("upgrade", b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"),
        ("upgrade-bare", b"HTTP/1.1 101 Switching Protocols\r\n\r\n"),
    ],
)
def test_upgrade_switches_protocols(mode: str, expected: bytes) -> None:
    with connected(mode) as sock:
        sock.sendall(GET)
        receive(sock, expected)


def test_truncated_sends_10_of_100_bytes_then_fin() -> None:
    with connected("truncated") as sock:
        sock.sendall(GET)
        expected = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 100\r\n\r\n0123456789"
        assert until_eof(sock) == expected


def test_truncated_head_stops_mid_header_then_fin() -> None:
    with connected("truncated-head") as sock:
        sock.sendall(GET)
        assert until_eof(sock) == b"HTTP/1.1 200 OK\r\nContent-Len"


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (401, b"HTTP/1.1 401 Unauthorized\r\nContent-Type: text/plain\r\nContent-Length: 10\r\n\r\nstatus 401"),
        # Python 3.13 renamed 422 from "Unprocessable Entity": the server says what its Python says.
        (422, b"HTTP/1.1 422 %s\r\nContent-Type: text/plain\r\nContent-Length: 10\r\n\r\nstatus 422" % PHRASE_422),
        (503, b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: 10\r\n\r\nstatus 503"),
        (599, b"HTTP/1.1 599 Unknown\r\nContent-Type: text/plain\r\nContent-Length: 10\r\n\r\nstatus 599"),
        (204, b"HTTP/1.1 204 No Content\r\n\r\n"),
    ],
)
def test_status_answers_that_status_keep_alive(status: int, expected: bytes) -> None:
    with connected(f"status:{status}") as sock:
        for _ in range(2):
            sock.sendall(GET)
            receive(sock, expected)


def test_capacity_serves_at_most_n_per_second_over_one_connection() -> None:
    with connected("capacity:50") as sock:
        start = time.monotonic()
        for _ in range(25):
            sock.sendall(GET)
            receive(sock, OK)
        assert time.monotonic() - start >= 0.4  # 24 gaps of 20 ms; lower bound only


def test_capacity_does_not_grow_with_concurrency() -> None:
    with misbehaving("capacity:50") as url:
        socks = [connect(url) for _ in range(5)]
        try:
            start = time.monotonic()
            for _ in range(5):  # 5 requests in flight at once, 25 in all
                for sock in socks:
                    sock.sendall(GET)
                for sock in socks:
                    receive(sock, OK)
            assert time.monotonic() - start >= 0.4
        finally:
            for sock in socks:
                sock.close()


def test_noaccept_completes_the_handshake_but_never_answers() -> None:
    with connected("noaccept") as sock:  # the connect itself succeeds: the kernel queues it in the backlog
        sock.sendall(GET)
        assert silent(sock, 0.3)


def test_trickle_sends_the_response_one_byte_at_a_time() -> None:
    expected = b"HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\ntwenty bytes, slowly"
    with connected("trickle") as sock:
        start = time.monotonic()
        sock.sendall(GET)
        chunks: list[bytes] = []
        while sum(len(chunk) for chunk in chunks) < len(expected) and (chunk := sock.recv(65536)):
            chunks.append(chunk)
        elapsed = time.monotonic() - start
    assert b"".join(chunks) == expected
    assert len(chunks) > 10 and elapsed >= 1.0  # 59 bytes 20 ms apart arrive in pieces


def test_routes_answer_by_path_and_honour_head() -> None:
    def response(status: bytes, kind: bytes, body: bytes) -> bytes:
        return b"HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n%s" % (status, kind, len(body), body)

    routes = {
        "/": response(b"200 OK", b"text/plain", b"ok"),
        "/slow": response(b"200 OK", b"text/plain", b"ok"),
        "/slower": response(b"200 OK", b"text/plain", b"ok"),
        "/missing": response(b"404 Not Found", b"text/plain", b"not found"),
        "/fail": response(b"500 Internal Server Error", b"text/plain", b"server error"),
        "/json": response(b"200 OK", b"application/json", b'{"ok": true}'),
        "/text": response(b"200 OK", b"text/plain", b"hello world"),
        "/elsewhere": response(b"404 Not Found", b"text/plain", b"not found"),
        "/json?page=2": response(b"200 OK", b"application/json", b'{"ok": true}'),
    }
    with connected("routes") as sock:
        for path, expected in routes.items():
            sock.sendall(get(path))
            receive(sock, expected)
            sock.sendall(get(path, "HEAD"))
            receive(sock, expected.partition(b"\r\n\r\n")[0] + b"\r\n\r\n")
        start = time.monotonic()
        sock.sendall(get("/slower"))
        receive(sock, routes["/slower"])
        assert time.monotonic() - start >= 0.045


def test_head_answers_get_with_a_body_and_head_without() -> None:
    head = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\n"
    with connected("head") as sock:
        sock.sendall(get("/", "HEAD"))
        receive(sock, head)
        sock.sendall(GET)  # the next response starts right after the head: no body was sent
        receive(sock, head + b"Hello, world!")


def test_close_after_closes_every_nth_response() -> None:
    with misbehaving("close-after:3") as url:
        for _ in range(2):  # on every connection, counted afresh
            with connect(url) as sock:
                for _ in range(2):
                    sock.sendall(GET)
                    receive(sock, OK)
                sock.sendall(GET)
                last = (
                    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok"
                )
                assert until_eof(sock) == last


def test_tls_answers_ok_with_a_certificate_the_ca_file_trusts(tmp_path: Path) -> None:
    ca_file = tmp_path / "ca.pem"
    with misbehaving("tls", "--ca-file", str(ca_file)) as url:
        assert url.startswith("https://127.0.0.1:")
        context = ssl.create_default_context(cafile=str(ca_file))
        for name in ("127.0.0.1", "localhost"):
            with connect(url) as raw, context.wrap_socket(raw, server_hostname=name) as sock:
                for _ in range(2):
                    sock.sendall(GET)
                    receive(sock, OK)


# WebSocket and Server-Sent Events faults, seen by real clients: websockets and httpx.

# Text and binary, with 7-, 16- and 64-bit lengths both ways (the client masks its frames, the server must unmask).
WS_MESSAGES: list[str | bytes] = ["hello", b"\x00\xffbinary", "x" * 300, b"y" * 70_000]


def ws_url(url: str) -> str:
    return "ws" + url.removeprefix("http")


def test_ws_abort_echoes_n_messages_then_drops_the_connection_without_a_close_frame() -> None:
    async def talk(url: str) -> None:
        async with ws_connect(ws_url(url), ping_interval=None) as ws:
            await asyncio.wait_for(await ws.ping(b"ping"), 5)  # answered, and not counted as a message
            for message in WS_MESSAGES:
                await ws.send(message)
                assert await ws.recv() == message
            await ws.send(["frag", "ments"])  # one message in three frames (the last one empty), echoed whole
            assert await ws.recv() == "fragments"
            with pytest.raises(ConnectionClosedError) as closed:
                await asyncio.wait_for(ws.recv(), 5)
            assert closed.value.rcvd is None  # the TCP connection ended with no close frame: code 1006

    with misbehaving(f"ws-abort:{len(WS_MESSAGES) + 1}") as url:
        asyncio.run(talk(url))


def test_ws_close_echoes_n_messages_then_closes_with_1011() -> None:
    async def talk(url: str) -> None:
        async with ws_connect(ws_url(url), ping_interval=None) as ws:
            for message in WS_MESSAGES[:2]:
                await ws.send(message)
                assert await ws.recv() == message
            with pytest.raises(ConnectionClosedError) as closed:
                await asyncio.wait_for(ws.recv(), 5)
            assert closed.value.rcvd is not None
            assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (1011, "server error")

    with misbehaving("ws-close:2") as url:
        asyncio.run(talk(url))


def test_ws_close_answers_a_clients_close_frame_before_the_fault() -> None:
    async def talk(url: str) -> None:
        async with ws_connect(ws_url(url), ping_interval=None) as ws:
            await ws.close(1000, "done")
            assert ws.close_code == 1000  # the server echoed the code: a clean closing handshake

    with misbehaving("ws-close:5") as url:
        asyncio.run(talk(url))


def test_ws_refuse_answers_403_then_closes() -> None:
    async def talk(url: str) -> None:
        with pytest.raises(InvalidStatus) as refused:
            async with ws_connect(ws_url(url)):
                pass
        assert refused.value.response.status_code == 403
        assert refused.value.response.body == b"forbidden"

    handshake = (
        b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    expected = (
        b"HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nConnection: close\r\nContent-Length: 9\r\n\r\nforbidden"
    )
    with misbehaving("ws-refuse") as url:
        asyncio.run(talk(url))
        with connect(url) as sock:
            sock.sendall(handshake)
            assert until_eof(sock) == expected


def test_ws_modes_compute_the_accept_key_of_rfc_6455() -> None:
    handshake = (
        b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    with connected("ws-abort:0") as sock:  # the example of RFC 6455 1.3; no message, so the drop follows at once
        sock.sendall(handshake)
        assert until_eof(sock) == (
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"
        )


def read_events(response: httpx.Response, into: list[tuple[float, str]]) -> None:
    """Appends each event as it completes, with when; appending as it goes keeps them when the stream breaks."""
    buffer = ""
    for text in response.iter_text():
        buffer += text
        while "\n\n" in buffer:
            event, _, buffer = buffer.partition("\n\n")
            into.append((time.monotonic(), event))


def sse_event(number: int) -> str:
    return f'id: {number}\ndata: {{"n": {number}}}'


def test_sse_stall_sends_n_events_stalls_2_s_then_the_rest_and_ends() -> None:
    events: list[tuple[float, str]] = []
    with misbehaving("sse-stall:3") as url, httpx.Client(timeout=5) as client:
        with client.stream("GET", url) as response:
            assert response.status_code == 200
            assert response.headers["content-type"] == "text/event-stream"
            assert response.headers["cache-control"] == "no-cache"
            assert response.headers["transfer-encoding"] == "chunked"
            read_events(response, events)  # a clean end: no exception
        assert [event for _, event in events] == [sse_event(number) for number in range(6)]
        times = [when for when, _ in events]
        assert times[3] - times[2] >= 1.9  # the stall, after the third event; lower bound only
        assert client.post(url).status_code == 405  # on the same connection: the stream ended cleanly


def test_sse_drop_sends_n_events_then_closes_mid_stream() -> None:
    events: list[tuple[float, str]] = []
    with misbehaving("sse-drop:3") as url, httpx.Client(timeout=5) as client:
        with client.stream("GET", url) as response:
            assert response.headers["content-type"] == "text/event-stream"
            with pytest.raises(httpx.RemoteProtocolError, match="incomplete chunked read"):
                read_events(response, events)
    assert [event for _, event in events] == [sse_event(number) for number in range(3)]
