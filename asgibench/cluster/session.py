"""The supervisor's side of a cluster run: open the cluster, check its workers, start the shards as channels.

``cluster_run`` yields the channels ``asgibench.load.runner.supervise`` waits
on, one per shard, and what the result says about the cluster. In order:

1. connect (``local:N`` starts a cluster of N single-threaded worker
   processes on this machine; an address joins an existing scheduler);
2. start one task per shard, each pinned to one Dask worker, never retried;
3. each task says who it is (``hello``): host, CPUs, Python, asgibench; a
   worker whose Python or asgibench differs from ours refuses the run;
4. the readiness barrier measures each worker's clock (``asgibench.cluster.clock``)
   and refuses the run when the start skew is above ``--max-skew``;
5. each shard gets its orders (the config, its index) and starts the load
   worker; from here the channel is the same as a local worker's.

A shard whose Dask worker leaves the cluster, or whose link to the scheduler
is lost, reports ``failed`` on its channel and ends it: the supervisor keeps
what was measured, marks the run partial and fails it.
"""

from __future__ import annotations

import contextlib
import logging
import pickle
import signal
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from multiprocessing import resource_tracker
from multiprocessing.connection import Connection
from typing import Any

from asgibench.cluster.address import ClusterAddress, parse_cluster
from asgibench.cluster.clock import ClockOffset, ClockSample, estimate_offset, skew_refusal, start_skew
from asgibench.cluster.pump import pump
from asgibench.cluster.shard import queue_names, run_shard
from asgibench.errors import AsgibenchError, TargetUnreachableError, UsageError
from asgibench.load.channel import CLOSE_WAIT, Channel, SocketChannel
from asgibench.load.config import LoadConfig
from asgibench.results.environment import collect
from asgibench.results.model import ClusterRun, ClusterShard

CONNECT_TIMEOUT = 10.0  # seconds to reach an existing scheduler
HELLO_TIMEOUT = 60.0  # seconds for every shard's task to start and say who it is
CLOCK_SAMPLES = 5  # questions per worker; the shortest round trip bounds the offset
CLOCK_TIMEOUT = 5.0  # seconds one clock question may take
WATCH_EVERY = 0.5  # seconds between looks at whether a shard's Dask worker is still in the cluster
SAME = ("asgibench", "python")  # what every worker must share with the supervisor
TASK_RETURNED = "its Dask task returned"  # a shard's stream ends without a failure of its own
INSTALL_HINT = "Every worker needs asgibench, the same version as here: pip install 'asgibench[cluster]'."
# A local cluster shares the machine with the load and, often, the target. Dask's own housekeeping wakes each of
# its processes hundreds of times a second by default: a stack sample of every running task every 10 ms, an
# event-loop health tick every 20 ms, a memory check every 100 ms, work stealing (shards are pinned: nothing to
# steal), the cluster's summary every 500 ms and a psutil sample (with disk counters) every 500 ms. Each
# wake-up can delay the load workers' own, so the shards get a quiet cluster.
QUIET_WORKERS = {
    "distributed.worker.profile.enabled": False,
    "distributed.admin.tick.interval": "1s",
    "distributed.worker.memory.monitor-interval": "1s",
    "distributed.scheduler.work-stealing": False,
    "distributed.deploy.cluster-repr-interval": "5s",
    "distributed.admin.system-monitor.interval": "5s",
    "distributed.admin.system-monitor.disk": False,
}


def require_distributed() -> None:
    """A clear usage error when the optional extra is not installed."""
    try:
        import distributed  # noqa: F401
    except ImportError:
        raise UsageError(
            "--cluster needs Dask distributed, which is not installed.",
            hint="pip install 'asgibench[cluster]'",
        ) from None


