"""The app a probed server runs: it does what each case asks and writes down everything it sees.

Each request names its case and what the app should do in two headers,
``x-probe-case`` and ``x-probe-do``. The app logs its scope, every message
``receive()`` returned, every ``send()`` and whether it raised, as JSON lines
(see ``record.encode``) appended to the file named by ``ASGIBENCH_PROBE_LOG``.
A request without the headers (the launcher's readiness check) gets a plain
200 and is logged under the case ``ready``.

Lifespan is served: startup is answered after a short delay (so a server that
serves before startup completes shows it) and stores a value in ``state``;
shutdown's cleanup takes a while too (so a server that exits without waiting
for ``lifespan.shutdown.complete`` shows it). The lifespan and every request
note the event loop they run in.

This module is imported by the server, in its own process: it must import
nothing heavy.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Awaitable, Callable
from typing import Any

from asgibench.conformance.observation import encode
from asgibench.conformance.probe.extension_behaviours import EXTENSION_BEHAVIOURS

LOG_ENV = "ASGIBENCH_PROBE_LOG"
# How lifespan behaves in this server: "" answers, "raise" raises at once, "fail" sends startup.failed,
# "return" returns without answering startup.
LIFESPAN_ENV = "ASGIBENCH_PROBE_LIFESPAN"
FAILED_MESSAGE = "asgibench probe: startup failed on purpose"
CASE_HEADER = b"x-probe-case"
DO_HEADER = b"x-probe-do"
STARTUP_DELAY = 0.3  # seconds before startup.complete
SHUTDOWN_DELAY = 0.5  # seconds of cleanup before shutdown.complete
SLOW_DELAY = 1.0  # how long the "slow" behaviour takes to answer: in flight when the server is told to stop
RECEIVE_WAIT = 1.0  # how long a receive() after the response may block before it counts as blocking
DISCONNECT_WAIT = 5.0  # how long the app waits for a client that is leaving
STATE_KEY = "asgibench-probe"
STATE_VALUE = "set at startup"
NO_CONTENT_BODY = b"content that must not be sent"
TRAILER = (b"x-probe-trailer", b"1")
APP_DATE = b"Sun, 06 Nov 1994 08:49:37 GMT"  # the Date an app sets itself: the server must not add a second
FLOOD_CHUNK = 256 * 1024  # the back-pressure behaviour's body part, sent again and again
FLOOD_LIMIT = 64 * 1024 * 1024  # ... until this much was taken in
FLOOD_TIME = 3.0  # ... or this many seconds passed

Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


class Log:
    """Appends one JSON line per event; O_APPEND keeps lines whole across workers."""

    def __init__(self, case: str) -> None:
        self.case = case
        path = os.environ.get(LOG_ENV)
        self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600) if path else -1

    def __call__(self, kind: str, value: Any = None) -> None:
        if self.fd < 0:
            return
        line = json.dumps({"case": self.case, "at": time.monotonic(), "kind": kind, "value": encode(value)})
        os.write(self.fd, line.encode() + b"\n")

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


class Recorder:
    """The app's ``receive`` and ``send``, logging each call and its result."""

    def __init__(self, log: Log, receive: Receive, send: Send) -> None:
        self.log = log
        self._receive = receive
        self._send = send
        self.error: Exception | None = None  # what the latest refused send() raised

    async def receive(self, wait: float | None = None) -> dict[str, Any] | None:
        """The next message, or None when ``wait`` seconds passed without one (logged as a timeout)."""
        try:
            message = await asyncio.wait_for(self._receive(), wait) if wait is not None else await self._receive()
        except TimeoutError:
            self.log("timeout", wait)
            return None
        self.log("receive", message)
        return message

    async def send(self, message: dict[str, Any]) -> bool:
        """Send; True when ``send()`` returned, False when it raised (logged with the exception's type)."""
        self.log("send", message)
        try:
            await self._send(message)
        except Exception as error:  # noqa: BLE001 - what it raised is the observation
            self.error = error
            classes = [cls.__name__ for cls in type(error).__mro__]
            self.log(
                "send-error",
                {
                    "type": type(error).__name__,
                    "oserror": isinstance(error, OSError),
                    "classes": classes,
                    "text": str(error)[:200],
                },
            )
            return False
        self.log("sent", message.get("type"))
        return True


