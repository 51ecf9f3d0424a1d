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
from asgibench.load.http1 import ends_at_close, parse_response_head, whole_answer_status
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


def drive(
    case: Case, chunks: list[bytes], *, repeats: bool = True, connection_class: type[Connection] = Connection
) -> dict[str, Any]:
    """Feed ``chunks`` to one connection of a real closed-model driver; what it recorded.

    ``repeats=False``: the connection parses every read, even one it would recognise as a repeated answer.
    """

    async def main() -> dict[str, Any]:
        target = parse_target("http://127.0.0.1:9/")
        config = LoadConfig(target=target, vus=1, requests=(RequestSpec(method=case.method),))
        driver = ClosedModel(config, worker=0, workers=1, emit=lambda message: None)
        driver.record_from = 0.0
        driver.running = True
        connection = connection_class(driver)
        connection.repeatable = connection.repeatable and repeats
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


# -- repeated answers: recognised by their bytes, never counted differently -------------------------------------

NOT_FOUND = b"HTTP/1.1 404 Not Found\r\nContent-Length: 4\r\n\r\nnope"
OK_OTHER = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOK"
CLOSE = b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok"
CHUNKED = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n"
CONTINUE_THEN_OK = b"HTTP/1.1 100 Continue\r\n\r\n" + OK


def carrier(copies: int) -> bytes:
    """The head of an answer whose body is ``copies`` whole answers: read after it, those bytes are a body."""
    return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % (len(OK) * copies)


@pytest.mark.parametrize(
    ("data", "status"),
    [
        (OK, 200),
        (NOT_FOUND, 404),
        (CHUNKED, 200),
        (b"HTTP/1.1 204 No Content\r\n\r\n", 204),
        (OK + b"\r\n", 200),  # a stray CRLF between answers is skipped by the parser too
        (OK + OK, 0),  # two answers
        (OK + b"HTTP/1.1 2", 0),  # the start of another
        (OK[:-1], 0),  # not yet whole
        (CLOSE, 0),  # the connection ends with it
        (b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok", 0),  # HTTP/1.0 without keep-alive
        (b"HTTP/1.1 200 OK\r\n\r\nbody until the close", 0),  # a body delimited by the close
        (b"HTTP/1.1 100 Continue\r\n\r\n", 0),  # interim
        (CONTINUE_THEN_OK, 0),
        (b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n", 0),
        (b"not HTTP\r\n\r\n", 0),
    ],
)
def test_which_reads_are_one_whole_answer(data: bytes, status: int) -> None:
    assert whole_answer_status(data) == status


class CountingConnection(Connection):
    __slots__ = ("repeats",)

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.repeats = 0

    def data_received(self, data: bytes) -> None:
        self.repeats += data == self.repeat
        super().data_received(data)


def test_repeats_take_the_fast_path_and_count_exactly() -> None:
    class Recording(CountingConnection):
        __slots__ = ()
        last: CountingConnection | None = None

        def __init__(self, *args: Any) -> None:
            super().__init__(*args)
            Recording.last = self

    chunks = [OK] * 10 + [NOT_FOUND] * 10 + [OK] * 3
    result = drive(Case("", b"", []), chunks, connection_class=Recording)
    assert result["statuses"] == [200] * 13 + [404] * 10
    assert result["errors"] == () and result["in_flight"]  # the next request went out after the last answer
    # The first two of a run are parsed (the second arms the recognition), the rest are compared.
    assert Recording.last is not None and Recording.last.repeats == 8 + 8 + 1


ANSWER_POOL = [OK, OK_OTHER, NOT_FOUND, CHUNKED, CONTINUE_THEN_OK, CLOSE, b"HTTP/1.1 204 No Content\r\n\r\n"]


@settings(max_examples=150, deadline=None)
@given(
    script=st.lists(
        st.tuples(st.integers(0, len(ANSWER_POOL) + 1), st.integers(0, 3), st.integers(0, 80)), min_size=1, max_size=30
    )
)
def test_recognising_repeats_never_changes_an_outcome(script: list[tuple[int, int, int]]) -> None:
    """Whatever the reads, a connection that recognises repeats records what one that parses all of them does."""
    chunks: list[bytes] = []
    for choice, times, cut in script:
        if choice == len(ANSWER_POOL):  # an answer carrying whole answers as its body, one a read after its head
            reads = [carrier(times + 1)] + [OK] * (times + 1)
        elif choice == len(ANSWER_POOL) + 1:  # split: the first read is a prefix of an answer
            reads = split(OK_OTHER, [cut]) * (times + 1)
        else:
            reads = [ANSWER_POOL[choice]] * (times + 1)
        chunks += reads
    case = Case("", b"", [])
    assert drive(case, chunks) == drive(case, chunks, repeats=False)
