"""One client connection: an ``asyncio.Protocol`` feeding httptools' response parser.

The protocol only moves bytes and forwards events to its driver, which owns
the policy (what to send next, what to record). No Task per request: the
driver writes the next request from inside the callback that completed the
last answer, which is what keeps the generator from being the bottleneck.

The bytes of a response's head are kept until the head is parsed, so that
when the connection closes mid-response the driver can tell a body that ends
at the close (HTTP/1.0, ``Connection: close`` without a length) from a
truncated one; in the common case that is one reference to the first chunk.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING

from httptools import HttpParserCallbackError, HttpParserError, HttpParserUpgrade, HttpResponseParser

from asgibench.load.expect import BODY_CHECK_LIMIT
from asgibench.load.http1 import REPEAT_LIMIT

if TYPE_CHECKING:
    from asgibench.load.driver import Driver, Prepared


# keep_alive() of a repeated answer (see data_received): whole answers are only recognised when they keep alive.
_KEPT_ALIVE: Callable[[], bool] = itertools.repeat(True).__next__

# Bytes of an answer kept, from its start, to tell how a connection lost mid-answer failed (by its head):
# more than any real head, so a long body is not copied read after read.
HEAD_KEEP = 16384


class HeadResponseComplete(Exception):
    """Raised out of the parser when the answer to a HEAD request is complete at its head (see headers_complete)."""


class Connection(asyncio.Protocol):
    __slots__ = (
        "driver",
        "transport",
        "parser",
        "status_code",
        "keep_alive",
        "in_flight",
        "sent",
        "scheduled",
        "local_index",
        "request",
        "closed",
        "retiring",
        "head",
        "head_done",
        "head_answered",
        "connecting",
        "captured_headers",
        "captured_body",
        "complete",
        "repeatable",
        "in_message",
        "previous_read",
        "repeat",
    )

    def __init__(self, driver: Driver, scheduled: float = 0.0, local_index: int = -1) -> None:
        self.driver = driver
        self.transport: asyncio.Transport | None = None
        self.use_parser(self.new_parser())
        self.in_flight = False
        self.sent = 0.0  # perf_counter() when the request in flight was written (or, connecting, attempted)
        self.scheduled = scheduled  # open model: when that request was due
        self.local_index = local_index  # open model: the worker's index of the request waiting for this connection
        self.request: Prepared | None = None  # what is in flight (or waiting for this connection)
        self.closed = False
        self.retiring = False  # closed model: this VU stops after its current request
        self.head = b""  # the response's first bytes, up to its head's end (or HEAD_KEEP)
        self.head_done = False  # no more bytes are kept for this response
        self.head_answered = False  # a HEAD answer was completed at its head (the parser must be replaced)
        self.connecting: asyncio.Task[None] | None = None
        # Only for requests with body or header checks:
        self.captured_headers: list[tuple[bytes, bytes]] = []
        self.captured_body = bytearray()

    def new_parser(self) -> HttpResponseParser:
        # httptools looks its callbacks up once, here: handing it the driver's method bound to this
        # connection (a C-level partial) saves a Python frame on every answer.
        driver = self.driver
        self.complete = complete = partial(driver.response, self)
        # Only a plain mix may skip parsing a repeated answer: a HEAD's answer has no body whatever its head says,
        # and checks need the headers and body parsed.
        self.repeatable = not (driver.captures or driver.heads)
        if driver.captures:
            return HttpResponseParser(_CapturingCallbacks(self, complete))
        if driver.heads:
            return HttpResponseParser(_Callbacks(self.headers_complete, complete))
        # No HEAD request in the mix: nothing to do at the end of a head, so httptools calls Python once an answer
        # (and C, not Python, at its start: the models clear ``in_message`` when it completes).
        return HttpResponseParser(_CompletionOnly(complete, partial(setattr, self, "in_message", True)))

    def use_parser(self, parser: HttpResponseParser) -> None:
        # The models ask every connection (lanes of other protocols too) for these two; here they are the
        # parser's own methods, so the hot path pays no Python frame for them.
        self.parser = parser
        self.status_code: Callable[[], int] = parser.get_status_code
        self.keep_alive: Callable[[], bool] = parser.should_keep_alive
        self.in_message = False  # the parser has begun an answer it has not completed
        self.previous_read: bytes | None = None
        self.repeat: bytes | None = None  # one whole answer, the parser between answers: these bytes again are it

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.connecting = None
        self.driver.connected(self)

    def data_received(self, data: bytes) -> None:
        self.driver.recorder.bytes_received += len(data)
        if data == self.repeat:
            # Byte for byte a whole answer, read between answers: parsed, it would give the same status and
            # keep-alive (held by status_code and keep_alive meanwhile) and leave the parser as it is, so it
            # completes unparsed.
            self.complete()
            return
        if not self.head_done:
            self.head += data  # the first read: no copy (b"" + data is data)
            if len(self.head) > HEAD_KEEP:
                self.head_done = True  # more than any head: stop copying a long body
        last, self.previous_read = self.previous_read, (data if len(data) <= REPEAT_LIMIT else None)
        if self.repeat is not None:  # the parser answers for itself again
            self.repeat = None
            self.status_code = self.parser.get_status_code
            self.keep_alive = self.parser.should_keep_alive
        try:
            self.parser.feed_data(data)
        except (HttpParserError, HttpParserUpgrade) as error:
            self._parse_stopped(error)
            return
        # The parser is between answers and the same read came twice running: when it is exactly one whole answer,
        # its next copies would parse to that answer again, so they are recognised by a memcmp instead. Their status
        # and keep-alive are the answer's, as constants: C calls, and the parser's own keep-alive has moved on.
        if data == last and self.repeatable and not self.in_message:
            status = self.driver.whole_answers.status(data)
            if status:
                self.repeat = data
                self.status_code = itertools.repeat(status).__next__
                self.keep_alive = _KEPT_ALIVE

    def _parse_stopped(self, error: Exception) -> None:
        """The parser stopped: a HEAD answer completed at its head (go on with a fresh parser), or bad bytes."""
        try:
            if not (isinstance(error, HttpParserCallbackError) and self.head_answered):
                raise error
            while True:
                # A HEAD answer was completed at its head: a fresh parser takes whatever followed it.
                data, self.head, self.head_done, self.head_answered = self.head, b"", False, False
                self.use_parser(self.new_parser())  # the old one still expects the body HEAD never gets
                if not data:
                    return
                self.head += data
                try:
                    self.parser.feed_data(data)
                    return
                except HttpParserCallbackError:
                    if not self.head_answered:
                        raise
        except HttpParserUpgrade:
            self.driver.broken(self, "protocol", "a 101 Switching Protocols answered a request that did not ask")
        except HttpParserError as failure:
            self.driver.broken(self, "protocol", f"not valid HTTP/1.1: {failure}")

    def headers_complete(self) -> None:
        self.head_done = True
        request = self.request
        if request is not None and request.is_head and self.in_flight and self.parser.get_status_code() >= 200:
            # httptools cannot be told that a HEAD answer has no body; complete it here and stop the parser.
            rest = self.after_head()
            self.driver.response(self)
            self.head, self.head_answered = rest, True
            raise HeadResponseComplete

    def eof_received(self) -> bool:
        return False  # close our side too: connection_lost follows

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.driver.lost(self, exc)

    def write(self, request: Prepared, now: float) -> None:
        self.sent = now
        self.in_flight = True
        self.request = request
        self.transport.write(request.data)  # type: ignore[union-attr]
        self.driver.recorder.bytes_sent += len(request.data)

    def after_head(self) -> bytes:
        """The bytes received after the current response's head (the next response's, after a bodiless one)."""
        end = self.head.find(b"\r\n\r\n")
        return self.head[end + 4 :] if end >= 0 else b""

    def reset_response(self, *, bodiless: bool = False) -> None:
        """Forget the last response's head (and captures): the next response starts afresh.

        After a response with no body (a 1xx), the bytes that followed its head
        already belong to the next response, and are kept.
        """
        self.head = self.after_head() if bodiless else b""
        self.head_done = False
        if self.captured_headers or self.captured_body:
            self.captured_headers = []
            self.captured_body = bytearray()

    def abort(self) -> None:
        if self.connecting is not None:
            self.connecting.cancel()
            self.connecting = None
        if self.transport is not None and not self.closed:
            self.transport.abort()


class _Callbacks:
    """What httptools calls back on the fast path: the end of a head and of a message, nothing per header or chunk."""

    __slots__ = ("on_headers_complete", "on_message_complete")

    def __init__(self, on_headers_complete: Callable[[], None], on_message_complete: Callable[[], None]) -> None:
        self.on_headers_complete = on_headers_complete
        self.on_message_complete = on_message_complete


class _CompletionOnly:
    """The fastest path: no HEAD request needs its head's end; a message's start and end call back."""

    __slots__ = ("on_message_begin", "on_message_complete")

    def __init__(self, on_message_complete: Callable[[], None], on_message_begin: Callable[[], None]) -> None:
        self.on_message_complete = on_message_complete
        self.on_message_begin = on_message_begin


class _CapturingCallbacks:
    """For a mix with body or header checks: also keep the headers and the body's first BODY_CHECK_LIMIT bytes."""

    __slots__ = ("connection", "on_message_complete")

    def __init__(self, connection: Connection, on_message_complete: Callable[[], None]) -> None:
        self.connection = connection
        self.on_message_complete = on_message_complete

    def on_headers_complete(self) -> None:
        self.connection.headers_complete()

    def on_header(self, name: bytes, value: bytes) -> None:
        request = self.connection.request
        if request is not None and request.captures:
            self.connection.captured_headers.append((name, value))

    def on_body(self, body: bytes) -> None:
        connection = self.connection
        request = connection.request
        if request is not None and request.captures and len(connection.captured_body) < BODY_CHECK_LIMIT:
            connection.captured_body += body[: BODY_CHECK_LIMIT - len(connection.captured_body)]


