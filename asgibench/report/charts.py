"""The report's three charts as SVG, from plain numbers. Pure.

- ``percentile_spectrum``: latency against percentile on HdrHistogram's
  log(1/(1-p)) axis, one line per series;
- ``throughput_bars``: median requests/s per series, whiskers from the slowest to
  the fastest run;
- ``timeline``: requests/s and p99 each second, one line per series.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from asgibench.report.spectrum import STANDARD, Point
from asgibench.report.svg import (
    Scale,
    colour,
    dash,
    frame,
    horizontal_grid,
    legend,
    log_ticks,
    nice_ticks,
    number,
    svg,
    text,
    vertical_grid,
)

WIDTH = 880
LEFT, RIGHT = 78, 860
# A latency range wider than this ratio is drawn on a log axis, so the median is not squashed flat.
LOG_RATIO = 20.0
MOST_MARKERS = 120


@dataclass(frozen=True, slots=True)
class SpectrumLine:
    label: str
    points: tuple[Point, ...]


@dataclass(frozen=True, slots=True)
class Bar:
    label: str
    median: float
    low: float
    high: float
    runs: int
    note: str = ""  # why the series is not eligible for the best (⚠ target behind …), shown in the tooltip


@dataclass(frozen=True, slots=True)
class TimelineLine:
    """One run's seconds: (middle of the second in s, requests/s, p99 ms or None when nothing was answered)."""

    label: str
    seconds: tuple[tuple[float, float, float | None], ...]


def percentile_label(decades: float) -> str:
    """The percentile at ``decades`` of 1/(1-p): 0 is 0%, 1 is 90%, 3 is 99.9%."""
    nines = round(decades)
    if nines <= 0:
        return "0%"
    if nines == 1:
        return "90%"
    return "99" + ("." + "9" * (nines - 2) if nines > 2 else "") + "%"


def _latency_scale(values: Sequence[float], top: float, bottom: float) -> tuple[Scale, list[float], bool]:
    low = max(min(values), 0.001)
    high = max(max(values), low * 1.01)
    if high / low > LOG_RATIO:
        ticks = log_ticks(low, high)
        return Scale(ticks[0], ticks[-1], bottom, top, log=True), ticks, True
    ticks = nice_ticks(0.0, high)
    return Scale(0.0, ticks[-1], bottom, top), ticks, False


def percentile_spectrum(lines: Sequence[SpectrumLine], *, chart_id: str = "percentile-spectrum") -> str:
    """Latency by percentile, one line per series; dots with tooltips at p50, p90, p99, p99.9 …"""
    top, bottom = 24, 380
    drawn = [one for one in lines if one.points]
    values = [point.ms for one in drawn for point in one.points] or [1.0]
    decades = max(2, min(7, math.ceil(max((point.x for one in drawn for point in one.points), default=2.0))))
    xscale = Scale(0.0, float(decades), LEFT, RIGHT)
    yscale, yticks, is_log = _latency_scale(values, top, bottom)
    body = [horizontal_grid(yscale, yticks, LEFT, RIGHT)]
    body.append(vertical_grid(xscale, [(float(k), percentile_label(k)) for k in range(decades + 1)], top, bottom))
    body.append(frame(LEFT, top, RIGHT, bottom))
    body.append(text((LEFT + RIGHT) / 2, bottom + 42, "percentile (log scale of 1/(1−p))", css="axis-label"))
    body.append(_y_label("latency (ms" + (", log scale)" if is_log else ")"), (top + bottom) / 2))
    for index, one in enumerate(drawn):
        coordinates = " ".join(f"{number(xscale(p.x))},{number(yscale(p.ms))}" for p in one.points)
        body.append(f'<g class="series-group" data-series="{escape(one.label)}">')
        body.append(f"<title>{escape(one.label)}: latency by percentile</title>")
        body.append(_polyline(coordinates, index, one.label))
        for point in _marked(one.points):
            name = "max" if point.percentile >= 100 else f"p{point.percentile:g}"
            body.append(_marker(xscale(point.x), yscale(point.ms), index, f"{one.label}: {name} = {point.ms:g} ms"))
        body.append("</g>")
    keys, height = legend([one.label for one in drawn], LEFT, bottom + 66, RIGHT - LEFT)
    body.append(keys)
    return svg(
        chart_id,
        WIDTH,
        bottom + 66 + height,
        "Latency by percentile",
        "Latency (ms) at each percentile of all requests, runs of a series merged by adding their histograms.",
        "".join(body),
    )


def _marked(points: Sequence[Point]) -> list[Point]:
    """The points at the standard percentiles, and the maximum."""
    chosen = [point for point in points if any(abs(point.percentile - wanted) < 1e-9 for wanted in STANDARD)]
    if points and points[-1] not in chosen:
        chosen.append(points[-1])
    return chosen


