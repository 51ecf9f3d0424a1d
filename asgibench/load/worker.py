"""One load worker: an event loop (uvloop) running one model's driver, in a process or a thread of its own.

The supervisor (``asgibench.load.runner``) talks to a worker over a channel
(``asgibench.load.channel``). The worker says ``ready`` once its first
connections are open, waits for ``go`` (a shared CLOCK_MONOTONIC time zero, so
all workers keep one schedule), then sends an ``interval`` message each second
and a ``done`` message at the end. ``stop``, or the end of the channel, ends it
early, keeping what it measured. Signals are the supervisor's to handle: a
worker process ignores them, and a worker thread never sees them.
"""

from __future__ import annotations

import asyncio
import os
import resource
import signal
import time
from collections.abc import Coroutine
from typing import Any

from asgibench.load.channel import Channel, Message, worker_end
from asgibench.load.config import LoadConfig
from asgibench.load.driver import Driver, Emit

READY_WAIT = 5.0  # seconds a worker waits for its up-front connections before saying ready anyway
# Seconds a ready worker waits for "go" (the supervisor sends it within runner.START_TIMEOUT of the first
# "ready"): past that the supervisor is gone without closing the channel, as a cluster's can be, and the
# worker ends rather than holding its connections, and its Dask worker's thread, for ever.
GO_WAIT = 120.0


def worker_main(channel: Channel) -> None:
    """A worker process: its orders are the channel's first message."""
    # Signals are the parent's to handle (a terminal sends Ctrl-C and SIGHUP to the whole group): it stops
    # the workers through the channel, and a worker whose parent is gone stops when the channel closes.
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, signal.SIG_IGN)
    orders = channel.recv()
    config: LoadConfig = orders["config"]
    worker: int = orders["worker"]
    workers: int = orders["workers"]
    cpu: int | None = orders["cpu"]
    if cpu is not None:
        os.sched_setaffinity(0, {cpu})
    serve(config, worker, workers, channel)


def serve(config: LoadConfig, worker: int, workers: int, channel: Channel) -> None:
    """Run one worker to its end on an event loop of its own, then close ``channel``.

    An error is reported to the supervisor (which prints it and keeps the
    other workers' results) and raised again, so its traceback is printed;
    when even the report cannot be sent, the supervisor has closed its end
    and there is nobody left to tell.
    """
    try:
        run_loop(_serve(config, worker, workers, channel))
    except Exception as error:
        try:
            channel.send({"type": "failed", "worker": worker, "message": f"{type(error).__name__}: {error}"})
        except OSError:
            return
        raise
    finally:
        channel.close()


def raise_file_limit() -> int:
    """Raise the soft limit on open files to the hard limit (each connection is one); returns it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
        except (ValueError, OSError):
            pass
    return soft


async def start_driver(config: LoadConfig, worker: int, workers: int, emit: Emit) -> Driver:
    """The model's driver for this worker, with the open model's up-front connections opened."""
    raise_file_limit()  # in every worker, in-process or not: each connection is an open file
    from asgibench.load.closed_model import ClosedModel
    from asgibench.load.open_model import OpenModel

    closed: type[ClosedModel] = ClosedModel
    open_: type[OpenModel] = OpenModel
    if config.protocol != "http/1.1":  # HTTP/2 streams and WebSocket messages ride on lanes (lanes.py)
        from asgibench.load.lane_models import LaneClosedModel, LaneOpenModel

        closed, open_ = LaneClosedModel, LaneOpenModel
    if config.model == "closed":
        return closed(config, worker=worker, workers=workers, emit=emit)
    driver = open_(config, worker=worker, workers=workers, emit=emit)
    driver.prepare()
    deadline = time.monotonic() + READY_WAIT
    while any(connection.transport is None for connection in driver.connections) and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    return driver


def run_loop(main: Coroutine[Any, Any, None]) -> None:
    """Run on uvloop where it is installed (not on Windows), else on asyncio's own loop."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(main)
    else:
        uvloop.run(main)


async def _serve(config: LoadConfig, worker: int, workers: int, channel: Channel) -> None:
    loop = asyncio.get_running_loop()
    driver = await start_driver(config, worker, workers, channel.send)

    messages: asyncio.Queue[Message] = asyncio.Queue()

    def readable() -> None:
        try:
            messages.put_nowait(channel.recv())
        except (EOFError, OSError):  # the supervisor is gone: stop, nothing will read the results
            loop.remove_reader(channel.fileno())
            messages.put_nowait({"type": "stop"})

    loop.add_reader(channel.fileno(), readable)
    channel.send({"type": "ready", "worker": worker})
    try:
        message = await asyncio.wait_for(messages.get(), GO_WAIT)
    except TimeoutError:
        return
    if message["type"] != "go":
        return
    origin = message["origin"]
    if "wall" in message:  # a shard on a cluster: time zero in this machine's wall clock (asgibench.cluster.clock)
        origin = message["wall"] - time.time() + time.monotonic()
    # perf_counter and monotonic are both CLOCK_MONOTONIC on Linux; the offset keeps this honest elsewhere.
    origin += time.perf_counter() - time.monotonic()

    async def listen() -> None:
        while True:
            if (await messages.get())["type"] == "stop":
                driver.stop()
                return

    listener = loop.create_task(listen())
    await driver.run(origin, warmup=config.warmup, duration=config.measured_duration)
    listener.cancel()
    if driver.error is not None:  # reported first: the parent keeps this worker's intervals and says why
        channel.send({"type": "failed", "worker": worker, "message": driver.error})
    channel.send(
        {
            "type": "done",
            "worker": worker,
            "interrupted": driver.interrupted,
            "connections_opened": driver.connections_opened,
            "connections_peak": driver.connections_peak,
            "measured_seconds": driver.measured_seconds(),
            "scheduled": driver.scheduled(),
            "start_late": driver.start_late,
        }
    )


if __name__ == "__main__":
    import sys

    worker_main(worker_end(int(sys.argv[1])))
