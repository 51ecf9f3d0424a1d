"""The report's three charts as SVG, from plain numbers. Pure.

- ``percentile_spectrum``: latency against percentile on HdrHistogram's
  log(1/(1-p)) axis, one line per series;
- ``throughput_bars``: median requests/s per series, whiskers from the slowest to
  the fastest run; in the open model the offered rate as a reference line;
- ``timeline``: requests/s and p99 each second, one line per series (and the
  offered rate, in the open model).

A series' ``mark`` (the symbols of its caveats: ⚠, ✗) follows its name in the
legend and under its bar, so a flawed series is flagged in the charts as in the tables.
Every text is kept inside the SVG's box: margins are sized from the labels'
estimated widths (``svg.text_width``) and edge labels are moved inwards.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from asgibench.report.spectrum import STANDARD, Point
from asgibench.report.svg import (
    EDGE,
    LABEL_SIZE,
    TICK_SIZE,
    Key,
    Scale,
    colour,
    dash,
    fit,
    frame,
    horizontal_grid,
    legend,
    log_ticks,
    nice_ticks,
    number,
    reference_key,
    series_key,
    svg,
    text,
    text_width,
    tick_label,
    vertical_grid,
)
from asgibench.results.figures import milliseconds, rate

WIDTH = 800
RIGHT = WIDTH - 24
MIN_LEFT = 72
Y_LABEL_X = 16  # the rotated y-axis label's baseline: room for its ascenders (about 0.8 em) to its left
# A latency range wider than this ratio is drawn on a log axis, so the median is not squashed flat.
LOG_RATIO = 20.0
MOST_MARKERS = 120


@dataclass(frozen=True, slots=True)
class SpectrumLine:
    label: str
    points: tuple[Point, ...]
    mark: str = ""  # the symbols of the series' caveats (⚠ ✗), shown after its name

    @property
    def key(self) -> str:
        return marked(self.label, self.mark)


@dataclass(frozen=True, slots=True)
class Bar:
    label: str
    median: float
    low: float
    high: float
    runs: int
    note: str = ""  # why the series is not eligible for the best (⚠ target behind …), shown in the tooltip
    mark: str = ""  # the symbols of its caveats, shown under the bar
    offered: float | None = None  # open model: the rate offered to it (requests/s), drawn as a reference


@dataclass(frozen=True, slots=True)
class TimelineLine:
    """One run's seconds: (middle of the second in s, requests/s, p99 ms or None when nothing was answered)."""

    label: str
    seconds: tuple[tuple[float, float, float | None], ...]
    mark: str = ""

    @property
    def key(self) -> str:
        return marked(self.label, self.mark)


def marked(label: str, mark: str) -> str:
    return f"{label} {mark}" if mark else label


def _left(*tick_sets: Sequence[float]) -> float:
    """The plot's left edge: room for the widest y tick label, and the rotated axis label left of it."""
    widest = max((text_width(tick_label(tick), TICK_SIZE) for ticks in tick_sets for tick in ticks), default=0.0)
    # The rotated label's descenders reach about 0.3 em right of its baseline; then a gap, the ticks, a gap.
    # At most 40% of the chart, so absurd figures (a 300-digit rate) cannot squeeze the plot out of it.
    return min(max(MIN_LEFT, Y_LABEL_X + 0.3 * LABEL_SIZE + 6 + widest + 8), WIDTH * 0.4)


def _offered_key(rates: Sequence[float]) -> Key:
    shown = f"offered rate ({rate(rates[0])} req/s)" if len(rates) == 1 else "offered rate (of each series)"
    return reference_key(shown)


def distinct(values: Sequence[float]) -> list[float]:
    """The values, those within 0.5% of an earlier one dropped (one offered rate measured twice is one rate)."""
    kept: list[float] = []
    for value in values:
        if not any(abs(value - other) <= 0.005 * max(abs(other), 1e-9) for other in kept):
            kept.append(value)
    return kept


def _reference(x1: float, x2: float, y: float, tooltip: str) -> str:
    return (
        f'<line class="reference" x1="{number(x1)}" y1="{number(y)}" x2="{number(x2)}" y2="{number(y)}">'
        f"<title>{escape(tooltip)}</title></line>"
    )


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
        ticks = log_ticks(low, high, bottom - top)
        return Scale(ticks[0], ticks[-1], bottom, top, log=True), ticks, True
    ticks = nice_ticks(0.0, high)
    return Scale(0.0, ticks[-1], bottom, top), ticks, False


