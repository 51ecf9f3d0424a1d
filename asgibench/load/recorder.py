"""What a worker records: per named request, latencies into HDR histograms and every outcome; its own lag and CPU.

The hot path only appends integers to lists (a latency in microseconds, a
status code) and bumps a counter; every 100 ms ``flush`` counts the lists with
``Counter`` (C speed) and records each distinct value once, which costs a
sixth of recording values one by one. Each second the worker closes an
interval: its histograms are encoded and sent to the parent, which merges
intervals from all workers by adding them.

Outcomes are counted where they happen (the response callback, the error
paths, the end of the run) and classified per request kind, so the parent
can check that they add up: ok + errors == requests.
"""

from __future__ import annotations

import math
import operator
import os
import time
from collections import Counter
from collections.abc import Mapping
from typing import Any

from hdrh.histogram import HdrHistogram

from asgibench.load.expect import Expectation
from asgibench.results.outcomes import ERROR_KINDS, UNSENT_REASONS

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


def decode(encoded: bytes | str) -> HdrHistogram:
    return HdrHistogram.decode(encoded)


def release(histogram: HdrHistogram) -> None:
    """Free a histogram now rather than at the next full garbage collection.

    An HdrHistogram and its encoder refer to each other, so dropping one
    leaves a cycle; the load loop creates few container objects, the cyclic
    collector seldom runs, and a second's worth of them (about 190 KiB each)
    piled up. Cutting the cycle lets reference counting free it at once.
    """
    histogram.encoder = None


def fresh(histogram: HdrHistogram) -> HdrHistogram:
    """An empty histogram in place of ``histogram``: HdrHistogram.reset() zeroes its 23,552 counts one by one in
    Python (1.1 ms, several times a second, on the load loop); a new one is a tenth of that."""
    release(histogram)
    return new_histogram()


# Each value's place in a histogram's counts, shared by all (they have one layout). HdrHistogram.record_value
# works it out in Python for every call (about 2 us); a flush records a few hundred distinct values, twice.
_POSITIONS: dict[int, int] = {}
POSITIONS_KEPT = 100_000  # bounded: a long run with widely spread latencies stops adding, and computes the rest


def record_counts(histogram: HdrHistogram, counts: Mapping[int, int]) -> None:
    """Record each value of ``counts`` that many times (values outside the histogram's range at its edges).

    What HdrHistogram.record_value does for each, with the position looked up instead of computed.
    """
    if not counts:
        return
    positions = _POSITIONS
    array = histogram.counts
    total = 0
    for value, count in counts.items():
        position = positions.get(value)
        if position is None:
            position = histogram._counts_index_for(min(max(value, LOWEST_US), HIGHEST_US))
            if len(positions) < POSITIONS_KEPT:
                positions[value] = position
        array[position] += count
        total += count
    histogram.total_count += total
    histogram.min_value = min(histogram.min_value, min(max(min(counts), LOWEST_US), HIGHEST_US))
    histogram.max_value = max(histogram.max_value, min(max(max(counts), LOWEST_US), HIGHEST_US))


def record_all(histogram: HdrHistogram, values: list[int]) -> None:
    record_counts(histogram, Counter(values))


def _encoded(histogram: HdrHistogram | None) -> bytes | None:
    return histogram.encode() if histogram is not None and histogram.total_count else None


class StatusLatencies:
    """Latencies by status code, across named requests: each code its own histogram (k6's {status:...} tag).

    Filled at flush from the parallel lists the hot path keeps (a latency and
    a status per response); nearly always one code per flush, counted at C speed.
    """

    def __init__(self) -> None:
        self.by_status: dict[int, tuple[HdrHistogram, Moments]] = {}

    def add(self, latencies: list[int], statuses: list[int], counted: Counter[int], moments: Moments) -> bool:
        """One flush's latencies and their statuses; ``counted`` and ``moments``: the latencies already counted.

        True when every response of the flush had the same status (nearly always): its counts served as they are.
        """
        first = statuses[0]
        if statuses.count(first) == len(statuses):
            histogram, total = self._of(first)
            total.merge(moments.as_list())
            record_counts(histogram, counted)
            return True
        groups: dict[int, list[int]] = {}
        for latency, status in zip(latencies, statuses, strict=True):
            groups.setdefault(status, []).append(latency)
        for status, values in groups.items():
            self._add(status, values)
        return False

    def _of(self, status: int) -> tuple[HdrHistogram, Moments]:
        if status not in self.by_status:
            self.by_status[status] = (new_histogram(), Moments())
        return self.by_status[status]

    def _add(self, status: int, latencies: list[int]) -> None:
        histogram, moments = self._of(status)
        moments.add(latencies)
        record_all(histogram, latencies)

    def close(self) -> dict[str, dict[str, Any]]:
        """Each code's histogram and moments since the last call, as plain data; then start afresh."""
        payload = {
            str(status): {"latency": histogram.encode(), "latency_moments": moments.as_list()}
            for status, (histogram, moments) in sorted(self.by_status.items())
        }
        for histogram, _ in self.by_status.values():
            release(histogram)
        self.by_status = {}
        return payload