def throughput_bars(bars: Sequence[Bar], *, chart_id: str = "throughput") -> str:
    """Median requests/s per series as bars; whiskers span the slowest to the fastest run."""
    top, bottom = 24, 330
    ticks = nice_ticks(0.0, max((bar.high for bar in bars), default=1.0) * 1.08)
    yscale = Scale(0.0, ticks[-1], bottom, top)
    body = [horizontal_grid(yscale, ticks, LEFT, RIGHT), frame(LEFT, top, RIGHT, bottom)]
    body.append(_y_label("requests per second", (top + bottom) / 2))
    band = (RIGHT - LEFT) / max(len(bars), 1)
    width = min(band * 0.6, 120)
    for index, bar in enumerate(bars):
        centre = LEFT + band * (index + 0.5)
        y = yscale(bar.median)
        tooltip = f"{bar.label}: {bar.median:,.1f} requests/s"
        if bar.runs > 1:
            tooltip += f" (median of {bar.runs} runs, {bar.low:,.1f}–{bar.high:,.1f})"
        if bar.note:
            tooltip += f" · {bar.note}"
        body.append(f'<g class="bar-group" data-series="{escape(bar.label)}"><title>{escape(tooltip)}</title>')
        body.append(
            f'<rect class="bar" x="{number(centre - width / 2)}" y="{number(y)}" width="{number(width)}" '
            f'height="{number(bottom - y)}" rx="2" fill="{colour(index)}"/>'
        )
        if bar.runs > 1 and bar.high > bar.low:
            high, low = yscale(bar.high), yscale(bar.low)
            cap = min(width / 4, 10)
            body.append(
                f'<path class="whisker" d="M{number(centre)},{number(low)}V{number(high)}'
                f"M{number(centre - cap)},{number(high)}H{number(centre + cap)}"
                f'M{number(centre - cap)},{number(low)}H{number(centre + cap)}"/>'
            )
        label_y = min(y, yscale(bar.high)) - 8
        body.append(text(centre, label_y, f"{bar.median:,.0f}", css="value-label"))
        body.append(text(centre, bottom + 20, _short(bar.label, band), css="tick"))
        body.append("</g>")
    return svg(
        chart_id,
        WIDTH,
        bottom + 40,
        "Throughput",
        "Median requests per second of each series; whiskers span the slowest to the fastest run.",
        "".join(body),
    )


def timeline(lines: Sequence[TimelineLine], *, chart_id: str = "timeline") -> str:
    """Two panels over the run's seconds: requests/s above, p99 latency below; one line per series."""
    panels = (("requests/s", 20, 220), ("p99 latency (ms)", 262, 462))
    # The x axis runs to the end of the last second: points sit in the middle of their second.
    end = max((second[0] + 0.5 for one in lines for second in one.seconds), default=1.0)
    xscale = Scale(0.0, end, LEFT, RIGHT)
    xticks = [(tick, f"{tick:g} s") for tick in nice_ticks(0.0, end, 8) if tick <= end + 1e-9]
    body = []
    for panel, (title, top, bottom) in enumerate(panels):
        values = [value for one in lines for second in one.seconds if (value := second[1 + panel]) is not None] or [1.0]
        if panel == 0:
            ticks = nice_ticks(0.0, max(values) * 1.08)
            yscale, is_log = Scale(0.0, ticks[-1], bottom, top), False
        else:
            yscale, ticks, is_log = _latency_scale(values, top, bottom)
        body.append(horizontal_grid(yscale, ticks, LEFT, RIGHT))
        body.append(vertical_grid(xscale, xticks, top, bottom))
        body.append(frame(LEFT, top, RIGHT, bottom))
        body.append(_y_label(title.replace(")", ", log scale)") if is_log else title, (top + bottom) / 2))
        metric = "rps" if panel == 0 else "p99"
        for index, one in enumerate(lines):
            body.append(f'<g class="series-group {metric}" data-series="{escape(one.label)}">')
            body.append(f"<title>{escape(one.label)}: {escape(title)} each second</title>")
            for segment in _segments(one.seconds, 1 + panel):
                coordinates = " ".join(f"{number(xscale(t))},{number(yscale(v))}" for t, v in segment)
                body.append(_polyline(coordinates, index, one.label))
            if len(one.seconds) <= MOST_MARKERS:
                for second in one.seconds:
                    value = second[1 + panel]
                    if value is not None:
                        unit = " requests/s" if panel == 0 else " ms"
                        tooltip = f"{one.label}: {value:,.3g}{unit} around {second[0]:g} s"
                        body.append(_marker(xscale(second[0]), yscale(value), index, tooltip, radius=2.5))
            body.append("</g>")
    bottom = panels[-1][2]
    body.append(text((LEFT + RIGHT) / 2, bottom + 42, "time since the measured window began (s)", css="axis-label"))
    keys, height = legend([one.label for one in lines], LEFT, bottom + 66, RIGHT - LEFT)
    body.append(keys)
    return svg(
        chart_id,
        WIDTH,
        bottom + 66 + height,
        "Each second of the first run",
        "Requests per second and p99 latency in each second of each series' first run.",
        "".join(body),
    )


def _segments(seconds: Sequence[tuple[float, float, float | None]], column: int) -> list[list[tuple[float, float]]]:
    """Runs of consecutive seconds that have a value: a second without answers breaks the line."""
    segments: list[list[tuple[float, float]]] = [[]]
    for second in seconds:
        value = second[column]
        if value is None:
            if segments[-1]:
                segments.append([])
            continue
        segments[-1].append((second[0], float(value)))
    return [segment for segment in segments if segment]


def _polyline(coordinates: str, index: int, label: str) -> str:
    pattern = f' stroke-dasharray="{dash(index)}"' if dash(index) else ""
    return (
        f'<polyline class="series" data-series="{escape(label)}" stroke="{colour(index)}"{pattern} '
        f'points="{coordinates}"/>'
    )


def _marker(x: float, y: float, index: int, tooltip: str, *, radius: float = 3.5) -> str:
    return (
        f'<circle class="marker" cx="{number(x)}" cy="{number(y)}" r="{radius}" fill="{colour(index)}">'
        f"<title>{escape(tooltip)}</title></circle>"
    )


def _y_label(label: str, middle: float) -> str:
    return text(18, middle, label, css="axis-label", extra=f' transform="rotate(-90 18 {number(middle)})"')


def _short(label: str, room: float) -> str:
    most = max(int(room / 7.5), 6)
    return label if len(label) <= most else label[: most - 1] + "…"
