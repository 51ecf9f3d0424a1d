"""The parent's side of the workers' intervals: merge them by adding, second by second, per named request.

Workers send one interval per second; an interval is complete when every
worker still running has sent it. Its histograms are added into the run's
totals (never percentiles averaged) and it becomes one row of the timeline.
Outcomes are merged per named request, so the totals are sums of the names.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from hdrh.histogram import HdrHistogram

from asgibench.load.recorder import Moments, decode, new_histogram, release
from asgibench.results.outcomes import ERROR_KINDS, UNSENT_REASONS


@dataclass
class Outcomes:
    """Counts of one named request (or of the whole run): responses, outcomes, statuses, checks, histograms."""

    responses: int = 0
    ok: int = 0
    completed: int = 0  # responses completed inside the window, whatever their start (the achieved throughput)
    statuses: Counter[str] = field(default_factory=Counter)
    errors: dict[str, int] = field(default_factory=lambda: dict.fromkeys(ERROR_KINDS, 0))
    unsent: dict[str, int] = field(default_factory=lambda: dict.fromkeys(UNSENT_REASONS, 0))
    checks: list[list[int]] = field(default_factory=list)
    latency: HdrHistogram = field(default_factory=new_histogram)
    service: HdrHistogram = field(default_factory=new_histogram)
    latency_moments: Moments = field(default_factory=Moments)
    service_moments: Moments = field(default_factory=Moments)

    @property
    def error_total(self) -> int:
        return sum(self.errors.values())

    @property
    def requests(self) -> int:
        """Every request with an outcome: the accounting rule, ok + errors."""
        return self.ok + self.error_total

    def add_counts(self, part: dict[str, Any], *, checks: bool = True) -> None:
        """Add one worker's interval of one named request (``checks``: False for the run's total, whose names
        have checks of their own)."""
        self.responses += part["responses"]
        self.ok += part["ok"]
        self.completed += part["completed"]
        self.statuses.update(part["statuses"])
        for kind, count in part["errors"].items():
            self.errors[kind] += count
        for reason, count in part["unsent"].items():
            self.unsent[reason] += count
        if checks:
            if not self.checks:
                self.checks = [[0, 0] for _ in part["checks"]]
            for total, (passed, failed) in zip(self.checks, part["checks"], strict=True):
                total[0] += passed
                total[1] += failed
        self.latency_moments.merge(part["latency_moments"])
        self.service_moments.merge(part["service_moments"])


@dataclass
class Second:
    """One row of the timeline: every worker's interval for that second, merged."""

    index: int
    start: float
    end: float
    requests: int = 0  # outcomes that ended in this second
    responses: int = 0
    completed: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    bytes_received: int = 0
    cpu_seconds: float = 0.0  # the busiest worker's
    latency: HdrHistogram = field(default_factory=new_histogram)
    lag_max_us: int = 0
    rss_bytes: int = 0  # the largest worker's resident memory at the end of the second
    held: int | None = None  # streams held open at the end of the second (--hold), every worker's added

    @property
    def error_total(self) -> int:
        return sum(self.errors.values())

    def row(self) -> dict[str, Any]:
        length = max(self.end - self.start, 1e-9)
        has = self.latency.total_count > 0
        percentiles = self.latency.get_percentile_to_value_dict([50.0, 90.0, 99.0, 99.9]) if has else {}
        return {
            "second": self.index,
            "start_s": round(self.start, 3),
            "end_s": round(self.end, 3),
            "requests": self.requests,
            "responses": self.responses,
            "rps": round(self.completed / length, 1),
            "errors": self.error_total,
            "errors_by_kind": {kind: count for kind, count in self.errors.items() if count},
            "bytes_received": self.bytes_received,
            "p50_ms": percentiles[50.0] / 1000 if has else None,
            "p90_ms": percentiles[90.0] / 1000 if has else None,
            "p99_ms": percentiles[99.0] / 1000 if has else None,
            "p999_ms": percentiles[99.9] / 1000 if has else None,
            "max_ms": self.latency.get_max_value() / 1000 if has else None,
            "generator_cpu": round(self.cpu_seconds / length, 3),
            "generator_lag_max_ms": self.lag_max_us / 1000,
            "generator_rss_mib": round(self.rss_bytes / 2**20, 1),
            "held": self.held,
        }


