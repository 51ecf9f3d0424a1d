"""The probe's cases: crafted requests, sent over a real socket, each paired with what the app is asked to do.

A case returns one ``Observation``: the wire as the probe saw it and the app's
record as the recording app logged it. Cases only observe; ``judge`` decides.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from asgibench.conformance.observation import AppRecord, Observation
from asgibench.conformance.probe.log import ProbeLog
from asgibench.conformance.probe.responses import parse_responses
from asgibench.conformance.probe.wire import H2Wire, HttpWire, Opened, WebSocketWire
from asgibench.conformance.probe.wire_streams import FloodWire, OrderedH2Wire
from asgibench.load.config import Protocol

APP_END_WAIT = 3.0  # how long a case waits for the app to finish after the wire is done
DISCONNECT_BOUND = 2.0  # seconds for a client's departure to reach the waiting app (DC-03)
SCOPE_PATH = b"/a%20b/c%2Fd/%C3%A9"
SCOPE_QUERY = b"x=%20&y=%C3%A9"
LATIN_VALUE = b"caf\xe9 \xa0 \xff"  # obs-text (RFC 9110 §5.5): legal on the wire, latin-1 in ASGI
SUBPROTOCOLS = ("probe.v1", "probe.v2")
CLIENT_CLOSE = (4002, "client leaving")
SHUTDOWN_CASE = "shutdown-in-flight"  # the request in flight when the server is stopped (shutdown.py)
AUTHORITY = b"probe.test:1234"  # the HTTP/2 request's :authority (and its host header, which must match it)


@dataclass(frozen=True, slots=True)
class Case:
    name: str
    description: str
    run: Callable[[int, ProbeLog], Observation]
    protocol: Protocol = "http/1.1"  # what the server must serve for the case to run
    checks: tuple[str, ...] = ()  # the checks only this case feeds: N/A where the server cannot run it
    tls: bool = False  # run on the TLS leg: the server started again, with a certificate


def raw_request(
    case: str,
    do: str,
    *,
    method: bytes = b"GET",
    target: bytes = b"/",
    version: bytes = b"HTTP/1.1",
    headers: list[bytes] | None = None,
    body: bytes = b"",
) -> bytes:
    lines = [
        method + b" " + target + b" " + version,
        b"Host: 127.0.0.1",
        b"X-Probe-Case: " + case.encode(),
        b"X-Probe-Do: " + do.encode(),
        *(headers or []),
    ]
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def _http(port: int, log: ProbeLog, case: str, data: bytes | list[bytes], *, read_timeout: float = 4.0) -> Observation:
    """Send ``data`` (parts written one by one), read the answer, wait for the app to end, then close."""
    wire = HttpWire(port)
    try:
        for part in [data] if isinstance(data, bytes) else data:
            wire.send(part)
            time.sleep(0.02)
        wire.read(timeout=read_timeout)
        wire.wait(lambda: log.app(case).ended, APP_END_WAIT)
    finally:
        wire.close()
    return Observation(case, log.app(case), wire.record)


def scope_get(port: int, log: ProbeLog) -> Observation:
    headers = [b"X-Dup: one", b"Mixed-Case: Yes", b"X-Dup: two", b"X-Latin: " + LATIN_VALUE, b"X_Under: 1"]
    return _http(
        port, log, "scope", raw_request("scope", "echo", target=SCOPE_PATH + b"?" + SCOPE_QUERY, headers=headers)
    )


def http10(port: int, log: ProbeLog) -> Observation:
    return _http(port, log, "http10", raw_request("http10", "ok", version=b"HTTP/1.0"))


def length_body(port: int, log: ProbeLog) -> Observation:
    head = raw_request("length-body", "echo", method=b"POST", headers=[b"Content-Length: 11"])
    return _http(port, log, "length-body", [head + b"hello", b" world"])


CHUNKED_BODY = [b"5\r\nhello\r\n", b"6\r\n world\r\n", b"1;ext=1\r\n!\r\n", b"0\r\n\r\n"]


def chunked_body(port: int, log: ProbeLog) -> Observation:
    head = raw_request("chunked-body", "echo", method=b"POST", headers=[b"Transfer-Encoding: chunked"])
    return _http(port, log, "chunked-body", [head, *CHUNKED_BODY])


def _simple(name: str, do: str, *, read_timeout: float = 4.0) -> Callable[[int, ProbeLog], Observation]:
    def run(port: int, log: ProbeLog) -> Observation:
        return _http(port, log, name, raw_request(name, do), read_timeout=read_timeout)

    return run


def client_leaves(port: int, log: ProbeLog) -> Observation:
    """The client sends a whole request, then leaves while the app waits: when does the app hear of it?"""
    case = "client-leaves"
    wire = HttpWire(port)
    wire.send(raw_request(case, "wait-disconnect"))
    waiting = wire.wait(lambda: any(event.value == "waiting" for event in log.app(case).of_kind("note")), 3.0)
    left_at = wire.leave()
    _wait_end(log, case, extra=DISCONNECT_BOUND)  # the server may take that long to tell the app
    observation = Observation(case, log.app(case), wire.record)
    observation.notes.append(f"left_at={left_at}")
    if not waiting:
        observation.notes.append("the app never reached its wait")
    return observation


def expect_continue(port: int, log: ProbeLog) -> Observation:
    """Expect: 100-continue, the body held back until the server says go (or 1 s passes, as curl does)."""
    case = "expect-continue"
    wire = HttpWire(port)
    try:
        wire.send(
            raw_request(case, "slow-reader", method=b"POST", headers=[b"Content-Length: 5", b"Expect: 100-continue"])
        )
        wire.wait(lambda: b"100 Continue" in wire.record.received or b" 100 " in wire.record.received[:16], 1.0)
        wire.send(b"hello")
        wire.read(timeout=4.0)
        wire.wait(lambda: log.app(case).ended, APP_END_WAIT)
    finally:
        wire.close()
    return Observation(case, log.app(case), wire.record)


def head_request(port: int, log: ProbeLog) -> Observation:
    return _http(port, log, "head", raw_request("head", "ok", method=b"HEAD"), read_timeout=1.5)


def body_on_no_content(status: int) -> Callable[[int, ProbeLog], Observation]:
    """A 204 or 304 whose app sends a body, then a second request on the same connection: any content the
    server let through is read as the start of the next response."""
    case = f"no-content-{status}"

    def run(port: int, log: ProbeLog) -> Observation:
        wire = HttpWire(port)
        try:
            wire.send(raw_request(case, f"body-on-{status}"))
            wire.read(timeout=3.0)
            wire.wait(lambda: log.app(case).ended, APP_END_WAIT)
            if not wire.closed:
                wire.send(raw_request(f"{case}-next", "ok"))
                wire.wait(lambda: _settled(wire), 2.0)
        finally:
            wire.close()
        return Observation(case, log.app(case), wire.record)

    return run


def _settled(wire: HttpWire) -> bool:
    """Two complete responses, or an unreadable one, or the connection ended: nothing more to wait for."""
    responses = parse_responses(wire.record.received, closed=wire.record.closed_by_server)
    return wire.closed or any(r.error for r in responses) or sum(r.complete for r in responses) >= 2


def trailers_h1(port: int, log: ProbeLog) -> Observation:
    head = raw_request("trailers", "trailers", headers=[b"TE: trailers"])
    return _http(port, log, "trailers", head, read_timeout=3.0)


def _h2_request(case: str, do: str, extra: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    return [
        (b":method", b"GET"),
        (b":scheme", b"http"),
        (b":authority", AUTHORITY),
        (b":path", b"/h2?x=1"),
        (b"x-probe-case", case.encode()),
        (b"x-probe-do", do.encode()),
        *extra,
    ]


def _h2(port: int, log: ProbeLog, case: str, headers: list[tuple[bytes, bytes]]) -> Observation:
    wire = H2Wire(port)
    try:
        stream_id = wire.request(headers)
        wire.until_done(3.0)
        _wait_end(log, case)
    finally:
        wire.close()
    stream = wire.streams[stream_id]
    observation = Observation(case, log.app(case), wire.record)
    observation.notes.append(f"h2-status={stream.status}")
    observation.notes.append(f"h2-body={stream.body!r}")
    observation.notes.append(f"h2-trailers={stream.trailers!r}")
    observation.notes.append(f"h2-ended={stream.ended}; reset={stream.reset}; error={wire.error}")
    return observation


def h2_scope(port: int, log: ProbeLog) -> Observation:
    """HTTP/2 with prior knowledge: :authority and a host header that matches it (RFC 9113 §8.3.1)."""
    return _h2(port, log, "h2-scope", _h2_request("h2-scope", "ok", [(b"host", AUTHORITY), (b"x-after", b"1")]))


def h2_trailers(port: int, log: ProbeLog) -> Observation:
    return _h2(port, log, "h2-trailers", _h2_request("h2-trailers", "trailers", [(b"te", b"trailers")]))


def _websocket(port: int, case: str, do: str, subprotocols: tuple[str, ...] = ()) -> WebSocketWire:
    return WebSocketWire(port, headers=[("X-Probe-Case", case), ("X-Probe-Do", do)], subprotocols=subprotocols)


def ws_echo(port: int, log: ProbeLog) -> Observation:
    case = "ws-echo"
    wire = _websocket(port, case, "ws-echo", SUBPROTOCOLS)
    first = wire.open()
    if isinstance(first, Opened):
        wire.send_text("probe")
        wire.next_event(2.0)
        wire.close(*CLIENT_CLOSE)
        wire.until_closed(2.0)
    wire.finish()
    _wait_end(log, case)
    observation = Observation(case, log.app(case), wire.record)
    observation.notes.append(f"first={type(first).__name__ if first else None}")
    return observation


def ws_fragments(port: int, log: ProbeLog) -> Observation:
    """A text message in two frames with a ping between: one websocket.receive, and a pong on the wire."""
    case = "ws-fragments"
    wire = _websocket(port, case, "ws-echo")
    if isinstance(wire.open(), Opened):
        wire.send_fragmented("frag", "mented")
        wire.next_event(2.0)
        wire.close(1000)
        wire.until_closed(2.0)
    wire.finish()
    _wait_end(log, case)
    return Observation(case, log.app(case), wire.record)


def ws_close_without_code(port: int, log: ProbeLog) -> Observation:
    case = "ws-close-no-code"
    wire = _websocket(port, case, "ws-echo")
    if isinstance(wire.open(), Opened):
        wire.close_without_code()
        wire.until_closed(2.0)
    wire.finish()
    _wait_end(log, case)
    return Observation(case, log.app(case), wire.record)


def ws_send_after_disconnect(port: int, log: ProbeLog) -> Observation:
    case = "ws-send-after-disconnect"
    wire = _websocket(port, case, "ws-send-after-disconnect")
    if isinstance(wire.open(), Opened):
        wire.close(1000)
        wire.until_closed(2.0)
    wire.finish()
    _wait_end(log, case)
    return Observation(case, log.app(case), wire.record)


def _wait_end(log: ProbeLog, case: str, *, extra: float = 0.0) -> None:
    """Until the app's record of ``case`` ends, or APP_END_WAIT (plus ``extra``) seconds."""
    deadline = time.monotonic() + APP_END_WAIT + extra
    while not log.app(case).ended and time.monotonic() < deadline:
        time.sleep(0.02)


