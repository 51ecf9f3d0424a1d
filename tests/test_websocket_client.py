"""The sans-IO WebSocket client against websockets' sans-IO server, joined by an in-memory wire. No sockets."""

from __future__ import annotations

import struct

import pytest
from websockets.frames import BINARY, CLOSE, PONG, TEXT, Close, Frame
from websockets.http11 import Request
from websockets.protocol import SEND_EOF
from websockets.server import ServerProtocol
from websockets.typing import Subprotocol

from asgibench.load.protocols.websocket import (
    Closed,
    Event,
    Failed,
    Message,
    Opened,
    Refused,
    WebSocketClient,
)


class Wire:
    """A client and a server protocol; each ``to_*`` call carries everything one side has queued to the other."""

    def __init__(self, client: WebSocketClient | None = None, server: ServerProtocol | None = None) -> None:
        self.client = client or WebSocketClient(host="example.test:8000", path="/chat")
        self.server = server or ServerProtocol()
        self.server_ended = False

    def request(self) -> Request:
        """Send the client's handshake request; return the request the server parsed."""
        self.server.receive_data(self.client.connect())
        (request,) = self.server.events_received()
        assert isinstance(request, Request)
        return request

    def accept(self) -> list[Event]:
        self.server.send_response(self.server.accept(self.request()))
        return self.to_client()

    def server_bytes(self) -> bytes:
        writes = self.server.data_to_send()
        if writes and writes[-1] == SEND_EOF:  # the server closes its side of the TCP connection
            self.server_ended = True
        return b"".join(writes)

    def to_client(self) -> list[Event]:
        events = self.client.receive_data(self.server_bytes())
        if self.server_ended:
            events += self.client.receive_eof()
        return events

    def to_server(self) -> list[Frame]:
        self.server.receive_data(self.client.data_to_send())
        frames = self.server.events_received()
        assert all(isinstance(frame, Frame) for frame in frames)
        return frames  # type: ignore[return-value]  # narrowed just above

    def open(self) -> None:
        assert self.accept() == [Opened(None)]
        assert self.client.state == "open"


def close_frame(frames: list[Frame]) -> Close:
    (frame,) = frames
    assert frame.opcode is CLOSE
    return Close.parse(frame.data)


# The opening handshake


def test_handshake_request_and_acceptance_without_subprotocol() -> None:
    client = WebSocketClient(
        host="example.test:8000", path="/chat?room=1", headers=[("Origin", "http://example.test"), ("Host", "x")]
    )
    wire = Wire(client)
    assert client.state == "connecting"
    request = wire.request()
    assert request.path == "/chat?room=1"
    assert request.headers.get_all("Host") == ["example.test:8000"]
    assert request.headers["Origin"] == "http://example.test"
    assert request.headers["User-Agent"].startswith("asgibench/")
    assert "Sec-WebSocket-Protocol" not in request.headers
    wire.server.send_response(wire.server.accept(request))
    assert wire.to_client() == [Opened(None)]
    assert client.state == "open"


def test_handshake_with_a_subprotocol_chosen_by_the_server() -> None:
    client = WebSocketClient(host="example.test", path="/", subprotocols=["chat", "superchat"])
    wire = Wire(client, ServerProtocol(subprotocols=[Subprotocol("superchat")]))
    assert wire.accept() == [Opened("superchat")]
    assert client.state == "open"


def test_subprotocol_the_client_did_not_offer_fails() -> None:
    wire = Wire()
    response = wire.server.accept(wire.request())
    response.headers["Sec-WebSocket-Protocol"] = "chat"
    wire.server.send_response(response)
    (event,) = wire.to_client()
    assert isinstance(event, Failed) and "subprotocol" in event.description
    assert wire.client.state == "closed"


def test_wrong_accept_key_fails() -> None:
    wire = Wire()
    response = wire.server.accept(wire.request())
    del response.headers["Sec-WebSocket-Accept"]
    response.headers["Sec-WebSocket-Accept"] = "d3Jvbmcgd3Jvbmcgd3Jvbmc="
    wire.server.send_response(response)
    (event,) = wire.to_client()
    assert isinstance(event, Failed) and "Sec-WebSocket-Accept" in event.description


