"""A WebSocket connection carrying lanes: each lane's request is one message, its reply the echo.

Every message goes out with an id of ``ID_BYTES`` at the start of its payload
(the rest is the configured payload), and a reply is matched to its message by
that id: at the start of the reply, or anywhere in it (a server that wraps
what it echoes). Replies are never matched by order alone, so a server that
answers out of order, drops a message or sends one of its own is measured
truly; a reply that matches nothing in flight is counted as ``unmatched``.

The handshake is timed from the connection attempt to the accepted upgrade
(the ``handshake`` timing). An upgrade answered with another status fails the
attempt as ``handshake``, counted by that status; a server that closes with a
message in flight fails it as ``closed``, counted by the close code (1006
when the connection ended without a close frame, as RFC 6455 names it).
After the run each connection is closed with code 1000 and its closing
handshake is given ``lanes.CLOSE_GRACE`` to complete.
"""

from __future__ import annotations

import itertools
import re
from typing import TYPE_CHECKING

from asgibench.load.lanes import Lane, LanePool, Link
from asgibench.load.protocols.websocket import Closed, Failed, Message, Opened, Refused, WebSocketClient

if TYPE_CHECKING:
    from asgibench.load.driver import Driver

ID_BYTES = 16
_ID_PATTERN = re.compile(rb"ab[0-9a-f]{14}")
# Message ids are unique within a worker: a late echo of a timed-out message on a reused link matches nothing.
_ids = itertools.count()
# RFC 6455 section 7.1.5: the close code of a connection that ended without a close frame.
ABNORMAL_CLOSURE = 1006


def message_id() -> bytes:
    return b"ab%014x" % (next(_ids) & 0xFFFFFFFFFFFFFF)


def handshake_headers(driver: Driver) -> list[tuple[str, str]]:
    """Headers of the upgrade request: those of the scenario's first message (a token, a cookie)."""
    return [(name, value) for name, value in driver.config.requests[0].headers if name.lower() != "host"]


class WebSocketLink(Link):
    def __init__(self, pool: LanePool) -> None:
        super().__init__(pool)
        driver = self.driver
        target = driver.config.target
        self.client = WebSocketClient(
            host=target.host_header,
            path=target.path,
            secure=target.secure,
            subprotocols=driver.config.subprotocols,
            headers=handshake_headers(driver),
        )
        self.waiting: dict[bytes, Lane] = {}  # message id -> the lane whose message it was
        self.close_code = ABNORMAL_CLOSURE  # the server's close code, once it closed

    def began_protocol(self) -> None:
        data = self.client.connect()
        self.driver.recorder.bytes_sent += len(data)
        assert self.transport is not None
        self.transport.write(data)

    def send(self, lane: Lane) -> None:
        if self.client.state != "open":  # closing: the message cannot go; its lane moves to a new connection
            self.accepting = False
            self.fail_lane(lane, "closed", str(self.close_code), "the WebSocket was closing")
            return
        request = lane.request
        assert request is not None and self.transport is not None
        key = message_id()
        lane.key = key
        lane.head = b""
        self.waiting[key] = lane
        payload = key + request.data[ID_BYTES:]
        frame = self.client.send(payload, binary=request.spec.message == "binary")
        self.transport.write(frame)
        driver = self.driver
        driver.recorder.bytes_sent += len(frame) - len(request.data)  # the model counted the payload
        if driver.measuring(lane.sent):
            driver.recorder.counts["messages_sent"] += 1

    def forget(self, lane: Lane) -> None:
        if lane.key is not None:
            self.waiting.pop(lane.key, None)
            lane.key = None

    def data_received(self, data: bytes) -> None:
        driver = self.driver
        driver.recorder.bytes_received += len(data)
        events = self.client.receive_data(data)
        answer = self.client.data_to_send()  # pongs, the close echo
        if answer and self.transport is not None and not self.closed:
            self.transport.write(answer)
        if self.client.state != "open" and self.ready:
            # A close came in this read: replies before it are answers, but none may be followed by a message.
            self.accepting = False
        for event in events:
            if type(event) is Message:
                self.reply(event.payload)
            else:
                self.settle(event)

    def reply(self, payload: bytes) -> None:
        driver = self.driver
        now = self.driver.clock()
        if driver.measuring(now):
            driver.recorder.counts["messages_received"] += 1
        lane = self.waiting.pop(payload[:ID_BYTES], None)
        if lane is None:
            lane = self.match_inside(payload)
            if lane is None:
                if driver.measuring(now):
                    driver.recorder.counts["messages_unmatched"] += 1
                return
        lane.key = None
        lane.status = 101
        driver.response(lane)  # type: ignore[arg-type]

    def match_inside(self, payload: bytes) -> Lane | None:
        for found in _ID_PATTERN.finditer(payload):
            lane = self.waiting.pop(found.group(), None)
            if lane is not None:
                return lane
        return None

    def settle(self, event: object) -> None:
        driver = self.driver
        if isinstance(event, Opened):
            now = self.driver.clock()
            if driver.record_from <= self.began < driver.measure_until:
                driver.recorder.timings.pending["handshake"].append(int((now - self.began) * 1_000_000))
            self.open_lanes()
        elif isinstance(event, Refused):
            status = event.status
            message = f"the upgrade was answered {status} {event.reason}".rstrip()
            self.refuse_lanes("handshake", str(status), message)
            self.cut()
        elif isinstance(event, Closed):
            code = ABNORMAL_CLOSURE if event.code is None else event.code
            self.close_code = code
            self.accepting = False
            if not driver.done:
                reason = f" ({event.reason})" if event.reason else ""
                for lane in list(self.lanes):
                    self.fail_lane(lane, "closed", str(code), f"the server closed the WebSocket with {code}{reason}")
            if self.transport is not None and not self.closed:
                self.transport.close()
        elif isinstance(event, Failed):
            self.accepting = False
            if not self.ready:  # a bad 101 (accept key, subprotocol): the connection attempts failed
                self.refuse_lanes("protocol", None, f"not a valid WebSocket upgrade: {event.description}")
                self.cut()
                return
            for lane in list(self.lanes):
                self.fail_lane(lane, "protocol", None, f"not valid WebSocket: {event.description}")
            self.cut()

    def eof_received(self) -> bool:
        for event in self.client.receive_eof():
            self.settle(event)
        return False

    def shut(self) -> None:
        """Close with 1000 and wait for the server's echo (the link closes when it comes, or is cut later)."""
        self.accepting = False
        self.pool.drop(self)
        if self.client.state == "closing" and not self.closed:
            return  # our close frame is out: the link closes when the server's echo comes (or is cut later)
        if self.ready and self.transport is not None and not self.closed and self.client.state == "open":
            data = self.client.close(1000)
            self.transport.write(data)
            return
        super().shut()
