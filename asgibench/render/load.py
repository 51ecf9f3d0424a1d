"""Terminal output of ``asgibench load``: the plan, a live progress bar, the summary tables.

Everything a user typed or a server sent (request names, paths, error
messages, thresholds) is printed as ``Text``, never as Rich markup, so
brackets in it are shown as they are.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Column, Table
from rich.text import Text

from asgibench.load.aggregate import Aggregate, Second
from asgibench.load.config import LoadConfig
from asgibench.render.tables import print_table
from asgibench.results.figures import cores, mebibytes, milliseconds, rate, share
from asgibench.results.model import (
    CheckCount,
    ClusterRun,
    GeneratorHealth,
    Latency,
    RequestStats,
    Result,
    ServerUsage,
    StatusLatency,
    Summary,
    ThresholdOutcome,
)
from asgibench.results.outcomes import ERROR_KINDS, UNSENT_MEANINGS

if TYPE_CHECKING:
    from asgibench.launch.cpus import CpuPlan
    from asgibench.launch.server import LaunchedServer

LATENCY_ROWS = (
    ("min", "min"),
    ("mean", "mean"),
    ("p50", "p50"),
    ("p75", "p75"),
    ("p90", "p90"),
    ("p95", "p95"),
    ("p99", "p99"),
    ("p99.9", "p999"),
    ("max", "max"),
)
ERROR_LABELS = {
    "status": "unexpected status",
    "check": "check failed",
    "refused": "connection refused",
    "reset": "connection reset / closed",
    "timeout": "timeout",
    "truncated": "response cut short",
    "protocol": "protocol error",
    "tls": "TLS handshake failed",
    "handshake": "WebSocket upgrade refused",
    "closed": "WebSocket closed by server",
    "stream_reset": "HTTP/2 stream reset",
    "goaway": "HTTP/2 GOAWAY",
    "other": "other",
    "unsent": "due but never sent",
    "abandoned": "abandoned in flight",
}
BY_NAME_COLUMNS = ("name", "requests", "ok", "errors", "req/s", "p50", "p99", "max")
# Left out, in this order, when the table of requests by name is too wide: ok and requests follow from the others.
BY_NAME_DROPS = ("ok", "requests", "max")


def describe_load(config: LoadConfig) -> str:
    if config.model == "open":
        shape = f"open model, {config.rate:g} requests/s" if not config.stages else "open model, ramping rate"
        shape += f", up to {config.max_connections} connections"
    else:
        shape = f"closed model, {config.vus} VUs" if not config.stages else "closed model, ramping VUs"
        if config.think:
            shape += f", {config.think:g} s think time"
    length = f"{config.measured_duration:g} s"
    if config.warmup:
        length += f" after {config.warmup:g} s warm-up"
    length += f" + up to {config.drain_seconds:g} s drain"
    workers = f"{config.workers} worker" + ("s" if config.workers != 1 else "")
    if config.cluster is not None:
        shards = f"{config.workers} shards" if config.workers_given else "a shard per Dask worker"
        workers = f"cluster {config.cluster}, {shards}"
    return f"{shape} · {length} · {workers}"


def render_plan(console: Console, config: LoadConfig) -> None:
    line = Text("asgibench load ", style="bold")
    line.append(config.target.url, style="cyan")
    line.append(f"  (target from {config.target_source})", style="dim")
    console.print(line)
    console.print(Text(describe_load(config), style="dim"))
    if config.scenario_path or len(config.requests) > 1:
        names = ", ".join(f"{spec.label} ×{spec.weight:g}" for spec in config.requests)
        where = f"scenario {config.scenario_path}: " if config.scenario_path else "requests: "
        console.print(Text(where + names, style="dim"))


def render_note(console: Console, text: str) -> None:
    console.print(Text(text, style="dim"))


class LiveView:
    """A progress bar over the measured window, with the last second's requests/s, p50, p99 and errors."""

    def __init__(self, console: Console, config: LoadConfig) -> None:
        # Imported here: only a run shown live on a terminal needs the progress bar (--quiet, a pipe: no LiveView).
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        self.config = config
        label = "warming up + load" if config.warmup else "load"
        # Rich narrows a column it may wrap, and made "0:0…" of the elapsed time at 80 columns: the label and the
        # time keep their width (H:MM:SS), and the per-second figures wrap at spaces under their own column.
        self.progress = Progress(
            TextColumn("{task.description}", table_column=Column(no_wrap=True, min_width=len(label))),
            BarColumn(bar_width=24 if console.width >= 110 else 10),
            TimeElapsedColumn(table_column=Column(no_wrap=True, min_width=7)),
            TextColumn("{task.fields[stats]}", table_column=Column(overflow="fold")),
            console=console,
            transient=False,
            refresh_per_second=4,
        )
        self.task = self.progress.add_task(label, total=config.measured_duration, stats="starting…")

    def __enter__(self) -> LiveView:
        self.progress.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.progress.stop()

    def on_second(self, second: Second, aggregate: Aggregate, elapsed: float) -> None:
        row = second.row()
        p50 = "-" if row["p50_ms"] is None else f"{row['p50_ms']:.2f}"
        p99 = "-" if row["p99_ms"] is None else f"{row['p99_ms']:.2f}"
        errors = aggregate.total.error_total
        stats = f"{row['rps']:>9,.0f} req/s  p50 {p50} ms  p99 {p99} ms  errors {errors:,}"
        self.progress.update(self.task, completed=min(elapsed, self.config.measured_duration), stats=stats)


