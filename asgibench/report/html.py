"""The report as one self-contained HTML page: inline CSS and inline SVG charts, nothing fetched. Pure.

A Content-Security-Policy in the page forbids every load (scripts, fonts,
images, styles from elsewhere), so opening the file never touches the network.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from html import escape
from pathlib import Path

from asgibench.compare.stats import is_websocket
from asgibench.report.charts import (
    Bar,
    SpectrumLine,
    TimelineLine,
    distinct,
    percentile_spectrum,
    throughput_bars,
    timeline,
)
from asgibench.report.describe import load_line, machine_line
from asgibench.report.links import relative_link
from asgibench.report.model import Report, Run, Section, Series
from asgibench.report.spectrum import merged_latency, spectrum
from asgibench.report.tables import (
    Standing,
    Table,
    comparison_line,
    marked_name,
    named_rows,
    run_rows,
    series_warnings,
    status_rows,
    summary_table,
    symbols,
    table_notes,
    threshold_rows,
)
from asgibench.results.model import Result

POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
STYLE = """
:root{--ink:#1f2937;--muted:#6b7280;--line:#e5e7eb;--accent:#0072B2;--warn-bg:#fff7e6;--warn:#9a5b00}
*{box-sizing:border-box}
body{margin:0;background:#f6f7f9;color:var(--ink);
 font:15px/1.5 system-ui,-apple-system,'Segoe UI',Roboto,'Helvetica Neue',Arial,sans-serif}
main{max-width:1200px;margin:0 auto;padding:32px 24px 48px}
h1{font-size:26px;margin:0 0 12px}
h2{font-size:19px;margin:36px 0 12px;padding-bottom:6px;border-bottom:1px solid var(--line)}
h3{font-size:16px;margin:24px 0 8px}
dl.meta{display:grid;grid-template-columns:max-content 1fr;gap:4px 16px;margin:0}
dl.meta dt{color:var(--muted)}dl.meta dd{margin:0}
.card{background:#fff;border:1px solid var(--line);border-radius:8px;padding:16px 20px;margin:12px 0}
.warning{background:var(--warn-bg);border-left:4px solid #E69F00;color:var(--warn);padding:10px 14px;
 border-radius:4px;margin:10px 0}
.failed{color:#b42318;font-weight:600}
.unsupported{color:var(--muted);font-style:italic}
tr.unsupported td{color:var(--muted)}
.card>h3:first-child{margin-top:0}
h4{font-size:14px;margin:16px 0 6px}
table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums;font-size:13.5px}
th,td{padding:6px 8px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
th{color:var(--muted);font-weight:600;font-size:13px;vertical-align:bottom}
td.num{white-space:nowrap}
.range{display:block;font-size:11.5px;color:var(--muted);font-weight:400;white-space:normal}
td.num,th.num{text-align:right}
tr.best td{font-weight:700;background:#eef6fc}
tr.tied td:last-child{color:#05603a}
tr.flagged td:first-child,tr.flagged td:last-child{color:var(--warn)}
.marks{display:block;text-align:left;white-space:normal;min-width:9em;font-size:12.5px}
table.statuses,table.thresholds{width:auto}
/* Wide tables scroll inside their own box; the page itself never scrolls sideways. */
.table-scroll{overflow-x:auto;max-width:100%}
ul.notes{color:var(--muted);font-size:13px;padding-left:18px;margin:8px 0 0}
figure{margin:0}figcaption{color:var(--muted);font-size:13px;margin-top:6px}
svg.chart{width:100%;max-width:960px;height:auto;display:block;margin:0 auto}
pre{background:#111827;color:#e5e7eb;padding:12px;border-radius:6px;overflow-x:auto;font-size:12px}
code{overflow-wrap:anywhere}
footer{color:var(--muted);font-size:12px;margin-top:40px}
a{color:var(--accent)}
@media (max-width:900px){
 main{padding:20px 12px 40px}
 .card{padding:12px}
 table{font-size:13px}
 th,td{padding:5px 5px}
}
"""


def render_html(report: Report, *, report_directory: Path, title: str = "asgibench report") -> str:
    """The whole page; links to flame graphs are relative to ``report_directory``."""
    single = len(report.sections) == 1
    items = [("Machine", machine_line(report.environment))] + (_setting(report.sections[0]) if single else [])
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{POLICY}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(title)}</title><style>{STYLE}</style></head><body><main>",
        f"<header><h1>{escape(title)}</h1>{_meta(items)}</header>",
    ]
    parts += [f'<div class="warning">{escape(note)}</div>' for note in report.notes]
    for number, section in enumerate(report.sections, start=1):
        suffix = "" if number == 1 else f"-{number}"
        parts.append(f'<section class="report-section" id="section{suffix}">')
        if not single:
            parts.append(f'<h2 class="section-title">{escape(section.title)}</h2>{_meta(_setting(section))}')
        parts.append(_section(section, report_directory, suffix, single))
        parts.append("</section>")
    runs = sum(len(series.runs) for series in report.series)
    parts.append(f"<footer>{runs} run{'s' if runs != 1 else ''} · generated by asgibench</footer>")
    parts.append("</main></body></html>")
    return "\n".join(parts) + "\n"


def _setting(section: Section) -> list[tuple[str, str]]:
    items = [("Load", load_line(section.config))]
    if section.comparison is not None:
        items.append(("Comparison", comparison_line(section.comparison)))
    return items


def _section(section: Section, report_directory: Path, suffix: str, single: bool) -> str:
    heading = "h2" if single else "h3"
    parts = [f'<div class="warning">{escape(note)}</div>' for note in section.notes]
    summary = summary_table(section)
    parts.append(f'<{heading}>Results</{heading}><div class="card">')
    parts.append(scrolling(table(summary, css="summary")))
    notes = table_notes(section, summary)
    parts.append('<ul class="notes">' + "".join(f"<li>{escape(note)}</li>" for note in notes) + "</ul>")
    parts.append("</div>")
    parts.append(_charts(section, suffix, heading))
    details = "".join(_details(series, report_directory) for series in section.series)
    parts.append(f"<{heading}>Series</{heading}>{details}")
    return "".join(parts)


def table(data: Table, *, css: str = "") -> str:
    klass = f' class="{css}"' if css else ""
    aligned = [' class="num"' if numeric else "" for numeric in data.numeric]
    head = "".join(f"<th{align}>{escape(header)}</th>" for header, align in zip(data.headers, aligned, strict=True))
    rows = []
    for index, row in enumerate(data.rows):
        shown = [_cell(cell) for cell in row]
        if index < len(data.standings) and data.standings[index].caveats:
            shown[-1] = _against(row[-1], data.standings[index])
        cells = "".join(f"<td{align}>{cell}</td>" for cell, align in zip(shown, aligned, strict=True))
        css_class = _row_class(data, index)
        rows.append(f'<tr class="{css_class}">{cells}</tr>' if css_class else f"<tr>{cells}</tr>")
    return f"<table{klass}><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _row_class(data: Table, index: int) -> str:
    if index == data.best_row:
        return "best"
    if index in data.flagged_rows:
        return "flagged"
    if index < len(data.standings) and data.standings[index].unsupported:
        return "unsupported"
    return "tied" if index in data.tied_rows else ""


def _against(text: str, standing: Standing) -> str:
    """A marked row's last cell: the ratio, right-aligned like the others, then its marks as a block of prose."""
    marks = "; ".join(caveat.mark for caveat in standing.caveats)
    ratio = text.removesuffix(marks).rstrip()
    if ratio == text:  # not the layout summary_table writes: shown as it is
        return escape(text)
    return f'{escape(ratio)}<span class="marks">{escape(marks)}</span>'


def scrolling(markup: str) -> str:
    """A table in a box of its own that scrolls sideways when the table is wider than the page."""
    return f'<div class="table-scroll">{markup}</div>'


def _cell(text: str) -> str:
    """A cell; a trailing "(low–high)" goes on its own smaller line, which may break after its dash."""
    value, bracket, rest = text.partition(" (")
    if not bracket or not rest.endswith(")"):
        return escape(text)
    return f'{escape(value)}<span class="range">({escape(rest).replace("–", "–<wbr>")}</span>'


def _meta(items: list[tuple[str, str]]) -> str:
    return '<dl class="meta">' + "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in items) + "</dl>"


def _charts(section: Section, suffix: str, heading: str) -> str:
    measured = section.measured
    lines = []
    for series in measured:
        histogram = merged_latency(run.result for run in series.runs)
        if histogram is not None:
            lines.append(SpectrumLine(series.label, tuple(spectrum(histogram)), symbols(series)))
    bars = [
        Bar(
            series.label,
            rps.median,
            rps.low,
            rps.high,
            len(series.runs),
            _marks(series),
            symbols(series),
            _median([offered_rate(run) for run in series.runs]),
        )
        for series in measured
        if (rps := series.rps) is not None
    ]
    seconds = [TimelineLine(series.label, _seconds(series.runs[0].result), symbols(series)) for series in measured]
    offered = _timeline_offered([series.runs[0] for series in measured])
    open_model = any(bar.offered for bar in bars)
    # A WebSocket load's rate is of echoed messages (each a round trip), and the charts say so.
    what = "messages" if is_websocket(section.config) else "requests"
    throughput_caption = _OPEN_THROUGHPUT_CAPTION if open_model else _THROUGHPUT_CAPTION
    timeline_caption = _OPEN_TIMELINE_CAPTION if offered else _TIMELINE_CAPTION
    if what == "messages":
        throughput_caption, timeline_caption = (
            caption.replace("responses completed", "echoes received")
            .replace("requests/s", "messages/s")
            .replace("Requests/s", "Messages/s")
            for caption in (throughput_caption, timeline_caption)
        )
    figures = [
        ("Latency by percentile", percentile_spectrum(lines, chart_id=f"percentile-spectrum{suffix}"), _SPECTRUM),
        ("Throughput", throughput_bars(bars, chart_id=f"throughput{suffix}", what=what), throughput_caption),
        ("Each second", timeline(seconds, chart_id=f"timeline{suffix}", offered=offered, what=what), timeline_caption),
    ]
    return "".join(
        f'<section class="chart-section"><{heading}>{escape(name)}</{heading}><figure class="card">{chart}'
        f"<figcaption>{escape(caption)}</figcaption></figure></section>"
        for name, chart, caption in figures
    )


def offered_rate(run: Run) -> float | None:
    """The rate offered in an open-model run (requests/s): its summary's ``offered_rps``, else its config's rate."""
    offered = run.result.summary.offered_rps
    if offered is None and run.result.model == "open":
        offered = run.result.config.get("rate")
    return float(offered) if offered is not None and offered > 0 else None


def _median(values: Sequence[float | None]) -> float | None:
    present = [value for value in values if value is not None]
    return statistics.median(present) if present else None


def _timeline_offered(first_runs: Sequence[Run]) -> float | None:
    """The one fixed rate offered in every series' first run, for a reference line; None when there is none.

    A ramping rate (stages) has no one rate to draw, and runs offered different rates have no common line
    (the throughput chart draws each one's).
    """
    if any(run.result.config.get("stages") for run in first_runs):
        return None
    rates = [offered_rate(run) for run in first_runs]
    present = [rate for rate in rates if rate is not None]
    if not present or len(present) != len(rates):
        return None
    found = distinct(present)
    return found[0] if len(found) == 1 else None


def _marks(series: Series) -> str:
    return "; ".join(caveat.mark for caveat in series.caveats)


def _seconds(result: Result) -> tuple[tuple[float, float, float | None], ...]:
    """A run's timeline as (middle of the second, requests/s, p99 ms or None)."""
    return tuple(((row.start_s + row.end_s) / 2, row.rps, row.latency_ms.get("p99_ms")) for row in result.timeline)


_THROUGHPUT_CAPTION = "Median requests/s; whiskers span the slowest and fastest run."
_OPEN_THROUGHPUT_CAPTION = (
    "Achieved requests/s (responses completed per second), the median of the runs; whiskers span the slowest "
    "and fastest run. The dashed line is the rate offered: a bar below it is a target that fell behind."
)
_TIMELINE_CAPTION = "Requests/s and p99 in each second of the first run of each series."
_OPEN_TIMELINE_CAPTION = (
    "Achieved requests/s (responses completed in each second) against the offered rate (dashed), and p99, "
    "in each second of the first run of each series."
)
_SPECTRUM = (
    "HdrHistogram percentile distribution of all runs' requests pooled: each line is a series' runs merged by "
    "adding their histograms, so its percentiles may differ from the table's, which are medians over the runs. "
    "Further right is rarer: 99.9% means one request in a thousand was slower. The line ends at the maximum."
)


def _details(series: Series, report_directory: Path) -> str:
    parts = [f'<div class="card series-detail"><h3>{escape(marked_name(series))}</h3>']
    if series.app:
        parts.append(f"<p>App: <code>{escape(series.app)}</code></p>")
    if series.unsupported is not None:
        parts.append(f'<p class="unsupported">Unsupported: {escape(series.unsupported)}</p>')
    if series.failed:
        parts.append(f'<p class="failed">Failed: {escape(series.failure or "no measured runs")}</p>')
        if series.log_tail:
            parts.append("<pre>" + escape("\n".join(series.log_tail)) + "</pre>")
    parts += [f'<div class="warning">{escape(warning)}</div>' for warning in series_warnings(series)]
    if series.profile is not None:
        link = relative_link(series.profile, report_directory)
        parts.append(
            f'<p>Flame graph of the server under load: <a class="profile" href="{escape(link)}">'
            f"{escape(series.profile.name)}</a></p>"
        )
    if series.runs:
        parts.append(scrolling(table(run_rows(series), css="runs")))
    named = named_rows(series)
    if named.rows:
        parts.append("<h4>Requests by name</h4>" + scrolling(table(named, css="named")))
    statuses = status_rows(series)
    if statuses.rows:
        parts.append("<h4>Status codes</h4>" + scrolling(table(statuses, css="statuses")))
    verdicts = threshold_rows(series)
    if verdicts.rows:
        parts.append("<h4>Thresholds</h4>" + scrolling(table(verdicts, css="thresholds")))
    parts.append("</div>")
    return "".join(parts)
