"""The supervision loop of a load run (``asgibench.load.runner.supervise``), over pretend workers.

Each pretend worker is a script in a thread at the far end of a pipe: it
speaks the workers' messages (with intervals made by the real recorder) and
notes what it is told. No load is sent, except by the last test, which runs
one real in-thread worker against uvicorn on 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from multiprocessing.connection import Connection, Pipe
from typing import Any

import pytest

from asgibench.errors import AsgibenchError
from asgibench.load import runner
from asgibench.load.aggregate import Aggregate, Second
from asgibench.load.config import LoadConfig, Target
from asgibench.load.recorder import Recorder
from asgibench.load.result import assess, build_result
from asgibench.load.runner import RunOutcome, run_load, supervise
from asgibench.load.settings import LoadFlags, resolve
from tests.loadkit import ROOT, assert_accounts, uvicorn

Message = dict[str, Any]
# Long enough for any step of a script on a busy machine, short enough that a hang fails the test instead.
PATIENCE = 15.0

CONFIG = LoadConfig(Target("http://127.0.0.1:9/", "http", "127.0.0.1", 9, "/"), duration=3.0, timeout=1.0, drain=0.5)


class WorkerEnd:
    """What a pretend worker holds: its end of the channel, and a log of every message it was sent."""

    def __init__(self, worker: int, connection: Connection) -> None:
        self.worker = worker
        self.connection = connection
        self.heard: list[str] = []

    def send(self, message: Message) -> None:
        self.connection.send(message)

    def wait_for(self, kind: str) -> bool:
        """Read until a message of ``kind`` comes (True), or the supervisor closes its end or is silent too long."""
        deadline = time.monotonic() + PATIENCE
        while self.connection.poll(max(0.0, deadline - time.monotonic())):
            try:
                message = self.connection.recv()
            except EOFError:
                return False
            self.heard.append(message["type"])
            if message["type"] == kind:
                return True
        return False

    def start(self) -> bool:
        """Say ready and wait for go: what every worker does first."""
        self.send({"type": "ready", "worker": self.worker})
        return self.wait_for("go")

    def interval(self, index: int, responses: int) -> None:
        """One second with ``responses`` 200s at 1 ms, as the real recorder encodes it."""
        recorder = Recorder([spec.expect for spec in CONFIG.requests], with_service_time=False)
        record = recorder.requests[0]
        record.latencies.extend([1000] * responses)
        record.statuses.extend([200] * responses)
        record.completed += responses
        payload = recorder.close_interval(index, start=float(index), end=float(index + 1))
        self.send({"type": "interval", "worker": self.worker} | payload)

    def done(self, seconds: float, connections: int = 2, scheduled: int | None = None) -> None:
        self.send(
            {
                "type": "done",
                "worker": self.worker,
                "interrupted": False,
                "connections_opened": connections,
                "connections_peak": connections,
                "measured_seconds": seconds,
                "scheduled": scheduled,
            }
        )


Script = Callable[[WorkerEnd], None]


class FakeWorker:
    """The supervisor's end of a pretend worker (a ``Channel``); the worker is ``script`` run in a thread."""

    def __init__(self, worker: int, script: Script) -> None:
        self._ours, theirs = Pipe()
        self.end = WorkerEnd(worker, theirs)
        self.closed = False

        def run() -> None:
            try:
                script(self.end)
            finally:
                theirs.close()  # the end of the stream: what a worker that exits leaves

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()

    def send(self, message: Message) -> None:
        self._ours.send(message)

    def recv(self) -> Message:
        message: Message = self._ours.recv()
        return message

    def fileno(self) -> int:
        return self._ours.fileno()

    def close(self) -> None:
        self.closed = True
        self._ours.close()
        self._thread.join(PATIENCE)


@pytest.fixture
def workers() -> Iterator[Callable[..., dict[int, FakeWorker]]]:
    """Start pretend workers from scripts; they are closed at the end of the test, as run_load closes channels."""
    started: list[FakeWorker] = []

    def start(*scripts: Script) -> dict[int, FakeWorker]:
        fakes = {index: FakeWorker(index, script) for index, script in enumerate(scripts)}
        started.extend(fakes.values())
        return fakes

    yield start
    for fake in started:
        fake.close()


