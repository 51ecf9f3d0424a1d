"""The conformance report: one verdict per check, with its evidence.

A check's verdict is the worst of its findings (fail > warn > info); with no
finding it passes when some scenario exercised it and is n/a otherwise.
``--strict`` turns warnings into failures here, so every output agrees.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from xml.etree import ElementTree

from asgibench import __version__
from asgibench.conformance.catalogue import Check
from asgibench.conformance.findings import SEVERITY_ORDER, Finding, Verdict
from asgibench.conformance.outcome import Outcome

REPORT_SCHEMA = "asgibench.conformance/1"
_EVIDENCE_KEPT = 5  # findings kept per check, with their traces


@dataclass(frozen=True, slots=True)
class Evidence:
    scenario: str
    finding: Finding
    trace: tuple[str, ...]


@dataclass
class CheckResult:
    check: Check
    verdict: Verdict
    message: str
    evidence: list[Evidence] = field(default_factory=list)
    scenarios: int = 0  # how many scenarios exercised it


@dataclass
class ScenarioSummary:
    name: str
    ending: str
    elapsed: float
    findings: int


@dataclass
class ConformanceReport:
    target: str
    checks: list[CheckResult]
    scenarios: list[ScenarioSummary]
    duration: float
    timeout: float
    strict: bool = False

    def count(self, verdict: Verdict) -> int:
        return sum(1 for result in self.checks if result.verdict is verdict)

    @property
    def failed(self) -> bool:
        return self.count(Verdict.FAIL) > 0

    def summary(self) -> dict[str, int]:
        return {
            "passed": self.count(Verdict.PASS),
            "failed": self.count(Verdict.FAIL),
            "warned": self.count(Verdict.WARN),
            "info": self.count(Verdict.INFO),
            "not_applicable": self.count(Verdict.NOT_APPLICABLE),
            "total": len(self.checks),
            "scenarios": len(self.scenarios),
        }

    def closing_line(self) -> str:
        s = self.summary()
        return (
            f"{s['passed']} passed, {s['failed']} failed, {s['warned']} warned, "
            f"{s['info']} info, {s['not_applicable']} n/a"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": REPORT_SCHEMA,
            "asgibench_version": __version__,
            "target": self.target,
            "strict": self.strict,
            "timeout_s": self.timeout,
            "duration_s": round(self.duration, 3),
            "summary": self.summary(),
            "checks": [_check_dict(result) for result in self.checks],
            "scenarios": [
                {"name": s.name, "ending": s.ending, "elapsed_ms": round(s.elapsed * 1000, 2), "findings": s.findings}
                for s in self.scenarios
            ],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2) + "\n"

    def to_junit(self) -> str:
        suite = ElementTree.Element(
            "testsuite",
            name="asgibench conform",
            tests=str(len(self.checks)),
            failures=str(self.count(Verdict.FAIL)),
            skipped=str(self.count(Verdict.NOT_APPLICABLE)),
            errors="0",
            time=f"{self.duration:.3f}",
        )
        for result in self.checks:
            case = ElementTree.SubElement(
                suite,
                "testcase",
                classname=f"asgibench.conform.{result.check.group.value}",
                name=f"{result.check.id} {result.check.title}",
            )
            if result.verdict is Verdict.FAIL:
                failure = ElementTree.SubElement(case, "failure", message=result.message, type=result.check.id)
                failure.text = _evidence_text(result)
            elif result.verdict is Verdict.NOT_APPLICABLE:
                ElementTree.SubElement(case, "skipped", message=result.message)
            elif result.verdict in {Verdict.WARN, Verdict.INFO}:
                out = ElementTree.SubElement(case, "system-out")
                out.text = f"{result.verdict.value}: {result.message}\n{_evidence_text(result)}"
        ElementTree.indent(suite)
        return '<?xml version="1.0" encoding="utf-8"?>\n' + ElementTree.tostring(suite, encoding="unicode") + "\n"


def _check_dict(result: CheckResult) -> dict[str, Any]:
    check = result.check
    return {
        "id": check.id,
        "group": check.group.value,
        "title": check.title,
        "level": check.level.value,
        "verdict": result.verdict.value,
        "message": result.message,
        "side": check.side.value,
        "rule": check.rule,
        "quote": check.quote,
        "reference": check.reference,
        "sources": [str(citation) for citation in check.basis],
        "scenarios": result.scenarios,
        "findings": [
            {
                "scenario": e.scenario,
                "verdict": e.finding.verdict.value,
                "observed": e.finding.observed,
                "expected": e.finding.expected,
                "trace": list(e.trace),
            }
            for e in result.evidence
        ],
    }


def _evidence_text(result: CheckResult) -> str:
    check = result.check
    lines = [f"rule: {check.rule}", f"spec ({check.reference}): {check.quote or '(paraphrased in the rule)'}"]
    for evidence in result.evidence:
        lines.append(f"scenario: {evidence.scenario}")
        lines.append(f"  expected: {evidence.finding.expected}")
        lines.append(f"  observed: {evidence.finding.observed}")
        lines.extend(f"  {line}" for line in evidence.trace)
    return "\n".join(lines)


def build_report(
    target: str,
    checks: tuple[Check, ...],
    outcomes: list[Outcome],
    *,
    duration: float,
    timeout: float,
    strict: bool,
) -> ConformanceReport:
    results = [_result(check, outcomes, strict) for check in checks]
    scenarios = [ScenarioSummary(o.name, o.ending.value, o.elapsed, len(o.findings)) for o in outcomes]
    return ConformanceReport(target, results, scenarios, duration, timeout, strict)


def _result(check: Check, outcomes: list[Outcome], strict: bool) -> CheckResult:
    evidence: list[Evidence] = []
    exercised = 0
    for outcome in outcomes:
        if check.id in outcome.exercised:
            exercised += 1
        for finding in outcome.findings:
            if finding.check_id != check.id:
                continue
            if strict and finding.verdict is Verdict.WARN:
                finding = Finding(
                    finding.check_id,
                    Verdict.FAIL,
                    f"{finding.observed} (warning; --strict)",
                    finding.expected,
                    finding.message_index,
                )
            evidence.append(Evidence(outcome.name, finding, tuple(outcome.trace.lines())))
    if evidence:
        evidence.sort(key=lambda e: SEVERITY_ORDER.index(e.finding.verdict))
        worst = evidence[0].finding.verdict
        same = [e for e in evidence if e.finding.verdict is worst]
        more = f" (and {len(same) - 1} more scenario(s))" if len(same) > 1 else ""
        return CheckResult(check, worst, same[0].finding.observed + more, evidence[:_EVIDENCE_KEPT], exercised)
    if exercised:
        return CheckResult(check, Verdict.PASS, f"held in {exercised} scenario(s)", [], exercised)
    return CheckResult(check, Verdict.NOT_APPLICABLE, f"not exercised: {NOT_EXERCISED.get(check.id, _NO_CHANCE)}")


_NO_CHANCE = "no scenario gave the app a chance to break it"
_ADD_STREAM = "no response streamed long enough for the client to leave mid-response (add one: --path GET:/stream)"
# Why a check may go unexercised, and how to give the app the chance.
NOT_EXERCISED: dict[str, str] = {
    "DC-06": "the client never left before the app finished (add a streaming route: --path GET:/stream)",
    "DC-07": _ADD_STREAM,
    "ST-07": "the app never read a body sent in several messages (add a route that reads one: --path POST:/items)",
    "ST-08": "the app never read a body sent in several messages (add a route that reads one: --path POST:/items)",
    "ST-09": "no route answered both framings of the same body (add one: --path POST:/items)",
    "ER-06": "the app never looked at the malformed request body",
    "WS-10": "no WebSocket route was driven",
    "WS-11": "the app never accepted a WebSocket or sent on one",
    "WS-12": "the app never sent websocket.close",
    "EX-03": "the app never sent a WebSocket denial response",
    "EX-05": "the app never sent trailers",
    "EX-06": "the app never used http.response.pathsend",
    "EX-07": "the app never used http.response.zerocopysend",
    "EX-08": "the app never sent early hints",
    "EX-11": "the app never sent http.response.push",
    "EX-12": "the app never sent http.response.debug",
    "DC-08": "the app never received a disconnect",
    "DC-09": "the app never received a disconnect before the end of a request body (add a route that reads one)",
    "WS-14": "the app never accepted a WebSocket",
}
