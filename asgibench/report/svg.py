"""SVG building blocks for the report's charts: scales, ticks, axes, gridlines, legends. Pure.

Everything returns markup as a string; all text passes through ``html.escape``.
Colours are the Okabe-Ito palette (distinguishable with the common colour-vision
deficiencies) and lines also differ by dash pattern, so they survive greyscale.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#000000", "#B8A200")
DASHES = ("", "7 4", "2 3", "9 3 2 3", "4 2", "12 4", "1 2", "6 2 2 2")
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"
GRID = "#e3e6ea"
AXIS = "#6b7280"
INK = "#1f2937"
# A reference line (the offered rate): dark red and finely dashed, unlike any series' colour and pattern.
REFERENCE = "#7f1d1d"
REFERENCE_DASH = "5 3"
# Font sizes (px) in the charts' own units; the CSS in ``STYLE`` and the layout's estimates both use them.
TICK_SIZE = 12
LABEL_SIZE = 13
LEGEND_SIZE = 13
EDGE = 2  # the least room between a label and the chart's edge
MIN_TICK_GAP = 18  # px between the baselines of two y tick labels: a label is about 14 px tall
SWATCH, SWATCH_GAP, LEGEND_GAP, LEGEND_ROW = 24, 6, 22, 22


def colour(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def dash(index: int) -> str:
    # The ninth series and later repeat colours, so they take another dash pattern from then on.
    return DASHES[(index + index // len(PALETTE)) % len(DASHES)]


# Widths in em, on the generous side of common sans-serif fonts (DejaVu Sans is among the widest), so text
# laid out from these estimates does not run into its neighbour whatever font the reader's system picks.
_NARROW = frozenset("ijlI.,:;'|!ft()[]{} ")
_WIDE = frozenset("mwMW%@")
ELLIPSIS = "…"


def text_width(content: str, size: float) -> float:
    """An upper estimate of the width in px of ``content`` set at ``size`` px (no font metrics in a pure module)."""
    ems = 0.0
    for char in content:
        if unicodedata.combining(char):
            continue
        if char in _NARROW:
            ems += 0.42
        elif char in _WIDE:
            ems += 1.0
        elif char.isascii():
            ems += 0.82 if char.isupper() else 0.66
        else:  # symbols (★ ⚠ ✗ ≈ ×), accented and CJK letters: a full em, more for East Asian wide ones
            ems += 1.15 if unicodedata.east_asian_width(char) in "WF" else 1.0
    return ems * size


def fit(content: str, room: float, size: float) -> str:
    """``content``, cut short with an ellipsis so that it is at most ``room`` px wide at ``size`` px."""
    if text_width(content, size) <= room:
        return content
    kept = content
    while kept and text_width(kept + ELLIPSIS, size) > room:
        kept = kept[:-1]
    return kept.rstrip() + ELLIPSIS if kept else ""


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
    if not raw > 0 or not math.isfinite(raw):  # a span too small (or too large) for a float to step through
        return [low, low + 1.0]
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(factor * magnitude for factor in (1, 2, 2.5, 5, 10) if factor * magnitude >= raw)
    # From the step at or below ``low`` to the first at or above ``high``: an axis ending below its largest
    # value would draw that value outside the plot.
    value = math.floor(low / step) * step
    ticks = [round(value, 10)]
    while value < high - step * 1e-9:
        value += step
        ticks.append(round(value, 10))
    return ticks


def log_ticks(low: float, high: float, room: float = 360.0) -> list[float]:
    """1-2-5 ticks on a log axis, from the decade at or below ``low`` to the one at or above ``high``.

    Only powers of ten when 1 and 2 (0.3 of a decade apart) would be drawn closer than ``MIN_TICK_GAP`` on an
    axis ``room`` px long: their labels would touch.
    """
    first = math.floor(math.log10(low))
    last = math.ceil(math.log10(high))
    decades = max(last - first, 1)
    factors = (1, 2, 5) if decades <= 4 and room / decades * math.log10(2) >= MIN_TICK_GAP else (1,)
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


def vertical_grid(scale: Scale, ticks: Sequence[tuple[float, str]], top: float, bottom: float, *, width: float) -> str:
    """Gridlines down the plot at each x tick, with its label below, kept inside the chart's ``width``.

    A label centred on a tick near the edge (99.9999% at the right end) would stick out of the SVG's box and
    be clipped, so it is moved inwards by as much as it would stick out.
    """
    parts = []
    for value, label in ticks:
        x = scale(value)
        parts.append(line(x, top, x, bottom, css="grid"))
        half = text_width(label, TICK_SIZE) / 2
        centre = min(max(x, half + EDGE), width - half - EDGE)
        parts.append(text(centre, bottom + 20, label, css="tick"))  # clear of the lowest y tick label
    return "".join(parts)


def frame(left: float, top: float, right: float, bottom: float) -> str:
    """The plot's axes: a line along the bottom and the left."""
    return line(left, bottom, right, bottom, css="axis") + line(left, top, left, bottom, css="axis")


