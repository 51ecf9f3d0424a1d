"""The sans-IO HTTP/2 client, joined to an h2 server through an in-memory wire.

No sockets and no clocks: the client's bytes are fed to a server-side
``H2Connection`` and the server's bytes back to the client. The server side is
scripted by each test (what it answers, when, in what pieces), and the bytes
can be cut anywhere on their way to the client.
"""

from __future__ import annotations

from typing import Any

import pytest
from h2 import events as h2e
from h2.config import H2Configuration
from h2.connection import H2Connection
from h2.errors import ErrorCodes
from h2.settings import SettingCodes, Settings
from hyperframe.frame import Frame, GoAwayFrame
from hypothesis import given, settings
from hypothesis import strategies as st

from asgibench.load.protocols import http2
from asgibench.load.protocols.http2 import (
    CONNECTION_WINDOW,
    LAST_STREAM_ID,
    STREAM_WINDOW,
    BodyReceived,
    ConnectionEnded,
    Event,
    Failed,
    Http2Client,
    ResponseEnded,
    ResponseStarted,
    StreamReset,
)

Headers = list[tuple[bytes, bytes]]


class Wire:
    """A client and an h2 server back to back. The server records what it receives and acknowledges it."""

    def __init__(
        self,
        *,
        server_settings: dict[SettingCodes | int, int] | None = None,
        step: int | None = None,
        **client_options: Any,
    ) -> None:
        self.client = Http2Client(authority="example.test:8000", **client_options)
        self.server = H2Connection(config=H2Configuration(client_side=False, header_encoding=None))
        if server_settings:
            self.server.local_settings = Settings(client=False, initial_values=server_settings)
        self.requests: dict[int, Headers] = {}
        self.bodies: dict[int, bytearray] = {}
        self.ended: set[int] = set()
        self.server_events: list[h2e.Event] = []
        self.outgoing: dict[int, tuple[memoryview, Headers | None]] = {}
        self.server.initiate_connection()
        self.client.initiate()
        assert self.pump(step) == []

    def to_server(self) -> int:
        data = self.client.data_to_send()
        if data:
            for event in self.server.receive_data(data):
                self.server_events.append(event)
                if isinstance(event, h2e.RequestReceived):
                    self.requests[event.stream_id] = list(event.headers)
                    self.bodies[event.stream_id] = bytearray()
                elif isinstance(event, h2e.DataReceived):
                    self.bodies[event.stream_id] += event.data
                    self.server.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
                elif isinstance(event, h2e.StreamEnded):
                    self.ended.add(event.stream_id)
                elif isinstance(event, h2e.StreamReset):
                    self.outgoing.pop(event.stream_id, None)
        return len(data)

    def to_client(self, step: int | None = None) -> list[Event]:
        """The server's queued bytes, delivered whole or ``step`` bytes at a time."""
        return self.deliver(self.server.data_to_send(), step)

    def deliver(self, data: bytes, step: int | None = None) -> list[Event]:
        if step is None:
            return self.client.receive_data(data) if data else []
        events: list[Event] = []
        for start in range(0, len(data), step):
            events += self.client.receive_data(data[start : start + step])
        return events

    def pump(self, step: int | None = None) -> list[Event]:
        """Exchange bytes until neither side has anything more to say; the client's events."""
        events: list[Event] = []
        while True:
            sent = self.to_server()
            self._send_bodies()
            data = self.server.data_to_send()
            events += self.deliver(data, step)
            if not sent and not data:
                return events

    def respond(self, stream_id: int, status: int = 200, body: bytes = b"", *, trailers: Headers | None = None) -> None:
        """Queue a response; its body goes out as the client's windows allow (see ``pump``)."""
        self.server.send_headers(stream_id, [(b":status", str(status).encode())], end_stream=not body and not trailers)
        if body or trailers:
            self.outgoing[stream_id] = (memoryview(body), trailers)
            self._send_bodies()

    def _send_bodies(self) -> None:
        for stream_id, (body, trailers) in list(self.outgoing.items()):
            while body:
                size = min(self.server.local_flow_control_window(stream_id), self.server.max_outbound_frame_size)
                if size <= 0:
                    break
                chunk, body = body[:size], body[size:]
                self.server.send_data(stream_id, chunk, end_stream=not body and trailers is None)
            if body:
                self.outgoing[stream_id] = (body, trailers)
                continue
            del self.outgoing[stream_id]
            if trailers is not None:
                self.server.send_headers(stream_id, trailers, end_stream=True)


