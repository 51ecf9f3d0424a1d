"""Reading the HTTP responses the probe received: status, headers in wire order, body, framing. Pure."""

from __future__ import annotations

from dataclasses import dataclass, field

from httptools import HttpParserError, HttpParserUpgrade, HttpResponseParser


@dataclass
class WireResponse:
    status: int = 0
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)  # names lower-cased, wire order
    body: bytes = b""
    complete: bool = False
    error: str = ""  # not valid HTTP/1.1, and why

    def header_values(self, name: bytes) -> list[bytes]:
        return [value for key, value in self.headers if key == name]


class _Collector:
    def __init__(self) -> None:
        self.responses: list[WireResponse] = []
        self.current = WireResponse()
        self.parser: HttpResponseParser | None = None

    def on_headers_complete(self) -> None:
        assert self.parser is not None
        self.current.status = self.parser.get_status_code()

    def on_message_begin(self) -> None:
        self.current = WireResponse()

    def on_header(self, name: bytes, value: bytes) -> None:
        self.current.headers.append((name.lower(), value))

    def on_body(self, body: bytes) -> None:
        self.current.body += body

    def on_message_complete(self) -> None:
        self.current.complete = True
        self.responses.append(self.current)


def parse_responses(data: bytes, *, closed: bool) -> list[WireResponse]:
    """Every response in ``data``; an unfinished last one is included (``complete`` False).

    ``closed``: the server closed the connection after ``data``, which ends a
    body that has no length (RFC 9112 §6.3).
    """
    collector = _Collector()
    parser = collector.parser = HttpResponseParser(collector)
    try:
        parser.feed_data(data)
    except HttpParserUpgrade:
        pass
    except HttpParserError as error:
        collector.current.error = str(error) or type(error).__name__
        if collector.current not in collector.responses:
            collector.responses.append(collector.current)
        return collector.responses
    current = collector.current
    if data and not current.complete and current not in collector.responses:
        current.status = current.status or status_of(data)
        names = {name for name, _ in current.headers}
        # A body with neither length nor chunking ends at the close (RFC 9112 §6.3); httptools cannot be told of it.
        current.complete = closed and current.status >= 200 and not names & {b"content-length", b"transfer-encoding"}
        collector.responses.append(current)
    return collector.responses


def status_of(data: bytes) -> int:
    """The status code of the first status line in ``data``, 0 when there is none."""
    if not data.startswith(b"HTTP/"):
        return 0
    parts = data.split(b"\r\n", 1)[0].split(b" ")
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0


def head_of(data: bytes) -> list[tuple[bytes, bytes]]:
    """The header lines of the first head in ``data`` (names lower-cased), in wire order."""
    end = data.find(b"\r\n\r\n")
    if end < 0:
        return []
    headers = []
    for line in data[:end].split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        headers.append((name.strip().lower(), value.strip()))
    return headers