def test_refused_handshake_reports_its_status_and_is_final() -> None:
    wire = Wire()
    wire.server.send_response(wire.server.reject(403, "no entry\n"))
    assert wire.to_client() == [Refused(403, "Forbidden")]
    assert wire.client.state == "closed"
    assert wire.client.receive_data(b"more") == []
    assert wire.client.receive_eof() == []
    with pytest.raises(RuntimeError):
        wire.client.send(b"x", binary=True)


def test_refusal_without_a_length_is_reported_at_the_end_of_the_stream() -> None:
    client = WebSocketClient(host="example.test", path="/")
    client.connect()
    assert client.receive_data(b"HTTP/1.1 503 Service Unavailable\r\n\r\nbusy") == []
    assert client.receive_eof() == [Refused(503, "Service Unavailable")]


@pytest.mark.parametrize(
    ("answer", "detail"),
    [(b"SSH-2.0-OpenSSH_9.6\r\n", "invalid HTTP status line"), (b"", "connection closed")],
    ids=["not-http", "eof-before-response"],
)
def test_no_http_response_is_refused_with_status_0(answer: bytes, detail: str) -> None:
    client = WebSocketClient(host="example.test", path="/")
    client.connect()
    events = client.receive_data(answer) + client.receive_eof()
    assert len(events) == 1 and isinstance(events[0], Refused)
    assert events[0].status == 0 and detail in events[0].reason
    assert client.state == "closed"


def test_first_frames_in_the_same_chunk_as_the_101_are_kept() -> None:
    wire = Wire()
    wire.server.send_response(wire.server.accept(wire.request()))
    wire.server.send_text(b"first")
    wire.server.send_binary(b"\x00second")
    assert wire.to_client() == [Opened(None), Message(b"first", False), Message(b"\x00second", True)]


# Messages


def test_text_and_binary_messages_round_trip() -> None:
    wire = Wire()
    wire.open()
    for payload, binary in [(b"hello", False), ("héllo ✓".encode(), False), (bytes(range(256)) * 300, True)]:
        data = wire.client.send(payload, binary=binary)
        assert data[1] & 0x80, "client frames are masked"
        wire.server.receive_data(data)
        (frame,) = wire.server.events_received()
        assert isinstance(frame, Frame) and frame.opcode is (BINARY if binary else TEXT) and frame.data == payload
        # Echo it back, as an echo server would.
        (wire.server.send_binary if binary else wire.server.send_text)(frame.data)
        assert wire.to_client() == [Message(payload, binary)]


def test_fragmented_messages_are_reassembled_around_a_ping() -> None:
    wire = Wire()
    wire.open()
    wire.server.send_text(b"hel", fin=False)
    wire.server.send_continuation(b"lo w\xc3", fin=False)  # a character split across frames
    wire.server.send_ping(b"mid")
    wire.server.send_continuation(b"\xa9rld", fin=True)
    wire.server.send_binary(b"\x01", fin=False)
    wire.server.send_continuation(b"\x02", fin=True)
    assert wire.to_client() == [Message("hello wérld".encode(), False), Message(b"\x01\x02", True)]
    (pong,) = wire.to_server()
    assert pong.opcode is PONG and pong.data == b"mid"


def test_ping_is_answered_with_a_pong_and_not_reported() -> None:
    wire = Wire()
    wire.open()
    assert wire.client.data_to_send() == b""
    wire.server.send_ping(b"are you there")
    assert wire.to_client() == []
    (pong,) = wire.to_server()
    assert pong.opcode is PONG and pong.data == b"are you there"
    assert wire.client.data_to_send() == b""


# Closing


def test_server_initiated_close_is_echoed_and_reported_once() -> None:
    wire = Wire()
    wire.open()
    wire.server.send_close(1011, "boom")
    assert wire.to_client() == [Closed(1011, "boom", True)]
    assert wire.client.state == "closed"
    echo = close_frame(wire.to_server())
    assert (echo.code, echo.reason) == (1011, "boom")
    assert wire.server_bytes() == b"" and wire.server_ended  # the server then ends the TCP connection
    assert wire.client.receive_eof() == []


def test_close_frame_without_a_code_reports_1005() -> None:
    wire = Wire()
    wire.open()
    wire.server.send_close()
    assert wire.to_client() == [Closed(1005, "", True)]


