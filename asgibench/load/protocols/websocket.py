"""A sans-IO WebSocket client for the load generator: handshake and frame bytes in, a few small events out.

Built on websockets' sans-IO ``ClientProtocol`` rather than wsproto because it measured 2.6 to 2.8 times cheaper on
the hot path (1.84 against 5.13 µs to frame and mask a 64-byte text message, 3.25 against 8.49 µs to parse one,
``python benchmarks/ws_protocol_speed.py``, websockets 17.4, wsproto 1.3.2).

The caller owns the socket and the clock: it writes what ``connect``, ``send``, ``close`` and ``data_to_send``
return, feeds what it reads to ``receive_data`` (and the end of the stream to ``receive_eof``), and enforces any
timeout itself.

A connection that runs its course ends with exactly one final event, after which ``state`` is ``"closed"`` and
the client reports nothing more (the caller writes ``data_to_send()`` and closes the socket):

- ``Refused``: the handshake was answered with another status than 101, or not with HTTP at all, or the stream
  ended before a response (status 0 for the last two). A refusal without a Content-Length or chunked body is
  delimited by the end of the stream, so it is reported by ``receive_eof``;
- ``Failed``: the server broke the protocol (in the handshake or afterwards), or sent a message over
  ``max_message_bytes``; the close frame that says so (1002, 1007 or 1009) is in ``data_to_send()``;
- ``Closed``: a close frame arrived (clean), or the stream ended without one (code None, not clean).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from websockets.client import ClientProtocol
from websockets.datastructures import Headers
from websockets.exceptions import InvalidState, ProtocolError
from websockets.frames import BINARY, CLOSE, CONT, TEXT, Frame
from websockets.http11 import Response
from websockets.typing import BytesLike, Subprotocol
from websockets.uri import WebSocketURI

from asgibench import __version__

State = Literal["connecting", "open", "closing", "closed"]


@dataclass(frozen=True, slots=True)
class Opened:
    """The handshake was accepted: 101 with a valid Sec-WebSocket-Accept."""

    subprotocol: str | None


@dataclass(frozen=True, slots=True)
class Refused:
    """The handshake was answered with a status other than 101 (0: no HTTP response at all). Final."""

    status: int
    reason: str


@dataclass(frozen=True, slots=True)
class Message:
    """A complete data message; text stays as its (checked) UTF-8 bytes."""

    payload: bytes
    binary: bool


@dataclass(frozen=True, slots=True)
class Closed:
    """The connection ended: a close frame (code 1005 if it had none) or the stream ended without one. Final."""

    code: int | None
    reason: str
    clean: bool


@dataclass(frozen=True, slots=True)
class Failed:
    """The server broke the protocol. Final."""

    description: str


Event = Opened | Refused | Message | Closed | Failed


def _describe(exc: BaseException) -> str:
    """websockets wraps the useful detail of a malformed response in ``__cause__``."""
    cause = exc.__cause__
    return f"{exc}: {cause}" if cause is not None and str(cause) else str(exc)


class WebSocketClient:
    """One client connection. Not thread-safe; every method is cheap and never blocks."""

    __slots__ = ("_protocol", "_host", "_headers", "_state", "_fragments", "_fragments_binary")

    def __init__(
        self,
        *,
        host: str,
        path: str,
        secure: bool = False,
        subprotocols: Sequence[str] = (),
        headers: Sequence[tuple[str, str]] = (),
        max_message_bytes: int = 16 * 1024 * 1024,
    ) -> None:
        # The URI only gives the request target: the Host header is written from ``host`` as given (port
        # included), which websockets would rebuild from a parsed host and port.
        uri = WebSocketURI(secure, host, 443 if secure else 80, path, "")
        self._protocol = ClientProtocol(
            uri,
            subprotocols=[Subprotocol(name) for name in subprotocols] or None,
            max_size=max_message_bytes,
        )
        self._host = host
        self._headers = tuple(headers)
        self._state: State = "connecting"
        self._fragments: list[BytesLike] = []
        self._fragments_binary = False

    @property
    def state(self) -> State:
        return self._state

    @property
    def protocol(self) -> ClientProtocol:
        """websockets' own protocol object, for callers that craft frames themselves (the conformance probe)."""
        return self._protocol

    def connect(self) -> bytes:
        """The handshake request. Extra headers follow websockets' own; a Host among them is ignored."""
        request = self._protocol.connect()
        headers = Headers()
        headers["Host"] = self._host
        for name, value in request.headers.raw_items():
            if name.lower() != "host":
                headers[name] = value
        names = {name.lower() for name, _ in self._headers}
        if "user-agent" not in names:
            headers["User-Agent"] = f"asgibench/{__version__}"
        for name, value in self._headers:
            if name.lower() != "host":
                headers[name] = value
        request.headers = headers
        self._protocol.send_request(request)
        return self.data_to_send()

    def send(self, payload: bytes, *, binary: bool) -> bytes:
        """One masked frame (text frames take UTF-8 the caller is trusted to have checked), plus any queued reply."""
        protocol = self._protocol
        try:
            if binary:
                protocol.send_binary(payload)
            else:
                protocol.send_text(payload)
        except InvalidState:
            raise RuntimeError(f"cannot send on a WebSocket connection that is {self._state}") from None
        return b"".join(protocol.data_to_send())

    def close(self, code: int = 1000, reason: str = "") -> bytes:
        """Start the closing handshake; ``Closed`` follows the server's answer. Outside "open": b"", nothing to do."""
        if self._state != "open":
            return b""
        try:
            self._protocol.send_close(code, reason)
        except ProtocolError as exc:  # a code that may not be sent, e.g. 1005 or 1006
            raise ValueError(f"cannot close with code {code}: {exc}") from None
        self._state = "closing"
        return self.data_to_send()

    def data_to_send(self) -> bytes:
        """Bytes owed to the server after ``receive_*``: pongs, the close echo, a failure's close frame."""
        # websockets' end-of-stream marker is b"" and vanishes in the join: the caller closes on a final event.
        return b"".join(self._protocol.data_to_send())

    def receive_data(self, data: bytes) -> list[Event]:
        if self._state == "closed":
            return []
        self._protocol.receive_data(data)
        return self._events()

    def receive_eof(self) -> list[Event]:
        if self._state == "closed":
            return []
        self._protocol.receive_eof()
        return self._events()

    def _events(self) -> list[Event]:
        """Translate what websockets parsed; one pass, with the common frame (a whole data message) first."""
        protocol = self._protocol
        events: list[Event] = []
        for item in protocol.events_received():
            if not isinstance(item, Frame):
                if isinstance(item, Response):
                    events.append(self._handshake(item))
                continue
            opcode = item.opcode
            if opcode is TEXT or opcode is BINARY:
                if not item.fin:
                    self._fragments = [item.data]
                    self._fragments_binary = opcode is BINARY
                    continue
                payload = bytes(item.data)
                binary = opcode is BINARY
            elif opcode is CONT:
                self._fragments.append(item.data)
                if not item.fin:
                    continue
                payload = b"".join(self._fragments)
                binary = self._fragments_binary
                self._fragments = []
            elif opcode is CLOSE:
                # websockets queued the echo; it stops parsing after a close frame.
                close = protocol.close_rcvd
                assert close is not None
                self._state = "closed"
                events.append(Closed(int(close.code), close.reason, True))
                return events
            else:  # ping (websockets queued the pong) or pong
                continue
            if not binary and not payload.isascii():
                try:
                    payload.decode()
                except UnicodeDecodeError as bad:
                    protocol.fail(1007, "invalid UTF-8")
                    self._state = "closed"
                    events.append(Failed(f"invalid UTF-8 in a text message: {bad.reason} at byte {bad.start}"))
                    return events
            events.append(Message(payload, binary))
        if self._state == "closed":  # the handshake was refused or failed
            return events
        exc = protocol.parser_exc
        if exc is not None:
            self._state = "closed"
            if isinstance(exc, EOFError):  # the stream ended, mid-frame or between frames
                events.append(Closed(None, "", False))
            else:
                events.append(Failed(_describe(exc)))
        elif self._state == "connecting" and protocol.handshake_exc is not None:
            # Not an HTTP response, or the stream ended before one: there is no status to report.
            self._state = "closed"
            events.append(Refused(0, _describe(protocol.handshake_exc)))
        return events

    def _handshake(self, response: Response) -> Event:
        exc = self._protocol.handshake_exc
        if exc is None:
            self._state = "open"
            return Opened(self._protocol.subprotocol)
        self._state = "closed"
        if response.status_code != 101:
            return Refused(response.status_code, response.reason_phrase)
        return Failed(_describe(exc))
