"""The task a Dask worker runs for one shard of a load: claim its orders, run the load worker, pump its channel.

The load itself runs in the same worker process a local ``--workers N`` run
starts (``asgibench.load.channel.ProcessWorker``): its own interpreter, event
loop and GIL, apart from the Dask worker's own threads. This task only
carries that process's channel over the cluster (``asgibench.cluster.pump``).

A shard runs at most once. Its orders are one message on its inbound queue,
and the first task to take them consumes them: if Dask starts the task again
(its worker died and the scheduler moved it, or a worker came back at the
same address), the queue no longer holds them and the task returns at once.
"""

from __future__ import annotations

import contextlib
import pickle
import time
from typing import Any

from asgibench.cluster.pump import ByteQueue, pump
from asgibench.results.environment import collect

ORDERS_WAIT = 30.0  # seconds a started shard waits for its orders before it gives up
ORDERS_POLL = 0.02


def queue_names(run: str, shard: int) -> tuple[str, str]:
    """The names of a shard's two queues: toward the worker, and back to the supervisor."""
    return f"asgibench-{run}-shard-{shard}-in", f"asgibench-{run}-shard-{shard}-out"


def hello(address: str) -> dict[str, Any]:
    """Who this worker is: the supervisor names it in the result and refuses a mismatched environment."""
    return {"type": "hello", "address": address, "environment": collect()}


def claim_orders(to_worker: ByteQueue, wait: float) -> dict[str, Any] | None:
    """The shard's orders, taken off its queue; None when none come within ``wait`` seconds.

    Taking them is what makes a shard run once: whatever a later run of the
    task finds first (nothing, or a message meant for the first run) is not
    orders, and it ends.
    """
    deadline = time.monotonic() + wait
    while True:
        waiting = to_worker.get(batch=True)  # never waits, unlike an int batch; orders come alone
        if waiting:
            message: dict[str, Any] = pickle.loads(waiting[0])
            return message if message.get("type") == "orders" else None
        if time.monotonic() > deadline:
            return None
        time.sleep(ORDERS_POLL)


def run_shard(run: str, shard: int) -> str:
    """Run shard ``shard`` of run ``run`` on this Dask worker; returns how it ended (for the supervisor's log)."""
    from distributed import Queue, get_client, get_worker

    from asgibench.load.channel import ProcessWorker

    client = get_client()
    to_worker, to_supervisor = (Queue(name, client=client) for name in queue_names(run, shard))
    try:
        to_supervisor.put(pickle.dumps(hello(get_worker().address)))
        orders = claim_orders(to_worker, ORDERS_WAIT)
        if orders is None:
            return "no orders: none came, or an earlier run of this shard took them"
        worker = ProcessWorker(orders["config"], orders["worker"], orders["cpu"])
        try:
            ended = pump(worker.connection, to_worker, to_supervisor)
        finally:
            worker.close()
        return ended.reason
    finally:
        for queue in (to_worker, to_supervisor):  # the scheduler drops a queue once no handle holds it
            with contextlib.suppress(Exception):
                queue.close()