def ws_vanish(port: int, log: ProbeLog) -> Observation:
    """The client's socket goes away without a close frame."""
    case = "ws-vanish"
    wire = _websocket(port, case, "ws-echo")
    first = wire.open()
    if isinstance(first, Opened):
        wire.abort()
    _wait_end(log, case)
    wire.finish()
    return Observation(case, log.app(case), wire.record)


def _ws_simple(name: str, do: str) -> Callable[[int, ProbeLog], Observation]:
    def run(port: int, log: ProbeLog) -> Observation:
        wire = _websocket(port, name, do)
        first = wire.open()
        final = first if first is None or not isinstance(first, Opened) else wire.until_closed(3.0)
        wire.finish()
        _wait_end(log, name)
        observation = Observation(name, log.app(name), wire.record)
        observation.notes.append(f"first={type(first).__name__ if first else None}")
        observation.notes.append(f"final={final!r}")
        return observation

    return run


# -- many streams, forbidden framing, Date, back-pressure ----------------------------------------------------------

# Requested in this order on one HTTP/2 connection; the delays (ms) make the app answer fast, middle, slow.
MULTIPLEXED = ((b"/mux/slow", 300), (b"/mux/fast", 0), (b"/mux/middle", 150))
FLOOD_STALL = 0.5  # no part taken in for this long: send() is waiting for the client
FLOOD_DRAIN = 15.0  # seconds to read what the server holds once the client reads


