"""``asgibench conform --server NAMES``: probe real servers with the recording app; a servers x checks matrix."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console  # noqa: TID251 - a type only: nothing of Rich is imported at run time

from asgibench.atomicio import check_output, write_each
from asgibench.conformance.catalogue import Check
from asgibench.errors import UsageError
from asgibench.render.console import print_error


def parse_servers(text: str) -> list[str]:
    """``uvicorn,hypercorn``: known server names, each once; a name no plugin has is a usage error."""
    from asgibench.servers import plugin_names

    known = plugin_names()
    names: list[str] = []
    for name in filter(None, (part.strip() for part in text.split(","))):
        if name not in known:
            raise UsageError(f"--server {name!r}: no such server.", hint=f"Known servers: {', '.join(known)}.")
        if name not in names:
            names.append(name)
    if not names:
        raise UsageError("--server names no server.", hint="For example: --server uvicorn,hypercorn")
    return names


def run_servers(
    console: Console,
    servers: list[str],
    *,
    only: list[str],
    strict: bool,
    json_path: Path | None,
    junit_path: Path | None,
    html_path: Path | None,
    verbose: bool,
    output_format: str = "text",
) -> int:
    from asgibench.conformance.probe.report import ServersReport
    from asgibench.conformance.probe.run import probe_server
    from asgibench.render.conformance_servers import render_matrix

    checks = select_server_checks(only)
    for path, option in ((json_path, "--json"), (junit_path, "--junit"), (html_path, "--html")):
        if path is not None:
            check_output(path, option=option)
    probes = []
    for name in servers:
        if output_format == "github":
            probes.append(probe_server(name))  # the log gets the annotations only
            continue
        with console.status(f"probing {name}…"):
            probes.append(probe_server(name))
    report = ServersReport(probes, checks=checks, strict=strict)
    if output_format == "github":
        from asgibench.render.github import server_github_lines

        print("\n".join(server_github_lines(report)), flush=True)
    else:
        render_matrix(console, report, verbose=verbose)
    outputs: list[tuple[str | Path, str, str, str]] = []
    if json_path is not None:
        outputs.append((json_path, "--json", report.to_json(), ".json"))
    if junit_path is not None:
        outputs.append((junit_path, "--junit", report.to_junit(), ".xml"))
    if html_path is not None:
        outputs.append((html_path, "--html", report.to_html(), ".html"))
    failures = write_each(outputs, stem="asgibench-conform-servers", what="report")
    for failure in failures:
        print_error(failure.message, failure.hint)
    if failures:
        return 2
    if any(probe.judgement is None for probe in probes):
        return 3  # a server that could not be started was not probed: its column is empty
    return 1 if report.failed else 0


def select_server_checks(only: list[str]) -> tuple[Check, ...]:
    """The server checks named by ids, prefixes or areas, as ``--only`` selects app checks."""
    from asgibench.conformance.catalogue import GROUP_PREFIXES, Group
    from asgibench.conformance.probe.catalogue import SERVER_CHECKS

    if not only:
        return SERVER_CHECKS
    chosen: set[str] = set()
    for raw in only:
        for selector in filter(None, (part.strip() for part in raw.split(","))):
            upper = selector.upper()
            group = GROUP_PREFIXES.get(upper) or next((g for g in Group if g.value == selector.lower()), None)
            matched = {c.id for c in SERVER_CHECKS if c.id == upper or (group is not None and c.group is group)}
            if not matched:
                raise UsageError(
                    f"--only {selector!r} names no server check, prefix or area.",
                    hint="asgibench conform --server NAME --list shows them.",
                )
            chosen |= matched
    return tuple(check for check in SERVER_CHECKS if check.id in chosen)
