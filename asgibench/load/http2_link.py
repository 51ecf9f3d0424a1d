"""An HTTP/2 connection carrying lanes: each lane's request is one stream.

h2c with prior knowledge on ``http://`` targets, TLS with ALPN on
``https://`` ones; a TLS server that does not choose ``h2`` fails the
connection as ``protocol`` (asgibench does not fall back to HTTP/1.1: the
figures would be of another protocol than the one asked for).

The client is ``Http2FastClient``, about 3 µs of CPU a request against
70 µs for the one on h2 (``protocols/http2.py``), which stays as the
reference the fast one is tested against (benchmarks/http2_client_speed.py,
tests/test_http2_clients.py).

Writes are gathered: the requests that the answers of one read start go out
in one write at the end of that read. A stream reset by the server fails its
request as ``stream_reset``, counted by error code; after a GOAWAY the
streams the server did not take fail as ``goaway``, the others finish, and no
new stream is opened on that connection (its lanes move to a new one).
"""

from __future__ import annotations

from collections import deque

from asgibench.load.lanes import Lane, LanePool, Link
from asgibench.load.protocols.fast_http2 import Http2FastClient
from asgibench.load.protocols.http2 import ConnectionEnded, Failed, ResponseEnded, ResponseStarted, StreamReset


class Http2Link(Link):
    def __init__(self, pool: LanePool) -> None:
        super().__init__(pool)
        config = self.driver.config
        self.client = Http2FastClient(
            authority=config.target.host_header,
            scheme="https" if config.target.secure else "http",
            max_streams=pool.capacity,
        )
        self.streams: dict[int, Lane] = {}
        self.receiving = False  # inside data_received: writes wait for its end
        self.waiting: deque[Lane] = deque()  # lanes whose request waits for the server to allow a stream
        # The last GOAWAY's error code; a connection whose stream ids ran out goes away as gracefully as one told to.
        self.goaway = "NO_ERROR"

    def began_protocol(self) -> None:
        assert self.transport is not None
        if self.driver.tls is not None:
            chosen = self.transport.get_extra_info("ssl_object").selected_alpn_protocol()
            if chosen != "h2":
                self.refuse_lanes("protocol", None, f"the server did not agree to HTTP/2 (ALPN chose {chosen})")
                self.cut()
                return
        self.client.initiate()
        self.flush()
        self.open_lanes()

    def flush(self) -> None:
        data = self.client.data_to_send()
        if data and self.transport is not None and not self.closed:
            self.transport.write(data)
            self.driver.recorder.bytes_sent += len(data)

    def send(self, lane: Lane) -> None:
        client = self.client
        if client.going_away:  # reached only if a lane was given this link as it went away: the stream can't open
            self.accepting = False
            self.fail_lane(lane, "goaway", self.goaway, "the connection took no new streams (GOAWAY)")
            return
        if client.available_streams <= 0:  # the server allows fewer streams than --streams: wait for one
            self.waiting.append(lane)
            return
        request = lane.request
        assert request is not None
        spec = request.spec
        path = spec.path or self.driver.config.target.path
        stream_id = self.client.request(spec.method, path, request.headers, spec.body)
        lane.key = stream_id
        lane.head = b""
        lane.status = 0
        self.streams[stream_id] = lane
        if client.going_away:  # that was the last stream id: the next request goes to a new connection
            self.accepting = False
        if not self.receiving:
            self.flush()

    def forget(self, lane: Lane) -> None:
        if lane.key is None and lane in self.waiting:
            self.waiting.remove(lane)  # it never got a stream
            return
        stream_id = lane.key
        if stream_id is not None and self.streams.pop(stream_id, None) is not None:
            self.client.reset(stream_id)  # CANCEL: the server may stop working on it
            if not self.receiving:
                self.send_waiting()
                self.flush()
        lane.key = None

    def data_received(self, data: bytes) -> None:
        driver = self.driver
        driver.recorder.bytes_received += len(data)
        self.receiving = True
        try:
            events = self.client.receive_data(data)
            if self.client.going_away:
                # A GOAWAY in this read: the answers before it are answers, but none may be followed by a request.
                self.accepting = False
            for event in events:
                kind = type(event)
                if kind is ResponseEnded:
                    lane = self.streams.pop(event.stream_id, None)  # type: ignore[union-attr]
                    if lane is not None:
                        lane.key = None
                        if lane.status < 200:  # no final status (malformed, or only 1xx heads): not an answer
                            self.fail_lane(lane, "protocol", None, "a stream ended without a final status")
                        else:
                            driver.response(lane)  # type: ignore[arg-type]
                elif kind is ResponseStarted:
                    lane = self.streams.get(event.stream_id)  # type: ignore[union-attr]
                    if lane is not None:
                        lane.status = event.status  # type: ignore[union-attr]
                        lane.head = b"1"  # begun: a loss from here is "truncated"
                elif kind is StreamReset:
                    self.reset_by_server(event)  # type: ignore[arg-type]
                elif kind is ConnectionEnded:
                    self.going_away(event)  # type: ignore[arg-type]
                elif kind is Failed:
                    self.accepting = False
                    for lane in list(self.lanes):
                        self.fail_lane(lane, "protocol", None, f"not valid HTTP/2: {event.description}")  # type: ignore[union-attr]
                    self.cut()
                    return
        finally:
            self.receiving = False
        self.send_waiting()
        self.flush()

    def send_waiting(self) -> None:
        """Requests that waited for a stream get the ones the server allows now."""
        while self.waiting and self.client.available_streams > 0:
            lane = self.waiting.popleft()
            if lane.in_flight and not lane.closed:
                self.send(lane)

    def reset_by_server(self, event: StreamReset) -> None:
        lane = self.streams.pop(event.stream_id, None)
        if lane is not None:
            lane.key = None
            self.fail_lane(lane, "stream_reset", event.name, f"the server reset the stream ({event.name})")

    def going_away(self, event: ConnectionEnded) -> None:
        self.accepting = False
        self.goaway = event.name
        self.pool.drop(self)
        while self.waiting:  # requests that waited for a stream never got one, and never will here
            lane = self.waiting.popleft()
            self.fail_lane(lane, "goaway", event.name, f"the server went away ({event.name}) before the request")
        for stream_id, lane in list(self.streams.items()):
            if stream_id > event.last_stream_id:
                del self.streams[stream_id]
                lane.key = None
                self.fail_lane(lane, "goaway", event.name, f"the server went away ({event.name}) before the request")
        for lane in list(self.lanes):
            if not lane.in_flight:
                lane.abort()  # idle lanes move to a new connection
