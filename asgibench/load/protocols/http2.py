"""HTTP/2 for the load generator: a sans-IO client on h2. Bytes in, events out.

The asyncio adapter owns the socket and the clock: it feeds what it reads to
``receive_data``, writes what ``data_to_send`` returns after every call, and
decides about timeouts (``reset``). State is kept only for streams whose
response is still coming, so one connection can carry millions of requests.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from h2 import events as h2e
from h2.config import H2Configuration
from h2.connection import ConnectionInputs, ConnectionState, H2Connection, H2ConnectionStateMachine
from h2.errors import ErrorCodes
from h2.exceptions import ProtocolError
from h2.settings import SettingCodes, Settings

Header = tuple[bytes, bytes]

# Our receive windows. At the default 65,535 bytes a server may have only 64 KiB in flight on the whole
# connection before it waits a round trip for our WINDOW_UPDATE: big or concurrent responses would then
# measure this client's window, not the server.
STREAM_WINDOW = 1 << 20  # each stream's, announced in our first SETTINGS
CONNECTION_WINDOW = 1 << 24  # the connection's, raised by one WINDOW_UPDATE after the preface
DEFAULT_WINDOW = 65_535
LAST_STREAM_ID = 2**31 - 1

# Distinct request heads kept prebuilt; beyond that (random paths, say) a head is built per request.
HEAD_CACHE_SIZE = 256
# Captured response heads nobody asked for are dropped, oldest first, beyond this many.
CAPTURE_LIMIT = 4096
# Request headers not sent: the connection-specific ones HTTP/2 forbids (RFC 9113 section 8.2.2), and host.
DROPPED_HEADERS = {b"connection", b"keep-alive", b"proxy-connection", b"transfer-encoding", b"upgrade", b"host"}
BODY_METHODS = {"POST", "PUT", "PATCH"}

_ERROR_NAMES = {int(code): code.name for code in ErrorCodes}


def error_name(code: int) -> str:
    """The RFC 9113 name of an error code, or ``UNKNOWN_<code>``."""
    return _ERROR_NAMES.get(code) or f"UNKNOWN_{code}"


@dataclass(frozen=True, slots=True)
class ResponseStarted:
    """The final response head (1xx heads are only counted). ``status`` is 0 if not three digits."""

    stream_id: int
    status: int


@dataclass(frozen=True, slots=True)
class BodyReceived:
    """A non-empty DATA frame's payload length (already handed back to the flow-control windows)."""

    stream_id: int
    length: int


@dataclass(frozen=True, slots=True)
class ResponseEnded:
    """END_STREAM from the server: the response is complete and the stream forgotten."""

    stream_id: int


@dataclass(frozen=True, slots=True)
class StreamReset:
    """The stream was reset: by the server's RST_STREAM, or by h2 for a stream-level error of the server's."""

    stream_id: int
    code: int
    name: str


@dataclass(frozen=True, slots=True)
class ConnectionEnded:
    """GOAWAY received: streams above ``last_stream_id`` were not processed (and are forgotten)."""

    code: int
    name: str
    last_stream_id: int


@dataclass(frozen=True, slots=True)
class Failed:
    """The server broke the protocol; the connection is unusable (a GOAWAY is queued to say so)."""

    description: str


Event = ResponseStarted | BodyReceived | ResponseEnded | StreamReset | ConnectionEnded | Failed