def steady(seconds: int, responses: int) -> Script:
    """A worker that runs its whole window: ``seconds`` intervals of ``responses`` each, then done."""

    def script(end: WorkerEnd) -> None:
        if end.start():
            for index in range(seconds):
                end.interval(index, responses)
            end.done(float(seconds))

    return script


def until_stopped(end: WorkerEnd) -> None:
    """A worker that sends two seconds, then waits for stop (only then does it say done)."""
    if end.start():
        end.interval(0, 10)
        end.interval(1, 10)
        if end.wait_for("stop"):
            end.done(1.5)


def timeline(outcome: RunOutcome) -> list[int]:
    return [row["requests"] for row in outcome.aggregate.timeline]


def test_workers_that_finish_are_merged_second_by_second(workers: Callable[..., dict[int, FakeWorker]]) -> None:
    seen: list[tuple[int, int, float]] = []

    def observer(second: Second, aggregate: Aggregate, elapsed: float) -> str | None:
        seen.append((second.index, second.requests, elapsed))
        return None

    fakes = workers(steady(3, 100), steady(3, 50))
    outcome = supervise(CONFIG, fakes, observer)
    assert outcome.partial_reason is None and outcome.worker_failures == []
    assert outcome.aggregate.total.requests == outcome.aggregate.total.ok == 450
    assert timeline(outcome) == [150, 150, 150]
    assert seen == [(0, 150, 1.0), (1, 150, 2.0), (2, 150, 3.0)]  # each second once, when both workers sent it
    assert outcome.measured_seconds == 3.0
    assert outcome.connections_opened == outcome.connections_peak == 4


def test_a_worker_that_vanishes_ends_the_run_and_the_other_workers_data_is_kept(
    workers: Callable[..., dict[int, FakeWorker]],
) -> None:
    def vanishes(end: WorkerEnd) -> None:
        if end.start():
            end.interval(0, 30)  # then it exits without a word: the end of its stream

    fakes = workers(until_stopped, vanishes)
    outcome = supervise(CONFIG, fakes)
    assert outcome.partial_reason == "worker 1 exited unexpectedly"
    assert outcome.worker_failures == ["worker 1 exited unexpectedly"]
    assert fakes[0].end.heard == ["go", "stop"]
    assert outcome.aggregate.total.requests == 10 + 10 + 30  # all worker 0 sent, and worker 1's one second
    assert timeline(outcome) == [40, 10]
    assert outcome.measured_seconds == 1.5  # from the worker that said done
    assert outcome.connections_opened == 2


def test_when_every_worker_is_lost_the_window_is_what_their_intervals_cover(
    workers: Callable[..., dict[int, FakeWorker]],
) -> None:
    def vanishes_after_two_seconds(end: WorkerEnd) -> None:
        if end.start():
            end.interval(0, 30)
            end.interval(1, 30)
            time.sleep(1.5)  # the clock runs on while nothing more arrives (a cluster lost mid-run)

    fakes = workers(vanishes_after_two_seconds, vanishes_after_two_seconds)
    outcome = supervise(CONFIG, fakes)
    assert outcome.partial and outcome.aggregate.total.requests == 120
    assert outcome.measured_seconds == 2.0  # not the 3.5 s the clock saw


def test_an_open_model_run_that_lost_a_worker_does_not_know_its_schedule(
    workers: Callable[..., dict[int, FakeWorker]],
) -> None:
    def reports(end: WorkerEnd) -> None:
        if end.start():
            end.interval(0, 10)
            if end.wait_for("stop"):
                end.done(1.0, scheduled=10)

    def vanishes(end: WorkerEnd) -> None:
        if end.start():
            end.interval(0, 10)

    config = replace(CONFIG, model="open", rate=20.0, workers=2)
    outcome = supervise(config, workers(reports, vanishes))
    summary = assess(outcome, ()).summary
    assert outcome.aggregate.scheduled == 10  # the one worker's share that was reported
    # Its 10 against both workers' 20 outcomes would read as the target falling behind: unknown instead.
    assert summary["scheduled"] is None and summary["target_behind"] is None


