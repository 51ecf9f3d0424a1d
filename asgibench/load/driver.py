"""The part of a worker's event loop both load models share.

A driver owns the connections, the recorder and the clock: a 10 ms monitor
tick measures its own lateness (the generator's lag), flushes recordings,
closes one-second intervals, times out stuck requests and ends the run. The
closed and open models subclass it and decide when requests are sent.

Times are ``time.perf_counter()`` seconds throughout. Only requests that
start (closed model) or are due (open model) inside the measured window are
recorded; the warm-up before it is run but not recorded.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import ssl
from collections.abc import Callable
from time import perf_counter
from typing import Any

from asgibench.load.config import LoadConfig
from asgibench.load.connection import Connection
from asgibench.load.http1 import build_request, connection_error, request_cycle
from asgibench.load.recorder import Recorder

MONITOR_PERIOD = 0.010
FLUSH_EVERY = 10  # monitor ticks between flushes of the recorded latencies
SWEEP_EVERY = 10  # monitor ticks between looks for requests past their timeout
RECONNECT_DELAY = 0.05  # after a failed connect, so a refusing target is not hammered in a tight loop

Emit = Callable[[dict[str, Any]], None]


class Driver:
    def __init__(self, config: LoadConfig, *, worker: int, workers: int, emit: Emit) -> None:
        self.config = config
        self.worker = worker
        self.workers = workers
        self.emit = emit
        self.loop = asyncio.get_running_loop()
        self.recorder = Recorder(with_service_time=config.model == "open")
        self.connections: set[Connection] = set()
        self.timeout = config.timeout
        self.running = False  # while True, new requests may start
        self.interrupted = False
        self.connections_opened = 0
        requests = [build_request(spec, config.target) for spec in config.requests]
        # The next request to send, as a C-level call: the hot path pays no Python frame for it.
        self.next_request: Callable[[], bytes] = itertools.cycle(
            [requests[index] for index in request_cycle(config.requests, seed=worker)]
        ).__next__
        self._ssl = _ssl_context(config) if config.target.scheme == "https" else None
        # Set by start():
        self.origin = 0.0  # the schedule's time zero (warm-up starts here)
        self.measure_from = math.inf
        self.measure_until = math.inf
        self._interval = -1
        self._next_interval_at = math.inf
        self._ticks = 0
        self._next_tick = 0.0
        self._drain_deadline = math.inf
        self._finished: asyncio.Future[None] = self.loop.create_future()

    # -- requests ---------------------------------------------------------

    # -- connections ------------------------------------------------------

    def open_connection(self, scheduled: float = 0.0) -> Connection:
        connection = Connection(self, scheduled)
        self.connections.add(connection)
        self.connections_opened += 1
        self.loop.create_task(self._connect(connection))
        return connection

    async def _connect(self, connection: Connection) -> None:
        target = self.config.target
        try:
            async with asyncio.timeout(self.timeout):
                if target.unix_path is not None:
                    await self.loop.create_unix_connection(lambda: connection, target.unix_path)
                else:
                    await self.loop.create_connection(
                        lambda: connection,
                        target.host,
                        target.port,
                        ssl=self._ssl,
                        server_hostname=target.host if self._ssl else None,
                    )
        except (OSError, TimeoutError, ssl.SSLError) as error:
            self.connections.discard(connection)
            connection.closed = True
            self.connect_failed(connection, connection_error(error))

    def count_error(self, kind: str, started: float) -> None:
        if started >= self.measure_from:
            self.recorder.error(kind)

    def started(self, connection: Connection) -> float:
        """When the request in flight on ``connection`` counts as started (for the measured window)."""
        return connection.sent

    # Hooks for the models.
    def connected(self, connection: Connection) -> None:
        raise NotImplementedError

    def connect_failed(self, connection: Connection, kind: str) -> None:
        raise NotImplementedError

    def response(self, connection: Connection) -> None:
        raise NotImplementedError

    def lost(self, connection: Connection, error: BaseException | None) -> None:
        raise NotImplementedError

    def begin(self) -> None:
        """Start sending: called once, at the schedule's time zero."""
        raise NotImplementedError

    def adjust(self, now: float) -> None:
        """Called every monitor tick while running (ramping stages)."""

    def idle(self) -> bool:
        """Whether nothing is in flight or waiting to be sent."""
        return not any(connection.in_flight for connection in self.connections)

    def abandon(self) -> None:
        """At the end of the grace period: count what never finished."""
        for connection in self.connections:
            if connection.in_flight:
                connection.in_flight = False
                self.count_error("timeout", self.started(connection))

    def broken(self, connection: Connection, kind: str) -> None:
        if connection.in_flight:
            connection.in_flight = False
            self.count_error(kind, self.started(connection))
        connection.abort()

    def lost_in_flight(self, connection: Connection, error: BaseException | None) -> None:
        self.connections.discard(connection)
        if connection.in_flight:
            connection.in_flight = False
            self.count_error(connection_error(error), self.started(connection))

    # -- the run ----------------------------------------------------------

    async def run(self, origin: float, *, warmup: float, duration: float) -> None:
        """Run from ``origin`` (a perf_counter time): warm-up, the measured window, then the drain."""
        self.origin = origin
        self.measure_from = origin + warmup
        self.measure_until = self.measure_from + duration
        self._next_tick = origin + MONITOR_PERIOD
        delay = origin - perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        self.running = True
        self.begin()
        self.loop.call_at(self._loop_time(self._next_tick), self._tick)
        await self._finished

    def stop(self) -> None:
        """Stop now (Ctrl-C, an aborting threshold): what was measured is kept, nothing more is waited for."""
        if not self._finished.done():
            self.interrupted = True
            self.running = False
            self._finish()

    def _loop_time(self, perf_time: float) -> float:
        return self.loop.time() + (perf_time - perf_counter())

    def _tick(self) -> None:
        if self._finished.done():
            return
        now = perf_counter()
        recorder = self.recorder
        if now >= self.measure_from:
            if self._interval < 0:
                recorder.start_measuring()
                self._interval = 0
                self._next_interval_at = self.measure_from + 1.0
            recorder.lags.append(int(max(0.0, now - self._next_tick) * 1_000_000) or 1)
        self._ticks += 1
        if self._ticks % FLUSH_EVERY == 0:
            recorder.flush()
        if self._ticks % SWEEP_EVERY == 0:
            self._sweep(now)
        if now >= self._next_interval_at and now < self.measure_until:
            self._close_interval(self._next_interval_at)
        if self.running:
            if now >= self.measure_until:
                self.running = False
                self._drain_deadline = now + self.timeout
            else:
                self.adjust(now)
        if not self.running and (self.idle() or now >= self._drain_deadline):
            self.abandon()
            self._finish()
            return
        self._next_tick = max(self._next_tick + MONITOR_PERIOD, now)
        self.loop.call_at(self._loop_time(self._next_tick), self._tick)

    def _close_interval(self, end: float) -> None:
        start = self.measure_from + self._interval
        self.emit(
            {"type": "interval", "worker": self.worker}
            | self.recorder.close_interval(self._interval, start=start - self.measure_from, end=end - self.measure_from)
        )
        self._interval += 1
        self._next_interval_at = self.measure_from + self._interval + 1.0

    def _sweep(self, now: float) -> None:
        deadline = now - self.timeout
        for connection in list(self.connections):
            if connection.in_flight and connection.sent < deadline:
                connection.in_flight = False
                self.count_error("timeout", self.started(connection))
                connection.abort()

    def _finish(self) -> None:
        self.running = False
        if self._interval >= 0:
            end = min(perf_counter(), self.measure_until) if self.interrupted else self.measure_until
            self._close_interval(max(end, self.measure_from + self._interval))
        for connection in list(self.connections):
            connection.abort()
        if not self._finished.done():
            self._finished.set_result(None)


def _ssl_context(config: LoadConfig) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if config.insecure:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context
