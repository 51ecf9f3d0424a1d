"""The conformance report in the terminal: a table per area, then the evidence."""

from __future__ import annotations

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from asgibench.conformance.catalogue import GROUP_TITLES, Check
from asgibench.conformance.findings import Verdict
from asgibench.conformance.report import CheckResult, ConformanceReport

VERDICT_STYLES: dict[Verdict, str] = {
    Verdict.PASS: "green",
    Verdict.FAIL: "bold red",
    Verdict.WARN: "yellow",
    Verdict.INFO: "cyan",
    Verdict.NOT_APPLICABLE: "dim",
}


def render_report(console: Console, report: ConformanceReport, *, verbose: bool = False) -> None:
    s = report.summary()
    console.print(
        Text.assemble(
            ("asgibench conform ", "bold"),
            report.target,  # Text: the app's name as typed, brackets and all
            "  ",
            (
                f"{s['total']} checks, {s['scenarios']} scenarios, {report.duration:.2f} s, "
                f"deadline {report.timeout:g} s per scenario{', strict' if report.strict else ''}",
                "dim",
            ),
        )
    )
    for group, title in GROUP_TITLES.items():
        rows = [result for result in report.checks if result.check.group is group]
        if rows:
            console.print()
            console.print(_group_table(title, rows))
    details = [r for r in report.checks if r.verdict in {Verdict.FAIL, Verdict.WARN} or (verbose and r.evidence)]
    if details:
        console.print()
        console.rule(Text("Evidence", style="bold"))
        for result in details:
            console.print(_evidence_panel(result, verbose=verbose, width=console.width))
    console.print()
    style = "bold red" if report.failed else "bold green"
    console.print(Text(report.closing_line(), style=style))


def _verdict(verdict: Verdict) -> Text:
    return Text(verdict.value.upper(), style=VERDICT_STYLES[verdict])


def _group_table(title: str, rows: list[CheckResult]) -> Table:
    table = Table(title=title, title_justify="left", title_style="bold", show_header=False, box=None, padding=(0, 1))
    table.add_column("verdict", width=5, no_wrap=True)
    table.add_column("id", style="bold", no_wrap=True)
    # Prose: wrapped at spaces, and folded rather than cut short with "…" when a word is longer than the column.
    table.add_column("check", ratio=3, overflow="fold")
    table.add_column("result", ratio=3, style="dim", overflow="fold")
    for result in rows:
        table.add_row(_verdict(result.verdict), Text(result.check.id), Text(result.check.title), Text(result.message))
    return table


def _evidence_panel(result: CheckResult, *, verbose: bool, width: int) -> Panel:
    check = result.check
    title = Text.assemble(_verdict(result.verdict), " ", (check.id, "bold"), " ", check.title)
    parts: list[Text | str] = []
    if title.cell_len > width - 6:  # the border would cut it: the check's title goes first inside the panel
        title = Text.assemble(_verdict(result.verdict), " ", (check.id, "bold"))
        parts.append(Text(check.title, style="bold"))
    parts.append(Text.assemble(("rule  ", "dim"), check.rule))
    parts.append(
        Text.assemble(
            ("spec  ", "dim"), (f"({check.reference})", "dim"), " ", (check.quote or "(see the rule)", "italic")
        )
    )
    for evidence in result.evidence if verbose else result.evidence[:1]:
        finding = evidence.finding
        parts.append(Text(""))
        parts.append(Text.assemble(("scenario  ", "bold"), evidence.scenario))
        if finding.expected:
            parts.append(Text.assemble(("expected  ", "bold"), finding.expected))
        parts.append(Text.assemble(("observed  ", "bold"), (finding.observed, VERDICT_STYLES[finding.verdict])))
        parts.append(Text("trace", style="bold"))
        for position, line in enumerate(evidence.trace):
            marked = finding.message_index is not None and position == finding.message_index
            parts.append(Text(("▶ " if marked else "  ") + line, style="bold" if marked else "dim"))
    if len(result.evidence) > 1 and not verbose:
        parts.append(
            Text(f"\n{len(result.evidence) - 1} more scenario(s) with this finding: --verbose shows them", style="dim")
        )
    return Panel(Group(*parts), title=title, title_align="left", border_style=VERDICT_STYLES[result.verdict])


def render_catalogue(console: Console, checks: tuple[Check, ...]) -> None:
    table = Table(title="asgibench conform: the check catalogue", title_justify="left", title_style="bold")
    table.add_column("id", style="bold", no_wrap=True)
    table.add_column("area", no_wrap=True)
    table.add_column("level", no_wrap=True)
    table.add_column("check", overflow="fold")
    table.add_column("rule", style="dim", overflow="fold")  # a reference such as www.rst §Disconnect: never "…"
    for check in checks:
        # Text, not str: Rich would read brackets in a cell as markup.
        row = (check.id, check.group.value, check.level.value.upper(), check.title, check.reference)
        table.add_row(*(Text(cell) for cell in row))
    console.print(table)
    console.print(
        Text(
            f"{len(checks)} checks. Select with --only ID, --only PREFIX (e.g. HR) or --only AREA (e.g. lifespan). "
            "Every rule with its quote: docs/checks.md."
        )
    )
