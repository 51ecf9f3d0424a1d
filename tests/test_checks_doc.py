"""docs/checks.md is the catalogue, generated: it must match catalogue.py, whole and current."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from asgibench.conformance.catalogue import CHECKS, GROUP_PREFIXES, Check, Citation, Document, Level, Side
from asgibench.conformance.checks_doc import all_checks, render_checks

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "checks.md"
REGENERATE = "python -m asgibench.conformance.checks_doc > docs/checks.md"


def test_the_committed_document_is_up_to_date() -> None:
    text = DOC.read_text(encoding="utf-8")
    assert text == render_checks(all_checks()), f"docs/checks.md is out of date: {REGENERATE}"


def test_the_module_prints_the_document() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "asgibench.conformance.checks_doc"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert result.stdout == DOC.read_text(encoding="utf-8")


def test_every_check_is_there_with_its_level_rule_and_quotes() -> None:
    text = render_checks(CHECKS)
    for check in CHECKS:
        section = text.split(f"### {check.id}: ", 1)[1].split("\n### ", 1)[0]
        assert f"**Level:** {check.level.value}" in section
        assert check.rule in section
        for citation in check.basis:
            if citation.quote:
                assert f"> {citation.quote}" in section
            assert str(citation) in section or citation.document.title in section


def test_sources_are_named_as_the_public_spec_never_as_local_files() -> None:
    text = render_checks(CHECKS)
    assert "ASGI spec, HTTP & WebSocket (asgiref specs/www.rst), § Response Start" in text
    assert "RFC 9112 §6.3" in text
    assert "../" not in text and "/work/" not in text and "CONFORMANCE.md" not in text


def test_server_side_records_join_the_same_document() -> None:
    server_check = Check(
        "SC-01",
        "scope is a dict whose `type` is a str",
        Level.MUST,
        "The server hands the app a dict scope with a str type.",
        (Citation(Document.ASGI, "Applications", "``scope`` must be a ``dict``."),),
        side=Side.SERVER,
    )
    text = render_checks((server_check, *CHECKS))
    assert "| [SC-01](#sc-01-scope-is-a-dict-whose-type-is-a-str) | server | must |" in text
    assert text.index("### SC-01:") < text.index("### SC-16:")


def test_catalogue_ids_are_unique_well_formed_and_grouped() -> None:
    ids = [check.id for check in CHECKS]
    assert len(ids) == len(set(ids))
    for check in CHECKS:
        assert re.fullmatch(r"[A-Z]{2}-\d{2}", check.id) and check.id[:2] in GROUP_PREFIXES
        assert check.basis and check.rule and check.title
        assert check.side is Side.APP
        for citation in check.basis:
            # RFC text is paraphrased in the rule, never quoted.
            assert not (citation.document.is_rfc and citation.quote), check.id


def test_derived_levels_say_why() -> None:
    # Checks whose level the spec does not state for the app carry the reason in their rule.
    for check_id in ("SC-18", "SC-19", "HR-04", "HR-11", "HR-13", "DC-06", "DC-08", "LS-09", "LS-12", "EX-01", "ER-07"):
        rule = next(check.rule for check in CHECKS if check.id == check_id)
        assert "derived" in rule.lower(), check_id