def test_our_close_handshake() -> None:
    wire = Wire()
    wire.open()
    data = wire.client.close(1000, "bye")
    assert wire.client.state == "closing"
    assert wire.client.close() == b"", "a second close sends nothing"
    wire.server.send_text(b"late")  # the server may still be sending when our close arrives
    assert wire.to_client() == [Message(b"late", False)]
    wire.server.receive_data(data)
    assert close_frame(wire.server.events_received()) == Close(1000, "bye")  # type: ignore[arg-type]
    assert wire.to_client() == [Closed(1000, "bye", True)]  # the server's answer, then its EOF
    assert wire.client.state == "closed"
    assert wire.client.data_to_send() == b""


def test_close_with_a_reserved_code_is_refused() -> None:
    wire = Wire()
    wire.open()
    with pytest.raises(ValueError):
        wire.client.close(1006)
    assert wire.client.state == "open"


def test_close_before_the_handshake_sends_nothing() -> None:
    client = WebSocketClient(host="example.test", path="/")
    client.connect()
    assert client.close() == b""
    assert client.state == "connecting"


@pytest.mark.parametrize("partial", [b"", b"\x81\x05he"], ids=["between-frames", "mid-frame"])
def test_end_of_stream_without_a_close_frame(partial: bytes) -> None:
    wire = Wire()
    wire.open()
    assert wire.client.receive_data(partial) == []
    assert wire.client.receive_eof() == [Closed(None, "", False)]
    assert wire.client.state == "closed"
    assert wire.client.receive_eof() == []


def test_end_of_stream_after_our_close_is_not_clean() -> None:
    wire = Wire()
    wire.open()
    wire.client.close()
    assert wire.client.receive_eof() == [Closed(None, "", False)]


# Protocol errors by the server


@pytest.mark.parametrize(
    ("data", "code", "detail"),
    [
        (b"\x81\x82abcd" + bytes([ord("h") ^ ord("a"), ord("i") ^ ord("b")]), 1002, "masking"),
        (b"\x83\x00", 1002, "opcode"),
        (b"\x80\x02hi", 1002, "continuation"),
        (b"\x88\x02" + struct.pack("!H", 1006), 1002, "status code"),
        (b"\x81\x02\xc3\x28", 1007, "UTF-8"),
        (b"\x01\x01\xc3\x80\x01\x28", 1007, "UTF-8"),  # split across a fragment boundary
        (b"\x82\x7e\x04\x01" + bytes(1025), 1009, "exceeds limit"),
    ],
    ids=[
        "masked",
        "invalid-opcode",
        "stray-continuation",
        "reserved-close-code",
        "bad-utf8",
        "bad-utf8-fragmented",
        "too-big",
    ],
)
def test_protocol_error_fails_the_connection(data: bytes, code: int, detail: str) -> None:
    wire = Wire(WebSocketClient(host="example.test", path="/", max_message_bytes=1024))
    wire.open()
    events = wire.client.receive_data(data + b"\x81\x05after")
    assert len(events) == 1 and isinstance(events[0], Failed), events
    assert detail in events[0].description
    assert wire.client.state == "closed"
    assert close_frame(wire.to_server()).code == code
    assert wire.client.receive_data(b"\x81\x01x") == []
    assert wire.client.receive_eof() == []


# Reads of any size


def test_stream_fed_one_byte_at_a_time() -> None:
    wire = Wire()
    wire.server.send_response(wire.server.accept(wire.request()))
    wire.server.send_text("é".encode() * 70)  # a 2-byte extended length
    wire.server.send_ping(b"p")
    wire.server.send_binary(b"ab", fin=False)
    wire.server.send_continuation(b"cd", fin=True)
    wire.server.send_close(1001, "going away")
    stream = wire.server_bytes()
    events: list[Event] = []
    pongs = b""
    for index in range(len(stream)):
        events += wire.client.receive_data(stream[index : index + 1])
        pongs += wire.client.data_to_send()
    assert events == [
        Opened(None),
        Message("é".encode() * 70, False),
        Message(b"abcd", True),
        Closed(1001, "going away", True),
    ]
    wire.server.receive_data(pongs)
    answers = wire.server.events_received()
    assert [frame.opcode for frame in answers] == [PONG, CLOSE]  # type: ignore[union-attr]
