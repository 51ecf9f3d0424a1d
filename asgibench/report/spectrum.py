"""The latency percentile spectrum of a series: its runs' histograms added, read at log-spaced percentiles. Pure.

The x coordinate is ``log10(1 / (1 - p))``, the HdrHistogram "percentile
distribution" axis: 0 is 0%, 1 is 90%, 2 is 99%, 3 is 99.9%. Repeats are merged
by adding their histograms, never by averaging percentiles: the chart shows all
runs' requests pooled, where the tables show each figure's median over the runs
(as ``asgibench compare`` does), so the two may differ.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from hdrh.histogram import HdrHistogram

if TYPE_CHECKING:
    from asgibench.results.model import Result

# Twenty points per decade draws the steps of a histogram without thousands of points per line.
STEPS_PER_DECADE = 20
# Standard percentiles always among the points, so charts can mark them exactly.
STANDARD = (50.0, 90.0, 99.0, 99.9, 99.99, 99.999)


@dataclass(frozen=True, slots=True)
class Point:
    """One point of the spectrum: a percentile (0-100), its x position in decades and its latency in ms."""

    percentile: float
    x: float
    ms: float


def merged_latency(results: Iterable[Result]) -> HdrHistogram | None:
    """The latency histograms of ``results`` added together (all their requests pooled); None when none has one."""
    return merged_histogram(result.histograms.get("latency") for result in results)


def merged_histogram(encoded: Iterable[str | None]) -> HdrHistogram | None:
    """Encoded histograms added together (missing ones skipped); None when none has a recorded value."""
    merged: HdrHistogram | None = None
    for text in encoded:
        if not text:
            continue
        histogram = HdrHistogram.decode(text)
        if merged is None:
            merged = histogram
        else:
            merged.add(histogram)
    if merged is None or merged.get_total_count() == 0:
        return None
    return merged


def percentile_at(x: float) -> float:
    """The percentile (0-100) at ``x`` decades of 1/(1-p)."""
    return 100.0 * (1.0 - math.pow(10.0, -x))


def spectrum(histogram: HdrHistogram, steps_per_decade: int = STEPS_PER_DECADE) -> list[Point]:
    """Points from 0% up to the percentile of the last recorded value, then the maximum.

    Beyond ``1 - 1/count`` every percentile is the maximum, so the line ends
    there, at ``x = log10(count)``, on the largest value recorded.
    """
    count = histogram.get_total_count()
    if count == 0:
        return []
    end = math.log10(count)
    # x (rounded, so a step and a standard percentile at the same place are one point) -> percentile
    wanted = {round(-math.log10(1 - percentile / 100), 9): percentile for percentile in STANDARD}
    for step in range(math.ceil(end * steps_per_decade)):
        wanted.setdefault(round(step / steps_per_decade, 9), percentile_at(step / steps_per_decade))
    inside = {x: percentile for x, percentile in wanted.items() if x < end}
    values = histogram.get_percentile_to_value_dict(list(inside.values()))
    points = [Point(inside[x], x, values[inside[x]] / 1000) for x in sorted(inside)]
    points.append(Point(100.0, max(end, points[-1].x if points else 0.0), histogram.get_max_value() / 1000))
    return points
