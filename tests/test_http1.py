"""The load generator's HTTP/1.1 client, fed responses split at every byte boundary.

A real ClosedModel and its Connection (httptools underneath) are driven with
a fake transport: the bytes of a response sequence arrive in chunks cut
anywhere, and the outcome must be the same whatever the cuts: the same
statuses recorded, the same interim responses skipped, the same errors.
Also the pure parts: response heads and close-delimited framing.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from time import perf_counter
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from asgibench.load.closed_model import ClosedModel
from asgibench.load.config import LoadConfig, RequestSpec
from asgibench.load.connection import Connection
from asgibench.load.http1 import ends_at_close, parse_response_head
from asgibench.load.parsing import parse_target


class FakeTransport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.written: list[bytes] = []
        self.aborted = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.written.append(bytes(data))

    def abort(self) -> None:
        self.aborted = True

    def is_closing(self) -> bool:
        return self.aborted


@dataclass(frozen=True)
class Case:
    name: str
    data: bytes  # everything the server sends on one connection
    statuses: list[int]  # final responses recorded, in order
    interim: int = 0
    errors: tuple[tuple[str, int], ...] = ()
    method: str = "GET"
    eof: bool = False  # the server closes after sending ``data``


OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
CASES = [
    Case("two keep-alive responses", OK + OK, [200, 200]),
    Case(
        "interim responses before the answer",
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n" + OK,
        [200],
        interim=2,
    ),
    Case(
        "chunked",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n" + OK,
        [200, 200],
    ),
    Case("204 and 304 have no body", b"HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 304 Not Modified\r\n\r\n", [204, 304]),
    Case(
        "HEAD: a length announced, no body",
        b"HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\nHTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\n",
        [200, 404],
        method="HEAD",
    ),
    Case(
        "HTTP/1.0, body ends at the close", b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nhello", [200], eof=True
    ),
    Case(
        "Connection: close without a length",
        b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nhello world",
        [200],
        eof=True,
    ),
    Case(
        "a body cut short",
        b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789",
        [],
        errors=(("truncated", 1),),
        eof=True,
    ),
    Case("a head cut short", b"HTTP/1.1 200 OK\r\nContent-Len", [], errors=(("truncated", 1),), eof=True),
    Case("closed before any byte", b"", [], errors=(("reset", 1),), eof=True),
    Case(
        "a 101 to a plain GET",
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
        [],
        errors=(("protocol", 1),),
    ),
    Case("a bare 101", b"HTTP/1.1 101 Switching Protocols\r\n\r\n", [], errors=(("protocol", 1),)),
    Case("not HTTP", b"this is not HTTP at all\r\n\r\n", [], errors=(("protocol", 1),)),
]


def drive(case: Case, chunks: list[bytes]) -> dict[str, Any]:
    """Feed ``chunks`` to one connection of a real closed-model driver; what it recorded."""

    async def main() -> dict[str, Any]:
        target = parse_target("http://127.0.0.1:9/")
        config = LoadConfig(target=target, vus=1, requests=(RequestSpec(method=case.method),))
        driver = ClosedModel(config, worker=0, workers=1, emit=lambda message: None)
        driver.record_from = 0.0
        driver.running = True
        connection = Connection(driver)
        transport = FakeTransport()
        connection.transport = transport
        driver.connections.add(connection)
        connection.write(driver.next_request(), perf_counter())
        for chunk in chunks:
            if transport.aborted:
                break
            connection.data_received(chunk)
        driver.running = False  # no reconnection: the test ends with this connection
        if case.eof and not transport.aborted:
            connection.connection_lost(None)
        record = driver.prepared[0].record
        record.flush(driver.recorder.by_status)
        return {
            "statuses": [status for status, count in sorted(record.status_counts.items()) for _ in range(count)],
            "interim": driver.recorder.interim,
            "errors": tuple(sorted((kind, count) for kind, count in record.errors.items() if count)),
            "in_flight": connection.in_flight,
        }

    return asyncio.run(main())


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = [0, *sorted(cut for cut in cuts if 0 < cut < len(data)), len(data)]
    return [data[start:end] for start, end in zip(points, points[1:], strict=False) if end > start]


def expected(case: Case) -> dict[str, Any]:
    return {"statuses": sorted(case.statuses), "interim": case.interim, "errors": case.errors}


def outcome(result: dict[str, Any]) -> dict[str, Any]:
    return {key: result[key] for key in ("statuses", "interim", "errors")}


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_every_single_split_gives_the_same_outcome(case: Case) -> None:
    for cut in range(len(case.data) + 1):
        assert outcome(drive(case, split(case.data, [cut]))) == expected(case), f"cut at byte {cut}"


@settings(max_examples=60, deadline=None)
@given(index=st.integers(0, len(CASES) - 1), cuts=st.lists(st.integers(0, 200), max_size=12))
def test_any_splits_give_the_same_outcome(index: int, cuts: list[int]) -> None:
    case = CASES[index]
    assert outcome(drive(case, split(case.data, cuts))) == expected(case)


def test_one_byte_at_a_time() -> None:
    for case in CASES:
        chunks = [case.data[index : index + 1] for index in range(len(case.data))]
        assert outcome(drive(case, chunks)) == expected(case), case.name


def test_response_heads() -> None:
    head = parse_response_head(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX: y\r\n\r\nhello")
    assert head is not None and (head.status, head.content_length, head.chunked) == (200, 5, False)
    chunked = parse_response_head(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n")
    assert chunked is not None and chunked.chunked
    for broken in (b"HTTP/1.1 200 OK\r\n", b"HTTP/2 200\r\n\r\n", b"HTTP/1.1 2000 OK\r\n\r\n", b"garbage\r\n\r\n",
                   b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n"):  # fmt: skip
        assert parse_response_head(broken) is None


@pytest.mark.parametrize(
    ("data", "method", "ends"),
    [
        (b"HTTP/1.0 200 OK\r\n\r\n", "GET", True),
        (b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n", "GET", True),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", "GET", True),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", "GET", False),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", "GET", False),
        (b"HTTP/1.1 204 No Content\r\n\r\n", "GET", False),
        (b"HTTP/1.1 304 Not Modified\r\n\r\n", "GET", False),
        (b"HTTP/1.0 200 OK\r\n\r\n", "HEAD", False),
    ],
)
def test_which_bodies_end_at_the_close(data: bytes, method: str, ends: bool) -> None:
    head = parse_response_head(data)
    assert head is not None and ends_at_close(head, request_was_head=method == "HEAD") is ends


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_never_raise(data: bytes) -> None:
    parse_response_head(data)
    result = drive(Case("fuzz", data, [], eof=True), split(data, [len(data) // 3, 2 * len(data) // 3]))
    assert not result["in_flight"] or result["errors"]  # settled one way or another, never left hanging
