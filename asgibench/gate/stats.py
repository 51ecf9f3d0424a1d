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
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal, TypeVar

from asgibench.results.figures import error_rate

Sample = TypeVar("Sample")
Scale = Literal["relative", "difference"]

ITERATIONS = 2000
CONFIDENCE = 0.95


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


# Student's t, 97.5th percentile, by degrees of freedom (two-sided 95%); beyond the table, a Cornish-Fisher expansion.
T_975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228)
Z_975 = 1.959964


def t_975(degrees: int) -> float:
    if degrees <= len(T_975):
        return T_975[degrees - 1]
    z = Z_975
    return z + (z**3 + z) / (4 * degrees) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * degrees**2)


def runs_interval(baseline: Sequence[float], current: Sequence[float], scale: Scale) -> Interval | None:
    """A 95% Welch t interval of the change in the mean from one number per run.

    With two or three runs a side the bootstrap's run level is far too narrow
    (a resample of two runs has three possible medians); t's small-sample
    quantiles (12.7 with one degree of freedom) are what so few runs can
    honestly claim. Welch's form, because the sides need not be equally noisy
    (a slowed app's sleep sets a floor its tail varies little above). With one
    run on a side its variance is borrowed from the other (pooled). Relative
    changes are taken on logarithms, so the interval is a ratio. None without
    a degree of freedom or with a non-positive value on a relative scale.
    """
    if len(baseline) + len(current) < 3 or (scale == "relative" and min(*baseline, *current) <= 0):
        return None
    transform = math.log if scale == "relative" else float
    base = [transform(value) for value in baseline]
    now = [transform(value) for value in current]
    difference = sum(now) / len(now) - sum(base) / len(base)
    if len(base) >= 2 and len(now) >= 2:
        base_term, now_term = statistics.variance(base) / len(base), statistics.variance(now) / len(now)
        error = math.sqrt(base_term + now_term)
        denominator = base_term**2 / (len(base) - 1) + now_term**2 / (len(now) - 1)
        degrees = (
            max(1, math.floor((base_term + now_term) ** 2 / denominator)) if denominator else len(base) + len(now) - 2
        )
    else:
        several = base if len(base) >= 2 else now
        degrees = len(several) - 1
        error = math.sqrt(statistics.variance(several) * (1 / len(base) + 1 / len(now)))
    low, high = difference - t_975(degrees) * error, difference + t_975(degrees) * error
    if scale == "relative":
        low, high = math.exp(low) - 1, math.exp(high) - 1
    return Interval(low=low, high=high, confidence=CONFIDENCE)


def widest(first: Interval, second: Interval | None) -> Interval:
    """The union of two intervals: noise is whatever either method sees."""
    if second is None:
        return first
    return Interval(low=min(first.low, second.low), high=max(first.high, second.high), confidence=first.confidence)


def median_statistic(samples: Sequence[float]) -> float:
    return median(samples)


def mean_statistic(samples: Sequence[float]) -> float:
    return sum(samples) / len(samples)


def error_rate_statistic(samples: Sequence[tuple[float, float]]) -> float:
    """A run's error rate from its seconds' (errors, requests): their sums, by the one rule of the result file."""
    return error_rate(sum(pair[0] for pair in samples), sum(pair[1] for pair in samples))
