"""The conformance report as GitHub Actions workflow commands: one annotation per failing or warning check.

GitHub reads ``::error title=T,file=F,line=N::message`` lines from a step's
output and shows them on the pull request, at the file and line when given.
Everything the app or the user wrote goes through GitHub's escaping, so an
observed value holding a newline and ``::`` cannot start a command of its own.
No Rich here: the lines must reach the log exactly as written.
"""

from __future__ import annotations

import inspect
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from asgibench.conformance.findings import Verdict
from asgibench.conformance.report import CheckResult, ConformanceReport

if TYPE_CHECKING:
    from asgibench.conformance.probe.report import ServersReport

# The workflow command each verdict becomes; pass, info and n/a are left to the summary line.
_COMMANDS: dict[Verdict, str] = {Verdict.FAIL: "error", Verdict.WARN: "warning"}


@dataclass(frozen=True, slots=True)
class SourceLocation:
    """Where the annotations point: a path relative to the repository root, and a line when known."""

    path: str
    line: int | None = None


def escape_data(text: str) -> str:
    """A command's message, as the Actions runner unescapes it."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """A property value (``title``, ``file``): the message's escaping, and ``:`` and ``,`` besides."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def github_lines(report: ConformanceReport, location: SourceLocation | None = None) -> list[str]:
    """The workflow commands for ``report``, worst first, then a one-line summary."""
    lines = [
        _annotation(result, location) for verdict in _COMMANDS for result in report.checks if result.verdict is verdict
    ]
    lines.append(escape_data(f"asgibench conform {report.target}: {report.closing_line()}"))
    return lines


def _annotation(result: CheckResult, location: SourceLocation | None) -> str:
    check = result.check
    properties = [f"title={escape_property(f'{check.id} {check.title}')}"]
    if location is not None:
        properties.append(f"file={escape_property(location.path)}")
        if location.line is not None:
            properties.append(f"line={location.line}")
    return f"::{_COMMANDS[result.verdict]} {','.join(properties)}::{escape_data(_message(result))}"


def _message(result: CheckResult) -> str:
    """Observed first (the annotation's first line is what the pull request shows folded), then the evidence."""
    lines = [result.message]
    if result.evidence:
        first = result.evidence[0]
        if first.finding.expected:
            lines.append(f"expected: {first.finding.expected}")
        lines.append(f"scenario: {first.scenario}")
    lines.append(f"rule ({result.check.reference}): {result.check.rule}")
    return "\n".join(lines)


def locate_app(target: str, app: object, root: Path) -> SourceLocation | None:
    """The file (relative to ``root``) and line that define the app ``target`` names, when they are under ``root``.

    A function or class is found where it is defined; an instance (``app =
    Starlette()``) at the line that binds its name in the module named; failing
    both, the module file alone. None when no file is known under ``root``:
    GitHub drops annotations on files that are not in the repository.
    """
    module_name, _, attribute = target.partition(":")
    candidates: list[tuple[str, int | None]] = []
    definition = inspect.unwrap(app) if callable(app) else app
    if inspect.isfunction(definition) or inspect.isclass(definition):
        try:
            candidates.append((inspect.getfile(definition), inspect.getsourcelines(definition)[1]))
        except (OSError, TypeError):
            pass
    module_file = getattr(sys.modules.get(module_name), "__file__", None)
    if module_file:
        candidates.append((module_file, _assignment_line(Path(module_file), attribute)))
    for path, line in candidates:
        try:
            relative = Path(path).resolve().relative_to(root.resolve())
        except ValueError:
            continue  # outside the repository (an app imported from an installed package)
        return SourceLocation(relative.as_posix(), line)
    return None


def _assignment_line(path: Path, attribute: str) -> int | None:
    """The first line of ``path`` that binds the top-level name ``attribute``."""
    name = attribute.split(".")[0].removesuffix("()")
    # ``app = ...`` or ``app: T = ...``; with --factory the attribute is the factory's ``def``.
    binding = re.compile(rf"(?:{re.escape(name)}\s*(?::[^=]*)?=(?!=)|(?:async\s+)?def\s+{re.escape(name)}\b)")
    try:
        source = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    for number, text in enumerate(source.splitlines(), start=1):
        if binding.match(text):
            return number
    return None


def server_github_lines(report: ServersReport) -> list[str]:
    """``conform --server``: one annotation per server and failing or warning check, then a summary line."""
    lines: list[str] = []
    for probe in report.probes:
        if probe.judgement is None:
            title = escape_property(f"{probe.server}: not probed")
            lines.append(f"::error title={title}::{escape_data(probe.error)}")
            continue
        for check in report.checks:
            cell = report.cell(probe, check)
            command = _COMMANDS.get(cell.verdict)
            if command is None:
                continue
            worst = next((f for f in cell.findings if f.verdict in (Verdict.FAIL, Verdict.WARN)), None)
            if worst is None:
                detail = cell.verdict.value  # --strict made a warning a failure; no finding says more
            else:
                expected = f" (expected {worst.expected})" if worst.expected else ""
                detail = f"{worst.case}: {worst.observed}{expected}"
            title = escape_property(f"{probe.server} {check.id} {check.title}")
            lines.append(f"::{command} title={title}::{escape_data(detail)}")
    summary = "; ".join(
        f"{probe.server}: "
        + (
            "not probed"
            if probe.judgement is None
            else ", ".join(f"{n} {v}" for v, n in report.counts(probe).items() if n)
        )
        for probe in report.probes
    )
    lines.append(f"asgibench conform --server: {summary}")
    return lines