class Aggregate:
    """Totals and timeline of a run, built as intervals arrive."""

    def __init__(self, workers: int, names: list[str]) -> None:
        self.workers = workers
        self.names = names
        self.finished: set[int] = set()
        self.total = Outcomes()
        self.by_name = [Outcomes() for _ in names]
        self.by_status: dict[str, tuple[HdrHistogram, Moments]] = {}  # latency by status code, every name together
        self.lag = new_histogram()
        self.lateness = new_histogram()
        self.interim = 0
        self.error_examples: dict[str, str] = {}
        self.bytes_received = 0
        self.bytes_sent = 0
        self.cpu_seconds = [0.0] * workers
        self.requests_by_worker = [0] * workers  # each worker's (shard's) outcomes: they add up to the total
        self.scheduled_by_worker: list[int | None] = [None] * workers  # open model: each one's due requests
        self.drain_seconds = 0.0
        self.scheduled: int | None = None  # open model: summed from the workers' reports at the end
        self.timings: dict[str, tuple[HdrHistogram, Moments]] = {}  # first byte, gaps, handshakes (recorder.TIMINGS)
        self.counts: Counter[str] = Counter()
        self.error_codes: dict[str, Counter[str]] = {}
        self.held_seconds: list[int] = []  # streams held at the end of each second (--hold)
        self.timeline: list[dict[str, Any]] = []  # rows only: a second's histogram is dropped once merged
        self._open: dict[int, tuple[Second, set[int]]] = {}
        self._finished_seconds: list[Second] = []  # handed to observers, released on the next call

    def add(self, interval: dict[str, Any]) -> list[Second]:
        """Take one worker's interval; returns the seconds this completes, in order.

        The seconds returned are valid until the next call, which releases their histograms.
        """
        for second in self._finished_seconds:
            release(second.latency)
        self._finished_seconds.clear()
        index, worker = interval["index"], interval["worker"]
        second, reported = self._open.setdefault(index, (Second(index, interval["start"], interval["end"]), set()))
        reported.add(worker)
        second.end = max(second.end, interval["end"])
        second.bytes_received += interval["bytes_received"]
        second.cpu_seconds = max(second.cpu_seconds, interval["cpu_seconds"])
        second.rss_bytes = max(second.rss_bytes, interval.get("rss_bytes", 0))
        self.bytes_received += interval["bytes_received"]
        self.bytes_sent += interval["bytes_sent"]
        self.cpu_seconds[worker] += interval["cpu_seconds"]
        self.interim += interval["interim"]
        self.drain_seconds = max(self.drain_seconds, interval["drain"])
        for kind, message in interval["error_examples"].items():
            self.error_examples.setdefault(kind, message)
        self._merge_extras(second, interval)
        for outcomes, part in zip(self.by_name, interval["requests"], strict=True):
            self._merge(second, outcomes, part)
            self.requests_by_worker[worker] += part["ok"] + sum(part["errors"].values())
        for status, part in interval["by_status"].items():
            histogram, moments = self.by_status.setdefault(status, (new_histogram(), Moments()))
            moments.merge(part["latency_moments"])
            decoded = decode(part["latency"])
            histogram.add(decoded)
            release(decoded)
        if interval["lag"]:
            decoded = decode(interval["lag"])
            self.lag.add(decoded)
            second.lag_max_us = max(second.lag_max_us, decoded.get_max_value())
            release(decoded)
        if interval["lateness"]:
            decoded = decode(interval["lateness"])
            self.lateness.add(decoded)
            release(decoded)
        return self._complete()

    def _merge_extras(self, second: Second, interval: dict[str, Any]) -> None:
        """The figures beside the outcomes: timings, counters, coded errors, streams held."""
        for name, part in interval.get("timings", {}).items():
            histogram, moments = self.timings.setdefault(name, (new_histogram(), Moments()))
            moments.merge(part["moments"])
            decoded = decode(part["histogram"])
            histogram.add(decoded)
            release(decoded)
        self.counts.update(interval.get("counts", {}))
        for kind, codes in interval.get("error_codes", {}).items():
            self.error_codes.setdefault(kind, Counter()).update(codes)
        if interval.get("held") is not None:
            second.held = (second.held or 0) + interval["held"]

    def _merge(self, second: Second, outcomes: Outcomes, part: dict[str, Any]) -> None:
        outcomes.add_counts(part)
        self.total.add_counts(part, checks=False)
        second.requests += part["ok"] + sum(part["errors"].values())
        second.responses += part["responses"]
        second.completed += part["completed"]
        for kind, count in part["errors"].items():
            second.errors[kind] = second.errors.get(kind, 0) + count
        for key, totals in (("latency", (outcomes.latency, self.total.latency, second.latency)),
                            ("service", (outcomes.service, self.total.service))):  # fmt: skip
            if part[key]:
                decoded = decode(part[key])
                for histogram in totals:
                    histogram.add(decoded)
                release(decoded)

    def worker_finished(self, worker: int, *, scheduled: int | None = None) -> list[Second]:
        self.finished.add(worker)
        if scheduled is not None:
            self.scheduled = (self.scheduled or 0) + scheduled
            self.scheduled_by_worker[worker] = scheduled
        return self._complete()

    def _complete(self) -> list[Second]:
        done = []
        for index in sorted(self._open):
            second, reported = self._open[index]
            if len(reported | self.finished) < self.workers:
                break
            del self._open[index]
            if second.held is not None:
                self.held_seconds.append(second.held)
            self.timeline.append(second.row())
            self._finished_seconds.append(second)
            done.append(second)
        return done

    def drain(self) -> list[Second]:
        """Whatever is still open (workers that died mid-second): complete it as it is."""
        done = [second for _, (second, _) in sorted(self._open.items())]
        self._open.clear()
        self.held_seconds.extend(second.held for second in done if second.held is not None)
        self.timeline.extend(second.row() for second in done)
        return done