def loop_note() -> dict[str, int]:
    """Which event loop (and process) runs this call: the lifespan's and the requests' must be the same."""
    return {"loop": id(asyncio.get_running_loop()), "pid": os.getpid()}


def _header(scope: dict[str, Any], name: bytes) -> str:
    for key, value in scope.get("headers") or ():
        if isinstance(key, bytes) and key.lower() == name and isinstance(value, bytes):
            return value.decode("latin-1")
    return ""


async def app(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    if scope.get("type") == "lifespan":
        await _lifespan(scope, receive, send)
        return
    case = _header(scope, CASE_HEADER) or "ready"
    log = Log(case)
    log("scope", scope)
    log("note", loop_note())
    recorder = Recorder(log, receive, send)
    try:
        behaviour = BEHAVIOURS.get(
            _header(scope, DO_HEADER) or ("ws-echo" if scope.get("type") == "websocket" else "ok")
        )
        if behaviour is None:
            await _respond(recorder, 400, b"unknown x-probe-do")
            return
        await behaviour(recorder, scope)
    except BaseException as error:
        log("end", {"raised": type(error).__name__})
        log.close()
        raise
    log("end", {"raised": None})
    log.close()


async def _lifespan(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    log = Log("lifespan")
    log("scope", scope)
    log("note", loop_note())
    recorder = Recorder(log, receive, send)
    mode = os.environ.get(LIFESPAN_ENV, "")
    if mode == "raise":  # how an app without lifespan support says so
        log("end", {"raised": "RuntimeError"})
        raise RuntimeError("asgibench probe: no lifespan here")
    while True:
        message = await recorder.receive()
        kind = message.get("type") if message else None
        if kind == "lifespan.startup" and mode == "fail":
            await recorder.send({"type": "lifespan.startup.failed", "message": FAILED_MESSAGE})
            log.close()
            return
        if kind == "lifespan.startup" and mode == "return":
            log.close()
            return  # returns without answering startup: the spec does not say what follows
        if kind == "lifespan.startup":
            await asyncio.sleep(STARTUP_DELAY)
            state = scope.get("state")
            if isinstance(state, dict):
                state[STATE_KEY] = STATE_VALUE
            await recorder.send({"type": "lifespan.startup.complete"})
        elif kind == "lifespan.shutdown":
            log("note", "cleaning up")
            await asyncio.sleep(SHUTDOWN_DELAY)
            await recorder.send({"type": "lifespan.shutdown.complete"})
            log.close()
            return


# -- HTTP behaviours --------------------------------------------------------------------------------------------


async def _read_body(recorder: Recorder) -> tuple[bytes, bool]:
    """The whole request body; False when a disconnect came first."""
    body = b""
    while True:
        message = await recorder.receive(DISCONNECT_WAIT)
        if message is None:
            return body, False
        if message.get("type") != "http.request":
            return body, False
        body += message.get("body", b"")
        if not message.get("more_body", False):
            return body, True


async def _respond(
    recorder: Recorder, status: int, body: bytes, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    head = [(b"content-type", b"text/plain"), (b"content-length", str(len(body)).encode())]
    await recorder.send({"type": "http.response.start", "status": status, "headers": head + (headers or [])})
    await recorder.send({"type": "http.response.body", "body": body})


async def ok(recorder: Recorder, scope: dict[str, Any]) -> None:
    await _respond(recorder, 200, b"ok")


async def echo(recorder: Recorder, scope: dict[str, Any]) -> None:
    """Read the body, answer it, then call receive() twice more: what comes after a response?"""
    body, complete = await _read_body(recorder)
    await _respond(recorder, 200, body if complete else b"")
    for _ in range(2):
        await recorder.receive(RECEIVE_WAIT)


async def headers(recorder: Recorder, scope: dict[str, Any]) -> None:
    """Repeated and interleaved response headers: their order and both Set-Cookie lines must reach the wire."""
    await _read_body(recorder)
    await _respond(
        recorder,
        200,
        b"ok",
        [(b"set-cookie", b"a=1"), (b"x-probe-order", b"1"), (b"set-cookie", b"b=2"), (b"x-probe-order", b"2")],
    )


async def no_length(recorder: Recorder, scope: dict[str, Any]) -> None:
    """A body in three parts and no Content-Length: the server frames it (chunked or close)."""
    await _read_body(recorder)
    await recorder.send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    for part, more in ((b"one,", True), (b"two,", True), (b"three", False)):
        await recorder.send({"type": "http.response.body", "body": part, "more_body": more})


async def stream(recorder: Recorder, scope: dict[str, Any]) -> None:
    """A first part, then a pause: the first part must be on the wire while the app waits."""
    await _read_body(recorder)
    await recorder.send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await recorder.send({"type": "http.response.body", "body": b"first", "more_body": True})
    recorder.log("note", "pausing")
    await asyncio.sleep(0.5)
    await recorder.send({"type": "http.response.body", "body": b"last"})


async def raise_before_start(recorder: Recorder, scope: dict[str, Any]) -> None:
    await _read_body(recorder)
    raise RuntimeError("asgibench probe: raised before the response started")


async def return_without_response(recorder: Recorder, scope: dict[str, Any]) -> None:
    await _read_body(recorder)


async def raise_after_start(recorder: Recorder, scope: dict[str, Any]) -> None:
    await _read_body(recorder)
    await recorder.send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"100")]})
    await recorder.send({"type": "http.response.body", "body": b"partial", "more_body": True})
    raise RuntimeError("asgibench probe: raised after the response started")


