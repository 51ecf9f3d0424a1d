"""The parent of a load run: starts the workers, keeps one clock, merges what they send.

``run_load`` checks that the target answers a connection, starts the workers
(one in a thread of this process for ``--workers 1``, else one process each:
``asgibench.load.channel``), gives them a common time zero and merges their
intervals as they arrive. One loop, ``supervise``, does that over the workers'
channels, whatever runs them. Ctrl-C, SIGTERM, SIGHUP, a breached
``--abort-on-fail`` threshold, a worker that fails or dies, or one that does
not finish in time ends the run early; what was measured until then is kept
and the outcome says why it is partial.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from asgibench.errors import AsgibenchError, TargetUnreachableError
from asgibench.interrupts import INTERRUPTING, describe, held, signals_as_interrupts
from asgibench.load.aggregate import Aggregate, Second
from asgibench.load.channel import Channel, Message, ProcessWorker, ThreadWorker, wait_any
from asgibench.load.config import LoadConfig
from asgibench.load.driver import ssl_context
from asgibench.load.http1 import describe_error

if TYPE_CHECKING:
    from asgibench.results.model import ClusterRun

START_TIMEOUT = 60.0  # seconds for workers to start and open their first connections
START_MARGIN = 0.2  # seconds between "go" and time zero, so every worker is waiting when it comes
CLUSTER_START_MARGIN = 1.0  # the same across a cluster, where "go" crosses the scheduler and two queue polls
STOP_WAIT = 5.0  # seconds workers get to send what they have after "stop"
# Seconds the loop waits at most between looks at the deadlines and at pending signals. The kernel gives a
# process's signal to its main thread unless that one already has one pending; one handed to the worker thread
# instead is only acted on once the main thread wakes (Python runs handlers there alone).
WAKE_EVERY = 0.5


@dataclass
class RunOutcome:
    config: LoadConfig
    aggregate: Aggregate
    started_at: float  # wall-clock time.time() at time zero
    measured_seconds: float  # of the measured window actually run (shorter when cut short)
    partial_reason: str | None = None
    connections_opened: int = 0
    connections_peak: int = 0  # summed over the workers: the most open at once, at most
    worker_failures: list[str] = field(default_factory=list)
    cluster: ClusterRun | None = None  # where a --cluster run's shards ran
    start_late: dict[int, float] = field(default_factory=dict)  # seconds each worker began after time zero

    @property
    def partial(self) -> bool:
        return self.partial_reason is not None


# Called after each merged second with the running aggregate; returning a reason stops the run.
SecondObserver = Callable[[Second, Aggregate, float], str | None]
# Called once with the wall-clock time (time.time()) of time zero; the measured window opens after the warm-up.
StartObserver = Callable[[float], None]


def check_reachable(config: LoadConfig, timeout: float) -> None:
    """Connect once (and complete the TLS handshake as the run will); an unreachable target is exit 3."""
    target = config.target
    try:
        if target.unix_path is not None:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as unix:
                unix.settimeout(timeout)
                unix.connect(target.unix_path)
            return
        with socket.create_connection((target.host, target.port), timeout=timeout) as tcp:
            if target.secure:  # https and wss: the TLS handshake too
                ssl_context(config).wrap_socket(tcp, server_hostname=target.host).close()
    except ssl.SSLError as error:  # the handshake, certificate verification included
        raise TargetUnreachableError(
            f"TLS handshake with {target.url} failed: {describe_error(error)}.",
            hint="For a self-signed or untrusted certificate, add --insecure (the certificate is then not checked)."
            if isinstance(error, ssl.SSLCertVerificationError)
            else None,
        ) from None
    except OSError as error:
        reason = error.strerror or str(error) or type(error).__name__
        raise TargetUnreachableError(
            f"Cannot reach {target.url}: {reason}.",
            hint="Is the server running and listening there? Start it first, e.g. uvicorn main:app",
        ) from None


def worker_cpus(workers: int) -> list[int | None]:
    """Pin workers to CPUs of this process's affinity set when there is one CPU for each."""
    try:
        available = sorted(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return [None] * workers
    if workers > 1 and len(available) >= workers:
        return list(available[:workers])
    return [None] * workers


def run_load(
    config: LoadConfig, observer: SecondObserver | None = None, on_start: StartObserver | None = None
) -> RunOutcome:
    """Run the load ``config`` describes; ``observer`` sees each merged second, ``on_start`` the time zero.

    Ctrl-C stops the run and keeps what it measured; SIGTERM and SIGHUP too,
    inside ``signals_as_interrupts`` (the CLI's commands run in it, and a
    caller that left them to their default action gets it for the run).
    """
    check_reachable(config, min(config.timeout, 5.0))
    if config.cluster is not None:
        from asgibench.cluster.session import cluster_run  # Dask loads only for a cluster run

        with _interruptible(), cluster_run(config) as (sharded, shards, cluster):
            outcome = supervise(sharded, shards, observer, on_start, start_margin=CLUSTER_START_MARGIN)
            outcome.cluster = cluster
            return outcome
    channels: dict[int, Channel] = {}
    with _interruptible():
        try:
            if config.workers == 1:  # no second interpreter to start and feed: its start-up is CPU the run pays for
                channels[0] = ThreadWorker(config)
            else:
                for worker, cpu in enumerate(worker_cpus(config.workers)):
                    channels[worker] = ProcessWorker(config, worker, cpu)
            return supervise(config, channels, observer, on_start)
        finally:
            for channel in channels.values():
                channel.close()


def _interruptible() -> contextlib.AbstractContextManager[None]:
    """SIGTERM and SIGHUP stop the run as Ctrl-C does, when nobody has set them to anything but their default.

    Their default ends the process at once: the worker thread with it, and
    nothing measured kept. Handlers already in place are left alone: the
    CLI's own ``signals_as_interrupts`` ignores a repeat of the signal it
    acted on, which a second one nested inside would not know about.
    """
    if any(signal.getsignal(signum) is signal.SIG_DFL for signum in INTERRUPTING):
        return signals_as_interrupts()
    return contextlib.nullcontext()


def supervise(
    config: LoadConfig,
    channels: Mapping[int, Channel],
    observer: SecondObserver | None = None,
    on_start: StartObserver | None = None,
    start_margin: float = START_MARGIN,
) -> RunOutcome:
    """Wait for every worker's ``ready``, send ``go`` with one time zero, then merge until all are done.

    The channels stay open (``run_load`` closes them). A worker that never
    says ``ready``, or fails before it, ends the run with an AsgibenchError.
    """
    _wait_ready(channels)
    origin = time.monotonic() + start_margin
    started_at = time.time() + start_margin
    if on_start is not None:
        on_start(started_at)
    for channel in channels.values():
        _send_quietly(channel, _go(channel, origin, started_at))  # one already gone shows as its end of stream
    supervisor = _Supervisor(config, channels, origin, started_at, observer)
    while supervisor.live:
        try:
            supervisor.step()
        except KeyboardInterrupt as interruption:  # Ctrl-C; SIGTERM and SIGHUP too, as Interrupted
            with held():  # a second one must not cut the stop short
                supervisor.stop(describe(interruption))
    return supervisor.finish()


class _Supervisor:
    """The state of one run's supervision: the workers still running, the merged results, why it stopped."""

    def __init__(
        self,
        config: LoadConfig,
        channels: Mapping[int, Channel],
        origin: float,
        started_at: float,
        observer: SecondObserver | None,
    ) -> None:
        self.config = config
        self.live = dict(channels)
        self.observer = observer
        self.aggregate = Aggregate(len(channels), [spec.label for spec in config.requests])
        self.outcome = RunOutcome(config, self.aggregate, started_at, 0.0)
        self.measure_from = origin + config.warmup
        self.measure_until = self.measure_from + config.measured_duration
        # Bounded whatever the workers do: the run, its drain, and time to report.
        self.hard_deadline = self.measure_until + config.drain_seconds + config.timeout + START_TIMEOUT
        self.stopping_since: float | None = None
        self.reported = False  # whether any worker said done, with how much of the window it ran
        self.covered = 0.0  # how far into the window the intervals received reach (seconds)

    def step(self) -> None:
        """Wait for messages until the next deadline, then take every one that came (or give up on the rest)."""
        deadline = self.hard_deadline
        if self.stopping_since is not None:
            deadline = min(deadline, self.stopping_since + STOP_WAIT)
        timeout = deadline - time.monotonic()
        if timeout <= 0:
            self._give_up()
            return
        ready = wait_any(self.live, min(timeout, WAKE_EVERY))  # Ctrl-C comes here, nearly always
        if ready:
            with held():  # a signal waits until the messages are merged: no half-added interval in the result
                for worker in ready:
                    self._receive(worker)

    def stop(self, reason: str) -> None:
        """End the run early: ``stop`` to every worker still running; the first reason is the one kept."""
        if self.outcome.partial_reason is None:
            self.outcome.partial_reason = reason
        if self.stopping_since is None:
            self.stopping_since = time.monotonic()
            for channel in self.live.values():
                _send_quietly(channel, {"type": "stop"})

    def finish(self) -> RunOutcome:
        self.aggregate.drain()
        outcome = self.outcome
        if not self.reported:
            # No worker said how much of its window it ran (all died, or the cluster was lost): the window is what
            # their intervals cover. The clock may have run on while their last seconds were lost on the way, and
            # dividing by it would understate the throughput they achieved.
            outcome.measured_seconds = min(self.covered, self.config.measured_duration)
        return outcome

    def _receive(self, worker: int) -> None:
        try:
            message = self.live[worker].recv()
        except (EOFError, OSError):  # the worker is gone without saying done: what it sent is kept
            del self.live[worker]
            failures = self.outcome.worker_failures
            if not any(failure.startswith(f"worker {worker}:") for failure in failures):  # not after its "failed"
                failures.append(f"worker {worker} exited unexpectedly")
            self.stop(f"worker {worker} exited unexpectedly")
            self._observe(self.aggregate.worker_finished(worker))
            return
        kind = message["type"]
        if kind == "interval":
            self.covered = max(self.covered, message["end"])
            self._observe(self.aggregate.add(message))
        elif kind == "done":
            del self.live[worker]
            self.reported = True
            self.outcome.connections_opened += message["connections_opened"]
            self.outcome.connections_peak += message["connections_peak"]
            self.outcome.measured_seconds = max(self.outcome.measured_seconds, message["measured_seconds"])
            if message.get("start_late") is not None:
                self.outcome.start_late[worker] = message["start_late"]
            self._observe(self.aggregate.worker_finished(worker, scheduled=message["scheduled"]))
        elif kind == "failed":  # its intervals are kept, and its "done" (if it can still send one) still counts
            self.outcome.worker_failures.append(f"worker {worker}: {message['message']}")
            self.stop(f"worker {worker} failed: {message['message']}")

    def _observe(self, seconds: list[Second]) -> None:
        """Show the observer each completed second, until the run is stopping; it may stop the run."""
        for second in seconds:
            if self.observer is None or self.stopping_since is not None:
                return
            try:
                reason = self.observer(second, self.aggregate, min(second.end, self.config.measured_duration))
            except Exception as error:  # a bug in the caller's code: the run ends, what it measured is kept
                failure = f"{type(error).__name__}: {error}"
                self.outcome.worker_failures.append(f"observer: {failure}")
                self.stop(f"the observer failed: {failure}")
                return
            if reason:
                self.stop(reason)

    def _give_up(self) -> None:
        """Past a deadline: the workers still running are left to ``close``, their missing seconds drained."""
        for worker in self.live:
            self.outcome.worker_failures.append(f"worker {worker} did not finish in time")
        if self.outcome.partial_reason is None:
            self.outcome.partial_reason = f"{len(self.live)} worker(s) did not finish in time"
        self.live.clear()


def _wait_ready(channels: Mapping[int, Channel]) -> None:
    waiting = dict(channels)
    deadline = time.monotonic() + START_TIMEOUT
    while waiting:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AsgibenchError(f"{len(waiting)} load worker(s) did not start within {START_TIMEOUT:.0f} s.")
        for worker in wait_any(waiting, remaining):
            try:
                message = waiting[worker].recv()
            except (EOFError, OSError):
                raise AsgibenchError(f"Load worker {worker} exited while starting.") from None
            if message["type"] == "failed":
                raise AsgibenchError(f"Load worker {worker} failed to start: {message['message']}")
            if message["type"] == "ready":
                del waiting[worker]


def _go(channel: Channel, origin: float, started_at: float) -> Message:
    """Time zero for one worker: on this machine's monotonic clock, or, for a shard elsewhere, in its wall clock."""
    offset: float | None = getattr(channel, "clock_offset", None)  # set by asgibench.cluster.session.DaskShard
    if offset is None:
        return {"type": "go", "origin": origin}
    return {"type": "go", "origin": origin, "wall": started_at + offset}


def _send_quietly(channel: Channel, message: Message) -> None:
    try:
        channel.send(message)
    except (OSError, ValueError):
        pass  # the worker is already gone: its channel says so to the loop
