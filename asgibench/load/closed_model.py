"""The closed model: N virtual users, each on its own keep-alive connection.

A user sends its next request as soon as the last answer is complete (after
the think time, if any). Latency is the time from writing a request to the end
of its answer. When a connection dies, its user reconnects and carries on.
"""

from __future__ import annotations

from time import perf_counter

from asgibench.load.config import LoadConfig
from asgibench.load.connection import Connection
from asgibench.load.driver import RECONNECT_DELAY, Driver, Emit
from asgibench.load.schedule import share, vus_at


class ClosedModel(Driver):
    def __init__(self, config: LoadConfig, *, worker: int, workers: int, emit: Emit) -> None:
        super().__init__(config, worker=worker, workers=workers, emit=emit)
        self.think = self.config.think
        self.users = 0  # users running (connected, connecting or waiting to reconnect)

    def wanted_users(self, now: float) -> int:
        config = self.config
        total = vus_at(now - self.origin, vus=config.vus, stages=config.stages, warmup=config.warmup)
        return share(total, self.workers, self.worker)

    def begin(self) -> None:
        self.adjust(perf_counter())

    def adjust(self, now: float) -> None:
        wanted = self.wanted_users(now)
        while self.users < wanted:
            self.users += 1
            self.open_connection()
        if self.users > wanted:
            for connection in self.connections:
                if self.users <= wanted:
                    break
                if not connection.retiring:
                    connection.retiring = True
                    self.users -= 1
                    if not connection.in_flight:
                        connection.abort()

    def connected(self, connection: Connection) -> None:
        if self.running and not connection.retiring:
            connection.write(self.next_request(), perf_counter())
        else:
            connection.abort()

    def connect_failed(self, connection: Connection, kind: str) -> None:
        self.count_error(kind, perf_counter())
        if self.running and not connection.retiring:
            self.loop.call_later(RECONNECT_DELAY, self._replace)
        elif not connection.retiring:
            self.users -= 1

    def _replace(self) -> None:
        if self.running:
            self.open_connection()
        else:
            self.users -= 1

    def response(self, connection: Connection) -> None:
        now = perf_counter()
        if not connection.in_flight:
            return
        connection.in_flight = False
        started = connection.sent
        parser = connection.parser
        status = parser.get_status_code()
        if started >= self.measure_from:
            recorder = self.recorder
            recorder.latencies.append(int((now - started) * 1_000_000))
            if status >= 400:
                recorder.error("http_5xx" if status >= 500 else "http_4xx")
        if not parser.should_keep_alive():
            connection.abort()  # connection_lost starts the replacement
        elif not self.running or connection.retiring:
            connection.abort()
        elif self.think:
            self.loop.call_later(self.think, self._send_after_think, connection)
        else:  # connection.write(), inlined: this is the hot path
            request = self.next_request()
            connection.sent = now
            connection.in_flight = True
            connection.transport.write(request)  # type: ignore[union-attr]
            self.recorder.bytes_sent += len(request)

    def _send_after_think(self, connection: Connection) -> None:
        if self.running and not connection.closed and not connection.retiring:
            connection.write(self.next_request(), perf_counter())

    def lost(self, connection: Connection, error: BaseException | None) -> None:
        self.lost_in_flight(connection, error)
        if connection.retiring:
            return
        if self.running:
            self.open_connection()
        else:
            self.users -= 1