async def body_after_complete(recorder: Recorder, scope: dict[str, Any]) -> None:
    await _read_body(recorder)
    await _respond(recorder, 200, b"ok")
    await recorder.send({"type": "http.response.body", "body": b"late"})


async def bad_status_type(recorder: Recorder, scope: dict[str, Any]) -> None:
    """A str status: send() should raise; when it does, a proper answer follows."""
    await _read_body(recorder)
    accepted = await recorder.send({"type": "http.response.start", "status": "200", "headers": []})
    if accepted:
        await recorder.send({"type": "http.response.body", "body": b"accepted"})
    else:
        await _respond(recorder, 200, b"refused")


async def unknown_message(recorder: Recorder, scope: dict[str, Any]) -> None:
    await _read_body(recorder)
    if await recorder.send({"type": "http.response.asgibench-unknown"}):
        await _respond(recorder, 200, b"accepted")
    else:
        await _respond(recorder, 200, b"refused")


async def wait_disconnect(recorder: Recorder, scope: dict[str, Any]) -> None:
    """Read the body, then wait for the client to leave; then try to answer anyway."""
    await _read_body(recorder)
    recorder.log("note", "waiting")
    await recorder.receive(DISCONNECT_WAIT)
    await _send_or_reraise(
        recorder, {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]}
    )
    await _send_or_reraise(recorder, {"type": "http.response.body", "body": b"ok"})


async def _send_or_reraise(recorder: Recorder, message: dict[str, Any]) -> None:
    """Send; an OSError from send() (the server's "client gone", spec 2.4) is raised on, as apps may do: the
    server must catch it without logging an error."""
    if not await recorder.send(message) and isinstance(recorder.error, OSError):
        recorder.log("note", "re-raising")
        raise recorder.error


async def body_on_no_content(recorder: Recorder, scope: dict[str, Any], status: int) -> None:
    """A 204 or 304 with a body: that status has no content (RFC 9110 §15.3.5, §15.4.5); the server drops it."""
    await _read_body(recorder)
    await recorder.send({"type": "http.response.start", "status": status, "headers": [(b"x-probe", b"1")]})
    await recorder.send({"type": "http.response.body", "body": NO_CONTENT_BODY})


async def body_on_204(recorder: Recorder, scope: dict[str, Any]) -> None:
    await body_on_no_content(recorder, scope, 204)


async def body_on_304(recorder: Recorder, scope: dict[str, Any]) -> None:
    await body_on_no_content(recorder, scope, 304)


async def slow(recorder: Recorder, scope: dict[str, Any]) -> None:
    """Answers after SLOW_DELAY: a request still in flight when the server is told to stop."""
    await _read_body(recorder)
    recorder.log("note", "sleeping")
    await asyncio.sleep(SLOW_DELAY)
    await _respond(recorder, 200, b"slow")


