"""The parent of a load run: starts the workers, keeps one clock, merges what they send.

``run_load`` checks that the target answers a connection, starts one worker
process per requested worker, gives them a common time zero and merges their
intervals as they arrive. Ctrl-C, a breached ``--abort-on-fail`` threshold or
a worker that dies ends the run early; what was measured until then is kept
and the outcome says why it is partial.
"""

from __future__ import annotations

import asyncio
import os
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection as Channel
from multiprocessing.connection import wait
from typing import Any

from asgibench.errors import AsgibenchError, TargetUnreachableError
from asgibench.interrupts import describe, loop_signals
from asgibench.load.aggregate import Aggregate, Second
from asgibench.load.config import LoadConfig
from asgibench.load.driver import Driver, ssl_context
from asgibench.load.http1 import describe_error

START_TIMEOUT = 60.0  # seconds for workers to start and open their first connections
START_MARGIN = 0.2  # seconds between "go" and time zero, so every worker is waiting when it comes
STOP_WAIT = 5.0  # seconds workers get to send what they have after "stop"


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
            if target.scheme == "https":
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
    check_reachable(config, min(config.timeout, 5.0))
    if config.workers == 1:
        return _run_here(config, observer, on_start)
    channels: dict[int, Channel] = {}
    processes: list[subprocess.Popen[bytes]] = []
    try:
        for worker, cpu in enumerate(worker_cpus(config.workers)):
            channel, process = _start_worker(config, worker, cpu)
            channels[worker] = channel
            processes.append(process)
        return _supervise(config, channels, observer, on_start)
    finally:
        for process in processes:
            try:
                process.wait(timeout=STOP_WAIT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for channel in channels.values():
            channel.close()


def _start_worker(config: LoadConfig, worker: int, cpu: int | None) -> tuple[Channel, subprocess.Popen[bytes]]:
    """A fresh interpreter running ``asgibench.load.worker``, joined to us by a socket pair.

    A plain subprocess rather than multiprocessing: spawning re-imports the
    caller's main module, which breaks scripts that call ``run_load`` without
    an ``if __name__ == "__main__"`` guard.
    """
    ours, theirs = socket.socketpair()
    process = subprocess.Popen(
        [sys.executable, "-m", "asgibench.load.worker", str(theirs.fileno())],
        pass_fds=[theirs.fileno()],
        stdin=subprocess.DEVNULL,
        start_new_session=False,
    )
    theirs.close()
    channel = Channel(ours.detach())
    channel.send({"config": config, "worker": worker, "workers": config.workers, "cpu": cpu})
    return channel, process


def _run_here(config: LoadConfig, observer: SecondObserver | None, on_start: StartObserver | None) -> RunOutcome:
    """One worker: run its event loop in this process (no second interpreter to start and feed)."""
    from asgibench.load.worker import run_loop, start_driver

    aggregate = Aggregate(1, [spec.label for spec in config.requests])
    outcome = RunOutcome(config, aggregate, time.time(), config.measured_duration)
    driver: Driver | None = None

    def stop(reason: str) -> None:
        if outcome.partial_reason is None:
            outcome.partial_reason = reason
        if driver is not None:
            driver.stop()

    def emit(message: dict[str, Any]) -> None:
        for second in aggregate.add(message):
            if observer is not None and outcome.partial_reason is None:
                reason = observer(second, aggregate, _elapsed(second, config))
                if reason:
                    stop(reason)

    async def main() -> None:
        nonlocal driver
        loop = asyncio.get_running_loop()
        driver = await start_driver(config, 0, 1, emit)
        origin = time.perf_counter() + START_MARGIN
        outcome.started_at = time.time() + START_MARGIN
        if on_start is not None:
            on_start(outcome.started_at)
        with loop_signals(loop, stop):  # Ctrl-C, SIGTERM and SIGHUP end the run, keeping what it measured
            await driver.run(origin, warmup=config.warmup, duration=config.measured_duration)

    run_loop(main())
    if driver is not None:
        if driver.error is not None:
            outcome.worker_failures.append(f"worker 0: {driver.error}")
            outcome.partial_reason = outcome.partial_reason or f"the load worker failed: {driver.error}"
        outcome.measured_seconds = driver.measured_seconds()
        outcome.connections_opened = driver.connections_opened
        outcome.connections_peak = driver.connections_peak
        aggregate.worker_finished(0, scheduled=driver.scheduled())
    aggregate.drain()
    return outcome


def _supervise(
    config: LoadConfig,
    channels: dict[int, Channel],
    observer: SecondObserver | None,
    on_start: StartObserver | None,
) -> RunOutcome:
    aggregate = Aggregate(config.workers, [spec.label for spec in config.requests])
    _wait_ready(channels)
    origin = time.monotonic() + START_MARGIN
    started_at = time.time() + START_MARGIN
    if on_start is not None:
        on_start(started_at)
    for channel in channels.values():
        channel.send({"type": "go", "origin": origin})
    measure_from = origin + config.warmup
    measure_until = measure_from + config.measured_duration
    # Bounded whatever the workers do: the run, its drain, and time to report.
    hard_deadline = measure_until + config.drain_seconds + config.timeout + START_TIMEOUT
    outcome = RunOutcome(config, aggregate, started_at, 0.0)
    live = dict(channels)
    stopping_since: float | None = None

    def stop(reason: str) -> None:
        nonlocal stopping_since
        if outcome.partial_reason is None:
            outcome.partial_reason = reason
        if stopping_since is None:
            stopping_since = time.monotonic()
            for channel in live.values():
                _send_quietly(channel, {"type": "stop"})

    while live:
        try:
            now = time.monotonic()
            if stopping_since is not None and now - stopping_since > STOP_WAIT or now > hard_deadline:
                for worker in list(live):
                    outcome.worker_failures.append(f"worker {worker} did not finish in time")
                    del live[worker]
                break
            for ready in wait(list(live.values()), timeout=0.2):
                worker = next(key for key, value in live.items() if value is ready)
                channel = live[worker]
                try:
                    message: dict[str, Any] = channel.recv()
                except (EOFError, OSError):
                    del live[worker]
                    if not any(failure.startswith(f"worker {worker}:") for failure in outcome.worker_failures):
                        outcome.worker_failures.append(f"worker {worker} exited unexpectedly")
                    stop(f"worker {worker} exited unexpectedly")
                    completed = aggregate.worker_finished(worker)
                else:
                    completed = _handle(message, worker, live, aggregate, outcome, stop)
                for second in completed:
                    if observer is not None and stopping_since is None:
                        reason = observer(second, aggregate, _elapsed(second, config))
                        if reason:
                            stop(reason)
        except KeyboardInterrupt as interruption:  # Ctrl-C; SIGTERM and SIGHUP too, as Interrupted
            stop(describe(interruption))
    aggregate.drain()
    if not outcome.measured_seconds:  # no worker reported its window (all died): what the clock says
        outcome.measured_seconds = max(0.0, min(time.monotonic(), measure_until) - measure_from)
    return outcome


def _handle(
    message: dict[str, Any],
    worker: int,
    live: dict[int, Channel],
    aggregate: Aggregate,
    outcome: RunOutcome,
    stop: Callable[[str], None],
) -> list[Second]:
    kind = message["type"]
    if kind == "interval":
        return aggregate.add(message)
    if kind == "done":
        del live[worker]
        outcome.connections_opened += message["connections_opened"]
        outcome.connections_peak += message["connections_peak"]
        outcome.measured_seconds = max(outcome.measured_seconds, message["measured_seconds"])
        return aggregate.worker_finished(worker, scheduled=message["scheduled"])
    if kind == "failed":
        outcome.worker_failures.append(f"worker {worker}: {message['message']}")
        stop(f"worker {worker} failed: {message['message']}")
    return []


def _elapsed(second: Second, config: LoadConfig) -> float:
    return min(second.end, config.measured_duration)


def _wait_ready(channels: dict[int, Channel]) -> None:
    waiting = dict(channels)
    deadline = time.monotonic() + START_TIMEOUT
    while waiting:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AsgibenchError(f"{len(waiting)} load worker(s) did not start within {START_TIMEOUT:.0f} s.")
        for ready in wait(list(waiting.values()), timeout=remaining):
            worker = next(key for key, value in waiting.items() if value is ready)
            channel = waiting[worker]
            try:
                message = channel.recv()
            except (EOFError, OSError):
                raise AsgibenchError(f"Load worker {worker} exited while starting.") from None
            if message["type"] == "failed":
                raise AsgibenchError(f"Load worker {worker} failed to start: {message['message']}")
            if message["type"] == "ready":
                del waiting[worker]


def _send_quietly(channel: Channel, message: dict[str, Any]) -> None:
    try:
        channel.send(message)
    except (OSError, ValueError):
        pass  # the worker is already gone
