"""One client connection: an ``asyncio.Protocol`` feeding httptools' response parser.

The protocol only moves bytes and forwards events to its driver, which owns
the policy (what to send next, what to record). No Task per request: the
driver writes the next request from inside the callback that completed the
last answer, which is what keeps the generator from being the bottleneck.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING

from httptools import HttpParserError, HttpParserUpgrade, HttpResponseParser

if TYPE_CHECKING:
    from asgibench.load.driver import Driver


class Connection(asyncio.Protocol):
    __slots__ = ("driver", "transport", "parser", "in_flight", "sent", "scheduled", "closed", "retiring")

    def __init__(self, driver: Driver, scheduled: float = 0.0) -> None:
        self.driver = driver
        self.transport: asyncio.Transport | None = None
        # httptools looks its callbacks up once, here: handing it the driver's method bound to this
        # connection (a C-level partial) saves a Python frame on every answer.
        self.parser = HttpResponseParser(_Callbacks(partial(driver.response, self)))
        self.in_flight = False
        self.sent = 0.0  # perf_counter() when the request in flight was written
        self.scheduled = scheduled  # open model: when that request was due
        self.closed = False
        self.retiring = False  # closed model: this VU stops after its current request

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.driver.connected(self)

    def data_received(self, data: bytes) -> None:
        self.driver.recorder.bytes_received += len(data)
        try:
            self.parser.feed_data(data)
        except HttpParserUpgrade:
            self.driver.broken(self, "protocol")  # a 101 answer to a plain request
        except HttpParserError:
            self.driver.broken(self, "protocol")

    def eof_received(self) -> bool:
        return False  # close our side too: connection_lost follows

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.driver.lost(self, exc)

    def write(self, request: bytes, now: float) -> None:
        self.sent = now
        self.in_flight = True
        self.transport.write(request)  # type: ignore[union-attr]
        self.driver.recorder.bytes_sent += len(request)

    def abort(self) -> None:
        if self.transport is not None and not self.closed:
            self.transport.abort()


class _Callbacks:
    """What httptools calls back: only the end of a message (no per-header or per-body-chunk calls)."""

    __slots__ = ("on_message_complete",)

    def __init__(self, on_message_complete: Callable[[], None]) -> None:
        self.on_message_complete = on_message_complete