def ms_text(value: float | None) -> str:
    """A latency with its unit, as compare, gate and the report print the figure: 0.432 ms, 12.35 ms, 1,234 ms."""
    return "-" if value is None else f"{milliseconds(value)} ms"


def latency_text(latency: Latency | None, key: str) -> str:
    """One figure of a latency table (``p50``, ``p999``, ``max``) with its unit; ``-`` when there is none."""
    return ms_text(None if latency is None else latency.get(key))


def render_result(console: Console, result: Result) -> None:
    summary = result.summary
    console.print()
    if result.partial:
        console.print(Text(f"PARTIAL RESULT: {result.partial_reason}", style="bold yellow"))
    _render_throughput(console, summary)
    if _has_streams(summary):
        console.print()
        _render_streams(console, summary)
    console.print()
    _render_latency(console, summary, corrected=result.model == "open")
    if len(result.requests) > 1:
        console.print()
        _render_by_name(console, result.requests)
    if result.by_status:
        console.print()
        _render_statuses(console, result.by_status)
    if summary.errors.total:
        console.print()
        _render_errors(console, summary)
    checks = [(row.name, check) for row in result.requests for check in row.checks[1:]]
    if checks:
        console.print()
        _render_checks(console, checks)
    console.print()
    if result.server is not None:
        render_server_usage(console, result.server)
    _render_generator(console, result.generator)
    if result.thresholds:
        console.print()
        _render_thresholds(console, result.thresholds)
    if summary.target_behind:
        console.print()
        console.print(Text(behind_message(summary), style="bold yellow"))
    for failure in result.failures:
        if not failure.startswith("threshold "):  # the thresholds table already says which failed
            console.print(Text(f"FAILED: {failure}", style="bold red"))


def behind_message(summary: Summary) -> str:
    """The overload finding, in one sentence: what the target kept up with, and what became of the rest."""
    offered = "" if summary.offered_rps is None else f" {rate(summary.offered_rps)}"
    if summary.rps == 0:
        message = f"The target answered none of the{offered} requests/s offered."
    else:
        message = (
            f"The target kept up with {rate(summary.rps)} of{offered or ' the'} requests/s offered: "
            "these figures measure an overloaded target."
        )
    unsent = summary.errors["unsent"]
    if unsent:
        message += f" {unsent:,} due requests were never sent (see Errors)."
    return message


