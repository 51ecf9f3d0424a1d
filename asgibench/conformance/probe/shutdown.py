"""Stopping a server with a request in flight: does it drain the connection before ``lifespan.shutdown``, and
wait for ``lifespan.shutdown.complete`` before it exits?

The recording app's "slow" behaviour answers after a second and its lifespan
cleanup takes half a second. The server is stopped as the launcher always
stops it (SIGTERM, SIGKILL after a grace), from a thread, while this side
keeps reading the request's answer. Every wait is bounded.
"""

from __future__ import annotations

import threading
import time

from asgibench.conformance.observation import Observation
from asgibench.conformance.probe.cases import APP_END_WAIT, SHUTDOWN_CASE, raw_request
from asgibench.conformance.probe.log import ProbeLog
from asgibench.conformance.probe.wire import HttpWire
from asgibench.launch.server import LaunchedServer, stop

IN_FLIGHT_WAIT = 3.0  # for the slow request to reach the app


def stop_in_flight(server: LaunchedServer, log: ProbeLog) -> Observation:
    """Send a slow request, stop the server once the app holds it, read the answer while it stops.

    Notes: ``stop_at`` (SIGTERM sent), ``exited_at`` (the process gone), both on the probe's monotonic clock.
    """
    wire = HttpWire(server.port)
    observation = Observation(SHUTDOWN_CASE)
    try:
        wire.send(raw_request(SHUTDOWN_CASE, "slow"))
        if not wire.wait(lambda: _holding(log), IN_FLIGHT_WAIT):
            observation.notes.append("the slow request never reached the app")
        exited: list[float] = []

        def stop_and_time() -> None:
            stop(server)
            exited.append(time.monotonic())

        stopper = threading.Thread(target=stop_and_time, daemon=True)
        observation.notes.append(f"stop_at={time.monotonic()}")
        stopper.start()
        wire.read(timeout=APP_END_WAIT)
        wire.wait(lambda: wire.closed, 1.0)  # the server's close, if it comes soon
        stopper.join()
        if exited:
            observation.notes.append(f"exited_at={exited[0]}")
    finally:
        wire.close()
    observation.app = log.app(SHUTDOWN_CASE)
    observation.wire = wire.record
    return observation


def _holding(log: ProbeLog) -> bool:
    return any(event.value == "sleeping" for event in log.app(SHUTDOWN_CASE).of_kind("note"))