def state_sizes(client: Http2Client) -> dict[str, int]:
    """The size of every container the client holds, whatever they are called."""
    return {name: len(value) for name, value in vars(client).items() if isinstance(value, dict | set | list)}


def test_the_preface_announces_bigger_windows_and_no_push() -> None:
    client = Http2Client(authority="example.test")
    client.initiate()
    assert client.data_to_send().startswith(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
    assert client.data_to_send() == b""
    wire = Wire()
    assert wire.server.remote_settings.initial_window_size == STREAM_WINDOW
    assert wire.server.remote_settings.enable_push == 0
    assert wire.server.outbound_flow_control_window == CONNECTION_WINDOW


def test_a_get_answered_200_with_a_body() -> None:
    wire = Wire()
    stream_id = wire.client.request("GET", "/hello?x=1", [(b"accept", b"text/plain")])
    assert wire.client.open_streams == 1
    assert wire.pump() == []
    assert wire.requests[stream_id] == [
        (b":method", b"GET"),
        (b":scheme", b"http"),
        (b":authority", b"example.test:8000"),
        (b":path", b"/hello?x=1"),
        (b"accept", b"text/plain"),
    ]
    assert stream_id in wire.ended
    wire.respond(stream_id, 200, b"hello world")
    assert wire.pump() == [ResponseStarted(stream_id, 200), BodyReceived(stream_id, 11), ResponseEnded(stream_id)]
    assert wire.client.open_streams == 0
    assert wire.client.available_streams == 100


def test_request_heads_are_made_fit_for_http2() -> None:
    wire = Wire()
    given_headers = [(b"Host", b"elsewhere"), (b"Connection", b"close"), (b"X-Trace", b"1"), (b"TE", b"trailers")]
    post = wire.client.request("POST", "/form", given_headers)
    put = wire.client.request("PUT", "/thing", [(b"content-length", b"3")], b"abc")
    wire.pump()
    assert wire.requests[post][4:] == [(b"x-trace", b"1"), (b"te", b"trailers"), (b"content-length", b"0")]
    assert wire.requests[put][4:] == [(b"content-length", b"3")]
    assert bytes(wire.bodies[put]) == b"abc"
    for bad in [(b"x-a", b"one\r\ntwo"), (b":path", b"/"), (b"", b"x")]:
        with pytest.raises(ValueError, match="not allowed"):
            wire.client.request("GET", "/", [bad])


def test_a_post_bigger_than_the_window_waits_for_window_updates() -> None:
    wire = Wire()
    body = bytes(range(256)) * 800  # 204,800 bytes against the server's 65,535 windows
    other = b"\x01" * 150_000
    first = wire.client.request("POST", "/upload", body=body)
    second = wire.client.request("POST", "/upload", body=other)
    wire.to_server()
    assert len(wire.bodies[first]) + len(wire.bodies[second]) <= 65_535
    assert not wire.ended
    wire.pump()
    assert bytes(wire.bodies[first]) == body
    assert bytes(wire.bodies[second]) == other
    assert wire.ended == {first, second}
    assert (b"content-length", b"204800") in wire.requests[first]
    wire.respond(first, 201)
    assert wire.pump() == [ResponseStarted(first, 201), ResponseEnded(first)]


def test_an_upload_waits_for_the_server_to_open_the_stream_windows_by_settings() -> None:
    wire = Wire(server_settings={SettingCodes.INITIAL_WINDOW_SIZE: 0})
    stream_id = wire.client.request("PUT", "/file", body=b"z" * 50_000)
    wire.pump()
    assert stream_id in wire.requests
    assert len(wire.bodies[stream_id]) == 0
    wire.server.update_settings({SettingCodes.INITIAL_WINDOW_SIZE: 65_535})
    wire.pump()
    assert bytes(wire.bodies[stream_id]) == b"z" * 50_000
    assert stream_id in wire.ended


def test_an_early_answer_stops_the_upload_and_frees_the_stream() -> None:
    wire = Wire()
    stream_id = wire.client.request("POST", "/upload", body=b"x" * 300_000)
    wire.to_server()
    wire.respond(stream_id, 413)
    assert wire.pump() == [ResponseStarted(stream_id, 413), ResponseEnded(stream_id)]
    resets = [event for event in wire.server_events if isinstance(event, h2e.StreamReset)]
    assert [(event.stream_id, event.error_code) for event in resets] == [(stream_id, ErrorCodes.NO_ERROR)]
    assert len(wire.bodies[stream_id]) < 300_000
    assert wire.client.open_streams == 0
    assert state_sizes(wire.client)["_uploads"] == 0


def test_a_window_update_then_a_reset_in_one_read_drops_the_upload() -> None:
    wire = Wire()
    stream_id = wire.client.request("POST", "/upload", body=b"y" * 200_000)
    wire.to_server()  # the server takes the first window's worth and queues WINDOW_UPDATEs...
    wire.server.reset_stream(stream_id, ErrorCodes.REFUSED_STREAM)  # ...then refuses the stream
    assert wire.to_client() == [StreamReset(stream_id, 7, "REFUSED_STREAM")]
    assert state_sizes(wire.client)["_uploads"] == 0
    assert wire.client.data_to_send() == b""  # no more of the body


def test_responses_bigger_than_every_window_arrive_whole() -> None:
    wire = Wire()
    body = bytes(range(251)) * 16_712  # about 4 MiB: more than a stream's window
    streams = [wire.client.request("GET", f"/big/{n}") for n in range(5)]  # 20 MiB: more than the connection's
    wire.pump()
    for stream_id in streams:
        wire.respond(stream_id, 200, body)
    events = wire.pump()
    for stream_id in streams:
        received = sum(e.length for e in events if isinstance(e, BodyReceived) and e.stream_id == stream_id)
        assert received == len(body)
        assert ResponseEnded(stream_id) in events
    assert not wire.outgoing
    assert wire.server.outbound_flow_control_window >= CONNECTION_WINDOW // 2


def test_the_servers_max_concurrent_streams_limits_the_streams() -> None:
    wire = Wire(server_settings={SettingCodes.MAX_CONCURRENT_STREAMS: 3})
    assert wire.client.available_streams == 3
    streams = [wire.client.request("GET", "/") for _ in range(3)]
    assert wire.client.available_streams == 0
    assert wire.client.open_streams == 3
    wire.pump()
    wire.respond(streams[1], 204)
    wire.pump()
    assert wire.client.available_streams == 1
    assert Wire(max_streams=2, server_settings={SettingCodes.MAX_CONCURRENT_STREAMS: 3}).client.available_streams == 2
    # Before the server's SETTINGS arrive, only our own limit applies (the protocol's initial value is unlimited).
    assert Http2Client(authority="example.test", max_streams=7).available_streams == 7


def test_a_refused_stream_is_reported_with_its_code_and_name() -> None:
    wire = Wire()
    refused = wire.client.request("GET", "/")
    odd = wire.client.request("GET", "/")
    wire.pump()
    wire.server.reset_stream(refused, ErrorCodes.REFUSED_STREAM)
    wire.server.reset_stream(odd, 0x1234)
    assert wire.pump() == [StreamReset(refused, 7, "REFUSED_STREAM"), StreamReset(odd, 0x1234, "UNKNOWN_4660")]
    assert wire.client.open_streams == 0
    assert wire.client.available_streams == 100


def test_goaway_lets_the_streams_it_covers_finish() -> None:
    wire = Wire()
    first, second, _third = (wire.client.request("GET", "/") for _ in range(3))
    wire.pump()
    # The server answers the first two after its GOAWAY (last stream: the second), as a graceful shutdown does.
    wire.respond(first, 200, b"one")
    wire.respond(second, 200, b"two")
    answers = wire.server.data_to_send()
    wire.server.close_connection(ErrorCodes.NO_ERROR, last_stream_id=second)
    events = wire.client.receive_data(wire.server.data_to_send() + answers)
    assert events == [
        ConnectionEnded(0, "NO_ERROR", second),
        ResponseStarted(first, 200),
        BodyReceived(first, 3),
        ResponseEnded(first),
        ResponseStarted(second, 200),
        BodyReceived(second, 3),
        ResponseEnded(second),
    ]
    assert wire.client.going_away
    assert wire.client.open_streams == 0
    assert wire.client.available_streams == 0
    with pytest.raises(RuntimeError, match="no new streams"):
        wire.client.request("GET", "/")


def test_goaway_with_an_error_code() -> None:
    wire = Wire()
    wire.client.request("GET", "/")
    wire.pump()
    frame = GoAwayFrame(0, last_stream_id=0, error_code=ErrorCodes.ENHANCE_YOUR_CALM, additional_data=b"slow down")
    assert wire.client.receive_data(frame.serialize()) == [ConnectionEnded(11, "ENHANCE_YOUR_CALM", 0)]
    assert wire.client.open_streams == 0  # stream 1 was above the last stream id
    assert wire.client.going_away


def test_informational_heads_are_counted_and_skipped() -> None:
    wire = Wire(capture_headers=True)
    stream_id = wire.client.request("POST", "/", [(b"expect", b"100-continue")], b"data")
    wire.pump()
    wire.server.send_headers(stream_id, [(b":status", b"100")])
    wire.server.send_headers(stream_id, [(b":status", b"103"), (b"link", b"</a.css>; rel=preload")])
    assert wire.pump() == []
    assert wire.client.interim_count() == 2
    wire.server.send_headers(stream_id, [(b":status", b"200"), (b"x-final", b"yes")], end_stream=True)
    assert wire.pump() == [ResponseStarted(stream_id, 200), ResponseEnded(stream_id)]
    assert wire.client.headers_of(stream_id) == [(b":status", b"200"), (b"x-final", b"yes")]
    assert wire.client.interim_count() == 2


def test_trailers_end_the_response() -> None:
    wire = Wire()
    stream_id = wire.client.request("GET", "/grpc")
    wire.pump()
    wire.server.send_headers(stream_id, [(b":status", b"200")])
    wire.server.send_data(stream_id, b"payload")
    assert wire.pump() == [ResponseStarted(stream_id, 200), BodyReceived(stream_id, 7)]
    assert wire.client.open_streams == 1
    wire.server.send_headers(stream_id, [(b"grpc-status", b"0")], end_stream=True)
    assert wire.pump() == [ResponseEnded(stream_id)]
    assert wire.client.open_streams == 0


def test_late_frames_of_a_stream_we_reset_are_ignored() -> None:
    wire = Wire()
    timed_out = [wire.client.request("GET", "/slow") for _ in range(10)]
    fine = wire.client.request("GET", "/fast")
    wire.pump()
    for stream_id in timed_out:
        wire.respond(stream_id, 200, bytes(2 * STREAM_WINDOW))  # the server sends a stream window's worth
        wire.client.reset(stream_id)  # while our RST_STREAM is on its way
    wire.respond(fine, 200, b"ok")
    assert wire.client.open_streams == 1
    events = wire.pump()
    assert events == [ResponseStarted(fine, 200), BodyReceived(fine, 2), ResponseEnded(fine)]
    resets = {(e.stream_id, e.error_code) for e in wire.server_events if isinstance(e, h2e.StreamReset)}
    assert resets == {(stream_id, ErrorCodes.CANCEL) for stream_id in timed_out}
    # 10 MiB of late DATA counted against the connection's window, and were handed back (h2 does at 8 MiB).
    assert wire.server.outbound_flow_control_window > CONNECTION_WINDOW - 8 * 2**20
    wire.client.reset(timed_out[0])  # a second reset, or one of a finished stream, does nothing
    wire.client.reset(fine)
    assert wire.client.data_to_send() == b""


def test_per_stream_state_is_forgotten_after_many_requests(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(http2, "CAPTURE_LIMIT", 64)  # nobody reads these captured heads
    monkeypatch.setattr(http2, "HEAD_CACHE_SIZE", 32)
    wire = Wire(capture_headers=True, max_streams=50)
    client = wire.client
    for round_ in range(60):
        streams = [client.request("GET", f"/item/{round_ % 40}/{n}") for n in range(client.available_streams)]
        uploads = [client.request("POST", "/up", body=b"u" * 70_000) for _ in range(2)]
        wire.to_server()
        for n, stream_id in enumerate(streams + uploads):
            if n % 10 == 1:
                wire.server.reset_stream(stream_id, ErrorCodes.REFUSED_STREAM)
            elif n % 10 == 2:
                client.reset(stream_id)
            else:
                wire.respond(stream_id, 200, b"body")
        wire.pump()
        assert client.open_streams == 0
    assert client.available_streams == 50
    limits = {"_captured": 64, "_heads": 32}
    for name, size in state_sizes(client).items():
        assert size <= limits.get(name, 0), name
    assert len(client._conn.streams) <= 60  # h2's own per-stream state is cleaned up too


def failed_at_once(client: Http2Client, data: bytes) -> str:
    """The description of the one Failed event ``data`` gives, checking that a GOAWAY went out and nothing more goes."""
    events = client.receive_data(data)
    assert len(events) == 1
    assert isinstance(events[0], Failed)
    frame, _ = Frame.parse_frame_header(memoryview(client.data_to_send()[-17:-8]))
    assert isinstance(frame, GoAwayFrame)
    assert client.open_streams == 0
    assert client.available_streams == 0
    assert client.receive_data(b"\x00" * 20) == []
    with pytest.raises(RuntimeError):
        client.request("GET", "/")
    return events[0].description


def test_an_http1_answer_to_the_preface_fails_at_once() -> None:
    client = Http2Client(authority="example.test")
    client.initiate()
    client.request("GET", "/")
    client.data_to_send()
    # h2 alone would wait for the rest of a 4.7 MB "frame" (b"HTT" read as its length).
    description = failed_at_once(client, b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
    assert "does not speak HTTP/2" in description
    assert "HTTP/1.1 400" in description
    other = Http2Client(authority="example.test")
    other.initiate()
    assert other.receive_data(b"\x00\x00") == []  # could still be a SETTINGS frame
    assert "does not speak HTTP/2" in failed_at_once(other, b"\x00\x01")  # a DATA frame


def test_garbage_from_the_server_fails_the_connection() -> None:
    wire = Wire()
    wire.client.request("GET", "/")
    wire.pump()
    data_on_stream_0 = b"\x00\x00\x05\x00\x00\x00\x00\x00\x00hello"
    assert "ProtocolError" in failed_at_once(wire.client, data_on_stream_0)


@settings(max_examples=150, deadline=None)
@given(garbage=st.binary(min_size=1, max_size=200))
def test_no_bytes_from_the_server_raise(garbage: bytes) -> None:
    client = Http2Client(authority="example.test")
    client.initiate()
    client.receive_data(b"\x00\x00\x00\x04\x00\x00\x00\x00\x00")  # the server's empty SETTINGS
    client.request("GET", "/")
    events = client.receive_data(garbage)
    assert all(isinstance(event, Event) for event in events)
    client.data_to_send()


def exchange(step: int | None) -> tuple[list[Event], int]:
    """A mixed conversation, the server's bytes cut every ``step`` bytes; the client's events and interim count."""
    wire = Wire(step=step)
    plain, reset, mixed, empty = (wire.client.request("GET", f"/{n}") for n in range(4))
    wire.pump(step)
    wire.server.send_headers(mixed, [(b":status", b"103")])
    wire.server.ping(b"12345678")
    wire.respond(plain, 200, bytes(20_000))
    wire.server.reset_stream(reset, ErrorCodes.INTERNAL_ERROR)
    wire.respond(mixed, 500, b"oops", trailers=[(b"x-checksum", b"1")])
    wire.respond(empty, 204)
    return wire.pump(step), wire.client.interim_count()


def test_bytes_fed_one_at_a_time_give_the_same_events() -> None:
    whole = exchange(None)
    assert whole[1] == 1
    assert len(whole[0]) == 10
    assert exchange(1) == whole
    assert exchange(7) == whole


def test_a_ping_from_the_server_is_answered() -> None:
    wire = Wire()
    wire.server.ping(b"pingdata")
    assert wire.to_client() == []
    wire.to_server()
    acks = [event for event in wire.server_events if isinstance(event, h2e.PingAckReceived)]
    assert [event.ping_data for event in acks] == [b"pingdata"]


def test_a_malformed_status_is_reported_as_zero() -> None:
    wire = Wire()
    stream_id = wire.client.request("GET", "/")
    wire.pump()
    wire.server.config.validate_outbound_headers = False
    wire.server.send_headers(stream_id, [(b":status", b"2x0")], end_stream=True)
    assert wire.pump() == [ResponseStarted(stream_id, 0), ResponseEnded(stream_id)]


def test_captured_heads_are_handed_over_once() -> None:
    plain = Wire()
    stream_id = plain.client.request("GET", "/")
    with pytest.raises(RuntimeError, match="capture_headers"):
        plain.client.headers_of(stream_id)
    wire = Wire(capture_headers=True)
    stream_id = wire.client.request("GET", "/")
    wire.pump()
    wire.server.send_headers(stream_id, [(b":status", b"404"), (b"content-type", b"text/plain")], end_stream=True)
    assert wire.pump() == [ResponseStarted(stream_id, 404), ResponseEnded(stream_id)]
    assert wire.client.headers_of(stream_id) == [(b":status", b"404"), (b"content-type", b"text/plain")]
    with pytest.raises(KeyError):
        wire.client.headers_of(stream_id)


def test_the_last_stream_id_ends_the_connection_for_new_streams() -> None:
    client = Http2Client(authority="example.test")
    client.initiate()
    client._conn.highest_outbound_stream_id = LAST_STREAM_ID - 2  # as if a billion requests had gone before
    assert client.request("GET", "/") == LAST_STREAM_ID
    assert client.going_away
    assert client.available_streams == 0
    with pytest.raises(RuntimeError):
        client.request("GET", "/")
