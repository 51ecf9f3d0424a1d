"""The part of a worker's event loop both load models share.

A driver owns the connections, the recorder and the clock: a 10 ms monitor
tick measures its own lateness (the generator's lag), flushes recordings,
closes one-second intervals, times out stuck requests and ends the run. The
closed and open models subclass it and decide when requests are sent.

The models are told the time by ``Driver.clock`` (``time.perf_counter()``
seconds; a test may give its own), never read it themselves. A run has three
parts: the warm-up (run, never recorded), the measured window, and the drain. Only
requests of the window are recorded: in the closed model those written (or
whose connection was attempted) inside it, in the open model those due
inside it. Every one of them ends as exactly one outcome (docs/result-file.md):
a response, or an error of one kind. After the window no request is written;
those still in flight get ``drain`` seconds, then are counted ``abandoned``.
Stopping early (Ctrl-C, SIGTERM, ``--abort-on-fail``) ends the run at once and
counts what was in flight as ``abandoned`` too.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import ssl
from collections.abc import Callable
from dataclasses import replace
from time import perf_counter
from typing import TYPE_CHECKING, Any

from asgibench.load.config import LoadConfig, RequestSpec
from asgibench.load.connection import Connection, StreamingConnection
from asgibench.load.dial import dial
from asgibench.load.expect import Expectation
from asgibench.load.http1 import (
    WholeAnswers,
    build_request,
    connection_error,
    describe_error,
    ends_at_close,
    parse_response_head,
)
from asgibench.load.recorder import Recorder, RequestRecord

if TYPE_CHECKING:
    from asgibench.load.holder import Holder

MONITOR_PERIOD = 0.010
FLUSH_EVERY = 10  # monitor ticks between flushes of the recorded latencies
SWEEP_EVERY = 10  # monitor ticks between looks for requests past their timeout
RECONNECT_DELAY = 0.05  # after a failed connect, so a refusing target is not hammered in a tight loop

Emit = Callable[[dict[str, Any]], None]


class Prepared:
    """One named request, ready to send: its bytes, its rule for success, and where its outcomes are recorded."""

    __slots__ = (
        "index", "spec", "name", "data", "headers", "is_head", "expectation", "captures", "record", "check_names",
    )  # fmt: skip

    def __init__(self, index: int, spec: RequestSpec, data: bytes, record: RequestRecord) -> None:
        self.index = index
        self.spec = spec  # what links of other protocols build their frames from (method, path, headers, body)
        self.name = spec.label
        self.data = data  # HTTP/1.1: the request's bytes; WebSocket: the message's payload
        # HTTP/2: the request's own headers as bytes (the client makes them fit: protocols.http2.request_fields);
        # a tuple, by which the client finds the head it built for them.
        self.headers = tuple((name.encode("latin-1"), value.encode("latin-1")) for name, value in spec.headers)
        self.is_head = spec.method == "HEAD"
        self.expectation: Expectation = spec.expect
        self.captures = spec.expect.captures
        self.record = record
        self.check_names = spec.expect.check_names()


def ssl_context(config: LoadConfig) -> ssl.SSLContext:
    """The TLS client context of a run: certificates verified, unless --insecure; HTTP/2 asked for by ALPN."""
    context = ssl.create_default_context()
    if config.insecure:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    context.set_alpn_protocols(["h2"] if config.protocol == "h2" else ["http/1.1"])
    return context


def request_data(spec: RequestSpec, config: LoadConfig) -> bytes:
    """What the hot path sends for ``spec``: HTTP/1.1 bytes, or a WebSocket message's payload.

    The models count ``len(data)`` as bytes sent; links of other protocols add what their framing adds, so
    HTTP/2, whose link counts every byte it writes, has none here.
    """
    if spec.message is not None:
        return spec.body
    if config.protocol == "h2":
        return b""
    return build_request(spec, config.target)


class Driver:
    def __init__(self, config: LoadConfig, *, worker: int, workers: int, emit: Emit) -> None:
        self.config = config
        self.worker = worker
        self.workers = workers
        self.emit = emit
        self.loop = asyncio.get_running_loop()
        # The time, as the models and links are told it: perf_counter seconds (tests may give their own).
        self.clock: Callable[[], float] = perf_counter
        self.recorder = Recorder([spec.expect for spec in config.requests], with_service_time=config.model == "open")
        self.prepared = [
            Prepared(index, spec, request_data(spec, config), self.recorder.requests[index])
            for index, spec in enumerate(config.requests)
        ]
        self.captures = any(request.captures for request in self.prepared)
        self.heads = any(request.is_head for request in self.prepared)  # HEAD answers end at their head
        self.whole_answers = WholeAnswers()  # which repeated reads are one whole answer (see Connection)
        # Streamed responses are timed read by read; without any, connections keep the plain fast path.
        self.connection_class = StreamingConnection if any(spec.stream for spec in config.requests) else Connection
        self.connections: set[Connection] = set()
        self.timeout = config.timeout
        self.running = False  # while True, new requests may start
        self.interrupted = False
        self.connections_opened = 0
        self.connections_peak = 0  # the most open (or opening) at once
        self.tls = ssl_context(config) if config.target.secure else None
        hold_target = config.hold_target or config.target
        self.hold_tls = ssl_context(replace(config, protocol="http/1.1")) if hold_target.secure else None
        self.holder: Holder | None = None
        if config.hold:
            from asgibench.load.holder import Holder  # here: it imports the WebSocket client, which HTTP runs skip

            self.holder = Holder(self, hold_target)
        # Set by run():
        self.origin = 0.0  # the schedule's time zero (warm-up starts here)
        self.measure_from = math.inf
        self.measure_until = math.inf
        # Requests starting (closed) or due (open) from here until measure_until are the window's, and recorded.
        self.record_from = math.inf
        self.ended_at = math.inf  # when the window ended: its end, or when the run was stopped
        self.start_late: float | None = None  # seconds after time zero this worker began (None: it never did)
        self.done = False
        self.error: str | None = None  # what went wrong inside asgibench, when the run ended on a bug
        self._interval = -1
        self._next_interval_at = math.inf
        self._ticks = 0
        self._next_tick = 0.0
        self._drain_deadline = math.inf
        self._finished: asyncio.Future[None] = self.loop.create_future()

    # -- connections ------------------------------------------------------

    def open_connection(self, scheduled: float = 0.0, local_index: int = -1) -> Connection:
        connection = self.connection_class(self, scheduled, local_index)
        connection.sent = self.clock()
        self.connections.add(connection)
        self.connections_opened += 1
        self.connections_peak = max(self.connections_peak, len(self.connections))
        connection.connecting = self.loop.create_task(self._connect(connection))
        return connection

    async def _connect(self, connection: Connection) -> None:
        try:
            await dial(self.loop, self.config.target, connection, tls=self.tls, timeout=self.timeout)
        except (OSError, TimeoutError) as error:  # ssl.SSLError is an OSError
            connection.connecting = None
            self.connections.discard(connection)
            connection.closed = True
            if not self.done:
                self.connect_failed(connection, connection_error(error), describe_error(error))

    # -- outcomes ---------------------------------------------------------

    def fail(self, request: Prepared, kind: str, started: float, message: str, *, code: str | None = None) -> None:
        """One request of ``request``'s kind failed; counted when it belongs to the window (``code``: the status,
        close code or HTTP/2 error code the error carried, counted by code beside it)."""
        if self.record_from <= started < self.measure_until:
            request.record.errors[kind] += 1
            if code is not None:
                self.recorder.code(kind, code)
            if kind not in self.recorder.error_examples:  # only the first is kept: no text built per failure
                self.recorder.example(kind, f"{request.name}: {message}")

    def measuring(self, now: float) -> bool:
        """Whether ``now`` is inside the measured window (for counters kept by arrival time)."""
        return self.measure_from <= now < self.measure_until

    def started(self, connection: Connection) -> float:
        """When the request on ``connection`` counts as started (for the window): written, or attempted."""
        return connection.sent

    def interim(self, connection: Connection, status: int) -> bool:
        """A 1xx before the final response: skipped (and counted); a 101 nobody asked for is a protocol error.

        False for a WebSocket reply, which is final and travels under 101, its connection's status.
        """
        if status == 101:
            if self.config.protocol == "websocket":
                return False
            self.broken(connection, "protocol", "a 101 Switching Protocols answered a request that did not ask")
            return True
        if self.record_from <= self.started(connection) < self.measure_until:
            self.recorder.interim += 1
        connection.reset_response(bodiless=True)
        return True

    def check(self, connection: Connection, request: Prepared, status: int) -> None:
        """Body and header checks of a response with an expected status (only for requests that have them)."""
        record = request.record
        if status in record.expected:
            failed = request.expectation.failed_checks(connection.captured_headers, bytes(connection.captured_body))
            counts = record.check_counts
            for index in range(1, len(counts)):
                counts[index][1 if index in failed else 0] += 1
            if failed:
                record.errors["check"] += 1
                self.recorder.example("check", f"{request.name}: {request.check_names[failed[0]]} failed")

    def broken(self, connection: Connection, kind: str, message: str) -> None:
        if connection.in_flight:
            connection.in_flight = False
            assert connection.request is not None
            self.fail(connection.request, kind, self.started(connection), message)
        connection.abort()

    def lost_in_flight(self, connection: Connection, error: BaseException | None) -> None:
        """A connection closed: settle the request in flight on it, if any."""
        self.connections.discard(connection)
        if not connection.in_flight:
            return
        request = connection.request
        assert request is not None
        head = parse_response_head(connection.head)  # None unless a whole head arrived
        if head is not None and ends_at_close(head, request_was_head=request.is_head):
            self.response(connection)  # the close ended the body: the answer is complete, as any other
            return
        connection.in_flight = False
        started = self.started(connection)
        if not connection.head:
            self.fail(request, connection_error(error), started, describe_error(error))
        else:
            self.fail(request, "truncated", started, "the connection closed in the middle of the response")

    def sweep(self, now: float) -> None:
        """Requests past their timeout fail, and their connections are closed."""
        deadline = now - self.timeout
        for connection in list(self.connections):
            if connection.in_flight and connection.sent < deadline:
                connection.in_flight = False
                assert connection.request is not None
                self.fail(connection.request, "timeout", self.started(connection), f"no answer in {self.timeout:g} s")
                connection.abort()

    # Hooks for the models.
    def connected(self, connection: Connection) -> None:
        raise NotImplementedError

    def connect_failed(self, connection: Connection, kind: str, message: str) -> None:
        raise NotImplementedError

    def response(self, connection: Connection) -> None:
        raise NotImplementedError

    def lost(self, connection: Connection, error: BaseException | None) -> None:
        raise NotImplementedError

    def begin(self) -> None:
        """Start sending: called once, at the schedule's time zero."""
        raise NotImplementedError

    def window_threshold(self) -> float:
        """The start time (closed) or due time (open) from which requests are recorded."""
        return self.measure_from

    def adjust(self, now: float) -> None:
        """Called every monitor tick while running (ramping stages)."""

    def window_closed(self, now: float) -> None:
        """The window's end: requests not yet written are settled (open model)."""

    def settle(self, reason: str, now: float) -> None:
        """The run stops: count what never got an outcome (``reason``: run_ended or interrupted)."""

    def scheduled(self) -> int | None:
        """Open model: how many requests of this worker were due in the window that was run."""
        return None

    def measured_seconds(self) -> float:
        """How much of the window was run: all of it, or up to where the run was stopped."""
        if self.ended_at == math.inf:
            return 0.0
        return max(0.0, self.ended_at - self.measure_from)

    def idle(self) -> bool:
        """Whether nothing is in flight or waiting to be sent."""
        return not any(connection.in_flight for connection in self.connections)

    # -- the run ----------------------------------------------------------

    async def run(self, origin: float, *, warmup: float, duration: float) -> None:
        """Run from ``origin`` (a perf_counter time): warm-up, the measured window, then the drain."""
        self.origin = origin
        self.measure_from = origin + warmup
        self.measure_until = self.measure_from + duration
        self.record_from = self.window_threshold()
        self._next_tick = origin + MONITOR_PERIOD
        # A loop's timers may fire a little early: sleep again until time zero has really come.
        while (delay := origin - self.clock()) > 0 and not self._finished.done():
            await asyncio.sleep(delay)
        if self._finished.done():  # stopped before time zero: nothing starts, the connections are already let go
            await self.closing()
            return
        if warmup <= 0:
            self._open_window()  # before the first request: the window's first bytes are its own
        else:  # at the warm-up's end, by its own timer rather than the next monitor tick (up to 10 ms later)
            self.loop.call_at(self._loop_time(self.measure_from), self._open_window)
        self.start_late = max(0.0, self.clock() - origin)  # shows how far apart workers really started
        self.running = True
        self.begin()
        if self.holder is not None:
            self.holder.start()
        self.loop.call_at(self._loop_time(self._next_tick), self._tick)
        await self._finished
        await self.closing()

    async def closing(self) -> None:
        """After the run: connections that close with a handshake of their own (WebSocket) get to finish it."""

    def stop(self) -> None:
        """Stop now (Ctrl-C, an aborting threshold): what was measured is kept, nothing more is waited for."""
        if not self._finished.done() and not self.done:  # not again while the last interval is being closed
            self.interrupted = True
            self.running = False
            self._finish(self.clock())

    def _open_window(self) -> None:
        """The measured window opens: counters kept since the warm-up (bytes, CPU, lag) start afresh, once."""
        if self._interval < 0:
            self.recorder.start_measuring()
            self._interval = 0
            self._next_interval_at = self.measure_from + 1.0

    def _loop_time(self, perf_time: float) -> float:
        return self.loop.time() + (perf_time - self.clock())

    def _tick(self) -> None:
        if self._finished.done():
            return
        try:
            self._monitor()
        except Exception as error:  # a bug in asgibench: end the run anyway, keeping what was measured
            self.error = f"{type(error).__name__}: {error}"
            self.interrupted = True
            if not self.done:
                with contextlib.suppress(Exception):
                    self._finish(self.clock())

    def _monitor(self) -> None:
        now = self.clock()
        recorder = self.recorder
        if now >= self.measure_from:
            self._open_window()
            recorder.lags.append(int(max(0.0, now - self._next_tick) * 1_000_000) or 1)
        self._ticks += 1
        if self._ticks % FLUSH_EVERY == 0:
            recorder.flush()
        if self._ticks % SWEEP_EVERY == 0:
            self.sweep(now)
        while now >= self._next_interval_at and self._next_interval_at < self.measure_until:  # (a late tick)
            self._close_interval(self._next_interval_at)
        if self.running:
            if now >= self.measure_until:
                self.running = False
                self.ended_at = self.measure_until
                recorder.end_window()
                self.window_closed(now)
                self._drain_deadline = now + self.config.drain_seconds
            else:
                self.adjust(now)
        if not self.running and (self.idle() or now >= self._drain_deadline):
            self._finish(now)
            return
        self._next_tick = max(self._next_tick + MONITOR_PERIOD, now)
        self.loop.call_at(self._loop_time(self._next_tick), self._tick)

    def _close_interval(self, end: float, *, drain: float = 0.0) -> None:
        start = self.measure_from + self._interval
        payload = self.recorder.close_interval(
            self._interval, start=start - self.measure_from, end=end - self.measure_from, drain=drain
        )
        self.emit({"type": "interval", "worker": self.worker} | payload)
        self._interval += 1
        self._next_interval_at = self.measure_from + self._interval + 1.0

    def _finish(self, now: float) -> None:
        """Settle every request still without an outcome, close the last interval, close every connection."""
        self.running = False
        try:
            if self.ended_at == math.inf:  # stopped before the window's end
                self.ended_at = max(min(now, self.measure_until), self.measure_from)
            self.sweep(now)
            abandoned = (
                "in flight when the run was stopped" if self.interrupted else "still in flight when the drain ended"
            )
            for connection in list(self.connections):
                if connection.in_flight:
                    connection.in_flight = False
                    assert connection.request is not None
                    self.fail(connection.request, "abandoned", self.started(connection), abandoned)
            self.settle("interrupted" if self.interrupted else "run_ended", now)
            self.done = True
            if self._interval < 0 and now >= self.measure_from:  # stopped before the tick saw the window open
                self._interval = 0
            if self._interval >= 0:
                while self._next_interval_at < self.ended_at:
                    self._close_interval(self._next_interval_at)
                self._close_interval(self.ended_at, drain=max(0.0, now - self.measure_until))
        finally:  # whatever went wrong above, the run ends and lets go of its connections
            self.done = True
            self.record_from = math.inf  # nothing arriving from now on is recorded
            if self.holder is not None:
                self.holder.close()
            for connection in list(self.connections):
                connection.abort()
            if not self._finished.done():
                self._finished.set_result(None)
