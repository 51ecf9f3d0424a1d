"""The gate's verdicts as JUnit XML: one testcase per metric, a <failure> for each regression."""

from __future__ import annotations

from xml.etree import ElementTree

from asgibench.gate.format import describe
from asgibench.gate.verdict import GateReport, Verdict


def to_junit(report: GateReport) -> str:
    suite = ElementTree.Element(
        "testsuite",
        name="asgibench gate",
        tests=str(len(report.verdicts)),
        failures=str(len(report.regressions)),
        errors="0",
        skipped="0",
    )
    properties = ElementTree.SubElement(suite, "properties")
    for name, files in (("baseline", report.baseline_files), ("current", report.current_files)):
        ElementTree.SubElement(properties, "property", name=name, value=" ".join(files))
    for verdict in report.verdicts:
        case = ElementTree.SubElement(suite, "testcase", classname="asgibench.gate", name=verdict.metric.label)
        text = describe(verdict)
        if verdict.verdict is Verdict.REGRESSION:
            failure = ElementTree.SubElement(case, "failure", message=text, type="regression")
            failure.text = text
        else:
            out = ElementTree.SubElement(case, "system-out")
            out.text = text
    if report.warnings:
        err = ElementTree.SubElement(suite, "system-err")
        err.text = "\n".join(report.warnings)
    ElementTree.indent(suite)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ElementTree.tostring(suite, encoding="unicode") + "\n"
