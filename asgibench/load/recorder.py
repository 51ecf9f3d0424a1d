"""What a worker records: latencies into HDR histograms, errors by kind, bytes, its own lag.

The hot path only appends an integer (microseconds) to a list; every few
milliseconds ``flush`` counts the list with ``Counter`` (C speed) and records
each distinct value once, which costs a sixth of recording values one by one.
Each second the worker closes an interval: its histograms are encoded and
sent to the parent, which merges intervals from all workers by adding them.
"""

from __future__ import annotations

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


def resident_bytes() -> int:
    """This process's resident memory now (Linux), so a run's timeline shows whether memory stays flat."""
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            return int(statm.read().split()[1]) * PAGE_SIZE
    except (OSError, ValueError, IndexError):
        return 0


def new_histogram() -> HdrHistogram:
    return HdrHistogram(LOWEST_US, HIGHEST_US, SIGNIFICANT_DIGITS)


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
            record_all(self.latency, latencies)
        if self.service_times:
            service_times, self.service_times = self.service_times, []
            if self.service is not None:
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
        self.errors = dict.fromkeys(ERROR_KINDS, 0)
        self.bytes_received = self.bytes_sent = 0
        self.latency.reset()
        if self.service is not None:
            self.service.reset()
        self.lag.reset()
        self.late.reset()
        return payload
