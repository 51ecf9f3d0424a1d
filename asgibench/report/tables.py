"""The report's words and numbers, shared by the Markdown and HTML renderers. Pure.

Each function returns plain text (never markup): the renderers escape or
format it for their medium, so both reports always say the same thing.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, get_args

from asgibench.compare import stats as compare_stats
from asgibench.compare.stats import protocol_columns, protocol_notes, throughput_column
from asgibench.report.model import Run, Section, Series
from asgibench.results.figures import (
    Caveat,
    CaveatKind,
    cores,
    figure,
    mebibytes,
    milliseconds,
    rate,
    ratio,
    share,
)
from asgibench.results.spread import Spread

BEST_MARK = "★"
TIE_MARK = "≈"
FAILED_MARK = "✗"
DASH = "–"
# What each kind of caveat means, for the legend under the table; its symbol comes from the caveat itself.
CAVEAT_MEANINGS: dict[CaveatKind, str] = {
    "generator_bound": "generator-bound (the generator, not the target, was the limit)",
    "target_behind": "target behind (it completed under 95% of the offered rate: overloaded)",
    "partial": "partial (the run was cut short)",
    "mostly_failing": "most requests failed (over half were errors, so its latency is mostly theirs)",
    "failed": "no request succeeded",
}
SERVER_FAILED = "failed (the server did not start, or stopped during a run: see below)"
UNSUPPORTED = "unsupported"
NAMED_HEADERS = ("name", "requests", "ok", "errors", "error rate", "req/s", "p50 ms", "p99 ms", "p99.9 ms", "max ms")
NAMED_NUMERIC = (False, *(True,) * (len(NAMED_HEADERS) - 1))
RUN_LATENCY = ("p50", "p99", "p999", "max")


@dataclass(frozen=True, slots=True)
class Standing:
    """How a summary row stands against the best: the best (★), tied with it (≈), or kept from ★ by its marks."""

    best: bool = False
    tied: bool = False  # not different from the best beyond the runs' noise: compare's ≈
    caveats: tuple[Caveat, ...] = ()
    failed: bool = False  # the server failed: nothing measured to rank
    unsupported: bool = False  # the server could not serve the load's protocol: not run, not failed

    @property
    def flagged(self) -> bool:
        return self.failed or bool(self.caveats)


@dataclass(frozen=True, slots=True)
class Table:
    """A table as text: its header, its rows, which columns are numeric, and (a summary) how each row stands."""

    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    numeric: tuple[bool, ...]
    standings: tuple[Standing, ...] = ()  # one per row in a summary table; none in the others

    @property
    def best_row(self) -> int | None:
        return next((index for index, standing in enumerate(self.standings) if standing.best), None)

    @property
    def tied_rows(self) -> tuple[int, ...]:
        return tuple(index for index, standing in enumerate(self.standings) if standing.tied)

    @property
    def flagged_rows(self) -> tuple[int, ...]:
        """Rows never eligible for the best; their marks follow the name and fill the last cell."""
        return tuple(index for index, standing in enumerate(self.standings) if standing.flagged)


Format = Callable[[float], str]


def shown(value: float | None, fmt: Format = milliseconds) -> str:
    """``value`` by the shared formatter of its kind (asgibench.results.figures); a dash when there is none."""
    return DASH if value is None else fmt(value)


def with_range(spread: Spread | None, fmt: Format, runs: int) -> str:
    """``median`` alone for one run; ``median (low–high)`` for repeats."""
    if spread is None:
        return DASH
    if runs < 2 or spread.low == spread.high:
        return fmt(spread.median)
    return f"{fmt(spread.median)} ({fmt(spread.low)}{DASH}{fmt(spread.high)})"


def stats_spread(stats: Mapping[str, Any], key: str) -> Spread | None:
    """A column of compare's ``server_stats`` (median, min, max and the runs' values) as a Spread."""
    figure = stats.get(key)
    if figure is None:
        return None
    return Spread(figure["median"], figure["min"], figure["max"], len(figure.get("values") or ()) or 1)


def comparison_line(comparison: Mapping[str, Any]) -> str:
    """The app a comparison ran, its repeats, server processes and CPU pinning."""
    parts = [f"app {comparison.get('app')}"]
    if comparison.get("wsgi_app"):
        parts.append(f"WSGI twin {comparison['wsgi_app']}")
    repeat = comparison.get("repeat")
    parts.append(f"{repeat} measured run" + ("s" if repeat != 1 else "") + " per server")
    workers = comparison.get("server_workers")
    if workers:
        parts.append(f"{workers} server process" + ("es" if workers != 1 else ""))
    cpus = comparison.get("cpus") or {}
    if cpus.get("server") and cpus.get("generator"):
        parts.append(f"server on CPU {_cpus(cpus['server'])}, generator on CPU {_cpus(cpus['generator'])}")
    else:
        parts.append("not pinned to CPUs")
    return " · ".join(parts)


def _cpus(cpus: list[int]) -> str:
    return ",".join(str(cpu) for cpu in cpus)


def standing(series: Series, place: compare_stats.Standing | None) -> Standing:
    """How ``series`` stands in its section: ``place`` is compare's standing of it (None: nothing to rank)."""
    return Standing(
        best=place is not None and place.best,
        tied=place is not None and place.tied,
        caveats=series.caveats,
        failed=series.failed,
        unsupported=series.unsupported is not None,
    )


