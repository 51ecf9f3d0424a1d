"""One rule for "different beyond noise", shared by compare, report and gate. Pure.

Two sides (two servers, or a baseline and a current build) are each measured
one or more times; a figure of each run (its p99, its requests/s) is a value.
A side's figure is the **median** of its runs (asgibench.results.spread): it
resists one disturbed run. The **change** between sides is that of the
medians, as a ratio (``relative``: +0.12 is 12% more) or, for figures whose
baseline is often zero (the error rate), as a plain difference.

The **noise** is a 95% interval around that same change: the change plus or
minus Student's t times the standard error of a difference of medians. The
standard error comes from the runs' spread, side by side (Welch's form, so the
sides may be unequally noisy; relative changes on logarithms, so the interval
is a ratio), times 1.2533, the factor by which a median varies more than a
mean. With few runs, t's small-sample quantiles (4.3 with two degrees of
freedom) are what so few runs can honestly claim; measured on this project's
shared 2-core machine, a bootstrap over two or three runs called far too many
same-against-same pairs different (benchmarks/gate_sensitivity.py).

* With two or more runs a side, the run-to-run spread is the noise.
* With two or more on one side only, that side's spread stands for both.
* With one run a side, the only spread left is second to second: the run's
  per-second values (its timeline) give the standard error of each side's
  figure. That misses run-to-run noise, which callers say.
* With neither, there is no interval, and the change alone speaks.

**Beyond noise** means the interval lies wholly on one side of zero.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

Scale = Literal["relative", "difference"]
CONFIDENCE = 0.95
# How much more a median varies than a mean of the same normal samples (sqrt(pi/2)).
MEDIAN_EFFICIENCY = math.sqrt(math.pi / 2)
# Student's t, 97.5th percentile, by degrees of freedom (two-sided 95%); beyond the table, a Cornish-Fisher expansion.
T_975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228)
Z_975 = 1.959964

NoiseSource = Literal["runs", "seconds", "none"]


@dataclass(frozen=True, slots=True)
class Interval:
    """A two-sided confidence interval of a change, on the change's own scale."""

    low: float
    high: float
    confidence: float = CONFIDENCE

    def excludes_zero(self) -> bool:
        return self.low > 0 or self.high < 0


@dataclass(frozen=True, slots=True)
class Difference:
    """Two sides of one figure compared: the change of their medians and the noise around it."""

    baseline: float  # the median of the baseline's runs
    current: float
    change: float  # relative (a fraction) or a difference, by ``scale``
    scale: Scale
    interval: Interval | None  # None: nothing measured the noise
    source: NoiseSource  # what the interval's spread came from

    @property
    def beyond_noise(self) -> bool:
        """Whether the sides differ beyond the noise; without a noise estimate, whether they differ at all."""
        return self.interval.excludes_zero() if self.interval is not None else self.change != 0


def t_975(degrees: int) -> float:
    if degrees <= len(T_975):
        return T_975[max(degrees, 1) - 1]
    z = Z_975
    return z + (z**3 + z) / (4 * degrees) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * degrees**2)


def change(baseline: float, current: float, scale: Scale) -> float:
    """``current`` against ``baseline``: a fraction (``relative``) or a plain difference.

    A relative change from zero is infinite (or zero when both are zero): a
    figure that was nothing and now is something changed without bound.
    """
    if scale == "difference":
        return current - baseline
    if baseline == 0:
        return 0.0 if current == 0 else math.copysign(math.inf, current)
    return current / baseline - 1


def compare(
    baseline: Sequence[float],
    current: Sequence[float],
    scale: Scale,
    *,
    baseline_seconds: Sequence[float] = (),
    current_seconds: Sequence[float] = (),
) -> Difference:
    """The change between two sides' medians and its 95% interval (see the module docstring).

    ``baseline`` and ``current`` hold one value per run (at least one each);
    the ``*_seconds`` values, one per second of the only run on each side,
    are used only when each side has a single run.
    """
    if not baseline or not current:
        raise ValueError("each side needs at least one run")
    base, now = statistics.median(baseline), statistics.median(current)
    point = change(base, now, scale)
    logarithmic = scale == "relative"
    if logarithmic and (min(*baseline, *current) <= 0 or not math.isfinite(point)):
        return Difference(base, now, point, scale, None, "none")
    spread = _spread(baseline, current, logarithmic)
    source: NoiseSource = "runs"
    if spread is None and len(baseline) == 1 and len(current) == 1:
        spread = _seconds_spread(baseline_seconds, current_seconds, logarithmic)
        source = "seconds"
    if spread is None:
        return Difference(base, now, point, scale, None, "none")
    error, degrees = spread
    half = t_975(degrees) * MEDIAN_EFFICIENCY * error
    if logarithmic:
        centre = math.log(now / base)
        interval = Interval(math.exp(centre - half) - 1, math.exp(centre + half) - 1)
    else:
        interval = Interval(point - half, point + half)
    return Difference(base, now, point, scale, interval, source)


def _spread(baseline: Sequence[float], current: Sequence[float], logarithmic: bool) -> tuple[float, int] | None:
    """The standard error of the difference of the sides' centres, and its degrees of freedom (Welch)."""
    base = [math.log(value) if logarithmic else value for value in baseline]
    now = [math.log(value) if logarithmic else value for value in current]
    if len(base) >= 2 and len(now) >= 2:
        base_term, now_term = statistics.variance(base) / len(base), statistics.variance(now) / len(now)
        denominator = base_term**2 / (len(base) - 1) + now_term**2 / (len(now) - 1)
        if not denominator:
            return math.sqrt(base_term + now_term), len(base) + len(now) - 2
        return math.sqrt(base_term + now_term), max(1, math.floor((base_term + now_term) ** 2 / denominator))
    several = base if len(base) >= 2 else now
    if len(several) < 2:
        return None
    # One run on a side: its variance is borrowed from the side with several (pooled).
    return math.sqrt(statistics.variance(several) * (1 / len(base) + 1 / len(now))), len(several) - 1


def _seconds_spread(baseline: Sequence[float], current: Sequence[float], logarithmic: bool) -> tuple[float, int] | None:
    """One run a side: the standard error of each run's figure from its per-second values."""
    if len(baseline) < 2 or len(current) < 2 or (logarithmic and min(*baseline, *current) <= 0):
        return None
    base = [math.log(value) if logarithmic else value for value in baseline]
    now = [math.log(value) if logarithmic else value for value in current]
    error = math.sqrt(statistics.variance(base) / len(base) + statistics.variance(now) / len(now))
    return error, len(base) + len(now) - 2