def percentile_spectrum(lines: Sequence[SpectrumLine], *, chart_id: str = "percentile-spectrum") -> str:
    """Latency by percentile, one line per series; dots with tooltips at p50, p90, p99, p99.9 …"""
    top, bottom = 24, 380
    drawn = [one for one in lines if one.points]
    values = [point.ms for one in drawn for point in one.points] or [1.0]
    decades = max(2, min(7, math.ceil(max((point.x for one in drawn for point in one.points), default=2.0))))
    yscale, yticks, is_log = _latency_scale(values, top, bottom)
    left = _left(yticks)
    xscale = Scale(0.0, float(decades), left, RIGHT)
    body = [horizontal_grid(yscale, yticks, left, RIGHT)]
    xticks = [(float(k), percentile_label(k)) for k in range(decades + 1)]
    body.append(vertical_grid(xscale, xticks, top, bottom, width=WIDTH))
    body.append(frame(left, top, RIGHT, bottom))
    body.append(text((left + RIGHT) / 2, bottom + 42, "percentile (log scale of 1/(1−p))", css="axis-label"))
    body.append(_y_label("latency (ms" + (", log scale)" if is_log else ")"), (top + bottom) / 2))
    for index, one in enumerate(drawn):
        coordinates = " ".join(f"{number(xscale(p.x))},{number(yscale(p.ms))}" for p in one.points)
        body.append(f'<g class="series-group" data-series="{escape(one.label)}">')
        body.append(f"<title>{escape(one.key)}: latency by percentile</title>")
        body.append(_polyline(coordinates, index, one.label))
        for point in _marked(one.points):
            name = "max" if point.percentile >= 100 else f"p{point.percentile:g}"
            tooltip = f"{one.key}: {name} = {milliseconds(point.ms)} ms"
            body.append(_marker(xscale(point.x), yscale(point.ms), index, tooltip))
        body.append("</g>")
    keys, height = legend([series_key(one.key, index) for index, one in enumerate(drawn)], left, bottom + 66,
                          WIDTH - left - EDGE)  # fmt: skip
    body.append(keys)
    return svg(
        chart_id,
        WIDTH,
        bottom + 66 + height,
        "Latency by percentile",
        "Latency (ms) at each percentile of all requests, runs of a series pooled by adding their histograms.",
        "".join(body),
    )


def _marked(points: Sequence[Point]) -> list[Point]:
    """The points at the standard percentiles, and the maximum."""
    chosen = [point for point in points if any(abs(point.percentile - wanted) < 1e-9 for wanted in STANDARD)]
    if points and points[-1] not in chosen:
        chosen.append(points[-1])
    return chosen


def throughput_bars(bars: Sequence[Bar], *, chart_id: str = "throughput", what: str = "requests") -> str:
    """Median requests/s per series as bars; whiskers span the slowest to the fastest run.

    In the open model the bars are the achieved rate (responses completed per second) and the offered
    rate is a dashed reference line: across the plot when every series was offered the same rate, else
    one across each bar.
    """
    top, bottom = 24, 330
    offered = [bar.offered for bar in bars if bar.offered is not None and bar.offered > 0]
    rates = distinct(offered)
    ticks = nice_ticks(0.0, max([bar.high for bar in bars] + offered + [0.0]) * 1.08 or 1.0)
    yscale = Scale(0.0, ticks[-1], bottom, top)
    left = _left(ticks)
    body = [horizontal_grid(yscale, ticks, left, RIGHT), frame(left, top, RIGHT, bottom)]
    body.append(_y_label(f"achieved {what}/s" if offered else f"{what} per second", (top + bottom) / 2))
    band = (RIGHT - left) / max(len(bars), 1)
    width = min(band * 0.6, 120)
    for index, bar in enumerate(bars):
        centre = left + band * (index + 0.5)
        y = yscale(bar.median)
        tooltip = f"{marked(bar.label, bar.mark)}: {rate(bar.median)} {what}/s"
        if bar.runs > 1:
            tooltip += f" (median of {bar.runs} runs, {rate(bar.low)}–{rate(bar.high)})"
        if bar.offered:
            tooltip += f" of {rate(bar.offered)} offered"
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
        value = _value_label(bar.median, band - 4)
        if value:
            body.append(text(centre, min(y, yscale(bar.high)) - 8, value, css="value-label"))
        body.append(text(centre, bottom + 20, _bar_label(bar, band - 4), css="tick"))
        if len(rates) > 1 and bar.offered:
            body.append(_reference(centre - band * 0.45, centre + band * 0.45, yscale(bar.offered),
                                   f"{bar.label}: offered {rate(bar.offered)} {what}/s"))  # fmt: skip
        body.append("</g>")
    height: float = bottom + 40
    if rates:
        if len(rates) == 1:
            body.append(_reference(left, RIGHT, yscale(rates[0]), f"offered rate: {rate(rates[0])} {what}/s"))
        keys, legend_height = legend([_offered_key(rates)], left, bottom + 52, WIDTH - left - EDGE)
        body.append(keys)
        height = bottom + 52 + legend_height
    return svg(
        chart_id,
        WIDTH,
        height,
        "Throughput",
        f"Median {what} per second of each series; whiskers span the slowest to the fastest run."
        + (" The dashed line is the offered rate." if rates else ""),
        "".join(body),
    )