def request_fields(
    scheme: bytes, authority: bytes, method: str, path: str, headers: Sequence[Header], body_length: int
) -> list[Header]:
    """A request head's fields for HTTP/2, as both clients send it: the pseudo-headers, then the request's own
    headers lower-cased, without those HTTP/2 forbids (RFC 9113 section 8.2.2), plus a Content-Length for a body.

    Raises ValueError for a header HTTP/2 cannot carry (empty, pseudo, or with CR, LF or NUL).
    """
    fields = [(b":method", method.encode("ascii")), (b":scheme", scheme), (b":authority", authority),
              (b":path", path.encode("ascii"))]  # fmt: skip
    names: set[bytes] = set()
    for name, value in headers:
        name = name.lower()
        if not name or name.startswith(b":") or any(c in name + value for c in b"\r\n\0"):
            raise ValueError(f"header not allowed in HTTP/2: {name!r}: {value!r}")
        names.add(name)
        if name not in DROPPED_HEADERS and (name != b"te" or value.lower() == b"trailers"):
            fields.append((name, value))
    # As curl does: some frameworks (Django) read a body only as far as Content-Length says.
    if (body_length or method in BODY_METHODS) and b"content-length" not in names:
        fields.append((b"content-length", str(body_length).encode("ascii")))
    return fields


class StreamCounts:
    """What both HTTP/2 clients say about their streams, from the same four fields each keeps."""

    _interim: int
    _limit: int  # min(ours, the server's), kept current on its SETTINGS
    _streams: Collection[int]  # streams whose response is still coming
    _going_away: bool
    _failed: bool

    def interim_count(self) -> int:
        """Informational (1xx) response heads seen so far."""
        return self._interim

    @property
    def available_streams(self) -> int:
        """How many more streams may be opened now (the server's limit counts once its SETTINGS arrived)."""
        if self._going_away or self._failed:
            return 0
        return max(0, self._limit - len(self._streams))

    @property
    def open_streams(self) -> int:
        return len(self._streams)

    @property
    def going_away(self) -> bool:
        """No new streams may be opened: GOAWAY received, or this connection's stream ids are used up."""
        return self._going_away


class _OpenAfterGoaway(H2ConnectionStateMachine):
    """h2's, except that a GOAWAY received leaves the connection open: h2 would take the rest of a graceful
    shutdown (answers on streams up to the GOAWAY's last id) for protocol errors. No new streams are opened."""

    def process_input(self, input_: ConnectionInputs) -> list[h2e.Event]:
        if input_ is ConnectionInputs.RECV_GOAWAY and self.state is not ConnectionState.CLOSED:
            return []
        return super().process_input(input_)


def _status_of(headers: list[Header]) -> int:
    for name, value in headers:  # h2 puts :status first; the loop is for safety
        if name == b":status":
            return int(value) if len(value) == 3 and value.isdigit() else 0
    return 0


