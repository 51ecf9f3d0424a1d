"""What a worker records: latencies into HDR histograms, errors by kind, bytes, its own lag.

The hot path only appends an integer (microseconds) to a list; every few
milliseconds ``flush`` counts the list with ``Counter`` (C speed) and records
each distinct value once, which costs a sixth of recording values one by one.
Each second the worker closes an interval: its histograms are encoded and
sent to the parent, which merges intervals from all workers by adding them.
"""

from __future__ import annotations

import math
import operator
import os
import time
from collections import Counter
from typing import Any

from hdrh.histogram import HdrHistogram

from asgibench.load.http1 import ERROR_KINDS

# Histograms hold microseconds from 1 µs to one hour at 3 significant digits.
LOWEST_US = 1
HIGHEST_US = 3_600_000_000
SIGNIFICANT_DIGITS = 3
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


class Moments:
    """Count, sum and sum of squares of recorded values: an exact mean and deviation without walking a histogram.

    (HdrHistogram computes both by iterating every bucket in Python, which
    cost a tenth of a second per histogram at the end of each run.)
    """

    __slots__ = ("count", "total", "total_squares")

    def __init__(self, count: int = 0, total: int = 0, total_squares: int = 0) -> None:
        self.count, self.total, self.total_squares = count, total, total_squares

    def add(self, values: list[int]) -> None:
        self.count += len(values)
        self.total += sum(values)
        self.total_squares += sum(map(operator.mul, values, values))

    def merge(self, other: list[int]) -> None:
        self.count += other[0]
        self.total += other[1]
        self.total_squares += other[2]

    def as_list(self) -> list[int]:
        return [self.count, self.total, self.total_squares]

    @property
    def mean(self) -> float:
        return self.total / self.count if self.count else 0.0

    @property
    def stdev(self) -> float:
        if self.count < 2:
            return 0.0
        variance = (self.total_squares - self.total * self.total / self.count) / self.count
        return math.sqrt(max(0.0, variance))


def resident_bytes() -> int:
    """This process's resident memory now (Linux), so a run's timeline shows whether memory stays flat."""
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            return int(statm.read().split()[1]) * PAGE_SIZE
    except (OSError, ValueError, IndexError):
        return 0


def new_histogram() -> HdrHistogram:
    return HdrHistogram(LOWEST_US, HIGHEST_US, SIGNIFICANT_DIGITS)


def decode(encoded: bytes) -> HdrHistogram:
    return HdrHistogram.decode(encoded)


def release(histogram: HdrHistogram) -> None:
    """Free a histogram now rather than at the next full garbage collection.

    An HdrHistogram and its encoder refer to each other, so dropping one
    leaves a cycle; the load loop creates few container objects, the cyclic
    collector seldom runs, and a second's worth of them (about 190 KiB each)
    piled up. Cutting the cycle lets reference counting free it at once.
    """
    histogram.encoder = None


def record_all(histogram: HdrHistogram, values: list[int]) -> None:
    for value, count in Counter(values).items():
        histogram.record_value(min(max(value, LOWEST_US), HIGHEST_US), count)


class Recorder:
    """One worker's measurements since the last interval was closed."""

    def __init__(self, *, with_service_time: bool) -> None:
        # Appended to by the hot path; drained by flush().
        self.latencies: list[int] = []
        self.service_times: list[int] = []
        self.lags: list[int] = []
        # Open model: how late requests were written when a connection was free (the generator's own delay).
        self.lateness: list[int] = []
        self.errors: dict[str, int] = dict.fromkeys(ERROR_KINDS, 0)
        self.bytes_received = 0
        self.bytes_sent = 0
        self.with_service_time = with_service_time
        self.latency = new_histogram()
        self.service = new_histogram() if with_service_time else None
        self.lag = new_histogram()
        self.late = new_histogram()
        self.responses = 0
        self.latency_moments = Moments()
        self.service_moments = Moments()
        self._cpu_mark = time.process_time()

    def start_measuring(self) -> None:
        """At the end of the warm-up: forget the counters that are not filtered by request start time.

        Latencies and errors are recorded only for requests that start in the
        measured window, so they need no reset (and a reset would drop the
        first measured answers); bytes, CPU and lag are counted as they come.
        """
        self.bytes_received = self.bytes_sent = 0
        self.lags.clear()
        self.lateness.clear()
        self._cpu_mark = time.process_time()

    def error(self, kind: str) -> None:
        self.errors[kind] += 1

    def flush(self) -> None:
        if self.latencies:
            latencies, self.latencies = self.latencies, []
            self.responses += len(latencies)
            self.latency_moments.add(latencies)
            record_all(self.latency, latencies)
        if self.service_times:
            service_times, self.service_times = self.service_times, []
            if self.service is not None:
                self.service_moments.add(service_times)
                record_all(self.service, service_times)
        if self.lags:
            lags, self.lags = self.lags, []
            record_all(self.lag, lags)
        if self.lateness:
            lateness, self.lateness = self.lateness, []
            record_all(self.late, lateness)

    def close_interval(self, index: int, *, start: float, end: float) -> dict[str, Any]:
        """Everything recorded since the last call, as plain data for the parent; then start afresh."""
        self.flush()
        cpu = time.process_time()
        payload: dict[str, Any] = {
            "index": index,
            "start": start,
            "end": end,
            "responses": self.responses,
            "latency_moments": self.latency_moments.as_list(),
            "service_moments": self.service_moments.as_list(),
            "errors": {kind: count for kind, count in self.errors.items() if count},
            "bytes_received": self.bytes_received,
            "bytes_sent": self.bytes_sent,
            "cpu_seconds": cpu - self._cpu_mark,
            "rss_bytes": resident_bytes(),
            "latency": self.latency.encode() if self.responses else None,
            "service": self.service.encode() if self.service is not None and self.service.total_count else None,
            "lag": self.lag.encode() if self.lag.total_count else None,
            "lateness": self.late.encode() if self.late.total_count else None,
        }
        self._cpu_mark = cpu
        self.responses = 0
        self.latency_moments = Moments()
        self.service_moments = Moments()
        self.errors = dict.fromkeys(ERROR_KINDS, 0)
        self.bytes_received = self.bytes_sent = 0
        self.latency.reset()
        if self.service is not None:
            self.service.reset()
        self.lag.reset()
        self.late.reset()
        return payload
