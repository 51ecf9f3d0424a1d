"""HTTP/1.1 for the load generator: request bytes, response framing, what a failure is called. Pure.

No sockets and no clocks here. Requests are serialised once, before the run:
the hot path only writes prepared bytes. httptools parses responses on the
hot path; what it cannot tell the caller (whether a body ends when the
connection closes) is worked out here from the response head, on the rare
path where a connection closes with a response unfinished.
"""

from __future__ import annotations

import random
import ssl
from collections.abc import Sequence
from dataclasses import dataclass

from httptools import HttpParserError, HttpParserUpgrade, HttpResponseParser

from asgibench import __version__
from asgibench.load.config import RequestSpec, Target

# Length of the weighted cycle: fine enough for weights down to 0.1%.
CYCLE_LENGTH = 1000


def build_request(spec: RequestSpec, target: Target) -> bytes:
    """The request's bytes (header values and paths were checked to be printable ASCII when it was defined)."""
    path = spec.path or target.path
    lines = [f"{spec.method} {path} HTTP/1.1", f"Host: {target.host_header}"]
    names = {name.lower() for name, _ in spec.headers}
    if "user-agent" not in names:
        lines.append(f"User-Agent: asgibench/{__version__}")
    lines.extend(f"{name}: {value}" for name, value in spec.headers if name.lower() != "host")
    if spec.body or spec.method in ("POST", "PUT", "PATCH"):
        if "content-length" not in names:
            lines.append(f"Content-Length: {len(spec.body)}")
    head = "\r\n".join(lines) + "\r\n\r\n"
    return head.encode("latin-1") + spec.body


def request_cycle(specs: Sequence[RequestSpec], *, seed: int = 0) -> list[int]:
    """Indexes into ``specs``, each appearing in proportion to its weight, shuffled."""
    if len(specs) == 1:
        return [0]
    total = sum(spec.weight for spec in specs)
    counts = [max(1, round(CYCLE_LENGTH * spec.weight / total)) for spec in specs]
    cycle = [index for index, count in enumerate(counts) for _ in range(count)]
    random.Random(seed).shuffle(cycle)
    return cycle


@dataclass(frozen=True, slots=True)
class ResponseHead:
    """What framing needs from a response head (RFC 9112 section 6)."""

    version: str  # "1.1" or "1.0"
    status: int
    content_length: int | None
    chunked: bool
    transfer_encoding: bool


def parse_response_head(data: bytes) -> ResponseHead | None:
    """The head at the start of ``data``, or None when ``data`` does not hold a whole, well-formed head."""
    end = data.find(b"\r\n\r\n")
    if end < 0:
        return None
    lines = data[:end].split(b"\r\n")
    parts = lines[0].split(b" ", 2)
    if len(parts) < 2 or parts[0] not in (b"HTTP/1.1", b"HTTP/1.0") or not parts[1].isdigit() or len(parts[1]) != 3:
        return None
    length: int | None = None
    chunked = transfer_encoding = False
    for line in lines[1:]:
        name, separator, value = line.partition(b":")
        if not separator:
            return None
        name, value = name.strip().lower(), value.strip()
        if name == b"content-length":
            if not value.isdigit():
                return None
            length = int(value)
        elif name == b"transfer-encoding":
            transfer_encoding = True
            chunked = value.lower().rsplit(b",", 1)[-1].strip() == b"chunked"
    return ResponseHead(parts[0][5:].decode("ascii"), int(parts[1]), length, chunked, transfer_encoding)


# Reads up to this size may be recognised as a repeated answer (see WholeAnswers); a connection keeps its last one.
REPEAT_LIMIT = 4096
# Verdicts remembered at once; a server whose answers keep changing (a clock, an id) only refills the table.
REPEAT_VERDICTS = 256


class _AnswerProbe:
    __slots__ = ("parser", "begun", "completed", "status", "keep_alive")

    def __init__(self) -> None:
        self.parser = HttpResponseParser(self)
        self.begun = self.completed = self.status = 0
        self.keep_alive = False

    def on_message_begin(self) -> None:
        self.begun += 1

    def on_message_complete(self) -> None:
        # Read here: once the parser has returned, its keep-alive is already the next message's.
        self.completed += 1
        self.status = self.parser.get_status_code()
        self.keep_alive = bool(self.parser.should_keep_alive())


def whole_answer_status(data: bytes) -> int:
    """The status of ``data`` when, read between answers, it is exactly one whole final answer that keeps the
    connection open; else 0.

    A parser that reads such bytes is between answers again, so the same
    bytes read again at the same point are the same answer again, byte for
    byte. Trailing CRLFs are ignored by the parser and so by this test; a body
    that ends only at the close, a 1xx, an upgrade or a second answer's first
    byte are not whole.
    """
    probe = _AnswerProbe()
    try:
        probe.parser.feed_data(data)
    except (HttpParserError, HttpParserUpgrade):
        return 0
    if probe.begun == 1 and probe.completed == 1 and probe.status >= 200 and probe.keep_alive:
        return probe.status
    return 0


class WholeAnswers:
    """``whole_answer_status``, remembered by the bytes: a fixed answer is parsed once per run, not once a read."""

    __slots__ = ("statuses",)

    def __init__(self) -> None:
        self.statuses: dict[bytes, int] = {}

    def status(self, data: bytes) -> int:
        status = self.statuses.get(data)
        if status is None:
            if len(self.statuses) >= REPEAT_VERDICTS:
                self.statuses.clear()
            status = self.statuses[data] = whole_answer_status(data)
        return status


def ends_at_close(head: ResponseHead, *, request_was_head: bool) -> bool:
    """Whether the body of this response is delimited by the server closing the connection.

    A response with no Content-Length and no chunked coding (HTTP/1.0, or
    ``Connection: close`` without a length) ends when the connection does; then
    a close is the end of the response, not a failure. Responses that never
    have a body (to HEAD, 1xx, 204, 304) cannot end that way.
    """
    if request_was_head or head.status < 200 or head.status in (204, 304):
        return False
    if head.transfer_encoding:
        return not head.chunked
    return head.content_length is None


def connection_error(error: BaseException | None) -> str:
    """The error kind of a connection that failed to open, or was lost with a request in flight."""
    if isinstance(error, ssl.SSLError | ssl.CertificateError):
        return "tls"
    if isinstance(error, ConnectionRefusedError):
        return "refused"
    if isinstance(error, ConnectionResetError | BrokenPipeError | ConnectionAbortedError) or error is None:
        # A peer closing with a request in flight (None: a clean FIN) resets that request.
        return "reset"
    if isinstance(error, TimeoutError):
        return "timeout"
    if isinstance(error, OSError) and error.errno in (111, 113, 101):  # refused, host or network unreachable
        return "refused"
    return "other"


def describe_error(error: BaseException | None) -> str:
    """One line saying what went wrong, kept as the first example of its kind in the result."""
    if error is None:
        return "the server closed the connection"
    if isinstance(error, ssl.SSLCertVerificationError):
        return error.verify_message or str(error)
    if isinstance(error, ssl.SSLError):
        return error.reason or str(error)
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return str(error) or type(error).__name__
