"""HTTP/2 for the load generator's hot path: ``Http2Client``'s interface and events, without h2.

h2 costs some 64 µs of CPU per request (its state machines, its HPACK encoder, a walk over the open streams at each
new one): the generator would measure itself. Here each request costs a dict lookup and one ``struct.pack``, and each
response frame one ``unpack`` and a branch or two:

- requests: a head is HPACK-encoded once (static-table indexes, literals without indexing: RFC 7541 section 6.2.2),
  so the block never depends on a dynamic table and is reused as is; only the 9-byte frame header changes.
- responses: header blocks go through ``hpack.Decoder`` (servers index, so its table must follow every block), but a
  block that neither inserts into the table nor resizes it decodes to the same fields until some block does: those
  are cached by their bytes, and the cache is emptied whenever a block changes the table.
- flow control: what we receive is acknowledged in batches (a WINDOW_UPDATE once half a window was used); what we
  send (request bodies) keeps to the server's windows.

Protocol errors of the server (RFC 9113, RFC 7541) give ``Failed`` and a GOAWAY, after which the client says
nothing more. Like ``Http2Client``, it is sans-IO: the link feeds ``receive_data`` and writes ``data_to_send``.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from typing import cast

from hpack import Decoder, HPACKError
from hpack.table import HeaderTable

from asgibench.load.protocols.http2 import (
    CONNECTION_WINDOW,
    DEFAULT_WINDOW,
    LAST_STREAM_ID,
    STREAM_WINDOW,
    BodyReceived,
    ConnectionEnded,
    Event,
    Failed,
    Header,
    ResponseEnded,
    ResponseStarted,
    StreamCounts,
    StreamReset,
    error_name,
    request_fields,
)

# Bounds, read at each use (tests lower them): prebuilt request heads, unclaimed captured heads, cached header blocks.
HEAD_CACHE_SIZE = 256
CAPTURE_LIMIT = 4096
BLOCK_CACHE_SIZE = 256
BLOCK_CACHE_BYTES = 1024  # longer blocks (big cookies, say) are not worth keeping
MAX_HEADER_BLOCK = 1 << 18  # HEADERS + CONTINUATION bytes; hpack refuses more than 64 KiB decoded anyway

# RFC 9113 section 6: frame types, flags, settings; section 7: error codes.
DATA, HEADERS, PRIORITY, RST_STREAM, SETTINGS, PUSH_PROMISE, PING, GOAWAY, WINDOW_UPDATE, CONTINUATION = range(10)
END_STREAM = ACK = 0x1
END_HEADERS, PADDED, PRIORITY_FLAG = 0x4, 0x8, 0x20
NO_ERROR, PROTOCOL_ERROR, FLOW_CONTROL_ERROR, FRAME_SIZE_ERROR, CANCEL, COMPRESSION_ERROR = 0x0, 0x1, 0x3, 0x6, 0x8, 0x9
MAX_FRAME_SIZE = 16_384  # what we accept (we announce no other) and send until the server allows more
MAX_WINDOW = 2**31 - 1

_LENGTHS = {RST_STREAM: 4, PING: 8, WINDOW_UPDATE: 4}  # of the frames whose payload has one size
_FRAME = struct.Struct(">IBI")  # the 24-bit length and the type as one integer, the flags, the stream id
_SETTING = struct.Struct(">HI")
_U32 = struct.Struct(">I")
_TWO_U32 = struct.Struct(">II")

AWAITING_HEAD = -1  # a stream's state before its final head; after it, the DATA bytes not yet acknowledged
NO_STATUS, INTERIM = -1, -2  # a decoded head without :status; a 1xx head

_STATIC = HeaderTable.STATIC_TABLE  # RFC 7541 appendix A; the lowest index wins where a name repeats
_STATIC_FIELDS = {field: index for index, field in reversed(list(enumerate(_STATIC, 1)))}
_STATIC_NAMES = {name: index for index, (name, _) in reversed(list(enumerate(_STATIC, 1)))}


def _frame(kind: int, flags: int, stream_id: int, payload: bytes | memoryview = b"") -> bytes:
    return _FRAME.pack(len(payload) << 8 | kind, flags, stream_id) + payload


# The preface, then our SETTINGS (no push, a 1 MiB stream window, hpack's 64 KiB header list) and the connection
# window raised to CONNECTION_WINDOW: see http2.py for why the windows are this large.
_SETTINGS = b"".join(_SETTING.pack(*pair) for pair in ((2, 0), (4, STREAM_WINDOW), (6, 1 << 16)))
PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
_START = (
    PREFACE
    + _frame(SETTINGS, 0, 0, _SETTINGS)
    + _frame(WINDOW_UPDATE, 0, 0, _U32.pack(CONNECTION_WINDOW - DEFAULT_WINDOW))
)
_SETTINGS_ACK = _frame(SETTINGS, ACK, 0)


def _integer(value: int, prefix_bits: int, high_bits: int) -> bytes:
    """An HPACK integer (RFC 7541 section 5.1) on a ``prefix_bits`` prefix, under the representation's high bits."""
    limit = (1 << prefix_bits) - 1
    if value < limit:
        return bytes([high_bits | value])
    out = bytearray([high_bits | limit])
    value -= limit
    while value >= 0x80:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _read_integer(block: bytes, pos: int, prefix_bits: int) -> tuple[int, int]:
    """The HPACK integer at ``pos`` and the position after it."""
    limit = (1 << prefix_bits) - 1
    value = block[pos] & limit
    pos += 1
    if value < limit:
        return value, pos
    shift = 0
    while True:  # a full prefix: 7 more bits a byte, until one without its high bit
        byte = block[pos]
        pos += 1
        value += (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7


def encode_head(fields: Sequence[Header]) -> bytes:
    """A header block that neither reads nor writes the dynamic table, so the same bytes serve every request:
    static-table fields by index, the rest as literals without indexing (raw, not Huffman: built once anyway)."""
    block = bytearray()
    for name, value in fields:
        index = _STATIC_FIELDS.get((name, value))
        if index:
            block += _integer(index, 7, 0x80)
            continue
        name_index = _STATIC_NAMES.get(name, 0)
        block += _integer(name_index, 4, 0x00)
        if not name_index:
            block += _integer(len(name), 7, 0x00) + name
        block += _integer(len(value), 7, 0x00) + value
    return bytes(block)


def changes_table(block: bytes) -> bool:
    """Whether a (valid) block inserts into the decoder's dynamic table or resizes it (RFC 7541 sections 6.2.1 and
    6.3). One that does neither decodes to the same fields, whatever its indexes, until another block changes it."""
    pos, end = 0, len(block)
    try:
        while pos < end:
            first = block[pos]
            if first & 0x80:  # indexed field: reads the table
                pos = _read_integer(block, pos, 7)[1]
            elif first & 0x60:  # 01xxxxxx: literal with incremental indexing; 001xxxxx: table size update
                return True
            else:  # literal without indexing (0000) or never indexed (0001): name index or name, then the value
                name_index, pos = _read_integer(block, pos, 4)
                if not name_index:
                    length, pos = _read_integer(block, pos, 7)
                    pos += length
                length, pos = _read_integer(block, pos, 7)
                pos += length
    except IndexError:
        return True  # not expected of a block hpack decoded; then simply not cached
    return False


class _Violation(Exception):
    """The server broke the protocol: the connection fails with this error code."""

    def __init__(self, code: int, description: str) -> None:
        super().__init__(description)
        self.code = code


class _Upload:
    """A request body the flow-control windows held back, and its stream's send window."""

    __slots__ = ("body", "window")

    def __init__(self, body: memoryview, window: int) -> None:
        self.body = body
        self.window = window


class Http2FastClient(StreamCounts):
    """The client side of one HTTP/2 connection, for one owner (no locking). Same interface as ``Http2Client``."""

    def __init__(
        self, *, authority: str, scheme: str = "http", max_streams: int = 100, capture_headers: bool = False
    ) -> None:
        self._scheme = scheme.encode("ascii")
        self._authority = authority.encode("ascii")
        self._max_streams = max_streams
        self._limit = max_streams  # min(ours, the server's), kept current on its SETTINGS
        self._server_limit = 2**32  # the server's MAX_CONCURRENT_STREAMS: unlimited until it says
        # Streams whose response is still coming: AWAITING_HEAD, then DATA bytes since the stream's last WINDOW_UPDATE.
        self._streams: dict[int, int] = {}
        self._uploads: dict[int, _Upload] = {}
        self._heads: dict[tuple[str, str, tuple[Header, ...], int], tuple[int, int, bytes]] = {}
        self._blocks: dict[bytes, tuple[int, list[Header]]] = {}  # header blocks that leave the table as it is
        self._captured: dict[int, list[Header]] | None = {} if capture_headers else None
        self._decoder = Decoder()
        self._out: list[bytes] = []
        self._pending = bytearray()  # an incomplete frame, kept until ``_need`` bytes are there
        self._need = 0
        self._continued: tuple[int, int, bytearray] | None = None  # HEADERS awaiting CONTINUATION: id, flags, block
        self._next_id = 1
        self._consumed = 0  # DATA bytes since the connection's last WINDOW_UPDATE
        self._send_window = DEFAULT_WINDOW  # the server's connection window, for request bodies
        self._stream_send_window = DEFAULT_WINDOW  # the server's SETTINGS_INITIAL_WINDOW_SIZE
        self._max_frame_out = MAX_FRAME_SIZE
        self._resume = False  # a window grew: held-back bodies may go on
        self._table_emptied = False  # see _send_block
        self._interim = 0
        self._going_away = False
        self._failed = False
        self._first_bytes = True  # until the server's first bytes show a SETTINGS frame

    def initiate(self) -> None:
        """Queue the connection preface, our SETTINGS and the connection window's increase."""
        self._out.append(_START)

    def request(self, method: str, path: str, headers: Sequence[Header] = (), body: bytes = b"") -> int:
        """Open a stream with this request and return its id; what of the body the windows refuse waits.

        The caller keeps to ``available_streams``. Headers as a tuple save a conversion: the head is looked up by
        them, built once.
        """
        if self._going_away or self._failed:
            raise RuntimeError("this connection takes no new streams (GOAWAY, stream ids used up, or failed)")
        streams = self._streams
        if len(streams) >= self._server_limit:
            raise RuntimeError(f"the server allows {self._server_limit} concurrent streams")
        key = (method, path, headers if isinstance(headers, tuple) else tuple(headers), len(body))
        head = self._heads.get(key)
        if head is None:
            head = self._build_head(*key)
        length_kind, flags, block = head
        stream_id = self._next_id
        self._next_id = stream_id + 2
        if stream_id + 2 > LAST_STREAM_ID:
            self._going_away = True
        if self._table_emptied and len(block) <= self._max_frame_out:
            self._out.append(_FRAME.pack(length_kind, flags, stream_id) + block)
        else:
            self._send_block(stream_id, block, flags)
        streams[stream_id] = AWAITING_HEAD
        if body:
            size = len(body)
            if size <= self._send_window and size <= self._stream_send_window and size <= self._max_frame_out:
                self._send_window -= size
                self._out.append(_FRAME.pack(size << 8 | DATA, END_STREAM, stream_id) + body)
            else:
                upload = self._uploads[stream_id] = _Upload(memoryview(body), self._stream_send_window)
                self._send_body(stream_id, upload)
        return stream_id

    def _build_head(
        self, method: str, path: str, headers: tuple[Header, ...], body_length: int
    ) -> tuple[int, int, bytes]:
        """The head's block and its HEADERS frame's length, type and flags (END_STREAM when there is no body)."""
        fields = request_fields(self._scheme, self._authority, method, path, headers, body_length)
        block = encode_head(fields)
        head = (len(block) << 8 | HEADERS, END_HEADERS | (0 if body_length else END_STREAM), block)
        if len(self._heads) < HEAD_CACHE_SIZE:
            self._heads[(method, path, headers, body_length)] = head
        return head

    def _send_block(self, stream_id: int, block: bytes, flags: int) -> None:
        """A head in HEADERS + CONTINUATION frames. The first block ever starts with a table size update to 0: our
        dynamic table then stays empty, whatever SETTINGS_HEADER_TABLE_SIZE the server sets (RFC 7541 section 4.2)."""
        if not self._table_emptied:
            self._table_emptied = True
            block = b"\x20" + block
        size = self._max_frame_out
        flags &= END_STREAM
        kind = HEADERS
        while len(block) > size:
            self._out.append(_frame(kind, flags, stream_id, block[:size]))
            block = block[size:]
            kind, flags = CONTINUATION, 0
        self._out.append(_frame(kind, flags | END_HEADERS, stream_id, block))

    def _send_body(self, stream_id: int, upload: _Upload) -> None:
        """Send what the windows allow of a held-back body, END_STREAM with its last byte; keep the rest."""
        body = upload.body
        while (size := min(upload.window, self._send_window, self._max_frame_out, len(body))) > 0:
            last = size == len(body)
            self._out.append(_frame(DATA, END_STREAM if last else 0, stream_id, body[:size]))
            upload.window -= size
            self._send_window -= size
            if last:
                del self._uploads[stream_id]
                return
            body = body[size:]
        upload.body = body

    def reset(self, stream_id: int, code: int = CANCEL) -> None:
        """RST_STREAM (CANCEL by default) and forget the stream. Its late frames are ignored (their DATA still
        counts in the connection window we hand back)."""
        if stream_id in self._streams:
            self._forget(stream_id)
            self._out.append(_frame(RST_STREAM, 0, stream_id, _U32.pack(code)))

    def _forget(self, stream_id: int) -> None:
        del self._streams[stream_id]
        if self._uploads:
            self._uploads.pop(stream_id, None)

    def _end(self, stream_id: int, events: list[Event]) -> None:
        del self._streams[stream_id]
        if self._uploads and self._uploads.pop(stream_id, None) is not None:
            # Answered before the whole body went: stop sending it (RFC 9113 section 8.1).
            self._out.append(_frame(RST_STREAM, 0, stream_id, _U32.pack(NO_ERROR)))
        events.append(ResponseEnded(stream_id))

    def receive_data(self, data: bytes) -> list[Event]:
        """Events for the bytes the server sent; replies (acks, window updates) queue for ``data_to_send``."""
        if self._failed or not data:
            return []
        if type(data) is not bytes:
            data = bytes(data)  # a memoryview or bytearray: header blocks are looked up by their bytes
        if self._first_bytes:
            # The server's preface is a SETTINGS frame (RFC 9113 section 3.4): its length's first byte is 0 (at most
            # 16 KiB), its type 4. An HTTP/1.1 answer ("HTTP/1.1 400") fails here, not after 4.7 MB of "frame".
            first = (bytes(self._pending) + data)[:4]
            if first[0] != 0 or (len(first) == 4 and first[3] != SETTINGS):
                return self._fail(PROTOCOL_ERROR, f"the server does not speak HTTP/2: it began with {data[:16]!r}")
            self._first_bytes = len(first) < 4
        if self._pending:
            self._pending += data
            if len(self._pending) < self._need:
                return []
            data = bytes(self._pending)
            self._pending.clear()
        events: list[Event] = []
        try:
            pos = self._frames(data, events)
        except _Violation as violation:
            return self._fail(violation.code, f"{error_name(violation.code)}: {violation}")
        if pos < len(data):
            self._pending += memoryview(data)[pos:]
            self._need = 9 + (_U32.unpack_from(data, pos)[0] >> 8) if len(data) - pos >= 9 else 9
        if self._resume:
            # Only now: the whole read was taken in, and the streams it closed (reset, answered) left the uploads.
            self._resume = False
            for stream_id, upload in list(self._uploads.items()):
                self._send_body(stream_id, upload)
        return events

    def _frames(self, data: bytes, events: list[Event]) -> int:
        """Handle the whole frames of ``data``; the position of the first incomplete one."""
        streams, blocks, out = self._streams, self._blocks, self._out
        unpack = _FRAME.unpack_from
        end, pos = len(data), 0
        while end - pos >= 9:
            length_kind, flags, stream_id = unpack(data, pos)
            length = length_kind >> 8
            if length > MAX_FRAME_SIZE:
                raise _Violation(FRAME_SIZE_ERROR, f"a frame of {length} bytes (at most {MAX_FRAME_SIZE})")
            start = pos + 9
            if start + length > end:
                break
            pos = start + length
            kind = length_kind & 0xFF
            stream_id &= 0x7FFFFFFF
            if self._continued is not None:
                self._continuation(kind, flags, stream_id, data[start:pos], events)
            elif kind == DATA:
                # Every DATA byte, padding included, counts in the connection's window, whatever the stream. Windows
                # are handed back once half is used, so the server always has half of each to go on with (and its
                # overrunning one could not be told from its having our WINDOW_UPDATE: that is not checked).
                self._consumed += length
                if self._consumed >= CONNECTION_WINDOW // 2:
                    out.append(_frame(WINDOW_UPDATE, 0, 0, _U32.pack(self._consumed)))
                    self._consumed = 0
                state = streams.get(stream_id)
                if state is None:
                    self._check_known(stream_id, "DATA")
                    continue
                size = length
                if flags & PADDED:
                    if not length or data[start] >= length:
                        raise _Violation(PROTOCOL_ERROR, "DATA padding as long as the frame")
                    size -= 1 + data[start]
                if state < 0:
                    raise _Violation(PROTOCOL_ERROR, f"DATA before the response's HEADERS on stream {stream_id}")
                if size:
                    events.append(BodyReceived(stream_id, size))
                if flags & END_STREAM:
                    self._end(stream_id, events)
                elif (state := state + length) >= STREAM_WINDOW // 2:
                    out.append(_frame(WINDOW_UPDATE, 0, stream_id, _U32.pack(state)))
                    streams[stream_id] = 0
                else:
                    streams[stream_id] = state
            elif kind == HEADERS:
                block = data[start:pos]
                if flags & (PADDED | PRIORITY_FLAG):
                    block = self._unpad(block, flags)
                if not flags & END_HEADERS:
                    self._continued = (stream_id, flags, bytearray(block))
                    continue
                decoded = blocks.get(block)
                if decoded is None:
                    decoded = self._decode(block)
                self._head(stream_id, flags, decoded, events)
            else:
                self._control(kind, flags, stream_id, data[start:pos], events)
        return pos

    def _unpad(self, block: bytes, flags: int) -> bytes:
        """A HEADERS payload without its pad length, padding and priority fields."""
        pad = 0
        if flags & PADDED:
            if not block:
                raise _Violation(FRAME_SIZE_ERROR, "HEADERS too short for its pad length")
            pad = block[0]
            block = block[1:]
        if flags & PRIORITY_FLAG:
            block = block[5:]
        if pad > len(block):
            raise _Violation(PROTOCOL_ERROR, "HEADERS padding longer than the frame")
        return block[: len(block) - pad]

    def _continuation(self, kind: int, flags: int, stream_id: int, payload: bytes, events: list[Event]) -> None:
        continued = self._continued
        assert continued is not None
        if kind != CONTINUATION or stream_id != continued[0]:
            raise _Violation(PROTOCOL_ERROR, f"frame type {kind} where a CONTINUATION of stream {continued[0]} must be")
        block = continued[2]
        block += payload
        if len(block) > MAX_HEADER_BLOCK:
            raise _Violation(PROTOCOL_ERROR, f"a header block over {MAX_HEADER_BLOCK} bytes")
        if flags & END_HEADERS:
            self._continued = None
            whole = bytes(block)
            decoded = self._blocks.get(whole)
            self._head(continued[0], continued[1], decoded or self._decode(whole), events)

    def _decode(self, block: bytes) -> tuple[int, list[Header]]:
        """The block's status (or NO_STATUS, INTERIM) and fields, cached when the dynamic table is left as it was."""
        try:
            fields = cast("list[Header]", self._decoder.decode(block, raw=True))
        except HPACKError as error:
            raise _Violation(COMPRESSION_ERROR, f"{type(error).__name__}: {error}") from None
        status = NO_STATUS
        for name, value in fields:
            if name == b":status":  # pseudo-headers come first: this loop ends at once
                status = INTERIM if value[:1] == b"1" else int(value) if len(value) == 3 and value.isdigit() else 0
                break
        decoded = status, fields
        if changes_table(block):
            self._blocks.clear()  # what the cached blocks' indexes point at may have moved
        elif len(block) <= BLOCK_CACHE_BYTES:
            if len(self._blocks) >= BLOCK_CACHE_SIZE:
                self._blocks.clear()
            self._blocks[block] = decoded
        return decoded

    def _head(self, stream_id: int, flags: int, decoded: tuple[int, list[Header]], events: list[Event]) -> None:
        """A decoded header block: an interim head, the final one, or trailers (RFC 9113 section 8.1)."""
        state = self._streams.get(stream_id)
        if state is None:
            self._check_known(stream_id, "HEADERS")  # decoded all the same: the table must follow every block
        elif state >= 0:
            if not flags & END_STREAM:
                raise _Violation(PROTOCOL_ERROR, f"trailers without END_STREAM on stream {stream_id}")
            self._end(stream_id, events)
        elif (status := decoded[0]) == INTERIM:
            if flags & END_STREAM:
                raise _Violation(PROTOCOL_ERROR, f"an informational head ends stream {stream_id}")
            self._interim += 1
        elif status == NO_STATUS:
            raise _Violation(PROTOCOL_ERROR, f"a response head without :status on stream {stream_id}")
        else:
            if self._captured is not None:
                self._captured[stream_id] = list(decoded[1])
                if len(self._captured) > CAPTURE_LIMIT:
                    del self._captured[next(iter(self._captured))]
            events.append(ResponseStarted(stream_id, status))
            if flags & END_STREAM:
                self._end(stream_id, events)
            else:
                self._streams[stream_id] = 0

    def _check_known(self, stream_id: int, what: str) -> None:
        """A frame for a stream that is not open: fine for one we reset or forgot, not for one never opened."""
        if stream_id == 0:
            raise _Violation(PROTOCOL_ERROR, f"{what} on stream 0")
        if not stream_id & 1 or stream_id >= self._next_id:
            raise _Violation(PROTOCOL_ERROR, f"{what} on stream {stream_id}, which we never opened")

    def _control(self, kind: int, flags: int, stream_id: int, payload: bytes, events: list[Event]) -> None:
        """Every frame but DATA and HEADERS (RFC 9113 section 6); unknown types are ignored (section 5.5)."""
        if kind in (SETTINGS, PING, GOAWAY) and stream_id:
            raise _Violation(PROTOCOL_ERROR, f"a frame of type {kind} on stream {stream_id}")
        if kind in _LENGTHS and len(payload) != _LENGTHS[kind]:
            raise _Violation(FRAME_SIZE_ERROR, f"a frame of type {kind} of {len(payload)} bytes")
        if kind == SETTINGS:
            if flags & ACK:
                if payload:
                    raise _Violation(FRAME_SIZE_ERROR, "a SETTINGS acknowledgement with a payload")
                return
            if len(payload) % 6:
                raise _Violation(FRAME_SIZE_ERROR, f"SETTINGS of {len(payload)} bytes")
            for offset in range(0, len(payload), 6):
                self._setting(*_SETTING.unpack_from(payload, offset))
            self._out.append(_SETTINGS_ACK)
        elif kind == PING:
            if not flags & ACK:
                self._out.append(_frame(PING, ACK, 0, payload))
        elif kind == WINDOW_UPDATE:
            increment = _U32.unpack(payload)[0] & 0x7FFFFFFF
            if not increment:
                raise _Violation(PROTOCOL_ERROR, f"WINDOW_UPDATE of 0 on stream {stream_id}")
            if not stream_id:
                self._send_window += increment
                if self._send_window > MAX_WINDOW:
                    raise _Violation(FLOW_CONTROL_ERROR, "the connection's window beyond 2**31 - 1")
                self._resume = True
            elif (upload := self._uploads.get(stream_id)) is not None:
                upload.window += increment
                if upload.window > MAX_WINDOW:
                    raise _Violation(FLOW_CONTROL_ERROR, f"the window of stream {stream_id} beyond 2**31 - 1")
                self._resume = True
            elif stream_id not in self._streams:
                self._check_known(stream_id, "WINDOW_UPDATE")
        elif kind == RST_STREAM:
            if stream_id in self._streams:
                self._forget(stream_id)
                code = _U32.unpack(payload)[0]
                events.append(StreamReset(stream_id, code, error_name(code)))
            else:
                self._check_known(stream_id, "RST_STREAM")
        elif kind == GOAWAY:
            if len(payload) < 8:
                raise _Violation(FRAME_SIZE_ERROR, f"GOAWAY of {len(payload)} bytes")
            last, code = _TWO_U32.unpack_from(payload)
            last &= 0x7FFFFFFF
            self._going_away = True
            for gone in [gone for gone in self._streams if gone > last]:  # not processed: they fail as "goaway"
                self._forget(gone)
            events.append(ConnectionEnded(code, error_name(code), last))
        elif kind == CONTINUATION:
            raise _Violation(PROTOCOL_ERROR, f"CONTINUATION without HEADERS on stream {stream_id}")
        elif kind == PUSH_PROMISE:
            raise _Violation(PROTOCOL_ERROR, "PUSH_PROMISE, though we disabled push")
        elif kind == PRIORITY and not stream_id:
            raise _Violation(PROTOCOL_ERROR, "PRIORITY on stream 0")

    def _setting(self, code: int, value: int) -> None:
        if code == 3:  # MAX_CONCURRENT_STREAMS
            self._server_limit = value
            self._limit = min(self._max_streams, value)
        elif code == 4:  # INITIAL_WINDOW_SIZE: moves the send windows of the open streams too (section 6.9.2)
            if value > MAX_WINDOW:
                raise _Violation(FLOW_CONTROL_ERROR, f"SETTINGS_INITIAL_WINDOW_SIZE of {value}")
            delta = value - self._stream_send_window
            self._stream_send_window = value
            for upload in self._uploads.values():
                upload.window += delta
                if upload.window > MAX_WINDOW:
                    raise _Violation(FLOW_CONTROL_ERROR, "a stream's window beyond 2**31 - 1")
            self._resume = True
        elif code == 5:  # MAX_FRAME_SIZE
            if not MAX_FRAME_SIZE <= value < 1 << 24:
                raise _Violation(PROTOCOL_ERROR, f"SETTINGS_MAX_FRAME_SIZE of {value}")
            self._max_frame_out = value
        elif code == 2 and value > 1:  # ENABLE_PUSH
            raise _Violation(PROTOCOL_ERROR, f"SETTINGS_ENABLE_PUSH of {value}")
        # HEADER_TABLE_SIZE: our table is empty for good (see _send_block); MAX_HEADER_LIST_SIZE: advisory.

    def _fail(self, code: int, description: str) -> list[Event]:
        self._failed = True
        self._streams.clear()
        self._uploads.clear()
        self._pending.clear()
        self._continued = None
        self._out.append(_frame(GOAWAY, 0, 0, _TWO_U32.pack(0, code)))
        return [Failed(description)]

    def headers_of(self, stream_id: int) -> list[Header]:
        """The final head's headers (with ``:status``), handed over once; needs ``capture_headers``. Kept past the
        stream's end (a response often starts and ends in one ``receive_data``), up to ``CAPTURE_LIMIT`` unclaimed."""
        if self._captured is None:
            raise RuntimeError("headers are captured only with capture_headers=True")
        return self._captured.pop(stream_id)

    def data_to_send(self) -> bytes:
        """Everything queued for the wire since the last call (b"" if nothing)."""
        if not self._out:
            return b""
        data = b"".join(self._out)
        self._out.clear()
        return data
