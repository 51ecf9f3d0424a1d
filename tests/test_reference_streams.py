"""reference_apps/raw_app.py's Server-Sent Events endpoint, under real servers, and over TLS with HTTP/2.

The streaming and HTTP/2 load tests measure against these; the certificates come from tests/tlskit.py.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from reference_apps.raw_app import Message, app, sse_query
from tests.loadkit import ROOT, free_port, stop, uvicorn, wait_listening
from tests.tlskit import certificates, ssl_context


def read_events(response: httpx.Response) -> list[dict[str, str]]:
    """Each event as its fields, e.g. ``{"id": "0", "data": "{...}"}``."""
    text = response.read().decode()
    assert text.endswith("\n\n"), text
    return [dict(line.split(": ", 1) for line in block.split("\n")) for block in text[:-2].split("\n\n")]


def check_three_events(response: httpx.Response) -> None:
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/event-stream"
    assert response.headers["cache-control"] == "no-cache"
    events = read_events(response)
    assert [event["id"] for event in events] == ["0", "1", "2"]
    data = [json.loads(event["data"]) for event in events]
    assert [item["n"] for item in data] == [0, 1, 2]
    sent = [item["sent"] for item in data]
    assert sent == sorted(sent) and sent[2] - sent[0] >= 0.015  # two 10 ms waits; lower bound only
    assert abs(sent[0] - time.time()) < 60  # wall-clock time, so a client can tell how late an event arrived


def test_sse_under_uvicorn_sends_the_events_asked_for() -> None:
    with uvicorn() as (url, _), httpx.Client(base_url=url, timeout=10) as client:
        with client.stream("GET", "/sse", params={"events": 3, "interval_ms": 10}) as response:
            check_three_events(response)
        for query in ("events=abc", "interval_ms=1.5", "events=-1"):
            response = client.get(f"/sse?{query}")
            assert response.status_code == 400, query
        with client.stream("GET", "/sse", params={"events": 0, "interval_ms": 0}) as endless:
            ids = (line for line in endless.iter_lines() if line.startswith("id: "))
            assert [next(ids) for _ in range(3)] == [
                "id: 0",
                "id: 1",
                "id: 2",
            ]  # endless; leaving closes the connection
        assert client.get("/").text == "hello, world"  # and the server is none the worse


def test_sse_query_defaults_and_clamps() -> None:
    assert sse_query(b"") == (10, 0.1)
    assert sse_query(b"events=&interval_ms=") == (10, 0.1)  # blank means the default
    assert sse_query(b"events=0&interval_ms=0") == (0, 0.0)
    assert sse_query(b"events=999999&interval_ms=999999") == (100_000, 60.0)
    assert sse_query(b"interval_ms=-5") == (10, 0.0)
    assert sse_query(b"events=abc") is None
    assert sse_query(b"events=-1") is None


def run_sse(query: bytes, *, leave: bool = False, fail_send: bool = False) -> list[Message]:
    """raw_app's /sse in-process: the messages it sent. ``leave``: the client disconnects 50 ms after its request."""
    sent: list[Message] = []
    scope = {"type": "http", "method": "GET", "path": "/sse", "query_string": query, "headers": []}
    messages = [{"type": "http.request"}, {"type": "http.disconnect"}]

    async def receive() -> Message:
        if len(messages) == 1:
            await asyncio.sleep(0.05 if leave else 3600)
        return messages.pop(0)

    async def send(message: Message) -> None:
        if fail_send and message["type"] == "http.response.body":
            raise OSError("the client has gone")
        sent.append(message)

    asyncio.run(asyncio.wait_for(app(scope, receive, send), 5))
    return sent


def test_sse_stops_at_once_when_the_client_leaves_even_mid_interval() -> None:
    start = time.monotonic()
    sent = run_sse(b"events=5&interval_ms=60000", leave=True)
    assert time.monotonic() - start < 2  # not the 60 s wait before the second event
    assert [message["type"] for message in sent] == ["http.response.start", "http.response.body"]
    assert sent[1]["more_body"] is True and sent[1]["body"].startswith(b"id: 0\ndata: {")


def test_sse_stops_when_send_raises() -> None:
    sent = run_sse(b"events=0&interval_ms=0", fail_send=True)
    assert [message["type"] for message in sent] == ["http.response.start"]


def h2_client_works() -> bool:
    """httpx's http2 extra: the h2 package, which httpx imports when a client asks for HTTP/2."""
    return importlib.util.find_spec("h2") is not None


def test_hypercorn_over_tls_negotiates_h2_and_streams_events(tmp_path: Path) -> None:
    files = certificates(tmp_path)
    port = free_port()
    command = [sys.executable, "-m", "hypercorn", "--certfile", str(files.cert), "--keyfile", str(files.key)]
    command += ["--bind", f"127.0.0.1:{port}", "--log-level", "warning", "reference_apps.raw_app:app"]
    process = subprocess.Popen(command, cwd=ROOT)
    try:
        wait_listening("127.0.0.1", port)
        context = ssl_context(files)
        with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
            with context.wrap_socket(raw, server_hostname="localhost") as tls:
                assert tls.selected_alpn_protocol() == "h2"
        if h2_client_works():  # otherwise the ALPN answer above is all this test checks
            with httpx.Client(http2=True, verify=context, base_url=f"https://127.0.0.1:{port}", timeout=10) as client:
                response = client.get("/")
                assert (response.http_version, response.text) == ("HTTP/2", "hello, world")
                with client.stream("GET", "/sse", params={"events": 3, "interval_ms": 10}) as stream:
                    assert stream.http_version == "HTTP/2"
                    check_three_events(stream)
    finally:
        stop(process)
