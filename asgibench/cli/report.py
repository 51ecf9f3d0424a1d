"""``asgibench report RESULT...``: Markdown and a self-contained HTML page from result and comparison files."""

from __future__ import annotations

import contextlib
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
            help="Result files (asgibench load --json), comparison files (asgibench compare), or directories of them.",
            show_default=False,
        ),
    ],
    markdown: Annotated[Path | None, typer.Option("--md", metavar="FILE", help="Write the Markdown report.")] = None,
    html: Annotated[
        Path | None, typer.Option("--html", metavar="FILE", help="Write the HTML report (one self-contained file).")
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", metavar="DIR", help="Write DIR/report.md and DIR/report.html (DIR is created)."),
    ] = None,
    title: Annotated[str, typer.Option("--title", metavar="TEXT", help="The report's heading.")] = "asgibench report",
) -> None:
    """Render results as Markdown (for a PR comment) and HTML (charts inline, nothing fetched).

    Results of the same server (or, without one, the same file name) are
    repeats of one series: shown as the median and range. A directory stands
    for the result and comparison files in it; a file named twice, or listed
    by a comparison also given, counts once. With no --md, --html or --out,
    the Markdown goes to stdout. Exit 2 for a file that is not a result or
    comparison, or an output that cannot be written.
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
        created = make_directory(out)
        markdown, html = out / "report.md", out / "report.html"
        try:
            write_reports(
                files, markdown=markdown, html=html, title=title, markdown_option="--out", html_option="--out"
            )
        except UsageError:
            remove_empty(created)  # bad input: leave no empty directory behind for it
            raise
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


def make_directory(directory: Path) -> list[Path]:
    """Create ``directory`` and its missing parents, as ``mkdir -p``; the ones created, deepest last.

    A path that exists and is not a directory, or one that cannot be created, is a UsageError naming --out.
    Whether a file can be written in it is checked by ``write_reports`` (asgibench.atomicio.check_output).
    """
    missing = [path for path in (directory, *directory.parents) if not path.exists()][::-1]
    if directory.exists() and not directory.is_dir():
        raise UsageError(f"Cannot write --out {str(directory)!r}: it exists and is not a directory.")
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        remove_empty([path for path in missing if path.is_dir()])
        reason = error.strerror or str(error)
        raise UsageError(f"Cannot create --out directory {str(directory)!r}: {reason}.") from None
    return missing


def remove_empty(created: list[Path]) -> None:
    """Remove the directories this run created, deepest first, as long as they are still empty."""
    for path in reversed(created):
        with contextlib.suppress(OSError):
            path.rmdir()