def symbols(series: Series) -> str:
    """The symbols of the series' marks, each once (⚠, ✗, ⚠✗), for wherever its name appears; "" if unmarked."""
    marks = [caveat.symbol for caveat in series.caveats] + ([FAILED_MARK] if series.failed else [])
    return "".join(dict.fromkeys(marks))


def marked_name(series: Series) -> str:
    shown = symbols(series)
    return f"{series.name} {shown}" if shown else series.name


# The server's figures from compare's stats (medians over the runs), under the registry's names. CPU per response
# (compare's terminal column) is left out: the page's table would no longer fit an 800 px window.
SERVER_COLUMNS: tuple[tuple[str, Format], ...] = (("server_cpu", cores), ("server_peak_rss_mib", mebibytes))
SERVER_HEADERS = [column.label for key, _ in SERVER_COLUMNS for column in compare_stats.COLUMNS if column.key == key]


def summary_table(section: Section) -> Table:
    """One row per series: throughput, latency percentiles, the load's own figures, errors, server resources,
    and against the best.

    Every figure is ``asgibench compare``'s: the median of each run's figure over the runs, with their
    min–max for repeats (``compare.stats.server_stats``), and the ranking is compare's ``standings``.
    The throughput is req/s, or msg/s for WebSocket; streamed responses add first-byte and gap p99, --hold
    the streams held and dropped (``compare.stats.protocol_columns``), as compare's table does.
    A series not eligible for the best keeps its ratio, followed by its marks (⚠ generator-bound …), and
    its name carries their symbols; a series tied with the best gets ``≈`` after its ratio. A failed
    series says so; an unsupported one (never run) too, its reason in the notes under the table.
    """
    by_label = section.stats()
    places = section.standings(by_label)
    with_server = any(stats.get(key) is not None for stats in by_label.values() for key, _ in SERVER_COLUMNS)
    throughput = throughput_column(section.config)
    extra = protocol_columns(section.config)
    against = "p99 vs best" if section.ranking == "p99" else f"{throughput.label} vs best"
    headers = ["series", "runs", throughput.label, "p50 ms", "p90 ms", "p99 ms", "p99.9 ms", "max ms"]
    headers += [column.label for column in extra] + ["errors"]
    with_thresholds = any(one.thresholds for one in section.series)
    if with_server:
        headers += SERVER_HEADERS
    if with_thresholds:
        headers.append("thresholds")
    headers.append(against)
    rows = []
    standings = []
    for one in section.series:
        place = standing(one, places.get(one.label))
        standings.append(place)
        if one.failed or one.unsupported is not None:
            rows.append(_not_measured_row(one, len(headers)))
            continue
        runs = len(one.runs)
        stats = by_label[one.label]
        cells = [
            marked_name(one),
            str(runs),
            with_range(stats_spread(stats, throughput.key), rate, runs),
            with_range(stats_spread(stats, "p50_ms"), milliseconds, runs),
            with_range(one.latency("p90"), milliseconds, runs),
            with_range(stats_spread(stats, "p99_ms"), milliseconds, runs),
            with_range(stats_spread(stats, "p999_ms"), milliseconds, runs),
            with_range(one.latency("max"), milliseconds, runs),
            *(with_range(stats_spread(stats, column.key), _format(column), runs) for column in extra),
            f"{stats['errors']:,} ({share(stats['error_rate'])})" if stats["errors"] else "0",
        ]
        if with_server:
            for key, fmt in SERVER_COLUMNS:
                spread = stats_spread(stats, key)
                cells.append(DASH if spread is None else fmt(spread.median))
        if with_thresholds:
            cells.append(threshold_cell(one))
        cells.append(against_cell(places.get(one.label), place))
        rows.append(tuple(cells))
    numeric = tuple(index > 0 for index in range(len(headers)))
    return Table(tuple(headers), tuple(rows), numeric, tuple(standings))