@dataclass(frozen=True, slots=True)
class Key:
    """One legend entry: its text and a line drawn as what it names is drawn in the chart."""

    label: str
    colour: str
    dash: str = ""
    reference: bool = False  # a thin reference line (the offered rate), not a series


def series_key(label: str, index: int) -> Key:
    """The legend entry of the ``index``-th series: its colour and dash pattern."""
    return Key(label, colour(index), dash(index))


def reference_key(label: str) -> Key:
    return Key(label, REFERENCE, REFERENCE_DASH, reference=True)


def legend(keys: Sequence[Key], x: float, y: float, width: float) -> tuple[str, float]:
    """Entries flowing left to right, a new row when the next would not fit in ``width``; markup and height.

    Each entry is measured generously (``text_width``) and followed by a gap, so entries never touch; one
    too long for a row of its own is cut short with an ellipsis, its full text in a tooltip.
    """
    parts = ['<g class="legend">']
    cursor, row = x, 0
    for key in keys:
        room = width - SWATCH - SWATCH_GAP
        shown = fit(key.label, room, LEGEND_SIZE)
        item_width = SWATCH + SWATCH_GAP + text_width(shown, LEGEND_SIZE)
        if cursor > x and cursor + item_width > x + width:
            cursor, row = x, row + 1
        middle = y + row * LEGEND_ROW
        tooltip = f"<title>{escape(key.label)}</title>" if shown != key.label else ""
        parts.append(f'<g class="legend-item">{tooltip}{_swatch(key, cursor, middle)}')
        parts.append(text(cursor + SWATCH + SWATCH_GAP, middle + 4.5, shown, anchor="start", css="legend-label"))
        parts.append("</g>")
        cursor += item_width + LEGEND_GAP
    parts.append("</g>")
    return "".join(parts), (row + 1) * LEGEND_ROW


def _swatch(key: Key, x: float, middle: float) -> str:
    pattern = f' stroke-dasharray="{key.dash}"' if key.dash else ""
    thickness = "1.5" if key.reference else "2.5"
    return (
        f'<line x1="{number(x)}" y1="{number(middle)}" x2="{number(x + SWATCH)}" y2="{number(middle)}" '
        f'stroke="{key.colour}" stroke-width="{thickness}"{pattern}/>'
    )


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
    f".tick{{font-size:{TICK_SIZE}px;fill:#4b5563}}"
    f".axis-label{{font-size:{LABEL_SIZE}px;fill:#374151}}"
    f".legend-label{{font-size:{LEGEND_SIZE}px}}"
    f".value-label{{font-size:{TICK_SIZE}px;font-weight:600}}"
    f".grid{{stroke:{GRID};stroke-width:1}}"
    f".axis{{stroke:{AXIS};stroke-width:1}}"
    ".series{fill:none;stroke-width:2.2;stroke-linejoin:round;stroke-linecap:round}"
    ".whisker{stroke:#111827;stroke-width:1.5}"
    ".marker{stroke:#fff;stroke-width:1}"
    f".reference{{stroke:{REFERENCE};stroke-width:1.5;stroke-dasharray:{REFERENCE_DASH};fill:none}}"
)
