"""``asgibench report RESULT...``: Markdown and a self-contained HTML page from result and comparison files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from asgibench.cli import app
from asgibench.errors import AsgibenchError, UsageError


@app.command()
def report(
    files: Annotated[
        list[Path],
        typer.Argument(
            metavar="RESULT...",
            help="Result files (asgibench load --json) and/or comparison files (asgibench compare).",
            show_default=False,
        ),
    ],
    markdown: Annotated[Path | None, typer.Option("--md", metavar="FILE", help="Write the Markdown report.")] = None,
    html: Annotated[
        Path | None, typer.Option("--html", metavar="FILE", help="Write the HTML report (one self-contained file).")
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", metavar="DIR", help="Write DIR/report.md and DIR/report.html.")
    ] = None,
    title: Annotated[str, typer.Option("--title", help="The report's heading.")] = "asgibench report",
) -> None:
    """Render results as Markdown (for a PR comment) and HTML (charts inline, nothing fetched).

    Results of the same server (or, without one, the same file name) are
    repeats of one series: shown as the median and range. With no --md,
    --html or --out, the Markdown goes to stdout. Exit 2 for a file that is
    not a result or comparison.
    """
    from asgibench.render.console import print_error

    try:
        _run(files, markdown, html, out, title)
    except AsgibenchError as error:
        print_error(error.message, error.hint)
        raise typer.Exit(error.exit_code) from None


def _run(files: list[Path], markdown: Path | None, html: Path | None, out: Path | None, title: str) -> None:
    from asgibench.report import build_report, load_sources, render_markdown, write_reports

    if out is not None:
        if markdown is not None or html is not None:
            raise UsageError("--out writes report.md and report.html; use it without --md and --html.")
        if not out.is_dir():
            raise UsageError(f"--out {str(out)!r} is not a directory.")
        markdown, html = out / "report.md", out / "report.html"
        write_reports(files, markdown=markdown, html=html, title=title, markdown_option="--out", html_option="--out")
    elif markdown is not None or html is not None:
        write_reports(files, markdown=markdown, html=html, title=title)
    else:
        typer.echo(
            render_markdown(build_report(load_sources(files)), report_directory=Path.cwd(), title=title), nl=False
        )
        return
    for path in (markdown, html):
        if path is not None:
            typer.echo(f"wrote {path}", err=True)
