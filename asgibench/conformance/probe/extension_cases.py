"""The probe's cases for the ASGI extensions: the app uses each one where the server advertises it.

Over HTTP/1.1 the answer is read from the raw bytes; over HTTP/2 the wire
notes each stream's informational responses and push promises, and every
answer is noted as its status, length and digest (the judge reads notes).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from h2 import events as h2e
from h2.settings import SettingCodes

from asgibench.conformance.observation import Observation
from asgibench.conformance.probe.cases import APP_END_WAIT, AUTHORITY, Case, raw_request
from asgibench.conformance.probe.extension_behaviours import PUSHED_SUFFIX
from asgibench.conformance.probe.log import ProbeLog
from asgibench.conformance.probe.responses import parse_responses
from asgibench.conformance.probe.wire import H2Stream, H2Wire, HttpWire

H2_PATH = b"/extension"


def digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()[:16]


@dataclass
class Informational:
    """A 1xx answer on an HTTP/2 stream, and whether it came before the stream's final answer."""

    stream_id: int
    headers: list[tuple[bytes, bytes]]
    before_final: bool


@dataclass
class Promise:
    parent: int
    pushed: int
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)


class ExtensionH2Wire(H2Wire):
    """H2Wire that also keeps 103s and PUSH_PROMISEs; ``push=False`` tells the server SETTINGS_ENABLE_PUSH=0."""

    def __init__(self, port: int, *, push: bool = True) -> None:
        super().__init__(port)
        self.informational: list[Informational] = []
        self.promises: list[Promise] = []
        if not push:  # before any request: the server reads it first
            self.connection.update_settings({SettingCodes.ENABLE_PUSH: 0})
            self._flush()

    def _on(self, event: h2e.Event) -> None:
        if isinstance(event, h2e.InformationalResponseReceived):
            stream = self.streams.get(event.stream_id or 0)
            headers = [(bytes(name), bytes(value)) for name, value in event.headers or ()]
            before = stream is not None and not stream.headers
            self.informational.append(Informational(event.stream_id or 0, headers, before))
            return
        if isinstance(event, h2e.PushedStreamReceived):
            headers = [(bytes(name), bytes(value)) for name, value in event.headers or ()]
            self.promises.append(Promise(event.parent_stream_id or 0, event.pushed_stream_id or 0, headers))
            self.streams[event.pushed_stream_id or 0] = H2Stream()  # its answer is read like any other
            return
        super()._on(event)


def _wait_app(log: ProbeLog, case: str, extra: float = 0.0) -> None:
    deadline = time.monotonic() + APP_END_WAIT + extra
    while not log.app(case).ended and time.monotonic() < deadline:
        time.sleep(0.02)


def _final_complete(wire: HttpWire) -> bool:
    responses = parse_responses(wire.record.received, closed=wire.record.closed_by_server)
    return any(response.complete and response.status >= 200 for response in responses)


def http1(name: str, do: str) -> Callable[[int, ProbeLog], Observation]:
    """One GET over HTTP/1.1, read until a final (non-1xx) answer is complete: a 103 may come first."""

    def run(port: int, log: ProbeLog) -> Observation:
        wire = HttpWire(port)
        try:
            wire.send(raw_request(name, do))
            wire.wait(lambda: wire.closed or _final_complete(wire), 4.0)
            _wait_app(log, name)
        finally:
            wire.close()
        return Observation(name, log.app(name), wire.record)

    return run


def h2(name: str, do: str, *, push: bool = True) -> Callable[[int, ProbeLog], Observation]:
    """One GET over h2c; notes: the answer, each 103, each push promise and the pushed answers."""

    def run(port: int, log: ProbeLog) -> Observation:
        wire = ExtensionH2Wire(port, push=push)
        headers = [
            (b":method", b"GET"),
            (b":scheme", b"http"),
            (b":authority", AUTHORITY),
            (b":path", H2_PATH),
            (b"x-probe-case", name.encode()),
            (b"x-probe-do", do.encode()),
        ]
        try:
            stream_id = wire.request(headers)
            wire.until_done(3.0)
            _wait_app(log, name)
            if wire.promises:
                _wait_app(log, name + PUSHED_SUFFIX)
        finally:
            wire.close()
        observation = Observation(name, log.app(name), wire.record)
        stream = wire.streams[stream_id]
        notes = observation.notes
        notes.append(f"h2-status={stream.status}")
        notes.append(f"h2-headers={stream.headers!r}")
        notes.append(f"h2-body-length={len(stream.body)}")
        notes.append(f"h2-body-digest={digest(stream.body)}")
        notes.append(f"h2-ended={stream.ended}; reset={stream.reset}; error={wire.error}")
        notes.extend(f"h2-103={hint.headers!r}; before_final={hint.before_final}" for hint in wire.informational)
        for promise in wire.promises:
            pushed = wire.streams[promise.pushed]
            notes.append(f"h2-promise={promise.headers!r}")
            notes.append(f"h2-pushed-status={pushed.status}; ended={pushed.ended}; reset={pushed.reset}")
        pushed_app = log.app(name + PUSHED_SUFFIX)
        if pushed_app.scope is not None:
            notes.append(f"pushed-app-scope={pushed_app.scope!r}")
        return observation

    return run


def _over_both(name: str, what: str, check: str) -> tuple[Case, Case]:
    """The case ``name`` (the app's behaviour of that name) over HTTP/1.1, and again over h2c."""
    return (
        Case(name, f"{what} over HTTP/1.1", http1(name, name)),
        Case(f"h2-{name}", f"{what} over HTTP/2", h2(f"h2-{name}", name), protocol="h2", checks=(check,)),
    )


EXTENSION_CASES: tuple[Case, ...] = (
    *_over_both("pathsend", "http.response.pathsend (when advertised)", "EX-13"),
    *_over_both(
        "zerocopysend", "http.response.zerocopysend with offset and count, then a body part (when advertised),", "EX-14"
    ),
    *_over_both("early-hint", "an early hint before the response (when advertised)", "EX-15"),
    Case(
        "h2-push",
        "HTTP/2: the app pushes /pushed (when advertised); the client allows push",
        h2("h2-push", "push"),
        protocol="h2",
        checks=("EX-09",),
    ),
    Case(
        "h2-push-refused",
        "HTTP/2: the app pushes /pushed (when advertised); the client sent SETTINGS_ENABLE_PUSH=0",
        h2("h2-push-refused", "push", push=False),
        protocol="h2",
        checks=("EX-09",),
    ),
)
