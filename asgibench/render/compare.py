"""The terminal side of ``asgibench compare``: a line per run as it goes, then the comparison table."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from asgibench.compare.stats import (
    Column,
    Standing,
    eligible,
    protocol_columns,
    protocol_notes,
    standings,
    table_columns,
    throughput_column,
)
from asgibench.render.load import LiveView, describe_load, latency_text
from asgibench.render.tables import print_table
from asgibench.results.figures import caveats, cores, figure, mebibytes, rate, ratio, share
from asgibench.results.model import Result

# Left out, in this order, when the table is too wide for the terminal: what a server costs before how fast it is.
NARROW_DROPS = ("server_peak_rss_mib", "server_cpu_per_request_us")

if TYPE_CHECKING:
    from asgibench.compare.plan import PlannedRun
    from asgibench.compare.runner import ComparisonSpec
    from asgibench.launch.cpus import CpuPlan
    from asgibench.load.config import LoadConfig
    from asgibench.load.runner import SecondObserver
    from asgibench.servers.base import ServerPlugin


class TerminalView:
    """Implements ``CompareView``: a progress bar per run on a terminal, one summary line per run anyway."""

    def __init__(self, console: Console, *, live: bool) -> None:
        self.console = console
        self.live = live

    def starting(self, run: PlannedRun, index: int, total: int, plugin: ServerPlugin) -> None:
        self.console.print(
            Text(f"[{index}/{total}] {plugin.name} {plugin.version() or ''} run {run.repeat}", style="bold")
        )

    def observer(self, config: LoadConfig) -> tuple[SecondObserver | None, Callable[[], None]]:
        if not self.live:
            return None, lambda: None
        view = LiveView(self.console, config)
        view.__enter__()

        def observe(second: Any, aggregate: Any, elapsed: float) -> str | None:
            view.on_second(second, aggregate, elapsed)
            return None

        return observe, lambda: view.__exit__(None, None, None)

    def finished(self, run: PlannedRun, result: dict[str, Any]) -> None:
        measured = Result.from_json(result)
        summary, server = measured.summary, measured.server
        line = Text("  ")
        p50, p99 = latency_text(summary.latency_ms, "p50"), latency_text(summary.latency_ms, "p99")
        throughput = throughput_column(measured.config)
        line.append(f"{rate(throughput.metric.value(measured) or 0.0)} {throughput.label} · p50 {p50} · p99 {p99}")
        for column in protocol_columns(measured.config):
            value = column.metric.value(measured)
            unit = " ms" if column.metric.unit == "ms" else ""
            shown = "-" if value is None else figure(column.metric.unit, value) + unit
            line.append(f" · {column.label.removesuffix(unit)} {shown}")
        line.append(f" · errors {summary.errors.total:,}")
        if server is not None and server.cpu_fraction is not None and server.peak_rss_mib is not None:
            line.append(f" · server CPU {cores(server.cpu_fraction)} cores, {mebibytes(server.peak_rss_mib)} MiB")
        for caveat in caveats([measured]):
            line.append(f"  {caveat.mark}", style="bold red")
        if server is not None and server.exit_code is not None:
            line.append(f"  server exited (code {server.exit_code})", style="bold red")
        self.console.print(line)

    def failed(self, server: str, message: str) -> None:
        self.console.print(Text(f"  {server} failed: {message}", style="red"))

    def profiled(self, server: str, path: Path | None, error: str | None) -> None:
        if path is not None:
            self.console.print(Text(f"  flame graph: {path}", style="dim"))
        else:
            self.console.print(Text(f"  no flame graph for {server}: {error}", style="yellow"))


def render_compare_plan(console: Console, spec: ComparisonSpec, cpus: CpuPlan, servers: list[str]) -> None:
    from asgibench.compare.protocols import comparison_config, unsupported_reason
    from asgibench.report.describe import what_is_sent
    from asgibench.servers.registry import get_plugin

    line = Text("asgibench compare ", style="bold")
    line.append(spec.app, style="cyan")
    if spec.wsgi_app:
        line.append(f" (WSGI: {spec.wsgi_app})", style="cyan")
    console.print(line)
    reasons = {name: unsupported_reason(get_plugin(name), spec.config) for name in servers}
    running = [name for name, reason in reasons.items() if reason is None]
    console.print(Text(f"servers: {', '.join(running)} · {spec.server_workers} worker(s) each · {cpus.describe()}",
                       style="dim"))  # fmt: skip
    for name, reason in reasons.items():
        if reason is not None:
            console.print(Text(f"{name} unsupported, not launched: {reason}", style="yellow"))
    console.print(Text(f"{describe_load(spec.config)} · {spec.repeat} measured run(s) per server, interleaved",
                       style="dim"))  # fmt: skip
    console.print(Text(" · ".join(what_is_sent(comparison_config(spec.config))), style="dim"))


def render_comparison(console: Console, document: dict[str, Any]) -> None:
    """The table: each column's median (and range for req/s), relative to the best; winners starred.

    A failed server has a row of its own, with no figures: its runs before it
    failed are not set against the others; its error is printed under the table.
    An unsupported server (it cannot serve the load's protocol, so it was not
    launched) has a row saying so; its reason is printed under the table.
    The columns follow the load (``table_columns``): msg/s for WebSocket,
    first-byte and gap p99 for streamed responses, held and dropped for --hold.
    Too narrow a terminal first loses the server's CPU and memory columns (a
    footnote says so), then gets a block per server.
    """
    config = document.get("config")
    shown = table_columns(config)
    ran = {server["name"]: server for server in document["servers"] if server["stats"] and server["status"] == "ok"}
    stats = {name: server["stats"] for name, server in ran.items()}
    by_column = {column.key: standings(stats, column) for column in shown}
    layouts = [
        [column for column in shown if column.key not in NARROW_DROPS[:dropped]]
        for dropped in range(len(NARROW_DROPS) + 1)
    ]
    tables = [_comparison_table(document, ran, by_column, columns) for columns in layouts]
    console.print()
    labels = {column.key: column.label for column in shown}
    print_table(console, *tables, left_out=[labels[key] for key in NARROW_DROPS])
    throughput = throughput_column(config).label
    console.print(
        Text(f"medians over the runs ({throughput}: and their min–max) · ★ best · ×: against the best · "
             "≈ not different from the best beyond the runs' noise: a tie on this machine", style="dim")
    )  # fmt: skip
    for note in protocol_notes(config):
        console.print(Text(note, style="dim"))
    flagged = [server for server in ran.values() if not eligible(server["stats"])]
    for server in flagged:  # why a server is never ★, whatever its figures
        console.print(Text(f"{server['name']}: {'; '.join(server['stats']['marks'])}", style="bold red"))
    if flagged:
        console.print(Text("⚠ and ✗ are never ★: a generator-bound run understates the server; an overloaded "
                           "target, or one where nothing succeeded, is not a measure of its speed.",
                           style="dim"))  # fmt: skip
    for server in document["servers"]:
        if server["status"] == "failed":
            console.print(Text(f"{server['name']} failed: {server['error']}", style="red"))
            for line in server["log_tail"]:
                console.print(Text(f"  | {line}", style="red"))
        elif server["status"] == "unsupported":
            console.print(Text(f"{server['name']} unsupported: {server.get('reason') or 'not said why'}",
                               style="yellow"))  # fmt: skip


def render_interrupted(console: Console, what: str) -> None:
    console.print(Text(f"{what}: the servers were stopped; what was measured is kept", style="yellow"))


def _comparison_table(
    document: dict[str, Any],
    ran: dict[str, dict[str, Any]],
    by_column: dict[str, dict[str, Standing]],
    columns: list[Column],
) -> Table:
    table = Table(title=Text("Comparison", style="bold"), title_justify="left")
    table.add_column("server", no_wrap=True)
    for column in columns:
        # The unit under the name ("p99" over "ms"): the header is then no wider than the figures.
        table.add_column(column.label.replace(" ", "\n", 1), justify="right", no_wrap=True)
    table.add_column("errors", justify="right", no_wrap=True)
    for server in document["servers"]:
        if server["status"] in ("failed", "unsupported"):
            table.add_row(*_not_measured_row(server, len(columns)))
            continue
        name = server["name"]
        if name not in ran:
            continue
        label = Text(name)
        if not eligible(server["stats"]):
            label.append(" " + "".join(sorted({mark[0] for mark in server["stats"]["marks"]})), style="bold red")
        label.append(f"\n{server['version'] or ''}", style="dim")
        cells = [_cell(column, server["stats"], by_column[column.key].get(name)) for column in columns]
        errors, rate = server["stats"]["errors"], server["stats"]["error_rate"]
        # The share under the count, as a ratio sits under a median.
        error_cell = Text(f"{errors:,}" + (f"\n({share(rate)})" if errors else ""), style="red" if errors else "")
        table.add_row(label, *cells, error_cell)
    return table


def _not_measured_row(server: dict[str, Any], figures: int) -> list[Text]:
    """A failed or unsupported server: its name, what became of it, and no figures.

    "unsupported" goes on a line of its own: beside the name it would widen the column past the figures'.
    """
    label = Text(server["name"])
    if server["status"] == "failed":
        label.append(" failed", style="bold red")
    else:
        label.append(f"\n{server['status']}", style="yellow")
    label.append(f"\n{server['version'] or ''}", style="dim")
    return [label, *(Text("-", style="dim") for _ in range(figures + 1))]


def _cell(column: Column, stats: dict[str, Any], standing: Standing | None) -> Text:
    """The median; under it, its ratio to the best (and ≈ for a tie), or a star for the best; req/s adds its range.

    A count (streams held, dropped) is the median alone: how many of the streams asked for, not a speed to rank.
    """
    spread = stats.get(column.key)
    if spread is None or standing is None:
        return Text("-", style="dim")
    median = figure(column.metric.unit, spread["median"])
    if column.metric.unit == "count":
        return Text(median)
    text = Text(median, style="bold green" if standing.best else "")
    if standing.best:
        text.append("\n★", style="bold green")
    else:
        text.append(f"\n{ratio(standing.relative)}", style="dim")
        if standing.tied:
            text.append(" ≈", style="green")
    if column.key in ("rps", "messages_rps") and spread["min"] != spread["max"]:
        text.append(f"\n{_compact(spread['min'])}–{_compact(spread['max'])}", style="dim")
    return text


def _compact(value: float) -> str:
    return f"{value / 1000:.1f}k" if value >= 10_000 else f"{value:,.0f}"