class DaskShard(SocketChannel):
    """A channel to one shard's load worker on a Dask worker: a local socket, pumped to the shard's queues."""

    def __init__(self, client: Any, future: Any, run: str, shard: int, address: str, clock: ClockOffset) -> None:
        from distributed import Queue

        ours, theirs = socket.socketpair()
        super().__init__(ours.detach())
        self.clock_offset = clock.offset  # the go message carries time zero in this worker's own clock
        self._far: Connection[Any, Any] = Connection(theirs.detach())
        self._client, self._future, self._shard, self._address = client, future, shard, address
        to_worker, to_supervisor = (Queue(name, client=client) for name in queue_names(run, shard))
        self._queues = (to_supervisor, to_worker)
        self._next_watch = 0.0
        self._finished_seen = 0
        self._thread = threading.Thread(target=self._pump, name=f"asgibench cluster shard {shard}", daemon=True)
        self._thread.start()

    def _pump(self) -> None:
        ended = pump(self._far, *self._queues, should_stop=self._watch)
        if not ended.clean and ended.reason != TASK_RETURNED:  # say why, then end the stream; what came is kept
            with contextlib.suppress(OSError):
                message = {"type": "failed", "worker": self._shard, "message": ended.reason}
                self._far.send_bytes(pickle.dumps(message))
        self._far.close()

    def _watch(self) -> str | None:
        """Why this shard can say no more, looked at every ``WATCH_EVERY`` seconds; None while it can."""
        now = time.monotonic()
        if now < self._next_watch:
            return None
        self._next_watch = now + WATCH_EVERY
        status = self._future.status
        if status in ("error", "cancelled", "lost"):
            return f"its Dask task ended ({status})"
        if status == "finished":
            # The task forwards everything before it returns: once its queue has been read again since, the
            # stream is over. Its end of stream tells the supervisor, which knows whether it said done first.
            self._finished_seen += 1
            return TASK_RETURNED if self._finished_seen > 1 else None
        try:
            workers = self._client.scheduler_info(n_workers=-1)["workers"]
        except Exception as error:  # the scheduler is gone, or our link to it: Dask raises many kinds
            return f"lost the Dask scheduler ({type(error).__name__})"
        if self._address not in workers:
            return f"its Dask worker {self._address} left the cluster"
        return None

    def close(self) -> None:
        """End the stream; the shard is told to stop, in case it never saw one (a run that ended before go)."""
        to_supervisor, to_worker = self._queues
        with contextlib.suppress(Exception):  # the cluster may be gone: then so is the shard
            if self._future.status == "pending":
                to_worker.put(pickle.dumps({"type": "stop"}))
        super().close()
        self._thread.join(CLOSE_WAIT)
        with contextlib.suppress(Exception):
            if self._future.status == "pending":  # never run later, on a worker that comes back
                self._future.cancel()
        for queue in self._queues:
            with contextlib.suppress(Exception):
                queue.close()


@contextlib.contextmanager
def cluster_run(config: LoadConfig) -> Iterator[tuple[LoadConfig, dict[int, Channel], ClusterRun]]:
    """Start ``config``'s shards on its cluster; yields the config as run (workers = shards), channels, info."""
    assert config.cluster is not None
    address = parse_cluster(config.cluster)
    require_distributed()
    with _client(address) as client:
        with _set_up_failures():
            workers = _workers(client, address, config.workers if config.workers_given else 1)
            shards = config.workers if config.workers_given else len(workers)
            if shards > sum(workers.values()):
                raise UsageError(
                    f"--workers {shards}: the cluster has {sum(workers.values())} worker thread(s), one per shard."
                )
            placement = _place(workers, shards)
            config = replace(config, workers=shards)
            run = uuid.uuid4().hex[:12]
            futures = [
                client.submit(
                    run_shard,
                    run,
                    shard,
                    key=f"asgibench-{run}-shard-{shard}",
                    workers=[where],
                    allow_other_workers=False,
                    pure=False,
                    retries=0,
                )
                for shard, where in enumerate(placement)
            ]
        channels: dict[int, Channel] = {}
        try:
            with _set_up_failures():
                environments = _hellos(client, run, placement, futures)
                _check_environments(environments)
                clocks = {where: _clock(client, where) for where in dict.fromkeys(placement)}
                refusal = skew_refusal(clocks, config.max_skew)
                if refusal is not None:
                    raise UsageError(
                        f"The cluster cannot keep one schedule: {refusal}.",
                        hint="Synchronise the machines' clocks (NTP), or allow more with --max-skew.",
                    )
                cpus = _local_cpus(address, shards)
                for shard, where in enumerate(placement):
                    _orders(
                        client, run, shard, {"type": "orders", "config": config, "worker": shard, "cpu": cpus[shard]}
                    )
                    channels[shard] = DaskShard(client, futures[shard], run, shard, where, clocks[where])
            shard_clocks = {str(shard): clocks[where] for shard, where in enumerate(placement)}
            info = ClusterRun(
                address=address.describe(),
                scheduler=str(client.scheduler.address),
                max_skew_ms=config.max_skew * 1000.0,
                start_skew_ms=start_skew(shard_clocks) * 1000.0,
                shards=tuple(
                    _shard_info(shard, where, environments[shard][1], clocks[where])
                    for shard, where in enumerate(placement)
                ),
            )
            yield config, channels, info
        finally:
            for channel in channels.values():
                channel.close()
            with contextlib.suppress(Exception):
                client.cancel(futures)


