"""Plain-text figures for the gate's verdicts, shared by the terminal table and the JUnit file."""

from __future__ import annotations

import math

from asgibench.gate.verdict import MetricVerdict, Verdict
from asgibench.results.figures import milliseconds, rate
from asgibench.results.metrics import Metric
from asgibench.results.noise import CONFIDENCE, Interval
from asgibench.results.spread import Spread

UNITS = {"ms": "ms", "rps": "/s", "fraction": "%"}


def value(metric: Metric, number: float, *, unit: bool = True) -> str:
    if metric.unit == "fraction":
        text = f"{number * 100:.3f}"
    else:  # as compare and report print the same figure
        text = milliseconds(number) if metric.unit == "ms" else rate(number)
    if not unit:
        return text
    return text + ("%" if metric.unit == "fraction" else "/s" if metric.unit == "rps" else " ms")


def spread(metric: Metric, figures: Spread, *, unit: bool = True, stacked: bool = False) -> str:
    """The median, then the range over the repeats when there are several: ``1.601 ms (1.554–1.647)``."""
    middle = value(metric, figures.median, unit=unit)
    if figures.count == 1:
        return middle
    low, high = value(metric, figures.low, unit=False), value(metric, figures.high, unit=False)
    return f"{middle}\n{low}–{high}" if stacked else f"{middle} ({low}–{high})"


def change(metric: Metric, number: float) -> str:
    """A relative change, with a decimal only below 10%; error_rate's in percentage points."""
    if math.isinf(number):
        return "+∞" if number > 0 else "−∞"
    if metric.scale == "difference":
        return f"{number * 100:+.2f}pp"
    return f"{number:+.1%}" if abs(number) < 0.1 else f"{number:+.0%}"


def allowed(metric: Metric, number: float) -> str:
    """The allowance, signed the way a regression would go (+ for latency, − for throughput): ``+5%``."""
    signed = (number if metric.direction == "lower" else -number) * 100
    return f"{signed:+g}" + ("pp" if metric.scale == "difference" else "%")


def interval(metric: Metric, bounds: Interval | None, *, stacked: bool = False) -> str:
    if bounds is None:
        return "n/a"
    return f"{change(metric, bounds.low)}…" + ("\n" if stacked else "") + change(metric, bounds.high)


SOURCES = {"runs": " over the runs", "seconds": " over the seconds of one run a side", "none": ""}


def confidence(verdict: MetricVerdict) -> str:
    """The interval's confidence as a percentage: ``95%``, ``98.75%``."""
    level = verdict.interval.confidence if verdict.interval is not None else CONFIDENCE
    return f"{level * 100:.4g}%"


def describe(verdict: MetricVerdict) -> str:
    """One sentence: what changed, by how much, against what allowance, and the verdict."""
    metric = verdict.metric
    source = SOURCES[verdict.noise_source]
    text = (
        f"{metric.label}: baseline {spread(metric, verdict.baseline)}, current {spread(metric, verdict.current)}, "
        f"change {change(metric, verdict.change)} (allowed {allowed(metric, verdict.allowed)}; "
        f"{confidence(verdict)} noise interval {interval(metric, verdict.interval)}{source}): "
        f"{verdict.verdict.value}"
    )
    if verdict.verdict is Verdict.WITHIN_NOISE:
        text += " (worse than allowed, but not distinguishable from noise)"
    return text
