"""The load models over lanes, with fake transports: a WebSocket or HTTP/2 server peer, sans-IO, no sockets.

The real closed and open models run on a real event loop; only the connection
is faked: ``LanePool._connect`` hands each link a transport whose writes go to
a sans-IO server (websockets' ServerProtocol, h2's server connection), and the
server's answers come back through ``data_received``. So the accounting of a
run (every request one outcome), id matching, coded errors and the closing
handshake are tested without a socket or a subprocess.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import h2.config
import h2.connection
import h2.errors
import h2.events
import h2.settings
import pytest
from websockets.frames import Frame, Opcode
from websockets.http11 import Request, Response
from websockets.server import ServerProtocol

from asgibench.load.aggregate import Aggregate
from asgibench.load.config import LoadConfig, RequestSpec
from asgibench.load.driver import Driver
from asgibench.load.expect import Expectation
from asgibench.load.lane_models import LaneClosedModel, LaneOpenModel
from asgibench.load.lanes import LanePool, Link
from asgibench.load.parsing import parse_target
from asgibench.load.summary import beyond_requests, summarize

Peer = Callable[[Link, "FakeTransport"], "ServerPeer"]


class FakeTransport(asyncio.Transport):
    """Writes go to the server peer on the next loop turn; closing ends the link as a real transport would."""

    def __init__(self, link: Link, peer: ServerPeer) -> None:
        super().__init__()
        self.link = link
        self.peer = peer
        self.closing = False

    def write(self, data: bytes) -> None:  # type: ignore[override]
        if not self.closing:
            asyncio.get_running_loop().call_soon(self.peer.receive, bytes(data))

    def close(self) -> None:
        self._end()

    def abort(self) -> None:
        self._end()

    def is_closing(self) -> bool:
        return self.closing

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return default

    def _end(self) -> None:
        if not self.closing:
            self.closing = True
            asyncio.get_running_loop().call_soon(self.link.connection_lost, None)


class ServerPeer:
    def __init__(self, link: Link) -> None:
        self.link = link

    def send(self, data: bytes) -> None:
        if data and not self.link.closed:
            asyncio.get_running_loop().call_soon(self._deliver, data)

    def _deliver(self, data: bytes) -> None:
        if not self.link.closed and self.link.transport is not None and not self.link.transport.is_closing():
            self.link.data_received(data)

    def receive(self, data: bytes) -> None:
        raise NotImplementedError


class EchoServer(ServerPeer):
    """A WebSocket server that echoes every message; ``close_after``: closes with 1011 after that many."""

    closes: list[int] = []

    def __init__(self, link: Link, *, close_after: int | None = None, refuse: int | None = None) -> None:
        super().__init__(link)
        self.protocol = ServerProtocol()
        self.close_after = close_after
        self.refuse = refuse
        self.echoed = 0

    def receive(self, data: bytes) -> None:
        self.protocol.receive_data(data)
        for event in self.protocol.events_received():
            if isinstance(event, Request):
                if self.refuse is not None:
                    self.protocol.send_response(self.protocol.reject(self.refuse, "go away"))
                else:
                    self.protocol.send_response(self.protocol.accept(event))
            elif isinstance(event, Frame) and event.opcode in (Opcode.TEXT, Opcode.BINARY):
                if self.close_after is not None and self.echoed >= self.close_after:
                    self.protocol.send_close(1011, "server error")
                elif event.opcode is Opcode.TEXT:
                    self.protocol.send_text(event.data)
                else:
                    self.protocol.send_binary(event.data)
                self.echoed += 1
            elif isinstance(event, Frame) and event.opcode is Opcode.CLOSE:
                EchoServer.closes.append(int.from_bytes(event.data[:2], "big"))
            assert not isinstance(event, Response)
        self.send(b"".join(chunk for chunk in self.protocol.data_to_send() if chunk))


class H2Server(ServerPeer):
    """An HTTP/2 server answering 200 "hello"; ``reset_every``: every n-th stream is refused by RST_STREAM."""

    def __init__(self, link: Link, *, reset_every: int | None = None) -> None:
        super().__init__(link)
        self.connection = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False))
        self.connection.initiate_connection()
        self.reset_every = reset_every
        self.streams = 0

    def receive(self, data: bytes) -> None:
        for event in self.connection.receive_data(data):
            if isinstance(event, h2.events.RequestReceived):
                self.streams += 1
                if self.reset_every and self.streams % self.reset_every == 0:
                    self.connection.reset_stream(event.stream_id, h2.errors.ErrorCodes.REFUSED_STREAM)
                    continue
                self.connection.send_headers(event.stream_id, [(":status", "200"), ("content-length", "5")])
                self.connection.send_data(event.stream_id, b"hello", end_stream=True)
        self.send(self.connection.data_to_send())


def run(config: LoadConfig, peer: Callable[[Link], ServerPeer], *, model: type[Driver]) -> Aggregate:
    """Run ``config`` for its duration over fake connections to ``peer``; the run's aggregate."""
    aggregate = Aggregate(1, [spec.label for spec in config.requests])

    async def connect(pool: LanePool, link: Link) -> None:
        server = peer(link)
        link.connection_made(FakeTransport(link, server))

    async def main() -> None:
        driver = model(config, worker=0, workers=1, emit=aggregate.add)
        if isinstance(driver, LaneOpenModel):
            driver.prepare()
        driver.pool_of_lanes._connect = lambda link: connect(driver.pool_of_lanes, link)  # type: ignore[attr-defined, method-assign]
        await driver.run(time.perf_counter(), warmup=0.0, duration=config.duration)
        aggregate.worker_finished(0, scheduled=driver.scheduled())

    asyncio.run(main())
    aggregate.drain()
    return aggregate


