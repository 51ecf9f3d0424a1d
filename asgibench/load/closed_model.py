"""The closed model: N virtual users, each on its own keep-alive connection.

A user sends its next request as soon as the last answer is complete (after
the think time, if any). Latency is the time from writing a request to the end
of its answer. When a connection dies, its user reconnects and carries on; a
connection attempt counts as the user's next request from the moment it
starts, so a target that never accepts still shows up as requests that timed
out, not as an empty run.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

from asgibench.load.config import LoadConfig
from asgibench.load.connection import Connection
from asgibench.load.driver import RECONNECT_DELAY, Driver, Emit, Prepared
from asgibench.load.http1 import request_cycle
from asgibench.load.schedule import share, vus_at


class ClosedModel(Driver):
    def __init__(self, config: LoadConfig, *, worker: int, workers: int, emit: Emit) -> None:
        super().__init__(config, worker=worker, workers=workers, emit=emit)
        self.think = self.config.think
        self.users = 0  # users running (connected, connecting or waiting to reconnect)
        # The next request, as a C-level call: the hot path pays no Python frame for it.
        self.next_request: Callable[[], Prepared] = itertools.cycle(
            [self.prepared[index] for index in request_cycle(config.requests, seed=worker)]
        ).__next__

    def wanted_users(self, now: float) -> int:
        config = self.config
        total = vus_at(now - self.origin, vus=config.vus, stages=config.stages, warmup=config.warmup)
        return share(total, self.workers, self.worker)

    def begin(self) -> None:
        self.adjust(self.clock())

    def adjust(self, now: float) -> None:
        wanted = self.wanted_users(now)
        while self.users < wanted:
            self.users += 1
            self._attempt()
        if self.users > wanted:
            for connection in self.connections:
                if self.users <= wanted:
                    break
                if not connection.retiring:
                    connection.retiring = True
                    self.users -= 1
                    if not connection.in_flight:
                        connection.abort()

    def _attempt(self) -> None:
        """A user (re)connects; the attempt is its next request, in flight from now."""
        connection = self.open_connection()
        connection.request = self.next_request()
        connection.in_flight = True

    def connected(self, connection: Connection) -> None:
        # The attempt began while the run was running: its request is in flight and is written now, in the
        # drain too (a retiring user still finishes it). Nothing new starts after the window.
        if connection.in_flight and connection.request is not None and not self.done:
            connection.write(connection.request, self.clock())
        else:
            connection.abort()

    def connect_failed(self, connection: Connection, kind: str, message: str) -> None:
        if connection.in_flight and connection.request is not None:
            connection.in_flight = False
            self.fail(connection.request, kind, connection.sent, message)
        if connection.retiring:
            return
        if self._may_start():
            self.loop.call_later(RECONNECT_DELAY, self._replace)
        else:
            self.users -= 1

    def _replace(self) -> None:
        if self._may_start():
            self._attempt()
        else:
            self.users -= 1

    def _may_start(self) -> bool:
        """Whether a user may start a request now: not after the window, even before the tick has seen it end."""
        return self.running and self.clock() < self.measure_until

    def response(self, connection: Connection) -> None:
        now = self.clock()
        if not connection.in_flight:
            return
        status = connection.status_code()
        if status < 200 and self.interim(connection, status):
            return
        connection.in_flight = False
        request: Prepared = connection.request  # type: ignore[assignment]
        record = request.record
        if self.measure_from <= now < self.measure_until:  # completed inside the window: throughput
            record.completed += 1
        started = connection.sent
        if self.record_from <= started < self.measure_until:
            record.latencies.append(int((now - started) * 1_000_000))
            record.statuses.append(status)
            if request.captures:
                self.check(connection, request, status)
        connection.head = b""
        connection.head_done = False
        connection.in_message = False
        if request.captures:
            connection.reset_response()
        if not connection.keep_alive():
            connection.abort()  # connection_lost starts the replacement
        elif not self.running or now >= self.measure_until or connection.retiring:
            connection.abort()  # nothing starts after the window (the tick may not have seen its end yet)
        elif self.think:
            self.loop.call_later(self.think, self._send_after_think, connection)
        else:  # connection.write(), inlined: this is the hot path
            request = self.next_request()
            connection.sent = now
            connection.in_flight = True
            connection.request = request
            connection.transport.write(request.data)  # type: ignore[union-attr]
            self.recorder.bytes_sent += len(request.data)

    def _send_after_think(self, connection: Connection) -> None:
        now = self.clock()
        if self.running and now < self.measure_until and not connection.closed and not connection.retiring:
            connection.write(self.next_request(), now)

    def lost(self, connection: Connection, error: BaseException | None) -> None:
        self.lost_in_flight(connection, error)
        if connection.retiring:
            return
        if self._may_start():
            self._attempt()
        else:
            self.users -= 1