def test_a_failed_worker_is_reported_and_its_results_kept(workers: Callable[..., dict[int, FakeWorker]]) -> None:
    def fails(end: WorkerEnd) -> None:  # as a driver whose run ended on a bug: "failed", then its "done"
        if end.start():
            end.interval(0, 20)
            end.send({"type": "failed", "worker": 0, "message": "RuntimeError: a bug"})
            if end.wait_for("stop"):
                end.done(0.4, connections=3)

    fakes = workers(fails)
    outcome = supervise(CONFIG, fakes)
    assert outcome.partial_reason == "worker 0 failed: RuntimeError: a bug"
    assert outcome.worker_failures == ["worker 0: RuntimeError: a bug"]  # not also "exited unexpectedly"
    assert outcome.aggregate.total.requests == 20
    assert outcome.measured_seconds == 0.4 and outcome.connections_opened == 3
    assert fakes[0].end.heard == ["go", "stop"]


def test_an_observer_that_asks_to_stop_stops_every_worker(workers: Callable[..., dict[int, FakeWorker]]) -> None:
    calls: list[int] = []

    def observer(second: Second, aggregate: Aggregate, elapsed: float) -> str | None:
        calls.append(second.index)
        return "threshold breached" if second.index == 0 else None

    fakes = workers(until_stopped, until_stopped, until_stopped)
    started = time.monotonic()
    outcome = supervise(CONFIG, fakes, observer)
    assert time.monotonic() - started < runner.STOP_WAIT  # every worker obeyed: nobody was waited out
    assert outcome.partial_reason == "threshold breached"
    assert [fake.end.heard for fake in fakes.values()] == [["go", "stop"]] * 3
    assert calls == [0]  # nothing more is shown once the run is stopping
    assert outcome.aggregate.total.requests == 60 and timeline(outcome) == [30, 30]  # the rest is kept
    assert outcome.worker_failures == []