class RequestRecord:
    """One named request's measurements in this worker since the last interval.

    The hot path appends to ``latencies``, ``service_times`` and ``statuses``
    and bumps ``completed`` (every final response that arrives inside the
    window, whatever its start: the achieved throughput); everything else is
    counted off the hot path.
    """

    __slots__ = (
        "expected",
        "checks",
        "latencies",
        "service_times",
        "statuses",
        "completed",
        "errors",
        "unsent",
        "check_counts",
        "status_counts",
        "latency",
        "service",
        "latency_moments",
        "service_moments",
    )

    def __init__(self, expectation: Expectation, *, with_service_time: bool) -> None:
        self.expected = expectation.codes
        self.checks = len(expectation.check_names())
        self.latencies: list[int] = []
        self.service_times: list[int] = []
        self.statuses: list[int] = []
        self.completed = 0
        self.errors = dict.fromkeys(ERROR_KINDS, 0)
        self.unsent = dict.fromkeys(UNSENT_REASONS, 0)
        self.check_counts = [[0, 0] for _ in range(self.checks)]  # [passed, failed]; index 0 is the status rule
        self.status_counts: Counter[int] = Counter()
        self.latency = new_histogram()
        self.service = new_histogram() if with_service_time else None
        self.latency_moments = Moments()
        self.service_moments = Moments()

    def error(self, kind: str) -> None:
        self.errors[kind] += 1

    def flush(self, by_status: StatusLatencies) -> None:
        if self.latencies:
            latencies, self.latencies = self.latencies, []
            counted = Counter(latencies)  # once, for this name's histogram and its status's
            moments = Moments()
            moments.add(latencies)
            self.latency_moments.merge(moments.as_list())
            record_counts(self.latency, counted)
            statuses, self.statuses = self.statuses, []  # appended in step with the latencies
            if by_status.add(latencies, statuses, counted, moments):
                self.status_counts[statuses[0]] += len(statuses)
            else:
                self.status_counts.update(statuses)
        if self.service_times:
            service_times, self.service_times = self.service_times, []
            if self.service is not None:
                self.service_moments.add(service_times)
                record_all(self.service, service_times)

    def close(self, by_status: StatusLatencies) -> dict[str, Any]:
        """This request's part of an interval, as plain data; then start afresh."""
        self.flush(by_status)
        expected = sum(count for status, count in self.status_counts.items() if status in self.expected)
        responses = sum(self.status_counts.values())
        errors = dict(self.errors)
        errors["status"] = responses - expected
        checks = [list(pair) for pair in self.check_counts]
        checks[0] = [expected, responses - expected]
        payload = {
            "responses": responses,
            "ok": expected - errors["check"],
            "completed": self.completed,
            "statuses": {str(status): count for status, count in sorted(self.status_counts.items())},
            "errors": {kind: count for kind, count in errors.items() if count},
            "unsent": {reason: count for reason, count in self.unsent.items() if count},
            "checks": checks,
            "latency_moments": self.latency_moments.as_list(),
            "service_moments": self.service_moments.as_list(),
            "latency": _encoded(self.latency),
            "service": _encoded(self.service),
        }
        self.completed = 0
        self.errors = dict.fromkeys(ERROR_KINDS, 0)
        self.unsent = dict.fromkeys(UNSENT_REASONS, 0)
        self.check_counts = [[0, 0] for _ in range(self.checks)]
        self.status_counts = Counter()
        self.latency_moments = Moments()
        self.service_moments = Moments()
        self.latency = fresh(self.latency)
        if self.service is not None:
            self.service = fresh(self.service)
        return payload


# Timings beside the latency, run-wide (docs/result-file.md): time to a streamed response's first byte, the
# gaps between a stream's chunks or events (a stall inside a stream is a latency too), and a WebSocket
# handshake's duration (connecting included).
TIMINGS = ("first_byte", "gap", "handshake")


