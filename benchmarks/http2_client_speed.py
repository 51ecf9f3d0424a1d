"""CPU per request of asgibench's sans-IO HTTP/2 clients: ``Http2Client`` (on h2) and ``Http2FastClient``.

In-process, no sockets. An h2 server costs more per request than either client, so it is run once, beforehand: a
conversation of ``--requests`` GETs in rounds of ``--streams`` concurrent streams (as ``asgibench load --streams``
keeps them) is recorded, the server's bytes of each round kept. Each client then replays it alone: per round, it opens
the streams (``request`` + ``data_to_send``, as ``Http2Link.send`` does) and takes the round's recorded answers in
reads of ``--read-size`` bytes (``receive_data``, as ``Http2Link.data_received`` does). The figure is CPU time
(``time.process_time``) per request, the best of ``--repeat`` replays, each on a fresh client.

The answers are those of a small server such as granian's for ``reference_apps.raw_app`` ("hello, world"): status
200, content-type, content-length (never indexed, as Rust's h2 does), and a date that changes every ``--date-every``
answers (once a second at that many requests/s). h2's HPACK encoder indexes the rest, so most header blocks are a few
indexes. A last row replays answers whose every head changes the server's dynamic table (a fresh x-request-id each):
the fast client's header-block cache never hits, and hpack decodes each block.

    python benchmarks/http2_client_speed.py [--requests 20000] [--streams 16] [--read-size 0] [--repeat 3]
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass

from h2.config import H2Configuration
from h2.connection import H2Connection
from h2.events import RequestReceived
from hpack import NeverIndexedHeaderTuple

from asgibench.load.protocols.fast_http2 import Http2FastClient
from asgibench.load.protocols.http2 import Http2Client, ResponseEnded

AUTHORITY = "127.0.0.1:8000"
BODY = b"hello, world"
REQUEST_HEADERS = [(b"user-agent", b"asgibench")]  # a list, as Http2Link passes them


@dataclass
class Recording:
    opening: bytes  # the server's preface and its answers to ours
    rounds: list[bytes]  # the server's bytes for each round of streams
    streams: int


def record(requests: int, streams: int, date_every: int, churn: bool) -> Recording:
    """Run the conversation once against an h2 server, keeping what the server says."""
    client = Http2FastClient(authority=AUTHORITY, max_streams=streams)
    server = H2Connection(config=H2Configuration(client_side=False, header_encoding=None))
    server.initiate_connection()
    client.initiate()
    server.receive_data(client.data_to_send())
    opening = server.data_to_send()
    client.receive_data(opening)
    server.receive_data(client.data_to_send())
    opening += server.data_to_send()
    rounds = []
    answered = 0
    for _ in range(0, requests, streams):
        for _ in range(streams):
            client.request("GET", "/", REQUEST_HEADERS)
        for event in server.receive_data(client.data_to_send()):
            if isinstance(event, RequestReceived):
                date = b"Mon, 01 Jan 2024 00:%02d:%02d GMT" % divmod(answered // date_every % 3600, 60)
                head = [
                    (b":status", b"200"),
                    (b"content-type", b"text/plain; charset=utf-8"),
                    NeverIndexedHeaderTuple(b"content-length", str(len(BODY)).encode()),
                    (b"date", date),
                ]
                if churn:
                    head.append((b"x-request-id", b"%016d" % answered))
                server.send_headers(event.stream_id, head)
                server.send_data(event.stream_id, BODY, end_stream=True)
                answered += 1
        data = server.data_to_send()
        ended = [event for event in client.receive_data(data) if isinstance(event, ResponseEnded)]
        assert len(ended) == streams, "the recording lost answers"
        rounds.append(data)
    return Recording(opening, rounds, streams)


def replay(client_class: type[Http2Client] | type[Http2FastClient], recording: Recording, read_size: int) -> float:
    """CPU seconds for one client to send every request and take every answer of the recording."""
    client = client_class(authority=AUTHORITY, max_streams=recording.streams)
    client.initiate()
    client.data_to_send()
    client.receive_data(recording.opening)
    client.data_to_send()
    streams = range(recording.streams)
    ended = 0
    started = time.process_time()
    for data in recording.rounds:
        for _ in streams:
            client.request("GET", "/", REQUEST_HEADERS)
        client.data_to_send()
        if read_size:
            for start in range(0, len(data), read_size):
                events = client.receive_data(data[start : start + read_size])
                ended += sum(type(event) is ResponseEnded for event in events)
        else:
            events = client.receive_data(data)
            ended += sum(type(event) is ResponseEnded for event in events)
        client.data_to_send()
    elapsed = time.process_time() - started
    assert ended == len(recording.rounds) * recording.streams, f"{client_class.__name__}: {ended} answers"
    return elapsed


def best_us_per_request(client_class: type, recording: Recording, read_size: int, repeat: int) -> float:
    requests = len(recording.rounds) * recording.streams
    return min(replay(client_class, recording, read_size) for _ in range(repeat)) / requests * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--streams", type=int, default=16, help="concurrent streams per round")
    parser.add_argument("--read-size", type=int, default=0, help="bytes per receive_data (0: a round's answers)")
    parser.add_argument("--date-every", type=int, default=20_000, help="answers between changes of the date")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    plain = record(args.requests, args.streams, args.date_every, churn=False)
    churned = record(args.requests, args.streams, args.date_every, churn=True)
    requests = len(plain.rounds) * plain.streams
    per_round = sum(map(len, plain.rounds)) / len(plain.rounds)
    print(
        f"{requests:,} requests in rounds of {args.streams} streams ({per_round:,.0f} server bytes a round), ", end=""
    )
    print(f"reads of {args.read_size or 'a round'}, best of {args.repeat}")
    print(f"{'client':<42} {'µs CPU/request':>15}")
    rows = [
        ("Http2Client (h2)", Http2Client, plain),
        ("Http2FastClient", Http2FastClient, plain),
        ("Http2Client (h2), every head changes the table", Http2Client, churned),
        ("Http2FastClient, every head changes the table", Http2FastClient, churned),
    ]
    for name, client_class, recording in rows:
        print(f"{name:<48} {best_us_per_request(client_class, recording, args.read_size, args.repeat):>9.2f}")


if __name__ == "__main__":
    main()
