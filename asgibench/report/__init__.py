"""``asgibench report``: result and comparison files rendered as Markdown and a self-contained HTML page.

``write_reports`` is the one entry point (the CLI and ``asgibench compare``
call it); ``build_report`` and the renderers are pure and usable on their own.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from asgibench.atomicio import check_output, write_each
from asgibench.errors import OutputError
from asgibench.report.html import render_html
from asgibench.report.markdown import render_markdown
from asgibench.report.model import Report, Series, build_report
from asgibench.report.sources import load_sources

__all__ = ["Report", "Series", "build_report", "load_sources", "render_html", "render_markdown", "write_reports"]


def write_reports(
    paths: Sequence[str | Path],
    *,
    markdown: str | Path | None = None,
    html: str | Path | None = None,
    title: str = "asgibench report",
    markdown_option: str = "--md",
    html_option: str = "--html",
) -> Report:
    """Read result and comparison files and write the Markdown and/or HTML report, each atomically.

    Output paths are checked before anything is read, so a typo fails at
    once; a file that is not a result or comparison is a UsageError naming it.
    A report that cannot be written is saved elsewhere (asgibench.atomicio.save_fallback)
    and, once the other is written, an OutputError says what failed and where it went.
    Links (flame graphs) are relative to each report's own directory.
    """
    for path, option in ((markdown, markdown_option), (html, html_option)):
        if path is not None:
            check_output(path, option=option)
    report = build_report(load_sources(paths))
    outputs: list[tuple[str | Path, str, str, str]] = []
    if markdown is not None:
        text = render_markdown(report, report_directory=Path(markdown).parent, title=title)
        outputs.append((markdown, markdown_option, text, ".md"))
    if html is not None:
        page = render_html(report, report_directory=Path(html).parent, title=title)
        outputs.append((html, html_option, page, ".html"))
    failures = write_each(outputs, stem="asgibench-report", what="report")
    if len(failures) == 1:
        raise failures[0]
    if failures:
        first = failures[0]
        raise OutputError(
            "\n".join(failure.message for failure in failures),
            option=first.option,
            path=first.path,
            reason=first.reason,
            saved=first.saved,
        )
    return report
