"""docs/checks.md, generated from the check catalogue: every check, its level, rule and quote.

``python -m asgibench.conformance.checks_doc > docs/checks.md`` rewrites it;
a test fails when the committed file is out of date. ``render_checks`` takes
any sequence of ``Check`` records, app-side (``Side.APP``) and server-side
(``Side.SERVER``) alike, so a server catalogue joins by passing its checks too.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from asgibench.conformance.catalogue import CHECKS, GROUP_TITLES, Check, Citation, Document, Level, Side

_LEVEL_TEXT: dict[Level, str] = {
    Level.MUST: "must: a break fails",
    Level.SHOULD: "should: a break warns (fails with --strict)",
    Level.INFO: "info: recorded, never fails",
}
_SIDE_TEXT: dict[Side, str] = {Side.APP: "app", Side.SERVER: "server"}

_SPEC_URLS: dict[Document, str] = {
    Document.ASGI: "https://github.com/django/asgiref/blob/main/specs/asgi.rst",
    Document.WWW: "https://github.com/django/asgiref/blob/main/specs/www.rst",
    Document.LIFESPAN: "https://github.com/django/asgiref/blob/main/specs/lifespan.rst",
    Document.EXTENSIONS: "https://github.com/django/asgiref/blob/main/docs/extensions.rst",
    Document.TLS: "https://github.com/django/asgiref/blob/main/specs/tls.rst",
    Document.ASGIREF_579: "https://github.com/django/asgiref/pull/579",
    Document.RFC6455: "https://www.rfc-editor.org/rfc/rfc6455",
    Document.RFC8297: "https://www.rfc-editor.org/rfc/rfc8297",
    Document.RFC9110: "https://www.rfc-editor.org/rfc/rfc9110",
    Document.RFC9112: "https://www.rfc-editor.org/rfc/rfc9112",
    Document.RFC9113: "https://www.rfc-editor.org/rfc/rfc9113",
}

_INTRO = """\
# The `asgibench conform` check catalogue

Generated from `asgibench/conformance/catalogue.py` and `asgibench/conformance/probe/catalogue.py` by
`python -m asgibench.conformance.checks_doc > docs/checks.md`; edit the catalogue, not this file.

Each check has a stable id (never reused or renumbered), the side that can break its rule
(**app**: judged in-process by `asgibench conform`; **server**: probed over a socket), and a level
that follows the spec's own word:

* **must**: MUST / MUST NOT in the spec. A break fails.
* **should**: SHOULD / SHOULD NOT. A break warns; `--strict` turns warnings into failures.
* **info**: MAY, or the spec says nothing. Recorded, never a failure.

Where the spec gives no modal word and asgibench derives a level, the rule says why. A check that
bundles rules of different strength gives each finding the verdict of the rule actually broken,
which can be softer than the check's level. Quotes are verbatim from the ASGI specification
(django/asgiref); RFC rules are paraphrased in the rule and cited by section.
"""


def render_checks(checks: Sequence[Check]) -> str:
    """The whole Markdown document for ``checks``, grouped by area in catalogue order."""
    lines = [_INTRO.rstrip("\n"), *_summary(checks)]
    for group, title in GROUP_TITLES.items():
        members = [check for check in checks if check.group is group]
        if not members:
            continue
        lines += ["", f"## {title}"]
        for check in members:
            lines += ["", *_check_section(check)]
    lines += ["", *_sources(checks)]
    return "\n".join(lines).rstrip("\n") + "\n"


def _summary(checks: Sequence[Check]) -> list[str]:
    counts = {level: sum(1 for check in checks if check.level is level) for level in Level}
    lines = [
        "",
        f"{len(checks)} checks: {counts[Level.MUST]} must, {counts[Level.SHOULD]} should, {counts[Level.INFO]} info.",
        "",
        "| id | side | level | check |",
        "|---|---|---|---|",
    ]
    for check in checks:
        anchor = _anchor(check)
        lines.append(
            f"| [{check.id}](#{anchor}) | {_SIDE_TEXT[check.side]} | {check.level.value} | {_cell(check.title)} |"
        )
    return lines


def _check_section(check: Check) -> list[str]:
    lines = [
        f"### {check.id}: {check.title}",
        "",
        f"**Side:** {_SIDE_TEXT[check.side]} · **Level:** {_LEVEL_TEXT[check.level]}",
        "",
        f"**Rule.** {check.rule}",
    ]
    quoted = [citation for citation in check.basis if citation.quote]
    cited = [citation for citation in check.basis if not citation.quote]
    if quoted:
        lines += ["", "**The spec says:**"]
        for citation in quoted:
            lines += ["", f"> {citation.quote}", ">", f"> — {_source(citation)}"]
    if cited:
        lines += ["", "**Also rests on:** " + "; ".join(_source(citation) for citation in cited) + "."]
    return lines


def _sources(checks: Sequence[Check]) -> list[str]:
    used = [document for document in Document if any(c.document is document for check in checks for c in check.basis)]
    lines = ["## Sources", ""]
    lines += [f"* {document.title}: <{_SPEC_URLS[document]}>" for document in used]
    return lines


def _source(citation: Citation) -> str:
    return str(citation) if citation.section or citation.document.is_rfc else citation.document.title


def _anchor(check: Check) -> str:
    """GitHub's heading anchor: lower case, punctuation dropped, spaces to hyphens."""
    text = f"{check.id}: {check.title}".lower()
    kept = "".join(ch for ch in text if ch.isalnum() or ch in " -_")
    return kept.replace(" ", "-")


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def all_checks() -> tuple[Check, ...]:
    """The whole catalogue: the server side's checks (probed), then the app side's (in-process)."""
    from asgibench.conformance.probe.catalogue import SERVER_CHECKS

    return (*SERVER_CHECKS, *CHECKS)


def main() -> None:
    sys.stdout.write(render_checks(all_checks()))


if __name__ == "__main__":
    main()
