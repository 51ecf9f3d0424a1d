"""The closed and open models over lanes: HTTP/2 streams and WebSocket messages.

The models are the HTTP/1.1 ones; only where a "connection" comes from
changes. ``--streams`` lanes share a link, so the closed model's N users sit
on N / streams connections, and the open model's pool of ``--connections``
and ``--max-connections`` counts connections, each with ``--streams`` lanes.
"""

from __future__ import annotations

from collections.abc import Callable

from asgibench.load.closed_model import ClosedModel
from asgibench.load.config import LoadConfig
from asgibench.load.driver import Driver, Emit
from asgibench.load.http1 import connection_error, describe_error
from asgibench.load.lanes import Lane, LanePool, Link
from asgibench.load.open_model import OpenModel


def link_kind(config: LoadConfig) -> Callable[[LanePool], Link]:
    if config.protocol == "h2":
        from asgibench.load.http2_link import Http2Link

        return Http2Link
    from asgibench.load.websocket_link import WebSocketLink

    return WebSocketLink


class LaneDriving(Driver):
    """What both lane models add to their HTTP/1.1 model: lanes from a pool instead of connections."""

    pool_of_lanes: LanePool

    def open_connection(self, scheduled: float = 0.0, local_index: int = -1) -> Lane:  # type: ignore[override]
        lane = self.pool_of_lanes.lane(scheduled, local_index)
        self.connections.add(lane)  # type: ignore[arg-type]
        self.connections_opened = self.pool_of_lanes.opened
        self.connections_peak = self.pool_of_lanes.peak
        return lane

    async def closing(self) -> None:
        await self.pool_of_lanes.close_all()

    def sweep(self, now: float) -> None:
        """Timeouts, as for HTTP/1.1; and the link of a request that timed out takes no new lane (it may be
        dead without closing), nor does one whose handshake went unanswered (its lanes fail as timeout)."""
        deadline = now - self.timeout
        for lane in list(self.connections):
            if lane.in_flight and lane.sent < deadline and isinstance(lane, Lane) and lane.link is not None:
                lane.link.stalled()
        super().sweep(now)
        self.pool_of_lanes.expire_handshakes(deadline)


class LaneClosedModel(LaneDriving, ClosedModel):
    def __init__(self, config: LoadConfig, *, worker: int, workers: int, emit: Emit) -> None:
        super().__init__(config, worker=worker, workers=workers, emit=emit)
        self.pool_of_lanes = LanePool(self, link_kind(config), config.streams)


class LaneOpenModel(LaneDriving, OpenModel):
    def __init__(self, config: LoadConfig, *, worker: int, workers: int, emit: Emit) -> None:
        super().__init__(config, worker=worker, workers=workers, emit=emit)
        self.pool_of_lanes = LanePool(self, link_kind(config), config.streams)
        self.max_connections *= config.streams  # the pool counts lanes

    def lost(self, connection: Lane, error: BaseException | None) -> None:  # type: ignore[override]
        if connection.local_index >= 0:
            # Lost before it was ever connected (its link failed or went away first): the due request that
            # waited for it was never written, and is settled as a failed connection attempt.
            self.connections.discard(connection)
            self.connect_failed(connection, connection_error(error), describe_error(error))  # type: ignore[arg-type]
            return
        super().lost(connection, error)  # type: ignore[arg-type]

    def prepare(self) -> None:
        """Open the up-front connections, each with all its lanes."""
        initial = self.config.connections // self.workers + (self.worker < self.config.connections % self.workers)
        for _ in range(min(initial * self.config.streams, self.max_connections)):
            self.pool += 1
            self.open_connection()
