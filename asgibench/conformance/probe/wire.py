"""The probe's side of the socket: crafted bytes out, everything that comes back kept with its time.

Blocking sockets with short polls: one case at a time, every wait bounded.
Requests are written as raw bytes, so the cases a client library would
normalise (percent-encoding, duplicate or odd headers, chunked framing) reach
the server exactly as written.
"""

from __future__ import annotations

import contextlib
import select
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from h2 import events as h2e
from h2.config import H2Configuration
from h2.connection import H2Connection
from h2.exceptions import ProtocolError
from httptools import HttpParserError, HttpParserUpgrade, HttpResponseParser

from asgibench.conformance.observation import WireRecord
from asgibench.load.protocols.websocket import Closed, Event, Failed, Message, Opened, Refused, WebSocketClient

HOST = "127.0.0.1"
POLL = 0.02


def read_once(sock: socket.socket, record: WireRecord) -> bytes | None:
    """One short wait for bytes: the chunk read (kept in ``record`` with its time), b"" when the peer closed or
    reset (``record.closed_at`` set), None when nothing came."""
    ready, _, _ = select.select([sock], [], [], POLL)
    if not ready:
        return None
    try:
        chunk = sock.recv(65536)
    except TimeoutError:
        return None
    except OSError:
        chunk = b""
        record.reset = True
    now = time.monotonic()
    if not chunk:
        record.closed_at = now
        return b""
    if record.first_byte_at is None:
        record.first_byte_at = now
    record.received += chunk
    record.reads.append((now, chunk))
    return chunk


class _Completion:
    def __init__(self) -> None:
        self.complete = False

    def on_message_complete(self) -> None:
        self.complete = True


class HttpWire:
    """One connection: ``send`` bytes, ``read`` until the answer is complete, the server closes, or time is up."""

    def __init__(self, port: int, *, timeout: float = 4.0) -> None:
        self.record = WireRecord(started=time.monotonic())
        self.socket = socket.create_connection((HOST, port), timeout=timeout)
        self.timeout = timeout
        self._completion = _Completion()
        self._parser = HttpResponseParser(self._completion)
        self._broken = False
        self._left = False

    def send(self, data: bytes) -> None:
        self.record.sent += data
        self.socket.sendall(data)

    @property
    def complete(self) -> bool:
        return self._completion.complete

    def read(self, *, until: Callable[[], bool] | None = None, timeout: float | None = None) -> None:
        """Read until the answer is complete (and ``until()`` holds), the connection ends, or ``timeout``."""
        deadline = time.monotonic() + (timeout if timeout is not None else self.timeout)
        while not self.closed:
            if self.complete and (until is None or until()):
                return
            if time.monotonic() >= deadline:
                self.record.timed_out = True
                return
            self._poll()

    def wait(self, until: Callable[[], bool], timeout: float) -> bool:
        """Keep reading (the server may still write or close) until ``until()`` holds; False when time ran out."""
        deadline = time.monotonic() + timeout
        while not until():
            if time.monotonic() >= deadline:
                return False
            if self.closed:
                time.sleep(POLL)
            else:
                self._poll()
        return True

    @property
    def closed(self) -> bool:
        return self.record.closed_at is not None or self._left

    def leave(self) -> float:
        """Close our side (a client that goes away); when."""
        self._left = True
        self.socket.close()
        return time.monotonic()

    def close(self) -> None:
        if not self._left:
            self._left = True
            self.socket.close()

    def _poll(self) -> None:
        chunk = read_once(self.socket, self.record)
        if not chunk:
            return
        if not self._broken:
            try:
                self._parser.feed_data(chunk)
            except (HttpParserError, HttpParserUpgrade):
                self._broken = True  # not valid HTTP: the checks read the raw bytes


@dataclass
class H2Stream:
    """One HTTP/2 request's answer as it arrived."""

    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    body: bytes = b""
    trailers: list[tuple[bytes, bytes]] = field(default_factory=list)
    ended: bool = False
    reset: int | None = None  # the RST_STREAM error code, if the server reset it

    @property
    def status(self) -> int:
        value = dict(self.headers).get(b":status", b"")
        return int(value) if value.isdigit() else 0


