"""Carry one worker's channel over a pair of Dask queues, both ways, until either side ends.

A worker's channel is a stream of pickled messages on a local connection
(``asgibench.load.channel``). Across a cluster the same bytes ride on two
named ``distributed.Queue``\\ s held by the scheduler: one toward the worker,
one back. A pump sits at each end, in a thread of its own: it forwards what
its local end sends as opaque bytes (nothing is unpickled on the way) and
writes what comes off the inbound queue into the local end.

Queues are polled with ``get(batch=True)``, which never waits: a waiting
``get`` that times out is logged by the scheduler as an error, and one that
does not time out could never be stopped. A poll every ``POLL`` seconds costs
one small call to the scheduler and adds at most that much latency to a
message. The messages are one interval a second, a start (sent a second
ahead of time zero) and a stop, so a quarter second is plenty; polling every
20 ms cost the load's tail on a two-core machine (benchmarks/cluster_scaling.py).
What the local end sends is forwarded at once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Any, Protocol

POLL = 0.25  # seconds between looks at the inbound queue


class ByteQueue(Protocol):
    """What the pump needs of a ``distributed.Queue`` (a fake in unit tests)."""

    def put(self, value: Any, timeout: float | None = None) -> Any: ...

    def get(self, timeout: float | None = None, batch: bool | int = False) -> Any: ...


@dataclass(frozen=True, slots=True)
class PumpEnd:
    reason: str  # why the pump stopped, for the run's failure message when it was not a clean end
    clean: bool  # the local end closed (the worker or the supervisor is done with the channel)


def pump(
    local: Connection[Any, Any],
    inbound: ByteQueue,
    outbound: ByteQueue,
    *,
    should_stop: Callable[[], str | None] = lambda: None,
    poll: float = POLL,
) -> PumpEnd:
    """Move messages until the local end closes, the cluster fails, or ``should_stop`` gives a reason.

    The local end is not closed here: its owner closes it, after writing a
    last message into it if the end was not clean.
    """
    while True:
        try:
            outgoing = local.recv_bytes() if wait([local], poll) else None
        except (EOFError, OSError):
            return PumpEnd("the local end closed", clean=True)
        try:
            if outgoing is not None:
                outbound.put(outgoing)
            incoming = inbound.get(batch=True)
        except Exception as error:  # CommClosedError (an OSError), timeouts, a client closed under us: all the same
            return PumpEnd(f"lost the Dask scheduler ({type(error).__name__})", clean=False)
        try:
            for message in incoming:
                local.send_bytes(message)
        except OSError:
            return PumpEnd("the local end closed", clean=True)
        reason = should_stop()
        if reason is not None:
            return PumpEnd(reason, clean=False)
