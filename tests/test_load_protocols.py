"""``asgibench load`` over WebSocket, streamed responses (SSE) and HTTP/2, against real servers on 127.0.0.1.

Every run is a subprocess writing a result file, and every result file must keep
the accounting rule of docs/result-file.md (``loadkit.assert_accounts``). The
servers are the real ones (uvicorn, hypercorn, daphne, granian) serving
reference_apps/raw_app.py, tests/servers/misbehaving.py for the faults, and two
small servers of this module: an ASGI app that records what reached it
(``observed_app``) and an HTTP/2 server that resets streams or goes away on cue
(``H2Server``). The machine is shared and noisy: the tests assert invariants and
large effects, never tight timings.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.loadkit import ROOT, asgibench, assert_accounts, free_port, misbehaving, read, stop, uvicorn, wait_listening
from tests.tlskit import TLSFiles, certificates

APP = "reference_apps.raw_app:app"
SHORT = ("-d", "1s", "-q")
SSE_EVENTS, SSE_INTERVAL_MS = 5, 20
SSE_PATH = f"/sse?events={SSE_EVENTS}&interval_ms={SSE_INTERVAL_MS}"
# hypercorn sends GOAWAY after keep_alive_max_requests (1000) requests on an HTTP/2 connection, and then leaves
# the streams it had accepted unanswered: the plain HTTP/2 tests lift the limit so that they measure HTTP/2 alone.
HYPERCORN_NO_LIMIT = "keep_alive_max_requests = 100000000\n"


# -- servers -------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Server:
    name: str
    module: str  # what must be importable for it to run
    speaks: frozenset[str]  # "ws", "sse", "h2c", "h2-tls"

    def command(self, port: int, app: str, *, http2: bool = False, extra: tuple[str, ...] = ()) -> list[str]:
        python = [sys.executable, "-m"]
        if self.name == "uvicorn":
            return [*python, "uvicorn", app, "--port", str(port), "--log-level", "warning", "--no-access-log", *extra]
        if self.name == "hypercorn":
            return [*python, "hypercorn", "--bind", f"127.0.0.1:{port}", "--log-level", "warning", *extra, app]
        if self.name == "daphne":
            return [*python, "daphne", "-v", "0", "-b", "127.0.0.1", "-p", str(port), *extra, app]
        if self.name == "granian":
            version = ("--http", "2") if http2 else ()
            return [*python, "granian", "--interface", "asgi", "--host", "127.0.0.1", "--port", str(port),
                    "--log-level", "warning", "--no-access-log", *version, *extra, app]  # fmt: skip
        raise AssertionError(self.name)


SERVERS = {
    "uvicorn": Server("uvicorn", "uvicorn", frozenset({"ws", "sse"})),
    "hypercorn": Server("hypercorn", "hypercorn", frozenset({"ws", "sse", "h2c", "h2-tls"})),
    "daphne": Server("daphne", "daphne", frozenset({"ws", "sse"})),  # HTTP/2 only over TLS, and not h2c
    "granian": Server("granian", "granian", frozenset({"ws", "sse", "h2c"})),
}


def wanted(name: str, protocol: str) -> Server:
    """The server, or a skip: not installed, or it does not serve ``protocol``."""
    server = SERVERS[name]
    pytest.importorskip(server.module)
    if protocol not in server.speaks:
        pytest.skip(f"{name} does not serve {protocol}")
    return server


@contextlib.contextmanager
def serving(server: Server, app: str = APP, *, http2: bool = False, extra: tuple[str, ...] = ()) -> Iterator[int]:
    """``server`` serving ``app`` on a free port of 127.0.0.1; yields the port, then stops it by its PID."""
    port = free_port()
    process = subprocess.Popen(
        server.command(port, app, http2=http2, extra=extra),
        cwd=ROOT,
        stdout=subprocess.DEVNULL,  # its log, if any, goes to stderr (pytest shows it with a failure)
    )
    try:
        wait_listening("127.0.0.1", port, deadline=30)
        yield port
    finally:
        stop(process)


def hypercorn_config(tmp_path: Path) -> tuple[str, ...]:
    config = tmp_path / "hypercorn.toml"
    config.write_text(HYPERCORN_NO_LIMIT)
    return ("--config", str(config))


# -- running asgibench ---------------------------------------------------------------------------------------------


@dataclass
class Run:
    done: subprocess.CompletedProcess[str]
    result: dict[str, Any]

    @property
    def summary(self) -> dict[str, Any]:
        return dict(self.result["summary"])

    @property
    def errors(self) -> dict[str, int]:
        """The error kinds that occurred, with their counts (no zeros, no total)."""
        return {kind: n for kind, n in self.summary["errors"].items() if n and kind != "total"}

    @property
    def generator(self) -> dict[str, Any]:
        return dict(self.result["generator"])


def load(tmp_path: Path, target: str, *args: str, env: dict[str, str] | None = None) -> Run:
    """``asgibench load TARGET ARGS --json FILE``; the result must exist, keep the accounting rule, and the run must
    not have printed a traceback (an exception escaping a protocol callback is logged as one by asyncio)."""
    out = tmp_path / f"result-{len(list(tmp_path.glob('result-*.json')))}.json"
    done = asgibench("load", target, *SHORT, *args, "--json", str(out), env=env, timeout=60)
    assert out.exists(), f"no result file; exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    result = read(out)
    assert_accounts(result)
    assert_codes(result)
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    return Run(done, result)


CODED_KINDS = ("handshake", "closed", "stream_reset", "goaway")


def assert_codes(result: dict[str, Any]) -> None:
    """Every error of a coded kind carries its code (docs/result-file.md): the codes of a kind add up to its count."""
    summary = result["summary"]
    codes = summary["error_codes"]
    assert set(codes) <= set(CODED_KINDS), codes
    for kind in CODED_KINDS:
        counted = sum(codes.get(kind, {}).values())
        assert counted == summary["errors"][kind], (kind, summary["errors"][kind], codes, summary["error_examples"])


def assert_all_ok(run: Run) -> None:
    summary = run.summary
    assert run.done.returncode == 0, (run.done.returncode, run.done.stdout[-2000:], run.done.stderr[-2000:])
    assert summary["requests"] > 0
    assert run.errors == {}, (run.errors, summary["error_examples"])
    assert summary["ok"] == summary["responses"] == summary["requests"]


def assert_websocket_messages(run: Run, *, in_flight: int) -> None:
    """Messages are counted as they go and come inside the window: every one sent was a request, and at most
    ``in_flight`` replies (VUs x streams) were still on their way when the window closed."""
    summary = run.summary
    messages = summary["messages"]
    assert messages["unmatched"] == 0, messages
    assert messages["sent"] <= summary["requests"], (messages, summary["requests"])
    assert messages["sent"] - in_flight <= messages["received"] <= messages["sent"], messages


# -- an ASGI app that records what reached it ----------------------------------------------------------------------

OBSERVED: dict[str, Any] = {"kinds": Counter(), "sizes": Counter(), "offered": []}


async def observed_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """WebSocket echo that records each message's kind and size and the subprotocols offered; GET /observed tells.

    /ws echoes, /ws/choose accepts the first subprotocol offered, /ws/wrap wraps each reply in JSON (the id is then
    inside it), /ws/extra sends a message of its own after each reply.
    """
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] == "http":
        body = json.dumps({"kinds": OBSERVED["kinds"], "sizes": OBSERVED["sizes"], "offered": OBSERVED["offered"]})
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": body.encode()})
        return
    path = scope["path"]
    await receive()  # websocket.connect
    offered = list(scope.get("subprotocols") or [])
    OBSERVED["offered"].append(offered)
    accept: dict[str, Any] = {"type": "websocket.accept"}
    if path == "/ws/choose" and offered:
        accept["subprotocol"] = offered[0]
    await send(accept)
    while True:
        message = await receive()
        if message["type"] == "websocket.disconnect":
            return
        text, data = message.get("text"), message.get("bytes")
        kind, payload = ("text", text) if text is not None else ("binary", data or b"")
        OBSERVED["kinds"][kind] += 1
        OBSERVED["sizes"][len(payload.encode() if isinstance(payload, str) else payload)] += 1
        if path == "/ws/wrap":
            wrapped = json.dumps({"echo": text}) if text is not None else b"<" + payload + b">"
            reply = {"text": wrapped} if isinstance(wrapped, str) else {"bytes": wrapped}
        else:
            reply = {"text": text} if text is not None else {"bytes": payload}
        await send({"type": "websocket.send", **reply})
        if path == "/ws/extra":
            await send({"type": "websocket.send", "text": "and one of my own"})


def observed(url: str) -> dict[str, Any]:
    import httpx

    return dict(httpx.get(url + "observed", timeout=10).json())


# -- an HTTP/2 server that misbehaves on cue ------------------------------------------------------------------------


class H2Server(asyncio.Protocol):
    """h2c (prior knowledge): each GET is answered 200 "ok" at once, except as ``mode`` says, per connection:

    reset-every:N   every N-th request is refused with RST_STREAM REFUSED_STREAM instead
    goaway-after:N  the N-th answer and a GOAWAY (NO_ERROR, last stream = that request's) go out in one write,
                    as nginx ends a connection after its keepalive_requests; every stream it took was answered
    goaway-late:N   from the N-th request on nothing is answered; 200 ms after the N-th, GOAWAY (NO_ERROR) with
                    the last answered stream: the requests after it were not processed
    """

    def __init__(self, mode: str, every: int, transports: set[asyncio.Transport]) -> None:
        from h2.config import H2Configuration
        from h2.connection import H2Connection

        self.mode, self.every, self.transports = mode, every, transports
        self.conn = H2Connection(H2Configuration(client_side=False, header_encoding=None))
        self.count = 0
        self.last_answered = 0
        self.gone = False
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.transports.add(self.transport)  # type: ignore[arg-type]
        self.conn.initiate_connection()
        self.flush()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.transport is not None:
            self.transports.discard(self.transport)

    def flush(self) -> None:
        data = self.conn.data_to_send()
        if data and self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)

    def data_received(self, data: bytes) -> None:
        from h2.events import RequestReceived
        from h2.exceptions import ProtocolError

        if self.gone:
            return  # after our GOAWAY: nothing more is read
        try:
            events = self.conn.receive_data(data)
        except ProtocolError:
            self.flush()
            assert self.transport is not None
            self.transport.close()
            return
        for event in events:
            if isinstance(event, RequestReceived):
                self.request(event.stream_id)
                if self.gone:
                    break
        self.flush()

    def request(self, stream_id: int) -> None:
        from h2.errors import ErrorCodes

        self.count += 1
        if self.mode == "reset-every" and self.count % self.every == 0:
            self.conn.reset_stream(stream_id, ErrorCodes.REFUSED_STREAM)
            return
        if self.mode == "goaway-late" and self.count >= self.every:
            if self.count == self.every:
                asyncio.get_running_loop().call_later(0.2, self.go_away)
            return
        self.conn.send_headers(stream_id, [(b":status", b"200"), (b"content-length", b"2")])
        self.conn.send_data(stream_id, b"ok", end_stream=True)
        self.last_answered = stream_id
        if self.mode == "goaway-after" and self.count == self.every:
            self.go_away()

    def go_away(self) -> None:
        self.conn.close_connection(error_code=0, last_stream_id=self.last_answered)
        self.gone = True
        self.flush()  # one write with whatever was queued before it
        assert self.transport is not None
        # The client closes once it has moved on; this is only for one that never does.
        asyncio.get_running_loop().call_later(3.0, self.transport.close)


@contextlib.contextmanager
def h2_server(mode: str, every: int) -> Iterator[str]:
    """An ``H2Server`` on 127.0.0.1, its own event loop in a thread; yields its http:// URL."""
    pytest.importorskip("h2")
    loop = asyncio.new_event_loop()
    transports: set[asyncio.Transport] = set()
    server = loop.run_until_complete(
        loop.create_server(lambda: H2Server(mode, every, transports), "127.0.0.1", 0, backlog=1024)
    )
    port = server.sockets[0].getsockname()[1]
    thread = threading.Thread(target=loop.run_forever, name=f"h2 {mode}", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:

        def shut() -> None:
            server.close()
            for transport in list(transports):
                transport.abort()
            loop.stop()

        loop.call_soon_threadsafe(shut)
        thread.join(10)
        loop.close()


def ws(url: str) -> str:
    """misbehaving()'s http:// URL as the ws:// URL of its /ws path."""
    return url.replace("http://", "ws://", 1) + "ws"


# == 1. WebSocket echo, closed model, on every server ================================================================


@pytest.mark.parametrize("name", ["uvicorn", "hypercorn", "daphne", "granian"])
def test_websocket_echo_closed_model(name: str, tmp_path: Path) -> None:
    server = wanted(name, "ws")
    with serving(server) as port:
        run = load(tmp_path, f"ws://127.0.0.1:{port}/ws", "--vus", "4")
    assert_all_ok(run)
    summary = run.summary
    assert summary["protocol"] == "websocket"
    assert summary["statuses"] == {"101": summary["ok"]}
    assert_websocket_messages(run, in_flight=4)
    assert summary["messages"]["sent"] == summary["requests"]  # all went out: every request was a message
    # One handshake per VU, each timed.
    assert run.generator["connections_opened"] == 4
    # Each timed, one per connection; asserted as at most one, because a connection opened at time zero is sometimes
    # not timed (1 run in 12, 3 of 4): the driver's sleep until time zero (uvloop, a millisecond timer) can end
    # early, and a link opened then falls before the window (websocket_link.py: ``record_from <= self.began``).
    assert summary["handshake_ms"] is not None and 0 < summary["handshake_ms"]["count"] <= 4
    assert 0 < summary["handshake_ms"]["min"] <= summary["handshake_ms"]["max"]
    assert summary["first_byte_ms"] is None and summary["gap_ms"] is None and summary["stream_events"] is None
    assert summary["error_codes"] == {}
    assert run.result["config"]["requests"][0]["message"] == "text"


def test_websocket_messages_in_flight_share_connections(tmp_path: Path) -> None:
    """--streams K: K messages in flight per connection, so 8 VUs take 2 connections."""
    with uvicorn() as (url, _):
        run = load(tmp_path, url.replace("http://", "ws://") + "ws", "--vus", "8", "--streams", "4")
    assert_all_ok(run)
    assert run.generator["connections_opened"] == 2
    assert 0 < run.summary["handshake_ms"]["count"] <= 2
    assert_websocket_messages(run, in_flight=8)


# == 2. WebSocket, open model ========================================================================================


def test_websocket_open_model_sends_what_was_scheduled(tmp_path: Path) -> None:
    with uvicorn() as (url, _):
        run = load(tmp_path, url.replace("http://", "ws://") + "ws", "--rate", "500")
    assert_all_ok(run)
    summary = run.summary
    assert summary["scheduled"] == summary["requests"]
    assert 450 <= summary["requests"] <= 550  # 500/s for 1 s (the schedule's own rounding only)
    assert summary["offered_rps"] == pytest.approx(500, rel=0.1)
    assert summary["messages"]["sent"] == summary["requests"]
    assert_websocket_messages(run, in_flight=summary["requests"])
    assert summary["service_time_ms"] is not None  # the open model times from the write too


# == 3. Binary messages, a size, subprotocols ========================================================================


def test_binary_messages_of_a_given_size_and_offered_subprotocols(tmp_path: Path) -> None:
    with uvicorn("tests.test_load_protocols:observed_app") as (url, _):
        run = load(tmp_path, url.replace("http://", "ws://") + "ws", "--vus", "2", "--binary",
                   "--message-size", "1000", "--subprotocol", "chat", "--subprotocol", "v2.chat")  # fmt: skip
        seen = observed(url)
    assert_all_ok(run)
    assert_websocket_messages(run, in_flight=2)
    summary = run.summary
    (spec,) = run.result["config"]["requests"]
    assert spec["message"] == "binary" and spec["body_bytes"] == 1000
    # What reached the app: binary frames only, each of exactly 1000 bytes, the id included.
    assert set(seen["kinds"]) == {"binary"} and seen["kinds"]["binary"] >= summary["messages"]["sent"]
    assert set(seen["sizes"]) == {"1000"}
    # Both subprotocols offered on every handshake; the app chose none and the run still worked.
    assert seen["offered"] == [["chat", "v2.chat"]] * 2
    # Roughly (see test_bytes_of_the_first_moments_of_the_window_are_counted): 1000 bytes and a frame head each.
    assert summary["bytes_sent"] >= 0.95 * summary["messages"]["sent"] * 1000
    assert summary["bytes_received"] >= 0.95 * summary["messages"]["received"] * 1000


def test_text_messages_at_the_smallest_size_and_a_chosen_subprotocol(tmp_path: Path) -> None:
    with uvicorn("tests.test_load_protocols:observed_app") as (url, _):
        run = load(tmp_path, url.replace("http://", "ws://") + "ws/choose", "--vus", "2",
                   "--message-size", "16", "--subprotocol", "chat")  # fmt: skip
        seen = observed(url)
    assert_all_ok(run)
    assert set(seen["kinds"]) == {"text"} and set(seen["sizes"]) == {"16"}  # the id alone
    assert seen["offered"] == [["chat"]] * 2


def test_a_reply_that_wraps_the_message_is_matched_by_its_id(tmp_path: Path) -> None:
    with uvicorn("tests.test_load_protocols:observed_app") as (url, _):
        run = load(tmp_path, url.replace("http://", "ws://") + "ws/wrap", "--vus", "2")
    assert_all_ok(run)
    assert_websocket_messages(run, in_flight=2)


def test_messages_the_server_sends_on_its_own_are_counted_unmatched(tmp_path: Path) -> None:
    with uvicorn("tests.test_load_protocols:observed_app") as (url, _):
        run = load(tmp_path, url.replace("http://", "ws://") + "ws/extra", "--vus", "2")
    assert_all_ok(run)  # the extra messages answer nothing, and fail nothing
    messages = run.summary["messages"]
    # One unsolicited message per reply: about half of what arrived (the window's edges aside).
    assert messages["unmatched"] > 0
    assert abs(messages["received"] - 2 * messages["unmatched"]) <= 4, messages
    assert run.summary["ok"] >= messages["received"] - messages["unmatched"]


def test_message_size_below_the_id_is_refused(tmp_path: Path) -> None:
    done = asgibench("load", "ws://127.0.0.1:9/ws", "--message-size", "15", *SHORT)
    assert done.returncode == 2 and "--message-size" in done.stderr and "16" in done.stderr
    assert "Traceback" not in done.stderr


# == 4. Misbehaving servers ==========================================================================================


def test_a_refused_upgrade_is_a_handshake_error_counted_by_status(tmp_path: Path) -> None:
    with misbehaving("ws-refuse") as url:
        run = load(tmp_path, ws(url), "--vus", "2")
    summary = run.summary
    assert run.done.returncode == 1  # nothing succeeded
    assert summary["requests"] > 0 and summary["ok"] == 0 and summary["responses"] == 0
    assert run.errors == {"handshake": summary["requests"]}
    assert summary["error_codes"] == {"handshake": {"403": summary["requests"]}}
    assert "403" in summary["error_examples"]["handshake"]
    assert summary["messages"]["sent"] == 0 and summary["messages"]["received"] == 0
    assert summary["handshake_ms"] is None  # no handshake completed


@pytest.mark.parametrize("streams", [1, 4])
def test_a_server_closing_with_messages_in_flight_fails_them_as_closed_with_its_code(
    streams: int, tmp_path: Path
) -> None:
    """ws-close:5: five echoes, then a close frame 1011, on every connection.

    The messages in flight when the close frame arrives fail as ``closed`` with 1011; each VU then opens a new
    connection, and the run ends on time. (A reset is tolerated: the server closes its socket with the client's
    next message unread, which the kernel answers with RST.)
    """
    with misbehaving("ws-close:5") as url:
        run = load(tmp_path, ws(url), "--vus", "4", "--streams", str(streams))
    summary = run.summary
    assert summary["ok"] > 0 and summary["statuses"] == {"101": summary["ok"]}
    assert run.generator["connections_opened"] > 4  # the VUs moved on to new connections
    assert summary["ok"] <= 5 * run.generator["connections_opened"]  # five echoes per connection at most
    assert set(run.errors) <= {"closed", "reset"}, (run.errors, summary["error_examples"])
    assert run.errors.get("closed", 0) > 0
    assert summary["error_codes"] == {"closed": {"1011": run.errors["closed"]}}
    assert summary["drain_s"] < 5


def test_a_dropped_websocket_connection_fails_its_message_as_closed_1006(tmp_path: Path) -> None:
    with misbehaving("ws-abort:5") as url:
        run = load(tmp_path, ws(url), "--vus", "4")
    summary = run.summary
    assert summary["ok"] > 0 and summary["ok"] <= 5 * run.generator["connections_opened"]
    # No close frame: RFC 6455's 1006. A reset (the server closing with our next message unread) is the TCP race.
    assert set(run.errors) <= {"closed", "reset"}, (run.errors, summary["error_examples"])
    assert run.errors.get("closed", 0) > 0
    assert summary["error_codes"] == {"closed": {"1006": run.errors["closed"]}}
    assert summary["drain_s"] < 5


def test_a_stalled_event_stream_shows_as_a_long_gap(tmp_path: Path) -> None:
    with misbehaving("sse-stall:3") as url:
        run = load(tmp_path, url, "--stream", "--timeout", "5s", "--vus", "2")
    assert_all_ok(run)
    summary = run.summary
    assert summary["gap_ms"]["max"] >= 1900  # the server's 2-s stall mid-stream
    assert summary["latency_ms"]["min"] >= 1900  # and every stream had one
    assert summary["stream_events"]["events"] == 6 * summary["ok"]  # 3 events, the stall, 3 more


def test_an_event_stream_cut_off_is_truncated(tmp_path: Path) -> None:
    with misbehaving("sse-drop:3") as url:
        run = load(tmp_path, url, "--stream", "--timeout", "5s", "--vus", "2")
    summary = run.summary
    assert run.done.returncode == 1
    assert summary["requests"] > 0 and summary["ok"] == 0
    assert run.errors == {"truncated": summary["requests"]}
    # The three events before the cut were seen (every request here had its own connection: the server closes it).
    assert summary["stream_events"]["events"] == 3 * summary["requests"]
    assert summary["first_byte_ms"]["count"] == summary["requests"]


# == 5. Server-Sent Events on real servers ===========================================================================


@pytest.mark.parametrize("name", ["uvicorn", "hypercorn", "daphne", "granian"])
def test_server_sent_events(name: str, tmp_path: Path) -> None:
    server = wanted(name, "sse")
    vus = 4
    with serving(server) as port:
        run = load(tmp_path, f"http://127.0.0.1:{port}{SSE_PATH}", "--stream", "--vus", str(vus))
    assert_all_ok(run)
    summary = run.summary
    assert summary["protocol"] == "http/1.1" and summary["statuses"] == {"200": summary["ok"]}
    # Five events per stream, give or take the streams open at the window's edges.
    events = summary["stream_events"]["events"]
    assert abs(events - SSE_EVENTS * summary["ok"]) <= SSE_EVENTS * vus, (events, summary["ok"])
    # The first byte comes long before the last (four 20-ms intervals), and gaps are about the interval.
    assert summary["first_byte_ms"]["p50"] < summary["latency_ms"]["p50"]
    assert summary["latency_ms"]["p50"] >= (SSE_EVENTS - 1) * SSE_INTERVAL_MS * 0.9
    assert summary["gap_ms"]["p50"] > SSE_INTERVAL_MS / 2
    assert summary["handshake_ms"] is None and summary["messages"] is None


@pytest.mark.parametrize("model", [("--vus", "4"), ("--rate", "40")], ids=["closed", "open"])
def test_first_byte_is_timed_for_every_streamed_response(model: tuple[str, str], tmp_path: Path) -> None:
    """Each streamed response has exactly one time to first byte, and its reads after that are its gaps.

    Keep-alive must not matter: the second response on a connection is timed from its own request.
    """
    with uvicorn() as (url, _):
        run = load(tmp_path, url.rstrip("/") + SSE_PATH, "--stream", *model)
    assert_all_ok(run)
    summary = run.summary
    assert summary["first_byte_ms"]["count"] == summary["responses"], (
        summary["first_byte_ms"]["count"], summary["responses"], run.generator["connections_opened"])  # fmt: skip
    # A stream is at most 7 writes (the head, 5 events, the end), so at most 6 reads after its first.
    assert summary["gap_ms"]["count"] <= (SSE_EVENTS + 1) * summary["responses"]


# == 6. HTTP/2 =======================================================================================================


@pytest.mark.parametrize("name", ["granian", "hypercorn", "uvicorn", "daphne"])
def test_h2c_streams_share_connections(name: str, tmp_path: Path) -> None:
    server = wanted(name, "h2c")
    extra = hypercorn_config(tmp_path) if name == "hypercorn" else ()
    with serving(server, http2=True, extra=extra) as port:
        run = load(tmp_path, f"http://127.0.0.1:{port}/", "--http", "2", "--streams", "10", "--vus", "20")
    assert_all_ok(run)
    summary = run.summary
    assert summary["protocol"] == "h2" and summary["statuses"] == {"200": summary["ok"]}
    assert run.generator["connections_opened"] == 2  # 20 VUs, 10 streams each
    assert run.generator["connections_peak"] == 2
    assert summary["error_codes"] == {} and summary["messages"] is None and summary["handshake_ms"] is None


@pytest.fixture
def tls(tmp_path: Path) -> TLSFiles:
    return certificates(tmp_path / "tls")


@pytest.mark.parametrize("trust", ["insecure", "ca"])
def test_h2_over_tls_with_alpn(trust: str, tls: TLSFiles, tmp_path: Path) -> None:
    server = wanted("hypercorn", "h2-tls")
    extra = (*hypercorn_config(tmp_path), "--certfile", str(tls.cert), "--keyfile", str(tls.key))
    env = dict(os.environ)
    args: tuple[str, ...] = ("--insecure",)
    if trust == "ca":
        env["SSL_CERT_FILE"], args = str(tls.ca), ()
    with serving(server, extra=extra) as port:
        run = load(tmp_path, f"https://127.0.0.1:{port}/", "--http", "2", "--streams", "10", "--vus", "20", *args,
                   env=env)  # fmt: skip
    assert_all_ok(run)
    assert run.summary["protocol"] == "h2"
    assert run.generator["connections_opened"] == 2


def test_h2_is_refused_by_a_tls_server_that_only_speaks_http1(tls: TLSFiles, tmp_path: Path) -> None:
    extra = ("--ssl-certfile", str(tls.cert), "--ssl-keyfile", str(tls.key))
    with serving(SERVERS["uvicorn"], extra=extra) as port:
        run = load(tmp_path, f"https://127.0.0.1:{port}/", "--http", "2", "--insecure", "--vus", "2")
    summary = run.summary
    assert run.done.returncode == 1
    assert summary["requests"] > 0 and summary["ok"] == 0
    assert run.errors == {"protocol": summary["requests"]}
    message = summary["error_examples"]["protocol"]
    assert "ALPN" in message and ("h2" in message or "HTTP/2" in message), message


def test_h2_streams_reset_by_the_server_are_counted_by_error_code(tmp_path: Path) -> None:
    with h2_server("reset-every", 10) as url:
        run = load(tmp_path, url, "--http", "2", "--streams", "4", "--vus", "4")
    summary = run.summary
    assert run.done.returncode == 0
    assert run.errors.keys() == {"stream_reset"}, (run.errors, summary["error_examples"])
    resets = run.errors["stream_reset"]
    assert summary["error_codes"] == {"stream_reset": {"REFUSED_STREAM": resets}}
    # One in ten refused (the window's edges and the first connection's count aside).
    assert 0.05 * summary["requests"] <= resets <= 0.15 * summary["requests"] + 4
    assert run.generator["connections_opened"] == 1  # a reset stream leaves its connection usable


def test_h2_requests_the_server_did_not_take_before_goaway_fail_as_goaway(tmp_path: Path) -> None:
    with h2_server("goaway-late", 20) as url:
        run = load(tmp_path, url, "--http", "2", "--streams", "4", "--vus", "4")
    summary = run.summary
    assert summary["ok"] > 0 and run.generator["connections_opened"] > 1  # lanes moved to new connections
    assert run.errors.keys() == {"goaway"}, (run.errors, summary["error_examples"])
    assert summary["error_codes"] == {"goaway": {"NO_ERROR": run.errors["goaway"]}}
    # 19 answered per connection, then the (up to 4) streams in flight fail.
    assert run.errors["goaway"] <= 4 * run.generator["connections_opened"]
    assert summary["ok"] <= 19 * run.generator["connections_opened"]


def test_h2_graceful_goaway_with_the_last_answer_moves_on_without_errors(tmp_path: Path) -> None:
    """The last answer and the GOAWAY arrive in one read (nginx after keepalive_requests, hypercorn after its
    keep_alive_max_requests): every stream was answered, so nothing fails, and each VU continues on a new
    connection rather than sending on the one going away."""
    with h2_server("goaway-after", 20) as url:
        run = load(tmp_path, url, "--http", "2", "--vus", "2")
    assert_all_ok(run)
    assert run.summary["ok"] > 40  # many connections' worth
    assert run.generator["connections_opened"] >= run.summary["ok"] // 20


# == Bytes ==========================================================================================================


def test_bytes_of_the_first_moments_of_the_window_are_counted(tmp_path: Path) -> None:
    """Every request of the window sent its 64 KiB body in the window, so at least that many bytes were sent.

    (The byte counters are reset at the first monitor tick of the window, up to 10 ms after it began, and lose
    what was sent before it.)
    """
    body = tmp_path / "body"
    body.write_bytes(b"x" * 65536)
    with uvicorn() as (url, _):
        run = load(tmp_path, url, "-X", "POST", "--body-file", str(body), "--vus", "4")
    assert_all_ok(run)
    summary = run.summary
    least = summary["requests"] * 65536
    assert summary["bytes_sent"] >= least, (summary["bytes_sent"], least, summary["bytes_sent"] / least)


# == 7. Bad usage ====================================================================================================


@pytest.mark.parametrize(
    ("args", "names"),
    [
        (("ws://127.0.0.1:9/ws", "--http", "2"), ["--http 2"]),
        (("http://127.0.0.1:9/", "--streams", "4"), ["--streams", "--http 2"]),
        (("http://127.0.0.1:9/", "--binary"), ["--binary", "ws://"]),
        (("http://127.0.0.1:9/", "--message-size", "100"), ["--message-size", "ws://"]),
        (("http://127.0.0.1:9/", "--subprotocol", "chat"), ["--subprotocol", "ws://"]),
        (("http://127.0.0.1:9/", "--hold-target", "http://127.0.0.1:9/sse"), ["--hold-target", "--hold"]),
        (("http://127.0.0.1:9/", "--http", "2", "--stream"), ["--stream", "HTTP/1.1"]),
        (("http://127.0.0.1:9/", "--http", "3"), ["--http", "1.1", "2"]),
        (("ws://127.0.0.1:9/ws", "--streams", "0"), ["--streams"]),
    ],
    ids=[
        "http2-ws",
        "streams-http1",
        "binary-http",
        "size-http",
        "subprotocol-http",
        "hold-target",
        "stream-h2",
        "http3",
        "streams-0",
    ],
)
def test_bad_usage_exits_2_with_a_clear_message(args: tuple[str, ...], names: list[str], tmp_path: Path) -> None:
    out = tmp_path / "result.json"
    done = asgibench("load", *args, "-d", "1s", "--json", str(out))
    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr)
    assert "Traceback" not in done.stderr + done.stdout
    for name in names:
        assert name in done.stderr, (name, done.stderr)
    assert not out.exists()  # nothing was run


def test_stream_on_a_websocket_target_names_what_is_wrong(tmp_path: Path) -> None:
    """--stream times HTTP/1.1 responses; on a ws:// target the message must not ask to drop a flag not given."""
    done = asgibench("load", "ws://127.0.0.1:9/ws", "--stream", "-d", "1s")
    assert done.returncode == 2 and "--stream" in done.stderr and "Traceback" not in done.stderr
    assert "--http 2" not in done.stderr, done.stderr