class Http2Client(StreamCounts):
    """The client side of one HTTP/2 connection, for one owner (no locking)."""

    def __init__(
        self, *, authority: str, scheme: str = "http", max_streams: int = 100, capture_headers: bool = False
    ) -> None:
        # Request heads are built once per distinct request (lower-cased, checked) and reused, so h2's
        # normalising and checking of every outgoing head (some 15% of the client's time) is turned off.
        config = H2Configuration(
            client_side=True, header_encoding=None, validate_outbound_headers=False, normalize_outbound_headers=False
        )
        conn = H2Connection(config=config)
        conn.state_machine = _OpenAfterGoaway()
        # Our first SETTINGS: no server push, the larger stream window. MAX_CONCURRENT_STREAMS (of the server's
        # streams) stays h2's 100: h2 checks it when late frames arrive for streams it has cleaned up.
        conn.local_settings = Settings(
            client=True,
            initial_values={
                SettingCodes.ENABLE_PUSH: 0,
                SettingCodes.INITIAL_WINDOW_SIZE: STREAM_WINDOW,
                SettingCodes.MAX_CONCURRENT_STREAMS: 100,
                SettingCodes.MAX_HEADER_LIST_SIZE: H2Connection.DEFAULT_MAX_HEADER_LIST_SIZE,
            },
        )
        self._conn = conn
        self._scheme = scheme.encode("ascii")
        self._authority = authority.encode("ascii")
        self._max_streams = max_streams
        self._limit = max_streams  # min(ours, the server's), kept current on its SETTINGS
        self._streams: set[int] = set()  # streams whose response is still coming
        self._uploads: dict[int, memoryview] = {}  # request bodies waiting for flow-control window
        self._heads: dict[tuple[str, str, tuple[Header, ...], int], list[Header]] = {}
        self._captured: dict[int, list[Header]] | None = {} if capture_headers else None
        self._interim = 0
        self._going_away = False
        self._failed = False
        self._preface: bytes | None = b""  # the server's first bytes, until they show a SETTINGS frame

    def initiate(self) -> None:
        """Queue the connection preface, our SETTINGS and the connection window's increase."""
        self._conn.initiate_connection()
        self._conn.increment_flow_control_window(CONNECTION_WINDOW - DEFAULT_WINDOW)

    def request(self, method: str, path: str, headers: Sequence[Header] = (), body: bytes = b"") -> int:
        """Open a stream with this request and return its id; what of the body the windows refuse waits.

        The caller keeps to ``available_streams`` (h2 raises TooManyStreamsError past the server's limit).
        Headers as a tuple save a conversion: the head is looked up by them, built once.
        """
        if self._going_away or self._failed:
            raise RuntimeError("this connection takes no new streams (GOAWAY, stream ids used up, or failed)")
        key = (method, path, headers if isinstance(headers, tuple) else tuple(headers), len(body))
        head = self._heads.get(key)
        if head is None:
            head = self._build_head(*key)
        conn = self._conn
        stream_id = conn.get_next_available_stream_id()
        conn.send_headers(stream_id, head, end_stream=not body)
        self._streams.add(stream_id)
        if body:
            if len(body) <= conn.max_outbound_frame_size and len(body) <= conn.local_flow_control_window(stream_id):
                conn.send_data(stream_id, body, end_stream=True)
            else:
                self._send_body(stream_id, memoryview(body))
        if stream_id + 2 > LAST_STREAM_ID:
            self._going_away = True
        return stream_id

    def _build_head(self, method: str, path: str, headers: tuple[Header, ...], body_length: int) -> list[Header]:
        head = request_fields(self._scheme, self._authority, method, path, headers, body_length)
        if len(self._heads) < HEAD_CACHE_SIZE:
            self._heads[(method, path, headers, body_length)] = head
        return head

    def _send_body(self, stream_id: int, body: memoryview) -> None:
        """Send what the windows allow of ``body``, END_STREAM with its last byte; keep the rest for later."""
        conn = self._conn
        window = conn.local_flow_control_window(stream_id)
        frame_size = conn.max_outbound_frame_size
        while window > 0:
            size = min(window, frame_size, len(body))
            last = size == len(body)
            conn.send_data(stream_id, body[:size], end_stream=last)
            if last:
                self._uploads.pop(stream_id, None)
                return
            body = body[size:]
            window -= size
        self._uploads[stream_id] = body

    def reset(self, stream_id: int, code: int = ErrorCodes.CANCEL) -> None:
        """RST_STREAM (CANCEL by default) and forget the stream. Its late frames give no events (h2 still hands
        their DATA back to the connection window, and answers each with another RST_STREAM)."""
        if stream_id in self._streams:
            self._forget(stream_id)
            self._conn.reset_stream(stream_id, code)

    def _forget(self, stream_id: int) -> None:
        self._streams.discard(stream_id)
        if self._uploads:
            self._uploads.pop(stream_id, None)

    def receive_data(self, data: bytes) -> list[Event]:
        """Events for the bytes the server sent; replies (acks, window updates) queue for ``data_to_send``."""
        if self._failed:
            return []
        conn = self._conn
        if self._preface is not None and data and not self._preface_fits(self._preface + data):
            conn.close_connection(ErrorCodes.PROTOCOL_ERROR)
            return self._fail(f"the server does not speak HTTP/2: it began with {data[:16]!r}")
        try:
            h2_events = conn.receive_data(data)
        except ProtocolError as error:
            return self._fail(f"{type(error).__name__}: {error}")
        streams = self._streams
        events: list[Event] = []
        resume = False
        for event in h2_events:
            if isinstance(event, h2e.DataReceived):
                stream_id = event.stream_id
                if event.flow_controlled_length:
                    # Handed back at once: nothing is kept, so the windows stay wide open.
                    conn.acknowledge_received_data(event.flow_controlled_length, stream_id)
                if event.data and stream_id in streams:
                    events.append(BodyReceived(stream_id, len(event.data)))
            elif isinstance(event, h2e.StreamEnded):
                stream_id = event.stream_id
                if stream_id in streams:
                    streams.discard(stream_id)
                    if stream_id in self._uploads:
                        # Answered before the whole body went: stop sending it (RFC 9113 section 8.1).
                        del self._uploads[stream_id]
                        conn.reset_stream(stream_id, ErrorCodes.NO_ERROR)
                    events.append(ResponseEnded(stream_id))
            elif isinstance(event, h2e.ResponseReceived):
                stream_id = event.stream_id
                if stream_id in streams:
                    if self._captured is not None:
                        self._captured[stream_id] = event.headers
                        if len(self._captured) > CAPTURE_LIMIT:
                            del self._captured[next(iter(self._captured))]
                    events.append(ResponseStarted(stream_id, _status_of(event.headers)))
            elif isinstance(event, h2e.WindowUpdated):
                resume = True
            elif isinstance(event, h2e.InformationalResponseReceived):
                self._interim += 1
            elif isinstance(event, h2e.StreamReset):
                stream_id = event.stream_id
                if stream_id in streams:
                    self._forget(stream_id)
                    code = int(event.error_code)
                    events.append(StreamReset(stream_id, code, error_name(code)))
            elif isinstance(event, h2e.RemoteSettingsChanged):
                self._limit = min(self._max_streams, conn.remote_settings.max_concurrent_streams)
                resume = True  # the server's initial stream window may have grown
            elif isinstance(event, h2e.ConnectionTerminated):
                events.append(self._goaway(event))
        if resume and self._uploads:
            # Only now: h2 took in the whole batch, and the streams it closed (reset, answered) left the uploads.
            for stream_id, body in list(self._uploads.items()):
                self._send_body(stream_id, body)
        return events

    def _preface_fits(self, first: bytes) -> bool:
        """Whether the server's first bytes can start a SETTINGS frame, as its preface must (RFC 9113 section 3.4).

        Else h2 would wait for as many bytes as the first three say: 4.7 MB for an HTTP/1.1 answer ("HTT").
        """
        first = first[:4]  # the length (3 bytes, at most 2**14 here), then the type
        self._preface = first if len(first) < 4 else None
        return first[0] == 0 and (len(first) < 4 or first[3] == 0x4)

    def _fail(self, description: str) -> list[Event]:
        self._failed = True
        self._streams.clear()
        self._uploads.clear()
        return [Failed(description)]

    def _goaway(self, event: h2e.ConnectionTerminated) -> ConnectionEnded:
        self._going_away = True
        last = event.last_stream_id or 0
        for stream_id in [stream_id for stream_id in self._streams if stream_id > last]:
            self._forget(stream_id)
        code = int(event.error_code or 0)
        return ConnectionEnded(code, error_name(code), last)

    def headers_of(self, stream_id: int) -> list[Header]:
        """The final head's headers (with ``:status``), handed over once; needs ``capture_headers``. Kept past the
        stream's end (a response often starts and ends in one ``receive_data``), up to ``CAPTURE_LIMIT`` unclaimed."""
        if self._captured is None:
            raise RuntimeError("headers are captured only with capture_headers=True")
        return self._captured.pop(stream_id)

    def data_to_send(self) -> bytes:
        """Everything queued for the wire since the last call (b"" if nothing)."""
        return self._conn.data_to_send()
