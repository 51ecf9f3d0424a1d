"""The servers x checks matrix in the terminal, with the findings behind each failure and warning."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from asgibench.conformance.findings import Verdict
from asgibench.conformance.probe.report import ServersReport

_STYLES = {
    Verdict.PASS: "green",
    Verdict.FAIL: "bold red",
    Verdict.WARN: "yellow",
    Verdict.INFO: "cyan",
    Verdict.NOT_APPLICABLE: "dim",
}


def render_matrix(console: Console, report: ServersReport, *, verbose: bool) -> None:
    table = Table(title="ASGI servers against the spec (server side)", title_justify="left")
    table.add_column("check", no_wrap=True)
    table.add_column("", overflow="fold")
    for probe in report.probes:
        spec = f" · spec {probe.judgement.spec_version}" if probe.judgement else ""
        table.add_column(f"{escape(probe.server)}\n{escape(probe.version or '?')}{spec}", justify="center")
    for check in report.checks:
        cells = []
        for probe in report.probes:
            verdict = report.cell(probe, check).verdict
            cells.append(f"[{_STYLES[verdict]}]{verdict.value}[/]")
        table.add_row(check.id, escape(check.title), *cells)
    console.print(table)
    for probe in report.probes:
        if probe.judgement is None:
            console.print(f"[bold red]{escape(probe.server)}[/]: not probed: {escape(probe.error)}")
            continue
        counts = report.counts(probe)
        summary = ", ".join(f"{counts[v.value]} {v.value}" for v in Verdict if counts[v.value])
        console.print(
            f"[bold]{escape(probe.server)}[/] {escape(probe.version or '')}: {summary} ({probe.elapsed:.1f} s)"
        )
        for check in report.checks:
            cell = report.cell(probe, check)
            if cell.verdict in (Verdict.FAIL, Verdict.WARN) or (verbose and cell.findings):
                for finding in cell.findings:
                    if finding.verdict in (Verdict.PASS, Verdict.NOT_APPLICABLE) and not verbose:
                        continue
                    expected = f" [dim](expected {escape(finding.expected)})[/]" if finding.expected else ""
                    console.print(
                        f"  [{_STYLES[finding.verdict]}]{finding.verdict.value:>4}[/] {check.id} "
                        f"{escape(finding.case)}: {escape(finding.observed)}{expected}"
                    )
