"""Wire helpers for the cases that watch many answers at once or a great deal of one.

``OrderedH2Wire`` notes the order in which HTTP/2 streams end, to show that
answers came back out of request order. ``FloodWire`` is an HTTP/1.1 client
with a small receive buffer that first reads nothing (so a server without
back-pressure shows it), then drains the answer counting its body bytes
instead of keeping them.
"""

from __future__ import annotations

import socket
import time

from h2 import events as h2e
from httptools import HttpParserError, HttpResponseParser

from asgibench.conformance.observation import WireRecord
from asgibench.conformance.probe.wire import HOST, H2Wire, read_once

RECEIVE_BUFFER = 4096  # the client's SO_RCVBUF while it reads nothing: the kernel holds little on our side
DRAIN_BUFFER = 1024 * 1024  # ... and once it reads
KEPT = 4096  # bytes of the answer kept as evidence; the rest is only counted


class OrderedH2Wire(H2Wire):
    """An H2Wire that also notes which stream ended when."""

    def __init__(self, port: int, *, timeout: float = 4.0) -> None:
        super().__init__(port, timeout=timeout)
        self.ended_order: list[int] = []

    def _on(self, event: h2e.Event) -> None:
        super()._on(event)
        if isinstance(event, h2e.StreamEnded) and event.stream_id in self.streams:
            self.ended_order.append(event.stream_id)


class _Counter:
    def __init__(self) -> None:
        self.status = 0
        self.body_bytes = 0
        self.complete = False
        self.parser: HttpResponseParser | None = None

    def on_headers_complete(self) -> None:
        assert self.parser is not None
        self.status = self.parser.get_status_code()

    def on_body(self, body: bytes) -> None:
        self.body_bytes += len(body)

    def on_message_complete(self) -> None:
        self.complete = True


class FloodWire:
    """One HTTP/1.1 connection whose client holds back, then drains; only the first KEPT bytes are recorded."""

    def __init__(self, port: int, *, timeout: float = 4.0) -> None:
        self.record = WireRecord(started=time.monotonic())
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        # Set before connecting, so the window the server sees is small from the start.
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
        self.socket.settimeout(timeout)
        self.socket.connect((HOST, port))
        self._counter = _Counter()
        self._parser = self._counter.parser = HttpResponseParser(self._counter)
        self.received_bytes = 0
        self.error = ""

    def send(self, data: bytes) -> None:
        self.record.sent += data
        self.socket.sendall(data)

    @property
    def status(self) -> int:
        return self._counter.status

    @property
    def body_bytes(self) -> int:
        return self._counter.body_bytes

    @property
    def complete(self) -> bool:
        return self._counter.complete

    def widen(self) -> None:
        """A larger receive buffer for the drain, so reading it all stays quick."""
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, DRAIN_BUFFER)

    def drain(self, timeout: float) -> bool:
        """Read until the answer is complete, the server closes, or ``timeout``; True when complete."""
        deadline = time.monotonic() + timeout
        while not self._counter.complete and self.record.closed_at is None and not self.error:
            if time.monotonic() >= deadline:
                self.record.timed_out = True
                return False
            self._read()
        return self._counter.complete

    def close(self) -> None:
        self.socket.close()

    def _read(self) -> None:
        scratch = WireRecord()  # read_once's record: the bytes are counted here, kept only up to KEPT
        chunk = read_once(self.socket, scratch)
        if chunk is None:
            return
        if not chunk:
            self.record.closed_at = scratch.closed_at
            self.record.reset = scratch.reset
            return
        now = time.monotonic()
        if self.record.first_byte_at is None:
            self.record.first_byte_at = now
        self.received_bytes += len(chunk)
        room = KEPT - len(self.record.received)
        if room > 0:
            self.record.received += chunk[:room]
            self.record.reads.append((now, chunk[:room]))
        try:
            self._parser.feed_data(chunk)
        except HttpParserError as error:
            self.error = str(error) or type(error).__name__