def _render_throughput(console: Console, summary: Summary) -> None:
    overview = Table(title=Text("Throughput", style="bold"), title_justify="left", show_header=False, box=None)
    overview.add_column(style="dim", no_wrap=True)
    overview.add_column(justify="right", no_wrap=True)
    overview.add_column(style="dim")
    overview.add_row("requests", f"{summary.requests:,}", "due in the window" if summary.scheduled is not None else "")
    overview.add_row("ok", f"{summary.ok:,}", "")
    overview.add_row(
        "responses", f"{summary.responses:,}", f"+ {summary.interim:,} interim 1xx" if summary.interim else ""
    )
    offered = summary.offered_rps
    overview.add_row(
        "requests/s",
        rate(summary.rps),
        f"achieved; {rate(offered)} offered" if offered is not None else "achieved",
    )
    drain = f"+ {summary.drain_s:g} s drain" if summary.drain_s else ""
    overview.add_row("measured", f"{summary.duration_s:g} s", drain)
    overview.add_row("received", _bytes(summary.bytes_received), "")
    overview.add_row("sent", _bytes(summary.bytes_sent), "")
    errors = summary.errors.total
    overview.add_row("errors", Text(f"{errors:,} ({share(summary.error_rate)})", style="red" if errors else ""), "")
    console.print(overview)


def _has_streams(summary: Summary) -> bool:
    return summary.messages is not None or summary.stream_events is not None or summary.held is not None


def _render_streams(console: Console, summary: Summary) -> None:
    """Messages each way (WebSocket), events on streamed responses, and the streams held beside the load."""
    table = Table(title=Text("Streams", style="bold"), title_justify="left", show_header=False, box=None)
    table.add_column(style="dim", no_wrap=True)
    table.add_column(justify="right", no_wrap=True)
    table.add_column(style="dim")
    messages = summary.messages
    if messages is not None:
        table.add_row("messages sent", f"{messages.sent:,}", f"{rate(messages.sent_per_s)}/s")
        table.add_row("messages received", f"{messages.received:,}", f"{rate(messages.received_per_s)}/s")
        if messages.unmatched:
            table.add_row("unmatched replies", Text(f"{messages.unmatched:,}", style="yellow"), "matched no message")
    events = summary.stream_events
    if events is not None:
        table.add_row("SSE events", f"{events.events:,}", f"{rate(events.events_per_s)}/s")
    held = summary.held
    if held is not None:
        short = held.held < held.wanted
        table.add_row("streams held", Text(f"{held.held:,} of {held.wanted:,}", style="yellow" if short else ""),
                      f"at the window's end; fewest {held.min_held:,}")  # fmt: skip
        table.add_row("streams dropped", Text(f"{held.dropped:,}", style="red" if held.dropped else ""),
                      f"{held.failed:,} never opened" if held.failed else "")  # fmt: skip
    console.print(table)


def _render_latency(console: Console, summary: Summary, *, corrected: bool) -> None:
    table = Table(title=Text("Latency", style="bold"), title_justify="left")
    table.add_column("", no_wrap=True)
    what = "round trip" if summary.protocol == "websocket" else "latency"
    table.add_column(f"{what}\n(from due time)" if corrected else what, justify="right", no_wrap=True)
    if corrected:
        table.add_column("service time\n(from send)", justify="right", no_wrap=True)
    extra = [
        (header, latency)
        for header, latency in (
            ("first byte", summary.first_byte_ms),
            ("gap", summary.gap_ms),
            ("handshake", summary.handshake_ms),
        )
        if latency is not None
    ]
    for header, _ in extra:
        table.add_column(header, justify="right", no_wrap=True)
    for label, key in LATENCY_ROWS:
        cells = [latency_text(summary.latency_ms, key)]
        if corrected:
            cells.append(latency_text(summary.service_time_ms, key))
        cells.extend(latency_text(latency, key) for _, latency in extra)
        table.add_row(label, *cells)
    print_table(console, table)


def _render_by_name(console: Console, requests: Sequence[RequestStats]) -> None:
    """A row per name; too narrow a terminal loses columns (``BY_NAME_DROPS``), then gets a block per name."""
    layouts = [
        _by_name_table(requests, [header for header in BY_NAME_COLUMNS if header not in BY_NAME_DROPS[:dropped]])
        for dropped in range(len(BY_NAME_DROPS) + 1)
    ]
    print_table(console, *layouts, left_out=BY_NAME_DROPS)