class H2Wire:
    """HTTP/2 with prior knowledge (h2c) over a blocking socket, on h2: requests out, each stream's answer in."""

    def __init__(self, port: int, *, timeout: float = 4.0) -> None:
        self.record = WireRecord(started=time.monotonic())
        self.socket = socket.create_connection((HOST, port), timeout=timeout)
        self.connection = H2Connection(H2Configuration(client_side=True, header_encoding=None))
        self.streams: dict[int, H2Stream] = {}
        self.ended = False
        self.error = ""  # why the connection ended early (GOAWAY, a protocol error)
        self.connection.initiate_connection()
        self._flush()

    def request(self, headers: list[tuple[bytes, bytes]]) -> int:
        """Send a request without a body; its stream id."""
        stream_id = self.connection.get_next_available_stream_id()
        self.streams[stream_id] = H2Stream()
        self.connection.send_headers(stream_id, headers, end_stream=True)
        self._flush()
        return stream_id

    def until_done(self, timeout: float) -> bool:
        """Read until every stream ended or was reset; False when time ran out or the connection ended first."""
        deadline = time.monotonic() + timeout
        while not all(stream.ended or stream.reset is not None for stream in self.streams.values()):
            if self.ended:
                return False
            if time.monotonic() >= deadline:
                self.record.timed_out = True
                return False
            self._poll()
        return True

    def close(self) -> None:
        if not self.ended:
            self.ended = True
            with contextlib.suppress(OSError, ProtocolError):
                self.connection.close_connection()
                self._flush()
            self.socket.close()

    def _flush(self) -> None:
        data = self.connection.data_to_send()
        if data and not self.ended:
            self.record.sent += data
            try:
                self.socket.sendall(data)
            except OSError:
                self.ended = True

    def _poll(self) -> None:
        chunk = read_once(self.socket, self.record)
        if chunk is None:
            return
        if not chunk:
            self.ended = True
            return
        try:
            events = self.connection.receive_data(chunk)
        except ProtocolError as error:
            self.error = f"protocol error: {error}"
            self.ended = True
            return
        for event in events:
            self._on(event)
        self._flush()

    def _on(self, event: h2e.Event) -> None:
        stream = self.streams.get(getattr(event, "stream_id", 0) or 0)
        if isinstance(event, h2e.ConnectionTerminated):
            self.error = f"GOAWAY {event.error_code!r}"
            self.ended = True
        elif stream is None:
            return
        elif isinstance(event, h2e.ResponseReceived):
            stream.headers = [(bytes(name), bytes(value)) for name, value in event.headers]
        elif isinstance(event, h2e.DataReceived):
            stream.body += event.data
            self.connection.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
        elif isinstance(event, h2e.TrailersReceived):
            stream.trailers = [(bytes(name), bytes(value)) for name, value in event.headers]
        elif isinstance(event, h2e.StreamEnded):
            stream.ended = True
        elif isinstance(event, h2e.StreamReset):
            stream.reset = int(event.error_code)


class WebSocketWire:
    """A WebSocket client over a blocking socket, on the load generator's sans-IO client."""

    def __init__(
        self, port: int, *, headers: list[tuple[str, str]], subprotocols: tuple[str, ...] = (), timeout: float = 4.0
    ) -> None:
        self.record = WireRecord(started=time.monotonic())
        self.socket = socket.create_connection((HOST, port), timeout=timeout)
        self.client = WebSocketClient(host=f"{HOST}:{port}", path="/ws", subprotocols=subprotocols, headers=headers)
        self.timeout = timeout
        self.events: list[Event] = []
        self.ended = False

    def _send(self, data: bytes) -> None:
        if data and not self.ended:
            self.record.sent += data
            try:
                self.socket.sendall(data)
            except OSError:
                self.ended = True

    def open(self) -> Event | None:
        """Send the handshake; the first event: Opened, Refused, Failed or Closed (None: nothing in time)."""
        self._send(self.client.connect())
        return self.next_event()

    def send_text(self, text: str) -> None:
        self._send(self.client.send(text.encode(), binary=False))

    def close(self, code: int, reason: str = "") -> None:
        self._send(self.client.close(code, reason))

    def close_without_code(self) -> None:
        """A close frame with no status code: the app should hear 1005."""
        self.client.protocol.send_close()
        self._send(self.client.data_to_send())

    def send_fragmented(self, first: str, rest: str) -> None:
        """One text message in two frames, a ping between them (control frames may come mid-message)."""
        protocol = self.client.protocol
        protocol.send_text(first.encode(), fin=False)
        protocol.send_ping(b"probe-ping")
        protocol.send_continuation(rest.encode(), fin=True)
        self._send(self.client.data_to_send())

    def next_event(self, timeout: float | None = None) -> Event | None:
        deadline = time.monotonic() + (timeout if timeout is not None else self.timeout)
        while not self.events:
            if self.ended or time.monotonic() >= deadline:
                if not self.ended:
                    self.record.timed_out = True
                return None
            self._poll()
        return self.events.pop(0)

    def until_closed(self, timeout: float | None = None) -> Closed | Failed | Refused | None:
        """Events until the connection's final one."""
        while True:
            event = self.next_event(timeout)
            if event is None or isinstance(event, Closed | Failed | Refused):
                return event

    def abort(self) -> None:
        self.ended = True
        self.socket.close()

    def finish(self) -> None:
        if not self.ended:
            self.ended = True
            self.socket.close()

    def _poll(self) -> None:
        chunk = read_once(self.socket, self.record)
        if chunk is None:
            return
        if not chunk:
            self.events.extend(self.client.receive_eof())
            self.ended = True
            return
        self.events.extend(self.client.receive_data(chunk))
        self._send(self.client.data_to_send())


__all__ = ["Closed", "Failed", "H2Stream", "H2Wire", "HttpWire", "Message", "Opened", "Refused", "WebSocketWire"]