def websocket_config(**overrides: Any) -> LoadConfig:
    spec = RequestSpec(body=b"-" * 64, expect=Expectation(("101",)), message="text")
    fields: dict[str, Any] = {"target": parse_target("ws://example.test/ws"), "protocol": "websocket",
                              "vus": 4, "duration": 0.3, "timeout": 2.0, "drain": 1.0, "requests": (spec,)}  # fmt: skip
    return LoadConfig(**(fields | overrides))


def assert_accounts(aggregate: Aggregate) -> None:
    total = aggregate.total
    assert total.requests == total.ok + total.error_total
    assert total.requests == sum(outcomes.requests for outcomes in aggregate.by_name)


def test_websocket_echoes_are_round_trips_matched_by_id() -> None:
    config = websocket_config()
    aggregate = run(config, EchoServer, model=LaneClosedModel)
    assert_accounts(aggregate)
    assert aggregate.total.ok > 50
    assert aggregate.total.error_total == 0
    assert dict(aggregate.total.statuses) == {"101": aggregate.total.ok}
    extras = beyond_requests(aggregate, config, duration=config.duration)
    assert extras["protocol"] == "websocket"
    assert extras["handshake_ms"] is not None and extras["handshake_ms"]["count"] == 4
    assert extras["messages"]["unmatched"] == 0
    assert extras["messages"]["sent"] >= aggregate.total.ok - config.vus  # a message per ok, bar the drain's


def test_websocket_connections_close_with_1000_after_the_run() -> None:
    EchoServer.closes = []
    run(websocket_config(vus=3), EchoServer, model=LaneClosedModel)
    assert EchoServer.closes == [1000, 1000, 1000]


def test_a_refused_upgrade_counts_as_handshake_by_status() -> None:
    config = websocket_config(vus=2, duration=0.2)
    aggregate = run(config, lambda link: EchoServer(link, refuse=403), model=LaneClosedModel)
    assert_accounts(aggregate)
    assert aggregate.total.ok == 0
    assert aggregate.total.errors["handshake"] == aggregate.total.requests > 0
    assert dict(aggregate.error_codes["handshake"]) == {"403": aggregate.total.requests}


def test_a_server_close_fails_the_message_in_flight_by_close_code() -> None:
    config = websocket_config(vus=2, duration=0.3)
    aggregate = run(config, lambda link: EchoServer(link, close_after=3), model=LaneClosedModel)
    assert_accounts(aggregate)
    assert aggregate.total.ok > 0
    assert aggregate.total.errors["closed"] > 0
    assert set(aggregate.error_codes["closed"]) == {"1011"}
    assert sum(aggregate.error_codes["closed"].values()) == aggregate.total.errors["closed"]


def test_websocket_open_model_gives_every_due_message_one_outcome() -> None:
    config = websocket_config(model="open", rate=400.0, connections=2, streams=8)
    aggregate = run(config, EchoServer, model=LaneOpenModel)
    assert_accounts(aggregate)
    assert aggregate.scheduled == aggregate.total.requests > 0
    assert aggregate.total.ok == aggregate.total.requests


def h2_config(**overrides: Any) -> LoadConfig:
    fields: dict[str, Any] = {"target": parse_target("http://example.test/"), "protocol": "h2", "vus": 8,
                              "streams": 4, "duration": 0.3, "timeout": 2.0, "drain": 1.0}  # fmt: skip
    return LoadConfig(**(fields | overrides))