def _by_name_table(requests: Sequence[RequestStats], headers: list[str]) -> Table:
    table = Table(title=Text("Requests by name", style="bold"), title_justify="left")
    for header in headers:
        table.add_column(header, justify="left" if header == "name" else "right", no_wrap=True)
    for row in requests:
        errors = row.errors.total
        cells: dict[str, Text | str] = {
            "name": Text(row.name),
            "requests": f"{row.requests:,}",
            "ok": f"{row.ok:,}",
            # The share under the count: the column stays as narrow as its figures.
            "errors": Text(f"{errors:,}\n({row.error_rate:.1%})", style="red") if errors else "0",
            "req/s": rate(row.rps),
            "p50": latency_text(row.latency_ms, "p50"),
            "p99": latency_text(row.latency_ms, "p99"),
            "max": latency_text(row.latency_ms, "max"),
        }
        table.add_row(*(cells[header] for header in headers))
    return table


def _render_statuses(console: Console, statuses: Sequence[StatusLatency]) -> None:
    table = Table(title=Text("Statuses", style="bold"), title_justify="left")
    for header in ("status", "count", "p50", "p99", "max"):
        table.add_column(header, justify="left" if header == "status" else "right", no_wrap=True)
    for row in statuses:
        style = "red" if int(row.status) >= 400 else ""
        table.add_row(Text(row.status, style=style), f"{row.responses:,}",
                      *(latency_text(row.latency_ms, key) for key in ("p50", "p99", "max")))  # fmt: skip
    print_table(console, table)


def _render_errors(console: Console, summary: Summary) -> None:
    errors = summary.errors
    kinds = Table(title=Text("Errors", style="bold red"), title_justify="left")
    kinds.add_column("kind", no_wrap=True)
    kinds.add_column("count", justify="right", no_wrap=True)
    kinds.add_column("first seen", overflow="fold")  # a message: wraps at spaces, and never ends in "…"
    for kind in ERROR_KINDS:
        if not errors[kind]:
            continue
        if kind == "unsent":
            kinds.add_row(ERROR_LABELS[kind], f"{errors[kind]:,}", "")
            for reason, count in summary.unsent.items():
                if count:
                    kinds.add_row(Text(f"  {UNSENT_MEANINGS[reason]}"), f"{count:,}", "")
            continue
        kinds.add_row(ERROR_LABELS[kind], f"{errors[kind]:,}", Text(summary.error_examples.get(kind, "")))
        for code, count in summary.error_codes.get(kind, {}).items():  # a status, close code or HTTP/2 error
            kinds.add_row(Text(f"  {code}"), f"{count:,}", "")
    print_table(console, kinds)
    if errors["tls"]:
        console.print(Text("hint: for a self-signed or untrusted certificate, add --insecure", style="dim"))


def _render_checks(console: Console, checks: list[tuple[str, CheckCount]]) -> None:
    table = Table(title=Text("Checks", style="bold"), title_justify="left")
    for header in ("request", "check", "passed", "failed"):
        # The check is prose (body contains '...'): it wraps; the name and the counts stay whole.
        table.add_column(header, justify="right" if header in ("passed", "failed") else "left",
                         no_wrap=header != "check", overflow="fold")  # fmt: skip
    for name, check in checks:
        table.add_row(Text(name), Text(check.check), f"{check.passed:,}",
                      Text(f"{check.failed:,}", style="red" if check.failed else ""))  # fmt: skip
    print_table(console, table)


def render_launch(console: Console, server: LaunchedServer, plan: CpuPlan) -> None:
    line = Text(f"{server.plugin.name} {server.plugin.version() or ''}".rstrip(), style="bold")
    line.append(f" serving {server.app} at {server.url} ({server.workers} worker(s), pid {server.process.pid})")
    line.append(f"; {plan.describe()}", style="dim")
    console.print(line)