def _not_measured_row(series: Series, width: int) -> tuple[str, ...]:
    """A failed or unsupported series' row: what became of it where its figures would be."""
    what = "failed" if series.failed else UNSUPPORTED
    cells = [marked_name(series), str(len(series.runs)), what] + [DASH] * (width - 4)
    return (*cells, f"{FAILED_MARK} failed" if series.failed else UNSUPPORTED)


def _format(column: compare_stats.Column) -> Format:
    unit = column.metric.unit
    return lambda value: figure(unit, value)


def against_cell(place: compare_stats.Standing | None, standing: Standing) -> str:
    """``1.00× ★``, ``1.02× ≈``, ``0.25× ⚠ target behind …; ✗ …`` or ``0.80×``."""
    cell = DASH if place is None else ratio(place.relative)
    if standing.best:
        cell += f" {BEST_MARK}"
    elif standing.tied:
        cell += f" {TIE_MARK}"
    marks = [caveat.mark for caveat in standing.caveats]
    return "; ".join([f"{cell} {marks[0]}", *marks[1:]]) if marks else cell


def threshold_cell(series: Series) -> str:
    """``pass 4/4`` or ``FAIL 1/4`` (verdicts failed of all verdicts, over every run)."""
    verdicts = [verdict for _, verdict in series.thresholds]
    if not verdicts:
        return DASH
    failed = sum(1 for verdict in verdicts if not verdict.passed)
    return f"FAIL {failed}/{len(verdicts)}" if failed else f"pass {len(verdicts)}/{len(verdicts)}"


def caveat_legend(section: Section) -> str | None:
    """``Never ★: ⚠ generator-bound (…), ✗ no request succeeded.``: the kinds of mark the section's rows carry."""
    found: dict[CaveatKind, str] = {}  # kind -> its symbol, as the caveats give it
    for one in section.series:
        for caveat in one.caveats:
            found.setdefault(caveat.kind, caveat.symbol)
    order = list(get_args(CaveatKind))
    kinds = sorted(found, key=lambda kind: order.index(kind) if kind in order else len(order))
    entries = [f"{found[kind]} {CAVEAT_MEANINGS.get(kind, kind.replace('_', ' '))}" for kind in kinds]
    if any(one.failed for one in section.series):
        entries.append(f"{FAILED_MARK} {SERVER_FAILED}")
    return f"Never {BEST_MARK}: " + ", ".join(entries) + "." if entries else None


def table_notes(section: Section, summary: Table) -> list[str]:
    """What the columns and marks of ``summary`` (the section's ``summary_table``) mean, for the footnote under it."""
    notes = [
        "Figures are medians over the runs (min–max) of each run's own figure, as asgibench compare computes "
        "them; errors are summed over the runs."
    ]
    if section.ranking == "p99":
        notes.append(f"Open model (fixed rate): best is the lowest p99 ({BEST_MARK}); 1.50× is 50% slower.")
    else:
        most = "messages/s" if section.column.key == "messages_rps" else "requests/s"
        notes.append(f"Best is the most {most} ({BEST_MARK}); 0.50× serves half as many.")
    notes += protocol_notes(section.config)
    notes += [
        f"{one.label} was not run, {UNSUPPORTED}: {one.unsupported}"
        for one in section.series
        if one.unsupported is not None
    ]
    if summary.tied_rows:
        notes.append(f"{TIE_MARK}: not different from the best beyond the runs' noise, a tie on this machine.")
    legend = caveat_legend(section)
    if legend:
        notes.append(legend)
    if any(header in summary.headers for header in SERVER_HEADERS):
        notes.append(
            "Server CPU is in cores busy (all of the server's processes; 1.00 is one whole core); memory is peak RSS."
        )
    return notes


