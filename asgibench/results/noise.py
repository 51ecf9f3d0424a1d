"""One rule for "different beyond noise", shared by compare, report and gate. Pure.

Two sides (two servers, or a baseline and a current build) are each measured
one or more times; a figure of each run (its p99, its requests/s) is a value.
A side's figure is the **median** of its runs (asgibench.results.spread): it
resists one disturbed run. The **change** between sides is that of the
medians, as a ratio (``relative``: +0.12 is 12% more) or, for figures whose
baseline is often zero (the error rate), as a plain difference.

The **noise** is an interval around that same change (95% unless the caller
asks for more): the change plus or minus Student's t times the standard error
of a difference of medians. The standard error comes from the runs' spread,
pooled over both sides (relative changes on logarithms, so the interval is a
ratio), times 1.2533, the factor by which a median of many runs varies more
than their mean (the factor is kept for few runs too: see MEDIAN_EFFICIENCY).
Pooled rather than Welch's per-side form, because with two or three runs a
side Welch's degrees of freedom fall to one when one side happens to be
steady, and t(1) is 12.7: on this project's busy 2-core machine that turned a
p50 six times the baseline's into "within noise" (benchmarks/gate_sensitivity.py).
With so few runs, t's small-sample quantiles are what the runs can honestly claim.

* With two or more runs on a side, the runs' spread is the noise; a side of
  one run contributes its value but no spread of its own.
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
# How much more a median varies than a mean of the same normal samples, for many samples: sqrt(π/2).
# For two or three runs the exact factor is smaller (1.0, 1.16), and used alone it let the gate fail 2 of
# 39 same-against-same pairs on a busy machine (benchmarks/gate_sensitivity.py): runs taken back to back
# share the machine's state, so a side's spread understates the noise between sides. The larger factor
# stands for that correlation.
MEDIAN_EFFICIENCY = math.sqrt(math.pi / 2)

NoiseSource = Literal["runs", "seconds", "none"]


@dataclass(frozen=True, slots=True)
class Interval:
    """A two-sided confidence interval of a change, on the change's own scale."""

    low: float
    high: float
    confidence: float = CONFIDENCE  # two-sided

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


def student_t_cdf(t: float, degrees: int) -> float:
    """P(T <= t) for Student's t with a whole number of degrees of freedom: the exact finite series.

    With θ = atan(t/√ν), P(|T| < t) is a short sum of powers of cos θ
    (Abramowitz and Stegun 26.7.3 and 26.7.4), so no special function is needed.
    """
    if t < 0:
        return 1 - student_t_cdf(-t, degrees)
    theta = math.atan(t / math.sqrt(degrees))
    cosine_squared = math.cos(theta) ** 2
    if degrees % 2:
        term, total = math.cos(theta), 0.0
        for k in range(1, (degrees - 1) // 2 + 1):
            total += term
            term *= cosine_squared * (2 * k) / (2 * k + 1)
        within = 2 / math.pi * (theta + math.sin(theta) * total) if degrees > 1 else 2 * theta / math.pi
    else:
        term, total = 1.0, 0.0
        for k in range(1, degrees // 2 + 1):
            total += term
            term *= cosine_squared * (2 * k - 1) / (2 * k)
        within = math.sin(theta) * total
    return 0.5 + within / 2


def t_quantile(confidence: float, degrees: int) -> float:
    """The t with P(|T| < t) = ``confidence`` (two-sided), by bisection on the exact distribution."""
    wanted = 0.5 + confidence / 2
    low, high = 0.0, 1.0
    while student_t_cdf(high, degrees) < wanted:
        high *= 2
    for _ in range(100):
        middle = (low + high) / 2
        low, high = (middle, high) if student_t_cdf(middle, degrees) < wanted else (low, middle)
    return (low + high) / 2


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
    confidence: float = CONFIDENCE,
) -> Difference:
    """The change between two sides' medians and its ``confidence`` interval (see the module docstring).

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
    half = t_quantile(confidence, degrees) * MEDIAN_EFFICIENCY * error
    if logarithmic:
        centre = math.log(now / base)
        interval = Interval(math.exp(centre - half) - 1, math.exp(centre + half) - 1, confidence)
    else:
        interval = Interval(point - half, point + half, confidence)
    return Difference(base, now, point, scale, interval, source)


def _spread(baseline: Sequence[float], current: Sequence[float], logarithmic: bool) -> tuple[float, int] | None:
    """The standard error of the difference of the sides' centres and its degrees of freedom (pooled variance)."""
    base = [math.log(value) if logarithmic else value for value in baseline]
    now = [math.log(value) if logarithmic else value for value in current]
    degrees = len(base) + len(now) - 2
    if degrees < 1:
        return None
    squares = sum((value - statistics.fmean(side)) ** 2 for side in (base, now) for value in side)
    return math.sqrt(squares / degrees * (1 / len(base) + 1 / len(now))), degrees


def _seconds_spread(baseline: Sequence[float], current: Sequence[float], logarithmic: bool) -> tuple[float, int] | None:
    """One run a side: the standard error of each run's figure from its per-second values."""
    if len(baseline) < 2 or len(current) < 2 or (logarithmic and min(*baseline, *current) <= 0):
        return None
    base = [math.log(value) if logarithmic else value for value in baseline]
    now = [math.log(value) if logarithmic else value for value in current]
    error = math.sqrt(statistics.variance(base) / len(base) + statistics.variance(now) / len(now))
    return error, len(base) + len(now) - 2
