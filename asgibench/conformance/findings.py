"""Verdicts and findings: what one check concluded from one scenario."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Verdict(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    WARN = "warn"
    INFO = "info"
    NOT_APPLICABLE = "n/a"


# Worst first: a check's verdict is the worst verdict among its findings.
SEVERITY_ORDER: tuple[Verdict, ...] = (
    Verdict.FAIL,
    Verdict.WARN,
    Verdict.INFO,
    Verdict.PASS,
    Verdict.NOT_APPLICABLE,
)


@dataclass(frozen=True, slots=True)
class Finding:
    """One observation against one check.

    ``message_index`` points into the scenario's trace at the message that
    broke the rule, when there is one.
    """

    check_id: str
    verdict: Verdict
    observed: str
    expected: str = ""
    message_index: int | None = None
