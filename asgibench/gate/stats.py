"""The gate's statistics, pure: medians, spreads and a hierarchical bootstrap of a change. No I/O.

A side of a comparison (baseline or current) is a list of runs; a run is a
list of samples (one per second of its timeline, or a single whole-run value
when there is no timeline). ``bootstrap_change`` resamples that two-level
structure the way it was produced: first the runs, with replacement (the
run-to-run noise: another process on the machine, another CPU frequency),
then the samples within each chosen run (the second-to-second noise). Whole
seconds are resampled rather than single requests because latencies within a
second are correlated (a pause delays every request queued behind it); a
second is a block, as in a block bootstrap.

Each resample reduces a run to one number (``run_statistic``), the side to
the median of its runs, and the pair to a change (``relative`` or
``difference``). The 2.5th and 97.5th percentiles of those changes are the 95%
interval. The generator is seeded, so the same files always give the same
interval, and so the same verdict.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal, TypeVar

Sample = TypeVar("Sample")
Scale = Literal["relative", "difference"]

ITERATIONS = 2000
CONFIDENCE = 0.95


@dataclass(frozen=True, slots=True)
class Spread:
    """Median, min and max of one metric over the repeats of one side."""

    median: float
    low: float
    high: float
    count: int


@dataclass(frozen=True, slots=True)
class Interval:
    """A two-sided confidence interval for a change."""

    low: float
    high: float
    confidence: float

    def excludes_zero(self) -> bool:
        return self.low > 0 or self.high < 0


def median(values: Sequence[float]) -> float:
    if not values:
        raise ValueError("median of no values")
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


def spread(values: Sequence[float]) -> Spread:
    return Spread(median=median(values), low=min(values), high=max(values), count=len(values))


def change(baseline: float, current: float, scale: Scale) -> float:
    """``current`` against ``baseline``: a fraction (``relative``) or a plain difference.

    A relative change from zero is infinite (or zero when both are zero): a
    metric that was nothing and now is something changed without bound.
    """
    if scale == "difference":
        return current - baseline
    if baseline == 0:
        return 0.0 if current == 0 else math.copysign(math.inf, current)
    return current / baseline - 1


def quantile(ordered: Sequence[float], fraction: float) -> float:
    """Linear interpolation between closest ranks on already sorted values."""
    position = fraction * (len(ordered) - 1)
    below = math.floor(position)
    above = min(below + 1, len(ordered) - 1)
    weight = position - below
    if weight == 0 or ordered[below] == ordered[above]:  # also keeps infinities out of 0 * inf
        return ordered[below]
    return ordered[below] * (1 - weight) + ordered[above] * weight


def bootstrap_change(
    baseline: Sequence[Sequence[Sample]],
    current: Sequence[Sequence[Sample]],
    run_statistic: Callable[[Sequence[Sample]], float],
    *,
    scale: Scale = "relative",
    iterations: int = ITERATIONS,
    confidence: float = CONFIDENCE,
    seed: str = "asgibench.gate",
) -> Interval:
    """The ``confidence`` interval of the change in the median run statistic, by hierarchical bootstrap."""
    if not baseline or not current or any(not run for run in (*baseline, *current)):
        raise ValueError("every side needs at least one run, and every run at least one sample")
    generator = random.Random(seed)

    def resample(side: Sequence[Sequence[Sample]]) -> float:
        runs = generator.choices(side, k=len(side))
        return median([run_statistic(generator.choices(run, k=len(run))) for run in runs])

    changes = sorted(change(resample(baseline), resample(current), scale) for _ in range(iterations))
    tail = (1 - confidence) / 2
    return Interval(low=quantile(changes, tail), high=quantile(changes, 1 - tail), confidence=confidence)


def median_statistic(samples: Sequence[float]) -> float:
    return median(samples)


def mean_statistic(samples: Sequence[float]) -> float:
    return sum(samples) / len(samples)


def ratio_statistic(samples: Sequence[tuple[float, float]]) -> float:
    """Sum of numerators over sum of denominators: errors over requests for a run's error rate."""
    denominator = sum(pair[1] for pair in samples)
    return sum(pair[0] for pair in samples) / denominator if denominator else 0.0
