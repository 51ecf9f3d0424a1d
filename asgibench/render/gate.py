"""Terminal output of ``asgibench gate``: the verdict table, the warnings, one closing line."""

from __future__ import annotations

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from asgibench.gate import format as figures
from asgibench.gate.verdict import GateReport, Verdict, per_metric_confidence
from asgibench.render.tables import print_table

VERDICT_STYLES = {
    Verdict.OK: "green",
    Verdict.IMPROVEMENT: "bold green",
    Verdict.WITHIN_NOISE: "yellow",
    Verdict.REGRESSION: "bold red",
}
NOISE_SOURCES = {"runs": "", "seconds": " ˢ", "none": ""}
CAPTION = "median (min–max) over the runs · change: of the medians · noise: its {level} interval from the runs' spread"
# Several metrics share out the 5% chance that noise alone fails the build (asgibench.gate.verdict).
SHARED_CAPTION = " ({level} for each of {count} metrics, so that noise alone fails a build at most 5% of the time)"
SECONDS_CAPTION = " (ˢ: from the seconds of one run a side, which misses run-to-run noise)"
NAMED_CAPTION = " · {name:…}, {status:…}: one named request or status code"


def render_gate(console: Console, report: GateReport) -> None:
    runs = f"{len(report.baseline_files)} baseline run(s) against {len(report.current_files)} current run(s)"
    console.print(Text.assemble(("asgibench gate ", "bold"), (runs, "dim")))
    for warning in report.warnings:
        console.print(Text(f"warning: {warning}", style="yellow"))
    tagged = any(verdict.metric.request or verdict.metric.status for verdict in report.verdicts)
    seconds = any(verdict.noise_source == "seconds" for verdict in report.verdicts)
    level = f"{per_metric_confidence(len(report.verdicts)) * 100:.4g}%"
    caption = CAPTION.format(level=level)
    if len(report.verdicts) > 1:
        caption += SHARED_CAPTION.format(level=level, count=len(report.verdicts))
    caption += (SECONDS_CAPTION if seconds else "") + (NAMED_CAPTION if tagged else "")
    # Too narrow a terminal loses the ranges under the medians first, then gets a block per metric.
    full, medians = (_verdict_table(report, caption, ranges=ranges) for ranges in (True, False))
    print_table(console, full, medians, left_out=["min–max"])
    console.print(_closing_line(report))


def _verdict_table(report: GateReport, caption: str, *, ranges: bool) -> Table:
    table = Table(box=box.SIMPLE_HEAD, padding=(0, 1, 0, 0), show_edge=False, caption=caption, caption_justify="left")
    table.add_column("metric", no_wrap=True)
    table.add_column("baseline", justify="right", no_wrap=True)
    table.add_column("current", justify="right", no_wrap=True)
    table.add_column("change", justify="right", no_wrap=True)
    table.add_column("allowed", justify="right", no_wrap=True)
    table.add_column("noise", justify="right", no_wrap=True)
    table.add_column("verdict", no_wrap=True)
    for verdict in report.verdicts:
        metric = verdict.metric
        baseline, current = (
            figures.spread(metric, spread, unit=False, stacked=True)
            if ranges
            else figures.value(metric, spread.median, unit=False)
            for spread in (verdict.baseline, verdict.current)
        )
        table.add_row(
            Text(f"{metric.name} {figures.UNITS[metric.unit]}"),  # Text: a request's name is not markup
            baseline,
            current,
            figures.change(metric, verdict.change),
            figures.allowed(metric, verdict.allowed),
            figures.interval(metric, verdict.interval, stacked=True) + NOISE_SOURCES[verdict.noise_source],
            Text(verdict.verdict.value, style=VERDICT_STYLES[verdict.verdict]),
        )
    return table


def _closing_line(report: GateReport) -> Text:
    if report.regressions:
        names = ", ".join(verdict.metric.label for verdict in report.regressions)
        return Text(f"FAIL: regression in {names}, beyond the allowance and the noise.", style="bold red")
    noisy = [verdict.metric.label for verdict in report.verdicts if verdict.verdict is Verdict.WITHIN_NOISE]
    if noisy:
        return Text(
            f"PASS: no regression beyond noise ({', '.join(noisy)} worse than allowed, but within noise).",
            style="bold yellow",
        )
    return Text(f"PASS: no regression in {len(report.verdicts)} metric(s).", style="bold green")