@contextlib.contextmanager
def _client(address: ClusterAddress) -> Iterator[Any]:
    from distributed import Client, LocalCluster

    _quiet_dask()
    if address.local_workers is not None:
        import dask

        with contextlib.ExitStack() as cleanup:  # closed even when a held-back Ctrl-C lands as it starts
            try:
                with _terminal_signals_deferred(), dask.config.set(QUIET_WORKERS):
                    cluster = cleanup.enter_context(
                        LocalCluster(
                            n_workers=address.local_workers,
                            threads_per_worker=1,
                            processes=True,
                            dashboard_address=None,
                            silence_logs=logging.CRITICAL,
                        )
                    )
            except Exception as error:
                raise TargetUnreachableError(
                    f"--cluster {address.describe()}: the local cluster did not start: {error}"
                ) from None
            yield cleanup.enter_context(Client(cluster))
        return
    try:
        client = Client(address.scheduler, timeout=CONNECT_TIMEOUT)
    except OSError as error:
        raise TargetUnreachableError(
            f"--cluster {address.describe()}: cannot reach the Dask scheduler: {error}",
            hint="Start one with `dask scheduler`, and workers with `dask worker ADDRESS`.",
        ) from None
    with client:
        yield client


@contextlib.contextmanager
def _terminal_signals_deferred() -> Iterator[None]:
    """Ctrl-C, a hang-up or SIGTERM held back while a local cluster starts, and kept from its processes.

    A terminal sends Ctrl-C and a hang-up to the whole process group, and
    ``timeout`` or a service manager send SIGTERM to it: a Dask worker
    process would die of them, taking its shard's last second with it. The
    worker processes are started with these signals ignored and blocked
    (both are inherited, and kept across exec), so the supervisor, which
    handles them, stops the shards through their channels as it stops local
    workers. Here they are only blocked: one that comes meanwhile waits, and
    is delivered to the supervisor's own handler when the cluster is up.
    Dask's event-loop thread, started meanwhile, keeps them blocked for good,
    so they always reach the main thread. Only the main thread can change
    handlers; from another, nothing changes.
    """
    terminal = {signal.SIGINT, signal.SIGHUP, signal.SIGTERM}
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, terminal)
    try:
        # multiprocessing's resource tracker, a process too, starts now, with these blocked (it ignores SIGINT
        # and SIGTERM itself, and keeps SIGHUP blocked). Starting it unblocks SIGINT and SIGTERM in this thread,
        # so they are blocked again after, before any is ignored: in between, one is handled as usual.
        resource_tracker.ensure_running()
        signal.pthread_sigmask(signal.SIG_BLOCK, terminal)
        previous = {signum: signal.signal(signum, signal.SIG_IGN) for signum in terminal}
        try:
            yield
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)  # one that came meanwhile is handled now


@contextlib.contextmanager
def _set_up_failures() -> Iterator[None]:
    """Dask's own errors while the shards start (the scheduler gone, a call timed out) as one line, exit 3."""
    try:
        yield
    except (AsgibenchError, KeyboardInterrupt, GeneratorExit):
        raise
    except Exception as error:
        reason = str(error).splitlines()[0] if str(error) else ""
        raise TargetUnreachableError(
            f"Lost the Dask cluster while the shards started: {type(error).__name__}"
            + (f": {reason}" if reason else "")
        ) from None


def _quiet_dask() -> None:
    """Dask's own log lines (tracebacks when a worker or the scheduler goes) stay out of the run's output.

    The run explains each failure in one line. Dask's loggers carry their own
    levels and hand records up to the handlers on ``distributed``, so the
    handlers are the place to set the bar.
    """
    for handler in logging.getLogger("distributed").handlers:
        handler.setLevel(logging.CRITICAL)


def _workers(client: Any, address: ClusterAddress, wanted: int) -> dict[str, int]:
    """The cluster's workers and their threads, in a stable order.

    Waits briefly for a local cluster's workers to join, and for ``wanted``
    (the shards of --workers) on an existing one, whose workers may still be starting.
    """
    expected = address.local_workers or wanted
    with contextlib.suppress(Exception):
        client.wait_for_workers(expected, timeout=CONNECT_TIMEOUT)
    workers = {
        name: int(info.get("nthreads", 1)) for name, info in client.scheduler_info(n_workers=-1)["workers"].items()
    }
    if not workers:
        raise TargetUnreachableError(f"--cluster {address.describe()}: the scheduler has no workers.")
    return dict(sorted(workers.items()))


def _place(workers: dict[str, int], shards: int) -> list[str]:
    """Shard i's worker: round robin over the workers, never more shards on one than it has threads."""
    slots = [name for round_ in range(max(workers.values())) for name, threads in workers.items() if round_ < threads]
    return slots[:shards]