async def trailers(recorder: Recorder, scope: dict[str, Any]) -> None:
    """Trailers, when the server advertises them and the client sent TE: trailers; a plain answer otherwise."""
    await _read_body(recorder)
    wanted = _header(scope, b"te").lower() == "trailers"
    if "http.response.trailers" not in (scope.get("extensions") or {}) or not wanted:
        recorder.log("note", "not advertised" if wanted else "no TE: trailers")
        await _respond(recorder, 200, b"no trailers")
        return
    head = [(b"content-type", b"text/plain"), (b"trailer", TRAILER[0])]
    await recorder.send({"type": "http.response.start", "status": 200, "headers": head, "trailers": True})
    await recorder.send({"type": "http.response.body", "body": b"with trailers"})
    await recorder.send({"type": "http.response.trailers", "headers": [TRAILER]})


async def app_transfer_encoding(recorder: Recorder, scope: dict[str, Any]) -> None:
    """The app sets Transfer-Encoding itself (allowed); the server must ignore it and frame the body itself."""
    await _read_body(recorder)
    headers = [(b"content-type", b"text/plain"), (b"transfer-encoding", b"gzip")]
    await recorder.send({"type": "http.response.start", "status": 200, "headers": headers})
    await recorder.send({"type": "http.response.body", "body": b"ok"})


async def slow_reader(recorder: Recorder, scope: dict[str, Any]) -> None:
    """Waits before reading the body: a server may send 100 Continue at once, or only once the app reads."""
    await asyncio.sleep(0.3)
    recorder.log("note", "reading")
    body, complete = await _read_body(recorder)
    await _respond(recorder, 200, body if complete else b"")


async def multiplexed(recorder: Recorder, scope: dict[str, Any]) -> None:
    """Answer after ``x-probe-delay`` ms with a body that names the request's path; the path is noted again after
    the wait, so a scope another request changed meanwhile shows."""
    await _read_body(recorder)
    delay = _header(scope, b"x-probe-delay")
    await asyncio.sleep(int(delay) / 1000 if delay.isdigit() else 0.0)
    recorder.log("note", {"path-after-wait": scope.get("path")})
    await _respond(recorder, 200, b"answer to " + str(scope.get("path")).encode())


async def own_date(recorder: Recorder, scope: dict[str, Any]) -> None:
    """The app sets Date itself: one Date must reach the client."""
    await _read_body(recorder)
    await _respond(recorder, 200, b"dated", [(b"date", APP_DATE)])


async def flood(recorder: Recorder, scope: dict[str, Any]) -> None:
    """Body parts without pause, to a client that reads nothing at first: a note after each send() that returned
    tells how much the server took in before making the app wait. The parts are not logged: only their count."""
    await _read_body(recorder)
    await recorder.send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    part = b"x" * FLOOD_CHUNK
    accepted = 0
    started = time.monotonic()
    while accepted < FLOOD_LIMIT and time.monotonic() - started < FLOOD_TIME:
        try:
            await recorder._send({"type": "http.response.body", "body": part, "more_body": True})
        except Exception as error:  # noqa: BLE001 - the client is gone: what send() raised is the observation
            recorder.log("send-error", {"type": type(error).__name__, "oserror": isinstance(error, OSError)})
            return
        accepted += len(part)
        recorder.log("note", {"accepted": accepted})
    recorder.log("note", {"flooded": accepted, "seconds": round(time.monotonic() - started, 3)})
    await recorder.send({"type": "http.response.body", "body": b""})


# -- WebSocket behaviours ---------------------------------------------------------------------------------------


def _spec_version(scope: dict[str, Any]) -> tuple[int, ...]:
    text = (scope.get("asgi") or {}).get("spec_version") or "2.0"
    try:
        return tuple(int(part) for part in str(text).split("."))
    except ValueError:
        return (2, 0)


