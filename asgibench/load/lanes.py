"""Lanes: one request at a time on a connection that carries many (HTTP/2 streams, WebSocket messages).

The load models were written for HTTP/1.1, where a connection carries one
request at a time. A lane is what a model sees as such a connection: it has
one request in flight, is written to, answers with a status, and is aborted
or lost. Lanes are handed out by a ``LanePool`` onto links, the real
connections; a link carries up to ``--streams`` lanes at once and speaks its
protocol through a sans-IO client (``asgibench.load.protocols``). So the
closed and open models, their windows, timeouts, drain and accounting are the
same code for every protocol, and a protocol only adds a link.

What a lane's outcome is follows the HTTP/1.1 rules (docs/result-file.md):
a reply is a response (a WebSocket reply under status 101, the status of the
upgraded connection it travels on), and a lane whose link fails settles its
request as the same error kinds, plus the coded kinds of the protocol:
``handshake`` (the upgrade's status), ``closed`` (the close code),
``stream_reset`` and ``goaway`` (the HTTP/2 error code).

A lane that fails or times out is aborted, and its user (closed model) or
the pool (open model) opens a new one, on a link with room, as a failed
HTTP/1.1 connection is replaced.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from time import perf_counter
from typing import TYPE_CHECKING, Any

from asgibench.load.dial import dial
from asgibench.load.http1 import connection_error, describe_error

if TYPE_CHECKING:
    from asgibench.load.driver import Driver, Prepared

# How long links get, after the run, to finish their closing handshakes before they are cut.
CLOSE_GRACE = 1.0


class LaneWriter:
    """What a model's inlined hot path calls ``transport.write`` on: it sends the lane's request on its link."""

    __slots__ = ("lane",)

    def __init__(self, lane: Lane) -> None:
        self.lane = lane

    def write(self, data: bytes) -> None:
        lane = self.lane
        assert lane.link is not None
        lane.link.send(lane)


class Lane:
    """One request slot of a link: the connection-like object the models drive."""

    __slots__ = (
        "driver",
        "link",
        "transport",
        "writer",
        "in_flight",
        "sent",
        "scheduled",
        "local_index",
        "request",
        "closed",
        "retiring",
        "head",
        "head_done",
        "in_message",
        "connecting",
        "captured_headers",
        "captured_body",
        "status",
        "key",
    )

    def __init__(self, driver: Driver, scheduled: float = 0.0, local_index: int = -1) -> None:
        self.driver = driver
        self.link: Link | None = None
        self.writer = LaneWriter(self)
        self.transport: LaneWriter | None = None  # set once the link is ready: the models test it
        self.in_flight = False
        self.sent = 0.0
        self.scheduled = scheduled
        self.local_index = local_index
        self.request: Prepared | None = None
        self.closed = False
        self.retiring = False
        self.head = b""  # non-empty once the answer has begun: a loss after that is "truncated"
        self.head_done = False  # never a parsed HTTP/1.1 head: lost_in_flight then goes by ``head`` alone
        self.in_message = False  # cleared by the models as for a connection; a lane never reads it
        self.connecting: asyncio.Task[None] | None = None
        self.captured_headers: list[tuple[bytes, bytes]] = []
        self.captured_body = bytearray()
        self.status = 0
        self.key: Any = None  # the link's handle of the request in flight: a stream id, a message id

    def status_code(self) -> int:
        return self.status

    def keep_alive(self) -> bool:
        return self.link is not None and self.link.accepting

    def write(self, request: Prepared, now: float) -> None:
        self.sent = now
        self.in_flight = True
        self.request = request
        assert self.link is not None
        self.link.send(self)
        self.driver.recorder.bytes_sent += len(request.data)  # as the models' inlined writes count it

    def reset_response(self, *, bodiless: bool = False) -> None:
        self.head = b""
        self.status = 0

    def abort(self) -> None:
        """Give the lane up: its request, if any, is forgotten by the link; the driver hears of it as a loss."""
        if self.closed:
            return
        self.closed = True
        if self.link is not None:
            self.link.release(self)
        self.driver.loop.call_soon(self.driver.lost, self, None)  # type: ignore[arg-type]


class Link(asyncio.Protocol):
    """One real connection carrying lanes. Subclasses speak a protocol; this keeps the lanes."""

    def __init__(self, pool: LanePool) -> None:
        self.pool = pool
        self.driver = pool.driver
        self.lanes: set[Lane] = set()
        self.transport: asyncio.Transport | None = None
        self.ready = False
        self.accepting = True  # new lanes may be placed here (not after GOAWAY, a close, or a failure)
        self.closed = False
        self.began = self.driver.clock()  # when the connection was attempted
        self.connecting: asyncio.Task[None] | None = None

    # -- lanes ---------------------------------------------------------------

    def add(self, lane: Lane) -> None:
        self.lanes.add(lane)
        lane.link = self
        if self.ready:
            lane.transport = lane.writer
            self.driver.loop.call_soon(self._connected, lane)

    def _connected(self, lane: Lane) -> None:
        if not lane.closed:
            self.driver.connected(lane)  # type: ignore[arg-type]

    def open_lanes(self) -> None:
        """The link is ready: every lane waiting on it may send."""
        self.ready = True
        for lane in list(self.lanes):
            lane.transport = lane.writer
            self.driver.connected(lane)  # type: ignore[arg-type]

    def release(self, lane: Lane) -> None:
        """A lane is given up: forget its request; a link left with no lane and no room to reuse closes."""
        self.forget(lane)
        self.lanes.discard(lane)
        if not self.lanes and (not self.accepting or self.pool.driver.done):
            self.shut()
        else:
            self.pool.has_room(self)

    def stalled(self) -> None:
        """A request on this link timed out: new lanes go to another connection (this one may be dead)."""
        self.accepting = False
        self.pool.drop(self)

    def fail_lane(self, lane: Lane, kind: str, code: str | None, message: str) -> None:
        """The lane's request failed on this link: count it (with its code), then give the lane up."""
        if lane.in_flight:
            lane.in_flight = False
            assert lane.request is not None
            self.driver.fail(lane.request, kind, self.driver.started(lane), message, code=code)  # type: ignore[arg-type]
        lane.abort()

    def refuse_lanes(self, kind: str, code: str | None, message: str) -> None:
        """The link never opened (refused, a failed handshake): its lanes' connection attempts failed."""
        self.accepting = False
        self.pool.drop(self)
        for lane in list(self.lanes):
            self.lanes.discard(lane)
            if lane.closed:
                continue
            lane.closed = True
            self.driver.connections.discard(lane)
            if code is not None and self.driver.record_from <= self.driver.started(lane) < self.driver.measure_until:  # type: ignore[arg-type]
                self.driver.recorder.code(kind, code)
            if not self.driver.done:
                self.driver.connect_failed(lane, kind, message)  # type: ignore[arg-type]

    # -- asyncio ---------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.connecting = None
        self.began_protocol()

    def eof_received(self) -> bool:
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.accepting = False
        self.pool.closed(self)
        if not self.ready:
            self.refuse_lanes(connection_error(exc), None, describe_error(exc))
            return
        for lane in list(self.lanes):
            self.lanes.discard(lane)
            if not lane.closed:
                lane.closed = True
                self.driver.lost(lane, exc)  # type: ignore[arg-type]

    def shut(self) -> None:
        """Close the connection (subclasses first say goodbye in their protocol)."""
        self.accepting = False
        self.pool.drop(self)
        if self.connecting is not None:
            self.connecting.cancel()
            self.connecting = None
        if self.transport is None:
            self.closed = True  # never connected: nothing to close
            self.pool.closed(self)
        elif not self.closed:
            self.transport.close()

    def cut(self) -> None:
        if self.connecting is not None:
            self.connecting.cancel()
            self.connecting = None
        if self.transport is not None and not self.closed:
            self.transport.abort()

    # -- for the protocol ------------------------------------------------------

    def began_protocol(self) -> None:
        """The connection is up: start the protocol (a preface, a handshake); call open_lanes() once usable."""
        raise NotImplementedError

    def send(self, lane: Lane) -> None:
        """Send ``lane.request`` on this link."""
        raise NotImplementedError

    def forget(self, lane: Lane) -> None:
        """The lane's request, if in flight, will not be waited for (a reset stream, an id no longer matched)."""


