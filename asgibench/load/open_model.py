"""The open model: requests are due at a fixed (or ramping) rate, whatever the server does.

Each request's latency runs from when it was *due*, not from when it was
written: a server that stalls makes the requests behind it wait, and that
wait lands in the tail (the coordinated-omission correction). The service
time, from writing to answer, is recorded beside it.

A due request goes to an idle connection; with none idle, a new connection is
opened for it, up to ``max_connections``; past that it waits in a queue, in
order, and is charged for the wait. The queue is a range of schedule indexes
(a request's due time and name follow from its index), so it costs no memory
whatever the rate. Nothing due is lost; each request without an answer gets
an outcome of its own (docs/result-file.md):

- one that waited longer than ``--timeout`` for a connection is dropped,
  ``unsent (queue_full)``, rather than sent so late that its answer means
  nothing (k6 drops such iterations too);
- at the window's end, whatever is still queued, still waiting for its
  connection to open, or not yet reached by a late dispatcher is
  ``unsent (run_ended)``: nothing is written after the window, so a run ends
  at its duration plus the drain;
- stopping early does the same with ``unsent (interrupted)``.

Timers fire with millisecond resolution, so each timer writes every request
due within the next ``EARLY`` seconds; a request written early is timed from
when it was written, so an early write never shortens a latency, and one
written late (the timer was late) is charged for it.
"""

from __future__ import annotations

import math

from asgibench.load.config import LoadConfig
from asgibench.load.connection import Connection
from asgibench.load.driver import Driver, Emit, Prepared
from asgibench.load.http1 import request_cycle
from asgibench.load.mix import LocalMix
from asgibench.load.schedule import ArrivalSchedule, local_count

EARLY = 0.001