async def ws_echo(recorder: Recorder, scope: dict[str, Any]) -> None:
    """Accept (with the first offered subprotocol, and a header at 2.1+), echo until the client leaves."""
    connect = await recorder.receive(DISCONNECT_WAIT)
    if connect is None or connect.get("type") != "websocket.connect":
        return
    accept: dict[str, Any] = {"type": "websocket.accept"}
    offered = scope.get("subprotocols") or []
    if offered:
        accept["subprotocol"] = offered[0]
    if _spec_version(scope) >= (2, 1):
        accept["headers"] = [(b"x-probe-accept", b"1")]
    await recorder.send(accept)
    while True:
        message = await recorder.receive(DISCONNECT_WAIT)
        if message is None or message.get("type") != "websocket.receive":
            return
        if message.get("text") is not None:
            await recorder.send({"type": "websocket.send", "text": message["text"]})
        else:
            await recorder.send({"type": "websocket.send", "bytes": message.get("bytes") or b""})


async def ws_send_after_disconnect(recorder: Recorder, scope: dict[str, Any]) -> None:
    """Accept, wait for the client to leave, then send: an OSError subclass (2.4+) or a no-op."""
    await recorder.receive(DISCONNECT_WAIT)
    await recorder.send({"type": "websocket.accept"})
    while True:
        message = await recorder.receive(DISCONNECT_WAIT)
        if message is None or message.get("type") == "websocket.disconnect":
            break
    await _send_or_reraise(recorder, {"type": "websocket.send", "text": "after the disconnect"})


async def ws_close_before_accept(recorder: Recorder, scope: dict[str, Any]) -> None:
    await recorder.receive(DISCONNECT_WAIT)
    await recorder.send({"type": "websocket.close", "code": 1000})
    await recorder.receive(RECEIVE_WAIT)


async def ws_app_close(recorder: Recorder, scope: dict[str, Any]) -> None:
    """Accept, then close with 4001 and a reason (the reason only at 2.3+)."""
    await recorder.receive(DISCONNECT_WAIT)
    await recorder.send({"type": "websocket.accept"})
    close: dict[str, Any] = {"type": "websocket.close", "code": 4001}
    if _spec_version(scope) >= (2, 3):
        close["reason"] = "probe bye"
    await recorder.send(close)
    await recorder.receive(RECEIVE_WAIT)


async def ws_raise_before_accept(recorder: Recorder, scope: dict[str, Any]) -> None:
    await recorder.receive(DISCONNECT_WAIT)
    raise RuntimeError("asgibench probe: raised before accepting")


async def ws_deny(recorder: Recorder, scope: dict[str, Any]) -> None:
    """The denial response extension, when advertised: 401 with a header and a body."""
    await recorder.receive(DISCONNECT_WAIT)
    if "websocket.http.response" not in (scope.get("extensions") or {}):
        recorder.log("note", "not advertised")
        await recorder.send({"type": "websocket.close", "code": 1000})
        return
    await recorder.send(
        {
            "type": "websocket.http.response.start",
            "status": 401,
            "headers": [(b"x-probe-denied", b"1"), (b"content-length", b"6")],
        }
    )
    await recorder.send({"type": "websocket.http.response.body", "body": b"denied"})


BEHAVIOURS: dict[str, Callable[[Recorder, dict[str, Any]], Awaitable[None]]] = {
    "ok": ok,
    "echo": echo,
    "headers": headers,
    "no-length": no_length,
    "stream": stream,
    "raise-before-start": raise_before_start,
    "return-without-response": return_without_response,
    "raise-after-start": raise_after_start,
    "body-after-complete": body_after_complete,
    "bad-status-type": bad_status_type,
    "unknown-message": unknown_message,
    "wait-disconnect": wait_disconnect,
    "app-transfer-encoding": app_transfer_encoding,
    "slow-reader": slow_reader,
    "body-on-204": body_on_204,
    "body-on-304": body_on_304,
    "slow": slow,
    "trailers": trailers,
    "ws-echo": ws_echo,
    "ws-send-after-disconnect": ws_send_after_disconnect,
    "ws-close-before-accept": ws_close_before_accept,
    "ws-app-close": ws_app_close,
    "ws-raise-before-accept": ws_raise_before_accept,
    "ws-deny": ws_deny,
    **EXTENSION_BEHAVIOURS,  # pathsend, zerocopysend, early hints, push: each when advertised
    "multiplexed": multiplexed,
    "own-date": own_date,
    "flood": flood,
}