class LanePool:
    """Places lanes on links with room, opening a link when none has any.

    The links with room are kept apart, so placing a lane costs the same with
    10,000 connections as with one; a link leaves that list when it fills,
    stops accepting (GOAWAY, a close, a timeout) or closes, and comes back
    when a lane of an accepting link is released.
    """

    def __init__(self, driver: Driver, make_link: Callable[[LanePool], Link], capacity: int) -> None:
        self.driver = driver
        self.make_link = make_link
        self.capacity = max(1, capacity)
        self.with_room: dict[Link, None] = {}  # accepting links with fewer lanes than capacity (an ordered set)
        self.live: set[Link] = set()  # links not closed: for the end of the run, and the peak
        self.opened = 0
        self.peak = 0

    def lane(self, scheduled: float = 0.0, local_index: int = -1) -> Lane:
        lane = Lane(self.driver, scheduled, local_index)
        lane.sent = self.driver.clock()
        while self.with_room:
            link = next(iter(self.with_room))
            if link.accepting and not link.closed and len(link.lanes) < self.capacity:
                link.add(lane)
                if len(link.lanes) >= self.capacity:
                    del self.with_room[link]
                return lane
            del self.with_room[link]
        link = self.make_link(self)
        self.live.add(link)
        self.opened += 1
        self.peak = max(self.peak, len(self.live))
        link.add(lane)
        if self.capacity > 1:
            self.with_room[link] = None
        link.connecting = self.driver.loop.create_task(self._connect(link))
        lane.connecting = link.connecting
        return lane

    def has_room(self, link: Link) -> None:
        """A lane of ``link`` was released: place new lanes there again, if it still takes them."""
        if link.accepting and not link.closed:
            self.with_room[link] = None

    def drop(self, link: Link) -> None:
        """``link`` takes no new lane."""
        self.with_room.pop(link, None)

    def closed(self, link: Link) -> None:
        self.drop(link)
        self.live.discard(link)

    def expire_handshakes(self, deadline: float) -> None:
        """Links whose protocol handshake began before ``deadline`` and never finished are given up: timeout."""
        for link in list(self.live):
            if not link.ready and link.transport is not None and not link.closed and link.began < deadline:
                link.refuse_lanes("timeout", None, f"no answer to the handshake in {self.driver.timeout:g} s")
                link.cut()

    async def _connect(self, link: Link) -> None:
        driver = self.driver
        try:
            await dial(driver.loop, driver.config.target, link, tls=driver.tls, timeout=driver.timeout)
        except (OSError, TimeoutError) as error:
            link.connecting = None
            link.closed = True
            self.closed(link)
            if not self.driver.done:
                link.refuse_lanes(connection_error(error), None, describe_error(error))

    async def close_all(self, grace: float = CLOSE_GRACE) -> None:
        """After the run: every link says goodbye in its protocol; those still open after ``grace`` are cut."""
        links = list(self.live)
        for link in links:
            link.shut()
        deadline = perf_counter() + grace
        while any(not link.closed for link in links) and perf_counter() < deadline:
            await asyncio.sleep(0.01)
        for link in links:
            link.cut()