def test_http2_streams_share_connections() -> None:
    links: list[Link] = []

    def server(link: Link) -> ServerPeer:
        links.append(link)
        return H2Server(link)

    aggregate = run(h2_config(), server, model=LaneClosedModel)
    assert_accounts(aggregate)
    assert aggregate.total.ok > 50 and aggregate.total.error_total == 0
    assert len(links) == 2  # 8 users, 4 streams each
    assert dict(aggregate.total.statuses) == {"200": aggregate.total.ok}


def test_refused_streams_count_as_stream_reset_by_code() -> None:
    aggregate = run(h2_config(), lambda link: H2Server(link, reset_every=5), model=LaneClosedModel)
    assert_accounts(aggregate)
    resets = aggregate.total.errors["stream_reset"]
    assert resets > 0 and aggregate.total.ok > 0
    assert dict(aggregate.error_codes["stream_reset"]) == {"REFUSED_STREAM": resets}


@pytest.mark.parametrize("model", ["closed", "open"])
def test_http2_summary_records_the_protocol(model: str) -> None:
    config = h2_config(model=model, rate=300.0, connections=1)
    aggregate = run(config, H2Server, model=LaneOpenModel if model == "open" else LaneClosedModel)
    assert_accounts(aggregate)
    summary = summarize(aggregate, duration=config.duration, open_model=model == "open")
    assert summary["ok"] == summary["requests"] > 0
    assert beyond_requests(aggregate, config, duration=config.duration)["protocol"] == "h2"


class BadAccept(ServerPeer):
    """Answers the upgrade with 101 but a wrong Sec-WebSocket-Accept: the upgrade fails before it opens."""

    def receive(self, data: bytes) -> None:
        self.send(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Accept: bogus\r\n\r\n"
        )


@pytest.mark.parametrize("model", ["open", "closed"])
def test_a_bad_upgrade_fails_the_attempts_and_every_due_message_is_counted(model: str) -> None:
    config = websocket_config(model=model, rate=200.0, connections=2, vus=2, duration=0.3)
    aggregate = run(config, BadAccept, model=LaneOpenModel if model == "open" else LaneClosedModel)
    assert_accounts(aggregate)
    assert aggregate.total.errors["protocol"] == aggregate.total.requests > 0
    if model == "open":
        assert aggregate.scheduled == aggregate.total.requests
    else:  # a failed attempt waits before the next, as a refused connection does: not thousands in 0.3 s
        assert aggregate.total.requests < 100


@pytest.mark.parametrize("model", ["open", "closed"])
def test_an_unanswered_upgrade_times_out_and_the_next_attempt_uses_a_new_connection(model: str) -> None:
    links: list[Link] = []

    def server(link: Link) -> ServerPeer:
        links.append(link)
        peer = EchoServer(link)
        if len(links) == 1:
            peer.receive = lambda data: None  # type: ignore[method-assign]  # the first upgrade is never answered
        return peer

    config = websocket_config(model=model, rate=50.0, connections=1, max_connections=1, vus=1, duration=1.0,
                              timeout=0.2, drain=0.3)  # fmt: skip
    aggregate = run(config, server, model=LaneOpenModel if model == "open" else LaneClosedModel)
    assert_accounts(aggregate)
    assert len(links) >= 2
    assert aggregate.total.errors["timeout"] >= 1
    assert aggregate.total.ok > 0


class GoingAway(H2Server):
    """One stream at a time; after its third answer, a graceful GOAWAY (the connection stays open, silent)."""

    def __init__(self, link: Link) -> None:
        super().__init__(link)
        self.connection.update_settings({h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS: 1})

    def receive(self, data: bytes) -> None:
        if self.streams >= 3:
            return
        for event in self.connection.receive_data(data):
            if isinstance(event, h2.events.RequestReceived):
                self.streams += 1
                self.connection.send_headers(event.stream_id, [(":status", "200"), ("content-length", "5")])
                self.connection.send_data(event.stream_id, b"hello", end_stream=True)
                if self.streams == 3:
                    self.connection.close_connection(h2.errors.ErrorCodes.NO_ERROR, last_stream_id=event.stream_id)
        self.send(self.connection.data_to_send())


def test_requests_waiting_for_a_stream_fail_as_goaway_at_once_not_as_timeouts() -> None:
    config = h2_config(vus=4, streams=4, duration=0.5, timeout=5.0, drain=0.5)
    aggregate = run(config, GoingAway, model=LaneClosedModel)
    assert_accounts(aggregate)
    assert aggregate.total.ok > 20  # connections are replaced at once, not after a timeout
    assert aggregate.total.errors["timeout"] == aggregate.total.errors["abandoned"] == 0
    assert sum(aggregate.error_codes["goaway"].values()) == aggregate.total.errors["goaway"] > 0