def test_a_worker_that_ignores_stop_is_given_up_after_the_stop_wait(
    workers: Callable[..., dict[int, FakeWorker]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runner, "STOP_WAIT", 0.5)

    def deaf(end: WorkerEnd) -> None:
        if end.start():
            end.interval(0, 10)
            end.wait_for("never sent")

    fakes = workers(until_stopped, deaf)
    started = time.monotonic()
    outcome = supervise(CONFIG, fakes, lambda *_: "enough")
    assert time.monotonic() - started < 3.0  # well before the hard deadline (run + drain + timeout + 60 s)
    assert outcome.partial_reason == "enough"
    assert outcome.worker_failures == ["worker 1 did not finish in time"]
    assert outcome.aggregate.total.requests == 30


def test_a_worker_that_fails_to_start_ends_the_run_before_go(workers: Callable[..., dict[int, FakeWorker]]) -> None:
    def cannot_start(end: WorkerEnd) -> None:
        end.send({"type": "failed", "worker": 1, "message": "OSError: too many open files"})

    fakes = workers(until_stopped, cannot_start)
    with pytest.raises(AsgibenchError, match="Load worker 1 failed to start: OSError: too many open files"):
        supervise(CONFIG, fakes)
    assert fakes[0].end.heard == []  # nobody was told to go


def test_an_observer_that_raises_ends_the_run_and_keeps_what_was_measured(
    workers: Callable[..., dict[int, FakeWorker]],
) -> None:
    def observer(second: Second, aggregate: Aggregate, elapsed: float) -> str | None:
        raise ValueError("a bug in the caller")

    fakes = workers(until_stopped)
    outcome = supervise(CONFIG, fakes, observer)
    assert outcome.partial_reason == "the observer failed: ValueError: a bug in the caller"
    assert outcome.worker_failures == ["observer: ValueError: a bug in the caller"]
    assert fakes[0].end.heard == ["go", "stop"]
    assert outcome.aggregate.total.requests == 20


def test_ctrl_c_stops_every_worker_and_keeps_what_was_measured(workers: Callable[..., dict[int, FakeWorker]]) -> None:
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler

    def interrupted_after_a_second(end: WorkerEnd) -> None:
        if end.start():
            end.interval(0, 10)
            time.sleep(0.2)  # the supervisor is past sending "go" (a Ctrl-C before that is before the run)
            main = threading.main_thread().ident
            assert main is not None
            signal.pthread_kill(main, signal.SIGINT)  # as a terminal's Ctrl-C, which the kernel gives it nearly always
            if end.wait_for("stop"):
                end.done(1.2)

    fakes = workers(interrupted_after_a_second, until_stopped)
    outcome = supervise(CONFIG, fakes)
    assert outcome.partial_reason == "interrupted (Ctrl-C)"
    assert [fake.end.heard for fake in fakes.values()] == [["go", "stop"]] * 2
    assert outcome.aggregate.total.requests == 30 and outcome.worker_failures == []


def test_a_worker_that_never_answers_is_given_up_at_the_hard_deadline(
    workers: Callable[..., dict[int, FakeWorker]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runner, "START_TIMEOUT", 0.5)  # the margin past run + drain + timeout: 1 + 0.5 + 1 + 0.5

    def silent(end: WorkerEnd) -> None:
        if end.start():
            end.wait_for("never sent")  # hangs (until PATIENCE, or until the supervisor closes its end)

    config = LoadConfig(CONFIG.target, duration=1.0, timeout=1.0, drain=0.5)
    fakes = workers(steady(1, 5), silent)
    started = time.monotonic()
    outcome = supervise(config, fakes)
    assert 3.0 <= time.monotonic() - started < 6.0
    assert outcome.worker_failures == ["worker 1 did not finish in time"]
    assert outcome.partial_reason == "1 worker(s) did not finish in time"
    assert outcome.aggregate.total.requests == 5 and timeline(outcome) == [5]  # worker 0's second, drained
    assert not fakes[1].closed  # still open: closing it (which ends the worker) is run_load's


def sockets() -> set[str]:
    """This process's open sockets (the channel's pair and the load's connections are all sockets).

    Pipes are left out: libuv opens one pair for good the first time a loop starts in a process.
    """
    found = set()
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):  # the directory's own descriptor, gone once listed
            if (link := os.readlink(f"/proc/self/fd/{fd}")).startswith("socket:"):
                found.add(link)
    return found


def test_a_run_that_ends_in_an_exception_leaves_no_worker_thread_behind() -> None:
    """The worker thread waits for "go"; closing its channel ends it, whatever ended the run."""

    def on_start(time_zero: float) -> None:
        raise RuntimeError("a bug in the caller")

    threads = threading.enumerate()
    with uvicorn() as (url, _):
        config = resolve(LoadFlags(target=url, vus=4, duration="2s"), ROOT)
        before = sockets()
        with pytest.raises(RuntimeError, match="a bug in the caller") as raised:
            run_load(config, on_start=on_start)
        # Checked while the traceback (which holds run_load's frame, so its channels) is alive, as it is in
        # the caller's handler: garbage collection must not be what ends the worker.
        assert threading.enumerate() == threads
        assert sockets() == before
        del raised


def test_one_real_worker_in_a_thread_adds_up_and_leaves_nothing_behind() -> None:
    threads = threading.enumerate()
    with uvicorn() as (url, _):
        config = resolve(LoadFlags(target=url, vus=4, duration="2s"), ROOT)
        assert config.workers == 1
        before = sockets()
        outcome = run_load(config)
        assert sockets() == before
    assert threading.enumerate() == threads
    assert outcome.partial_reason is None and outcome.worker_failures == []
    assert outcome.measured_seconds == pytest.approx(2.0)
    assert outcome.connections_opened >= 4 and outcome.connections_peak == 4
    total = outcome.aggregate.total
    assert total.requests > 100 and total.ok == total.requests
    assert sum(timeline(outcome)) == total.requests
    result = build_result(outcome, assess(outcome, ()))
    assert_accounts(result)
