"""The open model: requests are due at a fixed (or ramping) rate, whatever the server does.

Each request's latency runs from when it was *due*, not from when it was
written: a server that stalls makes the requests behind it wait, and that
wait lands in the tail (the coordinated-omission correction). The service
time, from writing to answer, is recorded beside it.

A due request goes to an idle connection; with none idle, a new connection is
opened, up to ``max_connections``; past that it waits in a queue, in order,
and is charged for the wait. Nothing due is dropped: what is still queued
when the run ends is counted as ``unsent``.

Timers fire with millisecond resolution, so each timer writes every request
due within the next ``EARLY`` seconds; a request written early is timed from
when it was written, so an early write never shortens a latency, and one
written late (the timer was late) is charged for it.
"""

from __future__ import annotations

from collections import deque
from time import perf_counter

from asgibench.load.config import LoadConfig
from asgibench.load.connection import Connection
from asgibench.load.driver import Driver, Emit
from asgibench.load.schedule import ArrivalSchedule

EARLY = 0.001


class OpenModel(Driver):
    def __init__(self, config: LoadConfig, *, worker: int, workers: int, emit: Emit) -> None:
        super().__init__(config, worker=worker, workers=workers, emit=emit)
        self.schedule = ArrivalSchedule.build(
            rate=config.rate, duration=config.duration, stages=config.stages, warmup=config.warmup
        )
        self.idle_connections: list[Connection] = []
        self.pending: deque[float] = deque()  # due times of requests waiting for a connection
        self.pool = 0  # connections open or opening
        self.max_connections = max(1, config.max_connections // workers + (worker < config.max_connections % workers))
        self._index = worker  # global index of this worker's next request
        self._next_due: float | None = None

    def prepare(self) -> None:
        """Open the up-front connections (before time zero, so they are ready)."""
        initial = self.config.connections // self.workers + (self.worker < self.config.connections % self.workers)
        for _ in range(min(initial, self.max_connections)):
            self.pool += 1
            self.open_connection(scheduled=-1.0)

    def begin(self) -> None:
        offset = self.schedule.time_of(self._index)
        self._next_due = None if offset is None else self.origin + offset
        self._dispatch_due()

    def _dispatch_due(self) -> None:
        if not self.running:
            return
        now = perf_counter()
        horizon = now + EARLY
        schedule, origin, stride = self.schedule, self.origin, self.workers
        due = self._next_due
        while due is not None and due <= horizon:
            self._dispatch(due, now)
            self._index += stride
            offset = schedule.time_of(self._index)
            due = None if offset is None else origin + offset
        self._next_due = due
        if due is not None:
            # Never sooner than EARLY: a shorter timer would spin until the next request is due.
            self.loop.call_later(max(EARLY, due - perf_counter()), self._dispatch_due)

    def _dispatch(self, due: float, now: float) -> None:
        idle = self.idle_connections
        while idle:
            connection = idle.pop()
            if not connection.closed:
                connection.scheduled = due
                connection.write(self.next_request(), now)
                if due >= self.measure_from:
                    self.recorder.lateness.append(int((now - due) * 1_000_000) if now > due else 1)
                return
        if self.pool < self.max_connections:
            self.pool += 1
            self.open_connection(scheduled=due)
        else:
            self.pending.append(due)

    def _take_next(self, connection: Connection, now: float) -> None:
        """Give a free connection the oldest waiting request, or park it."""
        if self.pending and (self.running or now < self._drain_deadline):
            connection.scheduled = self.pending.popleft()
            connection.write(self.next_request(), now)
        elif self.running:
            self.idle_connections.append(connection)
        else:
            connection.abort()

    def connected(self, connection: Connection) -> None:
        now = perf_counter()
        if connection.scheduled >= 0:
            connection.write(self.next_request(), now)
        else:
            self._take_next(connection, now)

    def connect_failed(self, connection: Connection, kind: str) -> None:
        self.pool -= 1
        if connection.scheduled >= 0:
            self.count_error(kind, connection.scheduled)
        self._refill()

    def _refill(self) -> None:
        """After a connection is gone, open another for the queue's head if there is room."""
        if self.pending and self.pool < self.max_connections:
            self.pool += 1
            self.open_connection(scheduled=self.pending.popleft())

    def response(self, connection: Connection) -> None:
        now = perf_counter()
        if not connection.in_flight:
            return
        connection.in_flight = False
        due, sent = connection.scheduled, connection.sent
        parser = connection.parser
        status = parser.get_status_code()
        if due >= self.measure_from:
            recorder = self.recorder
            recorder.latencies.append(int((now - (due if due < sent else sent)) * 1_000_000))
            recorder.service_times.append(int((now - sent) * 1_000_000))
            if status >= 400:
                recorder.error("http_5xx" if status >= 500 else "http_4xx")
        if parser.should_keep_alive():
            self._take_next(connection, now)
        else:
            connection.abort()

    def started(self, connection: Connection) -> float:
        return connection.scheduled

    def lost(self, connection: Connection, error: BaseException | None) -> None:
        self.lost_in_flight(connection, error)
        self.pool -= 1
        self._refill()

    def idle(self) -> bool:
        return not self.pending and super().idle()

    def abandon(self) -> None:
        for due in self.pending:
            self.count_error("unsent", due)
        self.pending.clear()
        super().abandon()
