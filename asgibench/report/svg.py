"""SVG building blocks for the report's charts: scales, ticks, axes, gridlines, legends. Pure.

Everything returns markup as a string; all text passes through ``html.escape``.
Colours are the Okabe-Ito palette (distinguishable with the common colour-vision
deficiencies) and lines also differ by dash pattern, so they survive greyscale.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#000000", "#B8A200")
DASHES = ("", "7 4", "2 3", "9 3 2 3", "4 2", "12 4", "1 2", "6 2 2 2")
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"
GRID = "#e3e6ea"
AXIS = "#6b7280"
INK = "#1f2937"


def colour(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def dash(index: int) -> str:
    # The ninth series and later repeat colours, so they take another dash pattern from then on.
    return DASHES[(index + index // len(PALETTE)) % len(DASHES)]


def number(value: float) -> str:
    """A coordinate, short: two decimals at most."""
    return f"{value:.2f}".rstrip("0").rstrip(".")


@dataclass(frozen=True, slots=True)
class Scale:
    """Maps a domain onto pixels, linearly or by log10."""

    low: float
    high: float
    start: float
    end: float
    log: bool = False

    def __call__(self, value: float) -> float:
        low, high, value = self.low, self.high, value
        if self.log:
            low, high, value = math.log10(low), math.log10(high), math.log10(max(value, self.low))
        span = high - low or 1.0
        return self.start + (value - low) / span * (self.end - self.start)


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """About ``count`` round ticks (1, 2, 2.5 or 5 times a power of ten) covering [low, high]."""
    if high <= low:
        high = low + 1.0
    raw = (high - low) / max(count, 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(factor * magnitude for factor in (1, 2, 2.5, 5, 10) if factor * magnitude >= raw)
    first = math.floor(low / step) * step
    ticks = []
    value = first
    while value <= high + step * 0.5:
        ticks.append(round(value, 10))
        value += step
    return ticks


def log_ticks(low: float, high: float) -> list[float]:
    """1-2-5 ticks on a log axis, from the decade at or below ``low`` to the one at or above ``high``."""
    first = math.floor(math.log10(low))
    last = math.ceil(math.log10(high))
    factors = (1, 2, 5) if last - first <= 4 else (1,)
    ticks = [factor * 10.0**power for power in range(first, last + 1) for factor in factors]
    lower = max((tick for tick in ticks if tick <= low), default=ticks[0])
    upper = min((tick for tick in ticks if tick >= high), default=ticks[-1])
    return [tick for tick in ticks if lower <= tick <= upper]


def tick_label(value: float) -> str:
    if value >= 1000:
        return f"{value:,.0f}"
    if value >= 1:
        return f"{value:g}"
    return f"{value:.3g}"


def text(x: float, y: float, content: str, *, anchor: str = "middle", css: str = "", extra: str = "") -> str:
    klass = f' class="{css}"' if css else ""
    return f'<text x="{number(x)}" y="{number(y)}" text-anchor="{anchor}"{klass}{extra}>{escape(content)}</text>'


def line(x1: float, y1: float, x2: float, y2: float, *, css: str) -> str:
    return f'<line x1="{number(x1)}" y1="{number(y1)}" x2="{number(x2)}" y2="{number(y2)}" class="{css}"/>'


def horizontal_grid(scale: Scale, ticks: Sequence[float], left: float, right: float, *, unit: str = "") -> str:
    """Gridlines across the plot at each y tick, with its label on the left."""
    parts = []
    for tick in ticks:
        y = scale(tick)
        parts.append(line(left, y, right, y, css="grid"))
        parts.append(text(left - 8, y + 4, tick_label(tick) + unit, anchor="end", css="tick"))
    return "".join(parts)


def vertical_grid(scale: Scale, ticks: Sequence[tuple[float, str]], top: float, bottom: float) -> str:
    """Gridlines down the plot at each x tick, with its label below."""
    parts = []
    for value, label in ticks:
        x = scale(value)
        parts.append(line(x, top, x, bottom, css="grid"))
        parts.append(text(x, bottom + 18, label, css="tick"))
    return "".join(parts)


def frame(left: float, top: float, right: float, bottom: float) -> str:
    """The plot's axes: a line along the bottom and the left."""
    return line(left, bottom, right, bottom, css="axis") + line(left, top, left, bottom, css="axis")


def legend(labels: Sequence[str], x: float, y: float, width: float, *, swatch: str = "line") -> tuple[str, float]:
    """A legend flowing left to right, wrapping at ``width``; returns its markup and its height."""
    parts = ['<g class="legend">']
    cursor, row = x, 0
    for index, label in enumerate(labels):
        item_width = 34 + 7.2 * len(label)
        if cursor + item_width > x + width and cursor > x:
            cursor, row = x, row + 1
        top = y + row * 20
        if swatch == "line":
            pattern = f' stroke-dasharray="{dash(index)}"' if dash(index) else ""
            parts.append(
                f'<line x1="{number(cursor)}" y1="{number(top)}" x2="{number(cursor + 24)}" y2="{number(top)}" '
                f'stroke="{colour(index)}" stroke-width="2.5"{pattern}/>'
            )
        else:
            parts.append(
                f'<rect x="{number(cursor + 6)}" y="{number(top - 6)}" width="12" height="12" rx="2" '
                f'fill="{colour(index)}"/>'
            )
        parts.append(text(cursor + 30, top + 4, label, anchor="start", css="legend-label"))
        cursor += item_width
    parts.append("</g>")
    return "".join(parts), (row + 1) * 20


def svg(chart_id: str, width: float, height: float, title: str, description: str, body: str) -> str:
    """A chart's outer element: accessible title and description, the shared style, the body."""
    return (
        f'<svg class="chart" id="{escape(chart_id)}" xmlns="http://www.w3.org/2000/svg" '
        f'viewBox="0 0 {number(width)} {number(height)}" width="{number(width)}" height="{number(height)}" '
        f'role="img" aria-labelledby="{escape(chart_id)}-title {escape(chart_id)}-description">'
        f'<title id="{escape(chart_id)}-title">{escape(title)}</title>'
        f'<desc id="{escape(chart_id)}-description">{escape(description)}</desc>'
        f"<style>{STYLE}</style>{body}</svg>"
    )


STYLE = (
    f"text{{font-family:{FONT};fill:{INK}}}"
    ".tick{font-size:12px;fill:#4b5563}"
    ".axis-label{font-size:13px;fill:#374151}"
    ".legend-label{font-size:13px}"
    ".panel-title{font-size:13px;font-weight:600}"
    ".value-label{font-size:12px;font-weight:600}"
    f".grid{{stroke:{GRID};stroke-width:1}}"
    f".axis{{stroke:{AXIS};stroke-width:1}}"
    ".series{fill:none;stroke-width:2.2;stroke-linejoin:round;stroke-linecap:round}"
    ".whisker{stroke:#111827;stroke-width:1.5}"
    ".marker{stroke:#fff;stroke-width:1}"
)
