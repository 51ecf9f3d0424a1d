"""The cluster mode's parts that need no cluster: clock arithmetic, addresses, placement, the pump, versions."""

from __future__ import annotations

import pickle
import threading
from multiprocessing.connection import Pipe
from typing import Any

import pytest

from asgibench.cluster import session
from asgibench.cluster.address import parse_cluster
from asgibench.cluster.clock import ClockOffset, ClockSample, estimate_offset, skew_refusal, start_skew
from asgibench.cluster.pump import pump
from asgibench.cluster.shard import claim_orders
from asgibench.errors import UsageError
from asgibench.report.describe import load_line
from asgibench.results.environment import collect


def test_the_offset_comes_from_the_shortest_round_trip() -> None:
    samples = [
        ClockSample(sent=100.0, answered=105.030, received=100.040),  # 40 ms round trip
        ClockSample(sent=101.0, answered=106.0025, received=101.002),  # 2 ms: the tightest bound
        ClockSample(sent=102.0, answered=107.1, received=102.3),
    ]
    clock = estimate_offset(samples)
    assert clock.offset == pytest.approx(5.0015)
    assert clock.uncertainty == pytest.approx(0.001)


def test_start_skew_is_the_sum_of_the_two_loosest_clocks() -> None:
    offsets = {"a": ClockOffset(3.0, 0.001), "b": ClockOffset(-2.0, 0.004), "c": ClockOffset(0.0, 0.002)}
    assert start_skew(offsets) == pytest.approx(0.006)  # offsets themselves are corrected; only doubt remains
    assert start_skew({"a": ClockOffset(9.0, 0.5)}) == 0.0  # one shard starts with itself
    assert skew_refusal(offsets, 0.006) is None
    refusal = skew_refusal(offsets, 0.005)
    assert refusal is not None and "±4.0 ms (b)" in refusal and "--max-skew 5 ms" in refusal


@pytest.mark.parametrize(
    ("text", "local", "scheduler"),
    [
        ("local:4", 4, None),
        ("local", 2, None),
        ("tcp://10.0.0.5:8786", None, "tcp://10.0.0.5:8786"),
        ("10.0.0.5:8786", None, "tcp://10.0.0.5:8786"),
        ("tls://[::1]:8786", None, "tls://[::1]:8786"),
        ("scheduler.internal:8786", None, "tcp://scheduler.internal:8786"),
    ],
)
def test_cluster_addresses(text: str, local: int | None, scheduler: str | None) -> None:
    address = parse_cluster(text)
    assert (address.local_workers, address.scheduler) == (local, scheduler)


@pytest.mark.parametrize("text", ["local:0", "local:x", "http://h:1", "tcp://host", "tcp://h:1/x", "", "a b:1"])
def test_bad_cluster_addresses_name_the_flag(text: str) -> None:
    with pytest.raises(UsageError, match="--cluster"):
        parse_cluster(text)


def test_a_reports_load_line_names_the_cluster_its_shards_ran_on() -> None:
    base = {"model": "open", "rate": 4000, "duration_s": 10, "workers": 2}
    assert "2 generator workers" in load_line(base)
    assert "2 shards on the Dask cluster local:2" in load_line(base | {"cluster": "local:2"})


def test_shards_go_round_robin_and_never_past_a_workers_threads() -> None:
    workers = {"tcp://a:1": 2, "tcp://b:1": 1, "tcp://c:1": 3}
    assert session._place(workers, 3) == ["tcp://a:1", "tcp://b:1", "tcp://c:1"]
    assert session._place(workers, 6) == ["tcp://a:1", "tcp://b:1", "tcp://c:1", "tcp://a:1", "tcp://c:1", "tcp://c:1"]


def test_a_worker_with_another_python_or_asgibench_refuses_the_run() -> None:
    ours = collect()
    session._check_environments({0: ("tcp://a:1", dict(ours)), 1: ("tcp://b:1", dict(ours))})
    other = dict(ours) | {"asgibench": "0.0.1"}
    with pytest.raises(UsageError) as refused:
        session._check_environments({0: ("tcp://a:1", dict(ours)), 1: ("tcp://b:1", other)})
    assert "tcp://b:1 has asgibench 0.0.1" in refused.value.message and "tcp://a:1" not in refused.value.message


class ListQueue:
    """A stand-in for distributed.Queue: put appends; get(batch=True) takes all that waits, at once.

    Dask's get with any other batch waits for items, which the cluster code must never do: refused here.
    """

    def __init__(self, fail_after: int | None = None) -> None:
        self.items: list[Any] = []
        self.lock = threading.Lock()
        self.gets = 0
        self.fail_after = fail_after

    def put(self, value: Any, timeout: float | None = None) -> None:
        with self.lock:
            self.items.append(value)

    def get(self, timeout: float | None = None, batch: bool | int = False) -> list[Any]:
        self.gets += 1
        if self.fail_after is not None and self.gets > self.fail_after:
            raise OSError("Stream is closed")
        assert batch is True, "a get that waits"
        with self.lock:
            taken, self.items = self.items, []
        return taken


def test_the_pump_carries_messages_both_ways_as_bytes_until_the_local_end_closes() -> None:
    ours, theirs = Pipe()
    inbound, outbound = ListQueue(), ListQueue()
    inbound.put(pickle.dumps({"type": "go", "origin": 1.5}))
    result: list[Any] = []
    thread = threading.Thread(target=lambda: result.append(pump(theirs, inbound, outbound, poll=0.005)))
    thread.start()
    assert ours.poll(5) and ours.recv() == {"type": "go", "origin": 1.5}
    ours.send({"type": "interval", "index": 0})
    ours.send({"type": "done"})
    ours.close()
    thread.join(5)
    assert [pickle.loads(item) for item in outbound.items] == [{"type": "interval", "index": 0}, {"type": "done"}]
    assert result[0].clean


def test_the_pump_stops_with_a_reason_when_the_scheduler_is_lost_or_a_watch_says_so() -> None:
    ours, theirs = Pipe()
    ended = pump(theirs, ListQueue(fail_after=2), ListQueue(), poll=0.001)
    assert not ended.clean and ended.reason == "lost the Dask scheduler (OSError)"
    looks = iter([None, None, "its Dask worker tcp://a:1 left the cluster"])
    ended = pump(theirs, ListQueue(), ListQueue(), poll=0.001, should_stop=lambda: next(looks))
    assert not ended.clean and ended.reason == "its Dask worker tcp://a:1 left the cluster"
    ours.close()


def test_a_shards_orders_are_taken_once_so_a_second_run_of_its_task_ends() -> None:
    queue = ListQueue()
    queue.put(pickle.dumps({"type": "orders", "worker": 1}))
    assert claim_orders(queue, 1.0) == {"type": "orders", "worker": 1}
    assert claim_orders(queue, 0.05) is None  # Dask started the task again: nothing left to take
    queue.put(pickle.dumps({"type": "go", "origin": 1.0}))  # or a message meant for the first run
    assert claim_orders(queue, 1.0) is None
