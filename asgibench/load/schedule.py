"""Arrival schedules: when the n-th request is due, and how many VUs run at a time. Pure.

The open model sends request n at ``time_of(n)`` seconds after the start,
whatever happened to request n - 1; that is what lets a stalled server show
up in the latency tail. Rates move linearly within a segment, so the count of
arrivals by time t is a quadratic whose inverse gives each request's time.

Workers split one global schedule: worker k of W takes the indexes k, k + W,
k + 2W, ... (k6's execution segments), so together they send it exactly.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from asgibench.load.config import Stage


@dataclass(frozen=True, slots=True)
class Segment:
    start: float  # seconds from the schedule's start
    duration: float
    from_rate: float
    to_rate: float
    first_index: float  # arrivals before this segment (a real number: counts accrue continuously)

    @property
    def arrivals(self) -> float:
        return (self.from_rate + self.to_rate) / 2 * self.duration

    def offset_of(self, arrivals: float) -> float:
        """Seconds into the segment at which ``arrivals`` of its arrivals are due."""
        if arrivals <= 0:
            return 0.0
        slope = (self.to_rate - self.from_rate) / (2 * self.duration) if self.duration else 0.0
        if abs(slope) < 1e-12:
            return arrivals / self.from_rate
        # Solves from_rate*t + slope*t^2 = arrivals in the form that stays exact as slope -> 0.
        root = math.sqrt(max(0.0, self.from_rate * self.from_rate + 4 * slope * arrivals))
        return 2 * arrivals / (self.from_rate + root)


class ArrivalSchedule:
    """Due times of an open-model run: a constant rate, or stages ramping between rates."""

    def __init__(self, segments: Sequence[Segment]) -> None:
        self.segments = [segment for segment in segments if segment.duration > 0]
        self.end = sum(segment.duration for segment in self.segments)
        self.total = sum(segment.arrivals for segment in self.segments)
        self._cursor = 0

    @classmethod
    def build(
        cls, *, rate: float, duration: float, stages: Sequence[Stage] = (), warmup: float = 0.0
    ) -> ArrivalSchedule:
        """A warm-up at the starting rate, then ``rate`` for ``duration`` or the stages from ``rate``."""
        segments: list[Segment] = []
        start, index = 0.0, 0.0
        first_rate = rate if rate > 0 or not stages else stages[0].target
        plan: list[tuple[float, float, float]] = []
        if warmup > 0:
            plan.append((warmup, first_rate, first_rate))
        if stages:
            current = rate
            for stage in stages:
                plan.append((stage.duration, current, stage.target))
                current = stage.target
        else:
            plan.append((duration, rate, rate))
        for length, from_rate, to_rate in plan:
            segment = Segment(start, length, from_rate, to_rate, index)
            segments.append(segment)
            start += length
            index += segment.arrivals
        return cls(segments)

    def time_of(self, index: int) -> float | None:
        """Seconds from the start at which request ``index`` (0-based) is due, or None past the end.

        Calls with growing indexes cost O(1) each: the segment cursor only moves forward.
        """
        segments = self.segments
        while self._cursor < len(segments):
            segment = segments[self._cursor]
            within = index - segment.first_index
            if within < 0 and self._cursor > 0:
                self._cursor = 0  # an earlier index than last time: search from the start
                continue
            if within < segment.arrivals:
                return segment.start + segment.offset_of(max(0.0, within))
            self._cursor += 1
        self._cursor = max(0, len(segments) - 1)
        return None

    def arrivals_by(self, seconds: float) -> float:
        """How many arrivals (a real number) have accrued ``seconds`` after the start."""
        total = 0.0
        for segment in self.segments:
            if seconds >= segment.start + segment.duration:
                total = segment.first_index + segment.arrivals
                continue
            within = max(0.0, seconds - segment.start)
            slope = (segment.to_rate - segment.from_rate) / (2 * segment.duration)
            return segment.first_index + segment.from_rate * within + slope * within * within
        return total

    def count_before(self, seconds: float) -> int:
        """How many requests (global indexes 0, 1, ...) are due strictly before ``seconds``.

        Exact with respect to ``time_of``: the estimate from the arrival curve is
        corrected by asking ``time_of`` about its neighbours, so the count and the
        due times the models use never disagree at a boundary.
        """
        count = max(0, math.ceil(self.arrivals_by(seconds)))
        while count > 0 and not self._due_before(count - 1, seconds):
            count -= 1
        while self._due_before(count, seconds):
            count += 1
        return count

    def _due_before(self, index: int, seconds: float) -> bool:
        due = self.time_of(index)
        return due is not None and due < seconds

    def rate_at(self, seconds: float) -> float:
        for segment in self.segments:
            if seconds < segment.start + segment.duration:
                fraction = (seconds - segment.start) / segment.duration
                return segment.from_rate + (segment.to_rate - segment.from_rate) * fraction
        return 0.0


def vus_at(seconds: float, *, vus: int, stages: Sequence[Stage], warmup: float = 0.0) -> int:
    """How many virtual users run at ``seconds`` into a closed-model run (warm-up included)."""
    if not stages:
        return vus
    first = vus if vus > 0 else round(stages[0].target)
    if seconds < warmup:
        return first
    elapsed, current = seconds - warmup, float(vus)
    for stage in stages:
        if elapsed < stage.duration:
            return round(current + (stage.target - current) * elapsed / stage.duration)
        elapsed -= stage.duration
        current = stage.target
    return round(current)


def local_count(global_count: int, worker: int, workers: int) -> int:
    """How many of the global indexes ``0 .. global_count - 1`` are ``worker``'s (worker, worker + W, ...)."""
    return max(0, (global_count - worker + workers - 1) // workers)


def share(total: int, workers: int, worker: int) -> int:
    """Worker ``worker``'s part of ``total`` when it is split as evenly as possible."""
    return total // workers + (1 if worker < total % workers else 0)
