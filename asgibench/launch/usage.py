"""What a server used during the measured window, from samples of its process tree. Pure.

The sampler records, every fraction of a second, the CPU seconds consumed so
far by the whole tree (master and workers) and the tree's resident memory.
CPU over a window is the difference of the cumulative counter interpolated at
the window's edges, so the figure does not depend on where samples fell.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

MIB = 2**20


@dataclass(frozen=True, slots=True)
class UsageSample:
    at: float  # wall clock, time.time()
    cpu_seconds: float  # cumulative over every process of the tree seen so far
    rss_bytes: int  # the tree's resident memory now
    processes: int


def cpu_at(samples: Sequence[UsageSample], moment: float) -> float:
    """The cumulative CPU counter at ``moment``, interpolated linearly between the samples around it."""
    if not samples:
        return 0.0
    if moment <= samples[0].at:
        return samples[0].cpu_seconds
    for before, after in zip(samples, samples[1:], strict=False):
        if before.at <= moment <= after.at:
            span = after.at - before.at
            share = (moment - before.at) / span if span > 0 else 1.0
            return before.cpu_seconds + share * (after.cpu_seconds - before.cpu_seconds)
    return samples[-1].cpu_seconds


def summarise(samples: Sequence[UsageSample], start: float, end: float) -> dict[str, Any]:
    """CPU seconds, CPU in cores, peak memory and a per-second timeline for the window [start, end)."""
    inside = [sample for sample in samples if start <= sample.at <= end]
    length = max(end - start, 1e-9)
    cpu_seconds = cpu_at(samples, end) - cpu_at(samples, start)
    timeline = []
    for second in range(math.ceil(length - 1e-6)):
        left, right = start + second, min(start + second + 1, end)
        in_second = [sample.rss_bytes for sample in inside if left <= sample.at <= right]
        timeline.append(
            {
                "second": second,
                "cpu": round((cpu_at(samples, right) - cpu_at(samples, left)) / max(right - left, 1e-9), 3),
                "rss_mib": round(max(in_second) / MIB, 1) if in_second else None,
            }
        )
    peak = max((sample.rss_bytes for sample in inside), default=0)
    return {
        "cpu_seconds": round(cpu_seconds, 3),
        "cpu_fraction": round(cpu_seconds / length, 3),  # in cores: 1.0 is one CPU busy all the time
        "peak_rss_mib": round(peak / MIB, 1),
        "processes": max((sample.processes for sample in inside), default=0),
        "samples": len(inside),
        "timeline": timeline,
    }
