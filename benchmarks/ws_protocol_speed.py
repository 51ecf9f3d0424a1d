"""Which sans-IO WebSocket library is cheaper on the load generator's hot path: websockets or wsproto?

For each library, after an in-memory handshake with its own server side:

- send: a client frames and masks N text messages of 64 bytes, given as UTF-8
  bytes (what ``WebSocketClient.send`` receives);
- receive: a client parses N unmasked server text frames of 64 bytes, fed one
  frame per call (one frame per read is the common case for request/reply
  traffic), and ends with the payload as bytes (what a ``Message`` carries).

Each figure includes the small conversions ``asgibench.load.protocols.websocket``
would need on top of the library (wsproto works in ``str`` for text, so it
decodes on send and encodes on receive). A last row times ``WebSocketClient`` itself, built on the
chosen library, to show what the wrapper adds. The best of ``--repeat`` runs is kept.

    python benchmarks/ws_protocol_speed.py [--messages 200000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from importlib.metadata import version

PAYLOAD = b"x" * 64
SERVER_FRAME = bytes([0x81, len(PAYLOAD)]) + PAYLOAD  # FIN + text, unmasked, 64 bytes


def websockets_pair() -> tuple[Callable[[bytes], bytes], Callable[[bytes], bytes]]:
    from websockets.client import ClientProtocol
    from websockets.frames import Frame, Opcode
    from websockets.http11 import Request
    from websockets.server import ServerProtocol
    from websockets.uri import parse_uri

    client = ClientProtocol(parse_uri("ws://bench.invalid/"))
    server = ServerProtocol()
    client.send_request(client.connect())
    server.receive_data(b"".join(client.data_to_send()))
    request = server.events_received()[0]
    assert isinstance(request, Request)
    server.send_response(server.accept(request))
    client.receive_data(b"".join(server.data_to_send()))
    client.events_received()

    def send(payload: bytes) -> bytes:
        client.send_text(payload)
        return b"".join(client.data_to_send())

    def receive(data: bytes) -> bytes:
        client.receive_data(data)
        frame = client.events_received()[0]
        assert isinstance(frame, Frame) and frame.opcode is Opcode.TEXT and frame.fin
        payload = bytes(frame.data)
        if not payload.isascii():  # the UTF-8 check websockets leaves to its I/O layers
            payload.decode()
        return payload

    return send, receive


def wsproto_pair() -> tuple[Callable[[bytes], bytes], Callable[[bytes], bytes]]:
    from wsproto import ConnectionType, WSConnection
    from wsproto.events import AcceptConnection, Request, TextMessage

    client = WSConnection(ConnectionType.CLIENT)
    server = WSConnection(ConnectionType.SERVER)
    server.receive_data(client.send(Request(host="bench.invalid", target="/")))
    next(iter(server.events()))
    client.receive_data(server.send(AcceptConnection()))
    list(client.events())

    def send(payload: bytes) -> bytes:
        return client.send(TextMessage(data=payload.decode()))

    def receive(data: bytes) -> bytes:
        client.receive_data(data)
        event = next(iter(client.events()))
        assert isinstance(event, TextMessage) and event.message_finished
        return event.data.encode()

    return send, receive


def asgibench_pair() -> tuple[Callable[[bytes], bytes], Callable[[bytes], bytes]]:
    from websockets.http11 import Request
    from websockets.server import ServerProtocol

    from asgibench.load.protocols.websocket import Message, Opened, WebSocketClient

    client = WebSocketClient(host="bench.invalid", path="/")
    server = ServerProtocol()
    server.receive_data(client.connect())
    request = server.events_received()[0]
    assert isinstance(request, Request)
    server.send_response(server.accept(request))
    assert client.receive_data(b"".join(server.data_to_send())) == [Opened(None)]

    def send(payload: bytes) -> bytes:
        return client.send(payload, binary=False)

    def receive(data: bytes) -> bytes:
        (event,) = client.receive_data(data)
        assert isinstance(event, Message)
        return event.payload

    return send, receive


def time_per_call(function: Callable[[bytes], bytes], argument: bytes, count: int, repeat: int) -> float:
    """Best microseconds per call over ``repeat`` runs of ``count`` calls."""
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter_ns()
        for _ in range(count):
            function(argument)
        best = min(best, (time.perf_counter_ns() - started) / count / 1000)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    libraries = {
        f"websockets {version('websockets')}": websockets_pair,
        f"wsproto {version('wsproto')}": wsproto_pair,
        "WebSocketClient": asgibench_pair,
    }
    print(f"{args.messages:,} messages of {len(PAYLOAD)} bytes, best of {args.repeat}")
    print(f"{'library':<20} {'send µs/msg':>12} {'receive µs/msg':>15}")
    for name, make in libraries.items():
        send, receive = make()
        assert len(send(PAYLOAD)) == 2 + 4 + len(PAYLOAD) and receive(SERVER_FRAME) == PAYLOAD
        sending = time_per_call(send, PAYLOAD, args.messages, args.repeat)
        send, receive = make()  # a fresh connection: the send loop left nothing behind, but be sure
        receiving = time_per_call(receive, SERVER_FRAME, args.messages, args.repeat)
        print(f"{name:<20} {sending:>12.2f} {receiving:>15.2f}")


if __name__ == "__main__":
    main()