def h2_multiplex(port: int, log: ProbeLog) -> Observation:
    """Three requests at once on one HTTP/2 connection, answered out of order: each stream must get its own."""
    case = "h2-multiplex"
    wire = OrderedH2Wire(port)
    ids: list[int] = []
    try:
        for path, delay in MULTIPLEXED:
            headers = [
                (b":method", b"GET"),
                (b":scheme", b"http"),
                (b":authority", AUTHORITY),
                (b":path", path),
                (b"x-probe-case", case.encode()),
                (b"x-probe-do", b"multiplexed"),
                (b"x-probe-delay", str(delay).encode()),
            ]
            ids.append(wire.request(headers))
        wire.until_done(4.0)
        deadline = time.monotonic() + APP_END_WAIT
        while len(log.app(case).of_kind("end")) < len(MULTIPLEXED) and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        wire.close()
    observation = Observation(case, log.app(case), wire.record)
    streams = [
        (stream_id, path, wire.streams[stream_id].status, wire.streams[stream_id].body, wire.streams[stream_id].reset)
        for (path, _), stream_id in zip(MULTIPLEXED, ids, strict=True)
    ]
    observation.notes.append(f"h2-streams={streams!r}")
    observation.notes.append(f"h2-ended-order={wire.ended_order!r}")
    observation.notes.append(f"h2-error={wire.error}")
    return observation