class StreamingConnection(Connection):
    """A connection whose streamed responses (``stream = true``) are timed as they arrive, read by read.

    Time to first byte runs from the request's start (as its latency does) to
    the first read of the answer; each later read adds the gap since the one
    before (a server that stalls mid-stream shows as a long gap); SSE events
    are counted by their blank-line ends (``\\n\\n``). A new request is known
    by its send time, so the closed model's inlined write needs no hook. Only
    runs with a streamed request use this class: the others keep the plain
    data_received.
    """

    __slots__ = ("last_read", "timed")

    def __init__(self, driver: Driver, scheduled: float = 0.0, local_index: int = -1) -> None:
        super().__init__(driver, scheduled, local_index)
        self.last_read = 0.0  # when the answer in flight last sent bytes
        self.timed = -1.0  # the send time of the request whose answer is being timed

    def data_received(self, data: bytes) -> None:
        request = self.request
        if self.in_flight and request is not None and request.spec.stream:
            driver = self.driver
            now = driver.clock()
            started = driver.started(self)
            first = self.timed != self.sent
            self.timed = self.sent
            if driver.record_from <= started < driver.measure_until:
                timings = driver.recorder.timings.pending
                if first:
                    timings["first_byte"].append(int((now - started) * 1_000_000))
                else:
                    timings["gap"].append(int((now - self.last_read) * 1_000_000))
                events = data.count(b"\n\n")
                if events:
                    driver.recorder.counts["stream_events"] += events
            self.last_read = now
        super().data_received(data)