class OpenModel(Driver):
    def __init__(self, config: LoadConfig, *, worker: int, workers: int, emit: Emit) -> None:
        super().__init__(config, worker=worker, workers=workers, emit=emit)
        self.schedule = ArrivalSchedule.build(
            rate=config.rate, duration=config.duration, stages=config.stages, warmup=config.warmup
        )
        # One cycle for all workers: a request's name follows from its global index.
        cycle = request_cycle(config.requests, seed=0)
        self.mix = LocalMix(cycle, len(config.requests), worker=worker, workers=workers)
        self.idle_connections: list[Connection] = []
        self.pool = 0  # connections open or opening
        self.max_connections = max(1, config.max_connections // workers + (worker < config.max_connections % workers))
        # This worker's requests by local index j (global index worker + j * workers):
        self.next_index = 0  # the next one the dispatcher reaches
        self.queue_head = 0  # queued: queue_head .. next_index - 1, waiting for a connection
        self.first_recorded = self._local_count_before(config.warmup)  # requests before it are the warm-up's
        self._next_due: float | None = None

    # -- the schedule -----------------------------------------------------

    def _local_count_before(self, seconds: float) -> int:
        """How many of this worker's requests are due strictly before ``seconds`` after time zero."""
        return local_count(self.schedule.count_before(seconds), self.worker, self.workers)

    def due_of(self, local_index: int) -> float | None:
        offset = self.schedule.time_of(self.worker + local_index * self.workers)
        return None if offset is None else self.origin + offset

    def request_of(self, local_index: int) -> Prepared:
        return self.prepared[self.mix.kind_of(local_index)]

    def window_threshold(self) -> float:
        due = self.due_of(self.first_recorded)
        return math.inf if due is None else due

    def scheduled(self) -> int | None:
        reached = max(self.next_index, self._local_count_before(self.ended_at - self.origin))
        return max(0, reached - self.first_recorded)

    # -- sending ------------------------------------------------------------

    def prepare(self) -> None:
        """Open the up-front connections (before time zero, so they are ready)."""
        initial = self.config.connections // self.workers + (self.worker < self.config.connections % self.workers)
        for _ in range(min(initial, self.max_connections)):
            self.pool += 1
            self.open_connection()

    def begin(self) -> None:
        self._next_due = self.due_of(self.next_index)
        self._dispatch_due()

    def _dispatch_due(self) -> None:
        if not self.running:
            return
        now = self.clock()
        horizon = now + EARLY
        due = self._next_due
        idle = self.idle_connections
        while due is not None and due <= horizon:
            while idle and idle[-1].closed:
                idle.pop()
            if self.queue_head < self.next_index or not idle and self.pool >= self.max_connections:
                # Behind a queue, or with no connection to be had: every request due by the horizon queues.
                self.next_index = max(self.next_index + 1, self._local_count_before(horizon - self.origin))
                due = self.due_of(self.next_index)
                break
            if idle:
                self._write(idle.pop(), self.next_index, due, now)
                if due >= self.record_from:
                    self.recorder.lateness.append(int((now - due) * 1_000_000) if now > due else 1)
            else:
                self.pool += 1
                self.open_connection(scheduled=due, local_index=self.next_index)
            self.next_index += 1
            self.queue_head = self.next_index
            due = self.due_of(self.next_index)
        self._next_due = due
        if due is not None:
            # Never sooner than EARLY: a shorter timer would spin until the next request is due.
            self.loop.call_later(max(EARLY, due - self.clock()), self._dispatch_due)

    def _write(self, connection: Connection, local_index: int, due: float, now: float) -> None:
        connection.scheduled = due
        connection.write(self.request_of(local_index), now)

    def _take_queued(self, now: float) -> int | None:
        """The oldest queued request still worth sending, after dropping those that waited past the timeout."""
        self._expire(now)
        if self.queue_head < self.next_index:
            self.queue_head += 1
            return self.queue_head - 1
        return None

    def _expire(self, now: float) -> None:
        """Queued requests due more than ``timeout`` ago are dropped as unsent (queue_full)."""
        stale = min(self.next_index, self._local_count_before(now - self.timeout - self.origin))
        if stale > self.queue_head:
            self._unsent(self.queue_head, stale, "queue_full")
            self.queue_head = stale

    def _unsent(self, first: int, end: int, reason: str) -> None:
        """Requests ``first .. end - 1`` of this worker were never written; the window's are counted by name."""
        counts = self.mix.counts(max(first, self.first_recorded), end)
        for request, count in zip(self.prepared, counts, strict=True):
            if count:
                request.record.errors["unsent"] += count
                request.record.unsent[reason] += count

    def _take_next(self, connection: Connection, now: float) -> None:
        """Give a free connection the oldest waiting request, or park it (before time zero too)."""
        if self.done or self.ended_at != math.inf or now >= self.measure_until:  # nothing is written after the window
            connection.abort()
            return
        local_index = self._take_queued(now) if self.queue_head < self.next_index else None
        if local_index is not None:
            due = self.due_of(local_index)
            assert due is not None
            self._write(connection, local_index, due, now)
        else:
            self.idle_connections.append(connection)

    def connected(self, connection: Connection) -> None:
        now = self.clock()
        local_index, connection.local_index = connection.local_index, -1
        if local_index >= 0 and self.running:
            self._write(connection, local_index, connection.scheduled, now)
        else:
            self._take_next(connection, now)

    def connect_failed(self, connection: Connection, kind: str, message: str) -> None:
        self.pool -= 1
        local_index, connection.local_index = connection.local_index, -1
        if local_index >= 0:
            self.fail(self.request_of(local_index), kind, connection.scheduled, message)
        self._refill()

    def _refill(self) -> None:
        """After a connection is gone, open another for the queue's head if there is room."""
        now = self.clock()
        if not self.running or now >= self.measure_until:  # nothing is written after the window
            return
        if self.pool >= self.max_connections or self.queue_head >= self.next_index:
            return
        local_index = self._take_queued(now)
        if local_index is not None:
            due = self.due_of(local_index)
            assert due is not None
            self.pool += 1
            self.open_connection(scheduled=due, local_index=local_index)

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
        due, sent = connection.scheduled, connection.sent
        if due >= self.record_from:
            record.latencies.append(int((now - (due if due < sent else sent)) * 1_000_000))
            record.service_times.append(int((now - sent) * 1_000_000))
            record.statuses.append(status)
            if request.captures:
                self.check(connection, request, status)
        connection.head = b""
        connection.head_done = False
        connection.in_message = False
        if request.captures:
            connection.reset_response()
        if connection.keep_alive():
            self._take_next(connection, now)
        else:
            connection.abort()

    def started(self, connection: Connection) -> float:
        return connection.scheduled

    def lost(self, connection: Connection, error: BaseException | None) -> None:
        self.lost_in_flight(connection, error)
        self.pool -= 1
        self._refill()

    def sweep(self, now: float) -> None:
        super().sweep(now)
        if self.running:
            self._expire(now)

    def idle(self) -> bool:
        return self.queue_head >= self.next_index and super().idle()

    # -- the end ------------------------------------------------------------

    def window_closed(self, now: float) -> None:
        self.settle("run_ended", now)

    def settle(self, reason: str, now: float) -> None:
        """Whatever of the window was never written: queued, not yet reached, or waiting for its connection."""
        reached = max(self.next_index, self._local_count_before(self.ended_at - self.origin))
        self._unsent(self.queue_head, reached, reason)
        self.queue_head = self.next_index = reached
        for connection in list(self.connections):
            if connection.local_index >= 0:
                local_index, connection.local_index = connection.local_index, -1
                self._unsent(local_index, local_index + 1, reason)
                self.connections.discard(connection)
                self.pool -= 1
                connection.abort()
        self.idle_connections.clear()
