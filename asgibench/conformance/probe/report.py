"""The servers x checks matrix, and its JSON, JUnit and HTML forms.

A cell is the worst verdict of the check's findings on that server (fail >
warn > info > pass); a check no case exercised on a server is "n/a" there.
``strict`` turns warnings into failures, so every output agrees. The HTML page
follows Autobahn's report: each cell links to the expectation, the
observation and the wire log of the cases behind it.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from typing import Any
from xml.etree import ElementTree

from asgibench import __version__
from asgibench.conformance.catalogue import Check
from asgibench.conformance.findings import SEVERITY_ORDER, Verdict
from asgibench.conformance.observation import Observation, encode
from asgibench.conformance.probe.catalogue import SERVER_CHECKS
from asgibench.conformance.probe.judge import ServerFinding
from asgibench.conformance.probe.run import ServerProbe

SCHEMA = "asgibench.conformance-servers/1"
WIRE_KEPT = 4096  # bytes of each direction kept per case in the outputs


@dataclass
class Cell:
    verdict: Verdict
    findings: list[ServerFinding]


@dataclass
class ServersReport:
    probes: list[ServerProbe]
    checks: tuple[Check, ...] = SERVER_CHECKS
    strict: bool = False

    def cell(self, probe: ServerProbe, check: Check) -> Cell:
        if probe.judgement is None:
            return Cell(Verdict.NOT_APPLICABLE, [])
        findings = [finding for finding in probe.judgement.findings if finding.check_id == check.id]
        if not findings:
            return Cell(Verdict.NOT_APPLICABLE, [])
        verdict = min((finding.verdict for finding in findings), key=SEVERITY_ORDER.index)
        if self.strict and verdict is Verdict.WARN:
            verdict = Verdict.FAIL
        return Cell(verdict, findings)

    def counts(self, probe: ServerProbe) -> dict[str, int]:
        counts = {verdict.value: 0 for verdict in SEVERITY_ORDER}
        for check in self.checks:
            counts[self.cell(probe, check).verdict.value] += 1
        return counts

    @property
    def failed(self) -> bool:
        """A server that could not be probed, or a failed check, on any server."""
        return any(
            probe.judgement is None or any(self.cell(probe, c).verdict is Verdict.FAIL for c in self.checks)
            for probe in self.probes
        )

    # -- JSON -----------------------------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "asgibench": __version__,
            "strict": self.strict,
            "checks": [
                {
                    "id": c.id,
                    "title": c.title,
                    "level": c.level.value,
                    "rule": c.rule,
                    "quote": c.quote,
                    "reference": c.reference,
                }
                for c in self.checks
            ],
            "servers": [self._server(probe) for probe in self.probes],
        }

    def _server(self, probe: ServerProbe) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "name": probe.server,
            "version": probe.version,
            "error": probe.error or None,
            "elapsed_s": round(probe.elapsed, 3),
            "counts": self.counts(probe),
        }
        if probe.judgement is None:
            return entry
        entry["spec_version"] = probe.judgement.spec_version
        entry["verdicts"] = {
            check.id: {
                "verdict": (cell := self.cell(probe, check)).verdict.value,
                "findings": [
                    {"verdict": f.verdict.value, "case": f.case, "observed": f.observed, "expected": f.expected}
                    for f in cell.findings
                ],
            }
            for check in self.checks
        }
        entry["cases"] = {name: _case(observation) for name, observation in probe.judgement.observations.items()}
        entry["case_errors"] = probe.case_errors
        return entry

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n"

    # -- JUnit ----------------------------------------------------------------------------------------------------

    def to_junit(self) -> str:
        suites = ElementTree.Element("testsuites", name="asgibench conform --server")
        for probe in self.probes:
            suite = ElementTree.SubElement(suites, "testsuite", name=f"{probe.server} {probe.version or ''}".strip())
            failures = skipped = 0
            if probe.judgement is None:
                case = ElementTree.SubElement(suite, "testcase", name="start", classname=probe.server)
                ElementTree.SubElement(case, "error", message=probe.error)
            for check in self.checks:
                cell = self.cell(probe, check)
                case = ElementTree.SubElement(
                    suite, "testcase", name=f"{check.id} {check.title}", classname=f"{probe.server}.{check.group.value}"
                )
                detail = "\n".join(
                    f"[{f.verdict.value}] {f.case}: {f.observed}" + (f" (expected {f.expected})" if f.expected else "")
                    for f in cell.findings
                )
                if cell.verdict is Verdict.FAIL:
                    failures += 1
                    ElementTree.SubElement(
                        case, "failure", message=cell.findings[0].observed if cell.findings else "failed"
                    ).text = detail
                elif cell.verdict is Verdict.NOT_APPLICABLE:
                    skipped += 1
                    ElementTree.SubElement(case, "skipped", message="not exercised on this server")
                elif detail:
                    ElementTree.SubElement(case, "system-out").text = detail
            suite.set("tests", str(len(self.checks)))
            suite.set("failures", str(failures))
            suite.set("skipped", str(skipped))
            suite.set("errors", "1" if probe.judgement is None else "0")
        return ElementTree.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"

    # -- HTML -----------------------------------------------------------------------------------------------------

    def to_html(self) -> str:
        escape = html.escape
        head = "".join(
            f"<th>{escape(p.server)}<br><small>{escape(p.version or '')}"
            + (f" · spec {escape(p.judgement.spec_version)}" if p.judgement else "")
            + "</small></th>"
            for p in self.probes
        )
        rows = []
        for check in self.checks:
            cells = []
            for index, probe in enumerate(self.probes):
                cell = self.cell(probe, check)
                anchor = f"{check.id}-{index}"
                cells.append(
                    f'<td class="{cell.verdict.name.lower()}"><a href="#{anchor}">{cell.verdict.value}</a></td>'
                )
            rows.append(
                f'<tr><th class="check"><a href="#{check.id}">{check.id}</a> {escape(check.title)}'
                f" <small>({check.level.value})</small></th>{''.join(cells)}</tr>"
            )
        details = []
        for check in self.checks:
            details.append(
                f'<section id="{check.id}"><h2>{check.id} {escape(check.title)}</h2>'
                f"<p><b>Level:</b> {check.level.value} · <b>Rule:</b> {escape(check.rule)}</p>"
                f"<blockquote>{escape(check.quote)}<br><small>{escape(check.reference)}</small>"
                "</blockquote>"
            )
            for index, probe in enumerate(self.probes):
                cell = self.cell(probe, check)
                logged = probe.judgement.observations if probe.judgement else {}
                items = "".join(
                    f'<li class="{f.verdict.name.lower()}"><b>{f.verdict.value}</b> in case '
                    + (
                        f'<a href="#case-{index}-{escape(f.case)}">{escape(f.case)}</a>'
                        if f.case in logged
                        else escape(f.case)
                    )  # lifespan runs have no wire log of their own
                    + f": observed {escape(f.observed)}"
                    + (f"; expected {escape(f.expected)}" if f.expected else "")
                    + "</li>"
                    for f in cell.findings
                )
                details.append(
                    f'<div id="{check.id}-{index}"><h3>{escape(probe.server)}: '
                    f'<span class="{cell.verdict.name.lower()}">{cell.verdict.value}</span></h3>'
                    f"<ul>{items or '<li>not exercised</li>'}</ul></div>"
                )
            details.append("</section>")
        cases = []
        for index, probe in enumerate(self.probes):
            if probe.judgement is None:
                cases.append(f"<h2>{escape(probe.server)}</h2><p>not probed: {escape(probe.error)}</p>")
                continue
            for name, observation in probe.judgement.observations.items():
                cases.append(_case_html(f"case-{index}-{name}", probe.server, observation))
        return _PAGE.format(
            version=escape(__version__),
            head=head,
            rows="\n".join(rows),
            details="\n".join(details),
            cases="\n".join(cases),
        )


def _wire_text(data: bytes) -> str:
    kept = data[:WIRE_KEPT]
    return kept.decode("latin-1") + (f"\n[... {len(data) - WIRE_KEPT} more bytes]" if len(data) > WIRE_KEPT else "")


def _case(observation: Observation) -> dict[str, Any]:
    wire = observation.wire
    return {
        "app": [
            {"at": round(event.at - wire.started, 6), "kind": event.kind, "value": encode(event.value)}
            for event in observation.app.events
        ],
        "wire": {
            "sent": _wire_text(wire.sent),
            "received": _wire_text(wire.received),
            "server_closed_after_s": None if wire.closed_at is None else round(wire.closed_at - wire.started, 6),
            "reset": wire.reset,
            "timed_out": wire.timed_out,
        },
        "notes": observation.notes,
    }


def _case_html(anchor: str, server: str, observation: Observation) -> str:
    escape = html.escape
    wire = observation.wire
    steps = "".join(
        f"<tr><td>{event.at - wire.started:+.4f}</td><td>{escape(event.kind)}</td>"
        f"<td><code>{escape(repr(event.value)[:400])}</code></td></tr>"
        for event in observation.app.events
    )
    closed = (
        "open when the probe left"
        if wire.closed_at is None
        else f"closed by the server at {wire.closed_at - wire.started:+.4f} s"
    )
    return (
        f'<section id="{escape(anchor)}"><h3>{escape(server)} · case {escape(observation.case)}</h3>'
        f"<h4>sent</h4><pre>{escape(_wire_text(wire.sent))}</pre>"
        f"<h4>received ({escape(closed)}{', reset' if wire.reset else ''})</h4>"
        f"<pre>{escape(_wire_text(wire.received))}</pre>"
        f"<h4>what the app saw (seconds from the connection)</h4><table>{steps or '<tr><td>nothing</td></tr>'}</table>"
        "</section>"
    )


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>asgibench: ASGI servers against the spec</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em; color: #222; }}
table {{ border-collapse: collapse; }} td, th {{ border: 1px solid #ccc; padding: 0.25em 0.5em; }}
th.check {{ text-align: left; font-weight: normal; }}
td.pass {{ background: #d9f2d9; }} td.fail {{ background: #f7c6c6; }} td.warn {{ background: #fbe7b5; }}
td.info {{ background: #d6e6f7; }} td.not_applicable {{ background: #eee; }}
span.fail, li.fail b {{ color: #a00; }} span.warn, li.warn b {{ color: #a60; }} span.pass, li.pass b {{ color: #070; }}
pre {{ background: #f6f6f6; padding: 0.5em; white-space: pre-wrap; word-break: break-all; }}
blockquote {{ border-left: 3px solid #ccc; margin-left: 0; padding-left: 1em; color: #444; }}
</style></head><body>
<h1>ASGI servers against the spec</h1>
<p>asgibench {version} · <code>asgibench conform --server</code> · each cell links to its findings, each finding
to the case's wire log and what the app saw.</p>
<table id="matrix"><thead><tr><th>check</th>{head}</tr></thead><tbody>
{rows}
</tbody></table>
<h1>Checks</h1>
{details}
<h1>Cases</h1>
{cases}
</body></html>
"""