def render_server_usage(console: Console, server: ServerUsage) -> None:
    """The launched server's CPU and memory over the measured window; its last log lines if it died.

    A figure the result does not hold (a file written by hand, or by an older asgibench) is left out.
    """
    parts = []
    if server.workers is not None:
        parts.append(f"{server.workers} worker(s)")
    if server.cpu_fraction is not None:
        seconds = "" if server.cpu_seconds is None else f" ({server.cpu_seconds:.1f} s)"
        parts.append(f"CPU {cores(server.cpu_fraction)} cores{seconds}")
    if server.peak_rss_mib is not None:
        processes = "" if server.processes is None else f" over {server.processes} process(es)"
        parts.append(f"peak memory {mebibytes(server.peak_rss_mib)} MiB{processes}")
    line = Text("server: ", style="bold")
    line.append(f"{server.name} {server.version or ''}".rstrip())
    line.append("".join(f" · {part}" for part in parts))
    console.print(line)
    if server.exit_code is not None:
        console.print(
            Text(f"  the server exited during the run (code {server.exit_code}); its last log lines:", style="bold red")
        )
        for log_line in server.log_tail:
            console.print(Text(f"  | {log_line}", style="red"))


def _render_generator(console: Console, generator: GeneratorHealth) -> None:
    cpu = ", ".join(f"{fraction:.0%}" for fraction in generator.cpu_fraction)
    line = Text("generator: ", style="bold")
    line.append(f"CPU {cpu} of a core per worker · {generator.connections_opened:,} connections opened")
    peak = generator.connections_peak
    if peak and peak < generator.connections_opened:
        line.append(f", at most {peak:,} at once")
    console.print(line)
    if generator.cluster is not None:
        _render_cluster(console, generator.cluster, generator.start_late_ms)
    for spread, label in ((generator.loop_lag_ms, "event loop lag"), (generator.send_lateness_ms, "sent after due")):
        if spread is not None:
            figures = f"p50 {ms_text(spread.p50)}, p99 {ms_text(spread.p99)}, max {ms_text(spread.max)}"
            console.print(Text(f"  {label}: {figures}"))
    if generator.bottleneck:
        console.print(Text("The generator was the bottleneck: these figures understate the target.", style="bold red"))
        for reason in generator.reasons:
            console.print(Text(f"  - {reason}", style="red"))
    for failure in generator.worker_failures:
        console.print(Text(f"  ! {failure}", style="yellow"))


def _render_cluster(console: Console, cluster: ClusterRun, start_late_ms: Sequence[float | None]) -> None:
    hosts: dict[str, int] = {}
    for shard in cluster.shards:
        hosts[shard.hostname] = hosts.get(shard.hostname, 0) + 1
    where = ", ".join(f"{count} on {host}" for host, count in hosts.items())
    line = Text(f"  cluster {cluster.address} (scheduler {cluster.scheduler}): {len(cluster.shards)} shards, {where}")
    line.append(f" · clocks agree to {ms_text(cluster.start_skew_ms)}", style="dim")
    late = [value for value in start_late_ms if value is not None]
    if late:
        line.append(f", shards began {ms_text(min(late))}–{ms_text(max(late))} after time zero", style="dim")
    console.print(line)


def _render_thresholds(console: Console, verdicts: Sequence[ThresholdOutcome]) -> None:
    table = Table(title=Text("Thresholds", style="bold"), title_justify="left")
    table.add_column("threshold", no_wrap=True)
    table.add_column("observed", justify="right", no_wrap=True)
    table.add_column("verdict", no_wrap=True)
    for verdict in verdicts:
        table.add_row(
            Text(verdict.threshold),
            _observed(verdict),
            Text("pass" if verdict.passed else "FAIL", style="green" if verdict.passed else "bold red"),
        )
    print_table(console, table)


def _observed(verdict: ThresholdOutcome) -> str:
    """What a threshold was held against, as the tables above print the figure (an error rate keeps 3 decimals)."""
    observed = verdict.observed
    if observed is None:
        return "n/a"
    if verdict.unit == "ms":
        return ms_text(observed)
    if verdict.unit == "fraction":  # finer than the error share above: a limit such as 0.01% is read against it
        return f"{observed:.3%}"
    if verdict.metric == "rps":
        return rate(observed)
    return f"{observed:,.0f}"  # requests, errors: counts


def _bytes(count: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if count < 1024 or unit == "GiB":
            return f"{count:,.0f} {unit}" if unit == "B" else f"{count:,.1f} {unit}"
        count /= 1024  # type: ignore[assignment]
    raise AssertionError("unreachable")