def run_caveats(series: Series, run: Run) -> tuple[Caveat, ...]:
    """The caveats of one run of ``series`` (as the series' own, for that run alone)."""
    return dataclasses.replace(series, runs=(run,)).caveats


def series_warnings(series: Series) -> list[str]:
    """Generator-bound, overloaded, failed, partial, mostly failing and missing-profile notes of one series.

    Every kind of caveat in the series' marks has a line here naming its runs.
    """
    warnings = [f"Generator-bound, the figures understate the server: {reason}" for reason in series.generator_warnings]
    warnings += series.run_caveats
    warnings += series.partial_notes
    for run in series.runs:
        warnings += [
            f"{series.run_name(run)}: {caveat.text}, so its latency is mostly that of errors"
            for caveat in run_caveats(series, run)
            if caveat.kind == "mostly_failing"
        ]
    if series.profile_error:
        warnings.append(f"No flame graph: {series.profile_error}")
    return warnings


def threshold_rows(series: Series) -> Table:
    """Each run's threshold verdicts."""
    rows = []
    for run_name, verdict in series.thresholds:
        observed, unit = verdict.observed, verdict.unit
        if observed is None:
            value = "n/a"
        elif unit == "ms":
            value = f"{milliseconds(observed)} ms"
        elif unit == "fraction":
            value = f"{observed:.3%}"
        else:
            value = f"{observed:,.1f}"
        rows.append((run_name, verdict.threshold, value, "pass" if verdict.passed else "FAIL"))
    return Table(("run", "threshold", "observed", "verdict"), tuple(rows), (False, False, True, False))


def run_rows(series: Series) -> Table:
    """Each run of a series on its own row, so the spread behind a median is visible."""
    rows = []
    for run in series.runs:
        summary = run.result.summary
        latency = summary.latency_ms
        rows.append(
            (
                series.run_name(run),
                rate(summary.rps),
                *(shown(None if latency is None else latency.get(key)) for key in RUN_LATENCY),
                f"{summary.errors.total:,}",
                "; ".join(caveat.mark for caveat in run_caveats(series, run)),
            )
        )
    headers = ("run", "req/s", "p50 ms", "p99 ms", "p99.9 ms", "max ms", "errors", "marks")
    numeric = (False, True, True, True, True, True, True, False)
    if not any(row[-1] for row in rows):  # no run is marked: no empty column
        return Table(headers[:-1], tuple(row[:-1] for row in rows), numeric[:-1])
    return Table(headers, tuple(rows), numeric)


def named_rows(series: Series) -> Table:
    """Each named request of a series: counts summed over the runs, figures their medians (min–max).

    No rows when the runs have one name or none.
    """
    names = series.request_names
    if len(names) < 2:
        return Table(NAMED_HEADERS, (), NAMED_NUMERIC)
    runs = len(series.runs)
    rows = []
    for name in names:
        named = series.named(name)
        rows.append(
            (
                name,
                f"{named.requests:,}",
                f"{named.ok:,}",
                f"{named.errors:,}",
                share(named.error_rate),
                with_range(named.rps, rate, runs),
                *(with_range(named.latency.get(key), milliseconds, runs) for key in ("p50", "p99", "p999", "max")),
            )
        )
    return Table(NAMED_HEADERS, tuple(rows), NAMED_NUMERIC)


def status_rows(series: Series) -> Table:
    """Final responses by status code, summed over the runs, with each code's latency: medians over the runs."""
    rows = []
    runs = len(series.runs)
    for code, count in series.statuses.items():
        latency = series.status_latency(code)
        cells = (with_range(latency.get(key), milliseconds, runs) for key in ("p50", "p99", "max"))
        rows.append((code, f"{count:,}", *cells))
    return Table(("status", "count", "p50 ms", "p99 ms", "max ms"), tuple(rows), (False, True, True, True, True))