def _bar_label(bar: Bar, room: float) -> str:
    """The series' name under its bar, cut short where the bar is narrow; its mark is kept whole."""
    if not bar.mark:
        return fit(bar.label, room, TICK_SIZE)
    return marked(fit(bar.label, room - text_width(" " + bar.mark, TICK_SIZE), TICK_SIZE), bar.mark)


def _value_label(value: float, room: float) -> str:
    """The bar's figure (25,626), shorter (25.6k) where its bar is narrow, or nothing where even that won't fit."""
    for shown in (rate(value), _compact(value)):
        if text_width(shown, TICK_SIZE) <= room:
            return shown
    return ""


def _compact(value: float) -> str:
    for size, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if value >= size:
            return f"{value / size:.3g}{suffix}"
    return f"{value:.3g}"


def timeline(
    lines: Sequence[TimelineLine], *, chart_id: str = "timeline", offered: float | None = None, what: str = "requests"
) -> str:
    """Two panels over the run's seconds: requests/s above, p99 latency below; one line per series.

    ``offered`` (open model, a fixed rate): the upper panel is the achieved rate (responses completed each
    second) and the offered rate is a dashed reference line across it.
    """
    offered = offered if offered is not None and offered > 0 else None
    rps_title = f"achieved {what}/s" if offered else f"{what}/s"
    panels = ((rps_title, 20, 220), ("p99 latency (ms)", 262, 462))
    # The x axis runs to the end of the last second: points sit in the middle of their second.
    end = max((second[0] + 0.5 for one in lines for second in one.seconds), default=1.0)
    xticks = [(tick, f"{tick:g} s") for tick in nice_ticks(0.0, end, 8) if tick <= end + 1e-9]
    scales = []
    for panel, (_, top, bottom) in enumerate(panels):
        values = [value for one in lines for second in one.seconds if (value := second[1 + panel]) is not None] or [1.0]
        if panel == 0:
            ticks = nice_ticks(0.0, max([*values, offered or 0.0]) * 1.08 or 1.0)
            scales.append((Scale(0.0, ticks[-1], bottom, top), ticks, False))
        else:
            scales.append(_latency_scale(values, top, bottom))
    left = _left(*(ticks for _, ticks, _ in scales))
    xscale = Scale(0.0, end, left, RIGHT)
    body = []
    for panel, ((title, top, bottom), (yscale, ticks, is_log)) in enumerate(zip(panels, scales, strict=True)):
        body.append(horizontal_grid(yscale, ticks, left, RIGHT))
        body.append(vertical_grid(xscale, xticks, top, bottom, width=WIDTH))
        body.append(frame(left, top, RIGHT, bottom))
        body.append(_y_label(title.replace(")", ", log scale)") if is_log else title, (top + bottom) / 2))
        if panel == 0 and offered:
            body.append(_reference(left, RIGHT, yscale(offered), f"offered rate: {rate(offered)} {what}/s"))
        metric = "rps" if panel == 0 else "p99"
        for index, one in enumerate(lines):
            body.append(f'<g class="series-group {metric}" data-series="{escape(one.label)}">')
            body.append(f"<title>{escape(one.key)}: {escape(title)} each second</title>")
            for segment in _segments(one.seconds, 1 + panel):
                coordinates = " ".join(f"{number(xscale(t))},{number(yscale(v))}" for t, v in segment)
                body.append(_polyline(coordinates, index, one.label))
            if len(one.seconds) <= MOST_MARKERS:
                for second in one.seconds:
                    value = second[1 + panel]
                    if value is not None:
                        figure = f"{rate(value)} {what}/s" if panel == 0 else f"{milliseconds(value)} ms"
                        tooltip = f"{one.key}: {figure} around {second[0]:g} s"
                        body.append(_marker(xscale(second[0]), yscale(value), index, tooltip, radius=2.5))
            body.append("</g>")
    bottom = panels[-1][2]
    body.append(text((left + RIGHT) / 2, bottom + 42, "time since the measured window began (s)", css="axis-label"))
    keys = [series_key(one.key, index) for index, one in enumerate(lines)]
    if offered:
        keys.append(_offered_key([offered]))
    markup, height = legend(keys, left, bottom + 66, WIDTH - left - EDGE)
    body.append(markup)
    return svg(
        chart_id,
        WIDTH,
        bottom + 66 + height,
        "Each second of the first run",
        f"{what.capitalize()} per second and p99 latency in each second of each series' first run.",
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
    return text(
        Y_LABEL_X,
        middle,
        label,
        css="axis-label",
        extra=f' transform="rotate(-90 {Y_LABEL_X} {number(middle)})"',
    )