def http10_no_length(port: int, log: ProbeLog) -> Observation:
    """An HTTP/1.0 client and an answer without Content-Length: chunked is not HTTP/1.0, so close or length."""
    case = "http10-no-length"
    return _http(port, log, case, raw_request(case, "no-length", version=b"HTTP/1.0"), read_timeout=3.0)


def flood(port: int, log: ProbeLog) -> Observation:
    """The app sends parts without pause while the client reads nothing: how much does send() take in before it
    waits? Then the client reads it all."""
    case = "flood"
    wire = FloodWire(port)
    try:
        wire.send(raw_request(case, "flood"))
        accepted, waited = _until_flood_waits(log, case)
        wire.widen()
        drain_from = time.monotonic()
        wire.drain(FLOOD_DRAIN)
        drained = time.monotonic() - drain_from
        _wait_end(log, case)
    finally:
        wire.close()
    observation = Observation(case, log.app(case), wire.record)
    observation.notes.append(f"accepted-unread={accepted}")
    observation.notes.append(f"send-waited={waited}")
    observation.notes.append(f"body-bytes={wire.body_bytes}")
    observation.notes.append(f"complete={wire.complete}; status={wire.status}; error={wire.error}")
    observation.notes.append(f"drained-in={drained:.3f}")
    return observation


def _until_flood_waits(log: ProbeLog, case: str) -> tuple[int, bool]:
    """The bytes the server took in while the client read nothing, and whether send() was then waiting (False:
    the app was done first, or time ran out)."""
    deadline = time.monotonic() + 2 * APP_END_WAIT
    last, changed = -1, time.monotonic()
    while time.monotonic() < deadline:
        record = log.app(case)
        notes = [event.value for event in record.of_kind("note") if isinstance(event.value, dict)]
        if any("flooded" in note for note in notes):
            return max((note.get("flooded", 0) for note in notes), default=0), False
        accepted = max((note.get("accepted", 0) for note in notes), default=0)
        if accepted != last:
            last, changed = accepted, time.monotonic()
        elif record.of_kind("sent") and time.monotonic() - changed >= FLOOD_STALL:
            return accepted, True
        time.sleep(0.05)
    return max(last, 0), False


