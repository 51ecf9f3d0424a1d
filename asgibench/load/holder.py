"""--hold N: long-lived streams held open beside the load, so "long-lived connection support" is a number.

Each held stream is an SSE request (an ``http://`` or ``https://`` hold
target: a GET with ``Accept: text/event-stream``, read until it ends) or an
idle WebSocket (a ``ws://`` one: the upgrade, then nothing but answering
pings). They open at time zero, so the warm-up gives them time to settle,
and are never reopened: one the server ends before the window does counts
as ``dropped``, one that never opens (refused, an error status) as
``failed``. Each second reports how many are held, and the summary gives the
count at the window's end and the fewest at the end of any second, beside the
light load's own latency.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from httptools import HttpParserError, HttpParserUpgrade, HttpResponseParser

from asgibench.load.config import RequestSpec, Target
from asgibench.load.dial import dial
from asgibench.load.http1 import build_request
from asgibench.load.protocols.websocket import Closed, Failed, Opened, Refused, WebSocketClient
from asgibench.load.schedule import share

if TYPE_CHECKING:
    from asgibench.load.driver import Driver


class HeldStream(asyncio.Protocol):
    def __init__(self, holder: Holder) -> None:
        self.holder = holder
        self.transport: asyncio.Transport | None = None
        self.held = False
        self.ended = False
        target = holder.target
        self.client = (
            WebSocketClient(host=target.host_header, path=target.path, secure=target.secure)
            if target.scheme in ("ws", "wss")
            else None
        )
        # An SSE stream is read by httptools: its status decides whether it is held, its end that it was dropped.
        self.parser = None if self.client is not None else HttpResponseParser(self)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = writer = transport  # type: ignore[assignment]
        if self.client is not None:
            writer.write(self.client.connect())  # type: ignore[attr-defined]
        else:
            spec = RequestSpec(headers=(("Accept", "text/event-stream"),))
            writer.write(build_request(spec, self.holder.target))  # type: ignore[attr-defined]

    def data_received(self, data: bytes) -> None:
        if self.client is not None:
            for event in self.client.receive_data(data):
                if isinstance(event, Opened):
                    self.opened()
                elif isinstance(event, Refused | Failed | Closed):
                    self.end()
            answer = self.client.data_to_send()
            if answer and self.transport is not None:
                self.transport.write(answer)
            return
        assert self.parser is not None
        try:
            self.parser.feed_data(data)
        except (HttpParserError, HttpParserUpgrade):
            self.end()  # not HTTP, or not a stream: never held, or dropped

    # httptools' callbacks (SSE):
    def on_headers_complete(self) -> None:
        assert self.parser is not None
        if self.parser.get_status_code() == 200:
            self.opened()
        else:
            self.end()

    def on_body(self, body: bytes) -> None:
        events = body.count(b"\n\n")
        driver = self.holder.driver
        if events and driver.measuring(driver.clock()):
            driver.recorder.counts["held_events"] += events

    def on_message_complete(self) -> None:
        self.end()  # the server ended the stream (a held stream is never meant to end)

    def opened(self) -> None:
        self.held = True
        self.holder.held += 1
        self.holder.driver.recorder.counts["held_opened"] += 1
        self.holder.report()

    def end(self) -> None:
        """The stream ended (or never began): dropped if it was held, else failed; then let the connection go.

        A drop counts when it comes before the window's end: a stream held through the window was held.
        """
        if self.ended:
            return
        self.ended = True
        driver = self.holder.driver
        recorder = driver.recorder
        if self.held:
            self.held = False
            self.holder.held -= 1
            if not self.holder.closing and driver.clock() < driver.measure_until:
                recorder.counts["held_dropped"] += 1
        elif not self.holder.closing:
            recorder.counts["held_failed"] += 1
        self.holder.report()
        if self.transport is not None:
            self.transport.abort()

    def connection_lost(self, exc: Exception | None) -> None:
        self.end()

    def close(self) -> None:
        if self.client is not None and self.held and self.transport is not None and self.client.state == "open":
            self.transport.write(self.client.close(1000))
        if not self.held and not self.ended:  # still not open when the run ended: never held
            self.holder.driver.recorder.counts["held_failed"] += 1
        self.end()


class Holder:
    """This worker's share of the held streams."""

    def __init__(self, driver: Driver, target: Target) -> None:
        self.driver = driver
        self.target = target
        self.count = share(driver.config.hold, driver.workers, driver.worker)
        self.streams: list[HeldStream] = []
        self.held = 0
        self.closing = False
        self.tasks: list[asyncio.Task[None]] = []
        driver.recorder.held = 0

    def report(self) -> None:
        """How many are held, for the second being recorded; frozen at the window's end (what was held then)."""
        if self.driver.running:
            self.driver.recorder.held = self.held

    def start(self) -> None:
        for _ in range(self.count):
            stream = HeldStream(self)
            self.streams.append(stream)
            self.tasks.append(self.driver.loop.create_task(self._connect(stream)))

    async def _connect(self, stream: HeldStream) -> None:
        driver = self.driver
        try:
            await dial(driver.loop, self.target, stream, tls=driver.hold_tls, timeout=driver.timeout)
        except (OSError, TimeoutError):
            stream.end()

    def close(self) -> None:
        """The run is over: close every held stream; what ends now is neither dropped nor failed."""
        self.closing = True
        for task in self.tasks:
            task.cancel()
        for stream in self.streams:
            stream.close()