def _hellos(client: Any, run: str, placement: list[str], futures: list[Any]) -> dict[int, tuple[str, dict[str, Any]]]:
    """Each shard's first message: its Dask worker's address and environment. Waits for all of them."""
    from distributed import Queue

    queues = {shard: Queue(queue_names(run, shard)[1], client=client) for shard in range(len(placement))}
    found: dict[int, tuple[str, dict[str, Any]]] = {}
    deadline = time.monotonic() + HELLO_TIMEOUT
    next_look = time.monotonic() + WATCH_EVERY
    try:
        while len(found) < len(placement):
            for shard, queue in queues.items():
                if shard in found:
                    continue
                waiting = queue.get(batch=True)  # never waits (an int batch waits for that many); only hello comes now
                if waiting:
                    message = pickle.loads(waiting[0])
                    found[shard] = (message["address"], message["environment"])
                elif futures[shard].status in ("error", "cancelled", "lost"):
                    raise _task_failure(shard, futures[shard])
            if time.monotonic() > next_look:  # a worker that cannot even load the task dies of it
                next_look = time.monotonic() + WATCH_EVERY
                present = client.scheduler_info(n_workers=-1)["workers"]
                for shard, where in enumerate(placement):
                    if shard not in found and where not in present:
                        raise TargetUnreachableError(
                            f"The Dask worker {where} left the cluster before shard {shard} started on it.",
                            hint="Its log says why. A worker dies so, among other reasons, when it cannot import "
                            "asgibench: " + INSTALL_HINT,
                        )
            if time.monotonic() > deadline:
                raise AsgibenchError(
                    f"{len(placement) - len(found)} shard(s) did not start on the cluster within {HELLO_TIMEOUT:.0f} s."
                )
            time.sleep(0.02)
    finally:
        for queue in queues.values():
            with contextlib.suppress(Exception):
                queue.close()
    return found


def _task_failure(shard: int, future: Any) -> AsgibenchError:
    """A shard's task that ended before it said hello: a worker without asgibench is bad set-up (exit 2)."""
    try:
        error = future.exception(timeout=1)
    except Exception:  # cancelled, or the scheduler cannot say
        error = None
    what = f"{type(error).__name__}: {error}" if error is not None else str(future.status)
    message = f"The Dask task of shard {shard} ended before it started: {what}."
    if isinstance(error, ImportError):
        return UsageError(message, hint=INSTALL_HINT)
    return TargetUnreachableError(message)


def _check_environments(environments: dict[int, tuple[str, dict[str, Any]]]) -> None:
    ours = collect()
    wrong = [
        f"{address} has {key} {environment.get(key)} (here: {ours[key]})"
        for address, environment in dict(environments.values()).items()
        for key in SAME
        if environment.get(key) != ours[key]
    ]
    if wrong:
        raise UsageError(
            "The cluster's workers must run the same Python and asgibench as this machine: " + "; ".join(wrong) + ".",
            hint="Install the same versions on every worker machine.",
        )


def _shard_info(shard: int, address: str, environment: dict[str, Any], clock: ClockOffset) -> ClusterShard:
    count = environment.get("cpu_count")
    return ClusterShard(
        shard=shard,
        address=address,
        hostname=str(environment.get("hostname")),
        cpu_model=str(environment.get("cpu_model")),
        cpu_count=None if count is None else int(count),
        python=str(environment.get("python")),
        asgibench=str(environment.get("asgibench")),
        clock_offset_ms=clock.offset * 1000.0,
        clock_uncertainty_ms=clock.uncertainty * 1000.0,
    )


def _clock(client: Any, address: str) -> ClockOffset:
    """The worker's clock against ours (asgibench.cluster.clock), each question bounded in time."""
    samples = []
    for _ in range(CLOCK_SAMPLES):
        if address not in client.scheduler_info(n_workers=-1)["workers"]:  # a question to it would wait 30 s
            raise TargetUnreachableError(f"The Dask worker {address} left the cluster before the run started.")
        sent = time.time()
        answered = client.run(time.time, workers=[address], callback_timeout=CLOCK_TIMEOUT)[address]
        samples.append(ClockSample(sent, answered, time.time()))
    return estimate_offset(samples)


def _local_cpus(address: ClusterAddress, shards: int) -> list[int | None]:
    """On a local cluster, shards are pinned to CPUs as ``--workers N`` would be; elsewhere, never."""
    if address.local_workers is None:
        return [None] * shards
    from asgibench.load.runner import worker_cpus

    return worker_cpus(shards)


def _orders(client: Any, run: str, shard: int, orders: dict[str, Any]) -> None:
    from distributed import Queue

    queue = Queue(queue_names(run, shard)[0], client=client)
    try:
        queue.put(pickle.dumps(orders))
    finally:
        queue.close()