CASES: tuple[Case, ...] = (
    Case(
        "scope",
        "GET with a percent-encoded path, a query, duplicate, mixed-case, latin-1 and underscore headers",
        scope_get,
    ),
    Case("http10", "an HTTP/1.0 request line", http10),
    Case("length-body", "POST, Content-Length 11, the body in two writes", length_body),
    Case("chunked-body", "POST, chunked in four chunks (one with an extension)", chunked_body),
    Case("headers", "the app answers with interleaved headers and two Set-Cookie lines", _simple("headers", "headers")),
    Case("no-length", "the app answers in three parts without Content-Length", _simple("no-length", "no-length")),
    Case("stream", "the app sends a part, pauses 0.5 s, sends the rest", _simple("stream", "stream")),
    Case(
        "raise-before-start",
        "the app raises before http.response.start",
        _simple("raise-before-start", "raise-before-start", read_timeout=3.0),
    ),
    Case(
        "return-without-response",
        "the app returns without answering",
        _simple("return-without-response", "return-without-response", read_timeout=3.0),
    ),
    Case(
        "raise-after-start",
        "the app raises after a start and part of the body",
        _simple("raise-after-start", "raise-after-start", read_timeout=3.0),
    ),
    Case(
        "body-after-complete",
        "the app sends a body after its response completed",
        _simple("body-after-complete", "body-after-complete"),
    ),
    Case("bad-status-type", "the app sends a str status", _simple("bad-status-type", "bad-status-type")),
    Case(
        "unknown-message", "the app sends a message type no spec defines", _simple("unknown-message", "unknown-message")
    ),
    Case("client-leaves", "the client leaves while the app waits in receive()", client_leaves),
    Case(
        "app-transfer-encoding",
        "the app sets Transfer-Encoding: gzip itself, with no Content-Length",
        _simple("app-transfer-encoding", "app-transfer-encoding", read_timeout=3.0),
    ),
    Case("expect-continue", "POST with Expect: 100-continue; the app reads the body only after 0.3 s", expect_continue),
    Case("head", "HEAD: the app answers as for GET, with a body", head_request),
    Case(
        "no-content-204",
        "a 204 whose app sends a body, then a second request on the same connection",
        body_on_no_content(204),
    ),
    Case(
        "no-content-304",
        "a 304 whose app sends a body, then a second request on the same connection",
        body_on_no_content(304),
    ),
    Case(
        "trailers", "TE: trailers over HTTP/1.1: the app sends trailers when the extension is advertised", trailers_h1
    ),
    Case(
        "http10-no-length",
        "an HTTP/1.0 request; the app answers in three parts without Content-Length",
        http10_no_length,
    ),
    Case("app-date", "the app sets its own Date header", _simple("app-date", "own-date")),
    Case(
        "flood",
        "the app sends 256 KiB parts without pause (up to 64 MiB or 3 s) while the client reads nothing, then all",
        flood,
    ),
    Case(
        "h2-scope",
        "HTTP/2 (h2c, prior knowledge): :authority and a matching host header",
        h2_scope,
        protocol="h2",
        checks=("SC-13",),
    ),
    Case(
        "h2-trailers",
        "HTTP/2 with TE: trailers: the app sends trailers when the extension is advertised",
        h2_trailers,
        protocol="h2",
        checks=("EX-04",),
    ),
    Case(
        "h2-multiplex",
        "HTTP/2: three requests at once on one connection, answered in another order than asked",
        h2_multiplex,
        protocol="h2",
        checks=("HR-15",),
    ),
    Case("ws-echo", "WebSocket: two subprotocols offered, one message echoed, the client closes with 4002", ws_echo),
    Case("ws-vanish", "WebSocket: the client's socket goes away without a close frame", ws_vanish),
    Case("ws-fragments", "WebSocket: a text message in two frames with a ping between them", ws_fragments),
    Case("ws-close-no-code", "WebSocket: the client closes with a close frame that has no code", ws_close_without_code),
    Case("ws-send-after-disconnect", "WebSocket: the app sends after the client has left", ws_send_after_disconnect),
    Case(
        "ws-close-before-accept",
        "WebSocket: the app closes before accepting",
        _ws_simple("ws-close-before-accept", "ws-close-before-accept"),
    ),
    Case(
        "ws-app-close", "WebSocket: the app accepts, then closes with 4001", _ws_simple("ws-app-close", "ws-app-close")
    ),
    Case(
        "ws-raise-before-accept",
        "WebSocket: the app raises before accepting",
        _ws_simple("ws-raise-before-accept", "ws-raise-before-accept"),
    ),
    Case(
        "ws-deny",
        "WebSocket: the app denies with 401 through the denial extension, when advertised",
        _ws_simple("ws-deny", "ws-deny"),
    ),
    Case("still-serving", "a plain GET after every fault above, on a new connection", _simple("still-serving", "ok")),
)

CASES_BY_NAME = {case.name: case for case in CASES}

__all__ = ["CASES", "CASES_BY_NAME", "AppRecord", "Case"]