class Timings:
    """The extra timings of one worker: appended on the hot path, recorded at flush, like latencies."""

    __slots__ = ("pending", "histograms", "moments")

    def __init__(self) -> None:
        self.pending: dict[str, list[int]] = {name: [] for name in TIMINGS}
        self.histograms = {name: new_histogram() for name in TIMINGS}
        self.moments = {name: Moments() for name in TIMINGS}

    def flush(self) -> None:
        for name, values in self.pending.items():
            if values:
                self.pending[name] = []
                self.moments[name].add(values)
                record_all(self.histograms[name], values)

    def close(self) -> dict[str, Any]:
        """Each timing's histogram and moments since the last call (only those with values); then start afresh."""
        self.flush()
        payload = {
            name: {"histogram": histogram.encode(), "moments": self.moments[name].as_list()}
            for name, histogram in self.histograms.items()
            if histogram.total_count
        }
        for name, histogram in self.histograms.items():
            self.histograms[name] = fresh(histogram)
            self.moments[name] = Moments()
        return payload


class Recorder:
    """One worker's measurements: a RequestRecord per named request, and the generator's own health."""

    def __init__(self, expectations: list[Expectation], *, with_service_time: bool) -> None:
        self.requests = [RequestRecord(expected, with_service_time=with_service_time) for expected in expectations]
        self.by_status = StatusLatencies()
        self.lags: list[int] = []
        # Open model: how late requests were written when a connection was free (the generator's own delay).
        self.lateness: list[int] = []
        self.lag = new_histogram()
        self.late = new_histogram()
        self.bytes_received = 0
        self.bytes_sent = 0
        self.interim = 0  # 1xx interim responses skipped
        self.error_examples: dict[str, str] = {}
        self.timings = Timings()
        # Counters beside the outcomes (messages each way, stream events, held streams...), summed over workers.
        self.counts: Counter[str] = Counter()
        # Errors that carry a code, by kind then code: a refused handshake's status, a close code, an HTTP/2 error.
        self.error_codes: dict[str, Counter[str]] = {}
        self.held: int | None = None  # streams held open now (--hold), reported with each interval
        self._cpu_mark = time.process_time()
        self._cpu_at_window_end: float | None = None

    def start_measuring(self) -> None:
        """At the end of the warm-up: forget the counters that are not filtered by request start time.

        Outcomes, latencies and interim responses are recorded only for requests
        of the window, so they need no reset (and a reset would drop the first
        measured answers), nor do completions (counted by their time); bytes, CPU
        and lag are counted as they come.
        """
        self.bytes_received = self.bytes_sent = 0
        self.lags.clear()
        self.lateness.clear()
        self._cpu_mark = time.process_time()

    def end_window(self) -> None:
        """When the window closes: what the drain adds is outcomes, never CPU of the window."""
        self._cpu_at_window_end = time.process_time()

    def example(self, kind: str, message: str) -> None:
        self.error_examples.setdefault(kind, message)

    def code(self, kind: str, code: str) -> None:
        """One error of ``kind`` carried ``code`` (the error itself is counted by the request's record)."""
        self.error_codes.setdefault(kind, Counter())[code] += 1

    def flush(self) -> None:
        for record in self.requests:
            record.flush(self.by_status)
        if self.lags:
            lags, self.lags = self.lags, []
            record_all(self.lag, lags)
        if self.lateness:
            lateness, self.lateness = self.lateness, []
            record_all(self.late, lateness)
        self.timings.flush()

    def close_interval(self, index: int, *, start: float, end: float, drain: float = 0.0) -> dict[str, Any]:
        """Everything recorded since the last call, as plain data for the parent; then start afresh."""
        self.flush()
        cpu = time.process_time()
        window_cpu = self._cpu_at_window_end if self._cpu_at_window_end is not None else cpu
        payload: dict[str, Any] = {
            "index": index,
            "start": start,
            "end": end,
            "drain": drain,
            "requests": [record.close(self.by_status) for record in self.requests],
            "by_status": self.by_status.close(),
            "interim": self.interim,
            "error_examples": dict(self.error_examples),
            "bytes_received": self.bytes_received,
            "bytes_sent": self.bytes_sent,
            "cpu_seconds": window_cpu - self._cpu_mark,
            "rss_bytes": resident_bytes(),
            "lag": _encoded(self.lag),
            "lateness": _encoded(self.late),
            "timings": self.timings.close(),
            "counts": dict(self.counts),
            "error_codes": {kind: dict(codes) for kind, codes in self.error_codes.items()},
            "held": self.held,
        }
        self.counts = Counter()
        self.error_codes = {}
        self._cpu_mark = cpu
        self._cpu_at_window_end = None
        self.interim = 0
        self.bytes_received = self.bytes_sent = 0
        self.lag = fresh(self.lag)
        self.late = fresh(self.late)
        return payload
