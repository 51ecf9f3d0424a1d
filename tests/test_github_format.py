"""``asgibench conform --format github``: workflow commands GitHub turns into annotations on the pull request."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from asgibench.apploader import load_app
from asgibench.conformance import CHECKS, ConformanceReport
from asgibench.conformance.findings import Finding, Verdict
from asgibench.conformance.report import CheckResult, Evidence
from asgibench.render.github import SourceLocation, escape_data, escape_property, github_lines, locate_app
from reference_apps.broken_demo import app as broken_app
from reference_apps.raw_app import read_body
from tests.conftest import conform

REPO = Path(__file__).resolve().parent.parent
BROKEN_PATHS = ("GET:/stream", "POST:/echo")
# The MUST rule reference_apps.broken_demo breaks whatever the routes: it sends before accepting a WebSocket.
BROKEN_CHECKS = {"WS-10"}


async def upper_case_header_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Correct but for one SHOULD rule: a mixed-case response header name (HR-02 warns)."""
    assert scope["type"] == "http"
    if await read_body(receive) is None:
        return  # the client left: nothing to answer
    await send({"type": "http.response.start", "status": 200, "headers": [(b"X-Upper", b"1")]})
    await send({"type": "http.response.body", "body": b"ok"})


# Long enough that /stream, which sends every 0.1 s, is seen streaming at the deadline (not hung: HR-11).
BROKEN_TIMEOUT = 1.0


@pytest.fixture(scope="module")
def broken_report() -> ConformanceReport:
    return conform(broken_app, BROKEN_PATHS, timeout=BROKEN_TIMEOUT)


def test_escaping_follows_the_runner() -> None:
    assert escape_data("100% done\r\nnext") == "100%25 done%0D%0Anext"
    assert escape_data("a: b, c") == "a: b, c"  # only properties escape : and ,
    assert escape_property("HR-02 [bytes, bytes]: 50%\n") == "HR-02 [bytes%2C bytes]%3A 50%25%0A"


def kinds(report: ConformanceReport) -> list[tuple[str, CheckResult]]:
    """The annotation each check should become: errors for failures, then warnings, in catalogue order."""
    failing = [("error", result) for result in report.checks if result.verdict is Verdict.FAIL]
    return failing + [("warning", result) for result in report.checks if result.verdict is Verdict.WARN]


def test_each_failing_or_warning_check_is_one_annotation_then_a_summary(broken_report: ConformanceReport) -> None:
    lines = github_lines(broken_report)
    *annotations, summary = lines
    expected = kinds(broken_report)
    assert BROKEN_CHECKS <= {result.check.id for kind, result in expected if kind == "error"}
    assert len(annotations) == len(expected)
    for annotation, (kind, result) in zip(annotations, expected, strict=True):
        assert annotation.startswith(f"::{kind} title={escape_property(result.check.id + ' ' + result.check.title)}::")
        assert "file=" not in annotation  # no location given, none invented
        evidence = result.evidence[0]
        message = [result.message, f"expected: {evidence.finding.expected}", f"scenario: {evidence.scenario}"]
        message.append(f"rule ({result.check.reference}): {result.check.rule}")
        assert annotation.split("::", 2)[2] == escape_data("\n".join(message))
    assert summary == f"asgibench conform app: {broken_report.closing_line()}"
    assert all("\n" not in line and "\r" not in line for line in lines)


def test_a_location_becomes_file_and_line(broken_report: ConformanceReport) -> None:
    annotations = github_lines(broken_report, SourceLocation("src/my,app.py", 19))[:-1]
    assert annotations and all(",file=src/my%2Capp.py,line=19::" in line for line in annotations)
    without_line = github_lines(broken_report, SourceLocation("main.py"))[0]
    assert ",file=main.py::" in without_line and "line=" not in without_line


def test_warnings_are_warnings_and_strict_makes_them_errors() -> None:
    lenient = github_lines(conform(upper_case_header_app))
    assert [line.split(" ", 1)[0] for line in lenient[:-1]] == ["::warning"]
    assert lenient[0].startswith("::warning title=HR-02 ") and "not lower-case" in lenient[0]
    strict = github_lines(conform(upper_case_header_app, strict=True))
    assert [line.split(" ", 1)[0] for line in strict[:-1]] == ["::error"]
    assert strict[0].startswith("::error title=HR-02 ")


def test_app_text_cannot_forge_a_command() -> None:
    check = next(c for c in CHECKS if c.id == "HR-02")
    forged = "header b'x'\n::error file=setup.py::forged\r\n%0A"
    finding = Finding("HR-02", Verdict.FAIL, forged, "lower-case names")
    result = CheckResult(check, Verdict.FAIL, forged, [Evidence("GET /", finding, ())], 1)
    report = ConformanceReport("main:app\n::warning::x", [result], [], 0.1, 2.0)
    lines = github_lines(report)
    assert len(lines) == 2 and all("\n" not in line and "\r" not in line for line in lines)
    assert "header b'x'%0A::error file=setup.py::forged%0D%0A%250A" in lines[0]


def test_locate_app_finds_the_definition() -> None:
    raw = locate_app("reference_apps.raw_app:app", load_app("reference_apps.raw_app:app", app_dir=REPO), REPO)
    source = (REPO / "reference_apps" / "raw_app.py").read_text().splitlines()
    assert raw is not None and raw.path == "reference_apps/raw_app.py"
    assert raw.line is not None and source[raw.line - 1].startswith("async def app(")
    pytest.importorskip("starlette")
    target = "reference_apps.starlette_app:app"
    instance = locate_app(target, load_app(target, app_dir=REPO), REPO)
    source = (REPO / "reference_apps" / "starlette_app.py").read_text().splitlines()
    assert instance is not None and instance.path == "reference_apps/starlette_app.py"
    assert instance.line is not None and source[instance.line - 1].startswith("app = Starlette(")


def test_locate_app_leaves_out_files_outside_the_repository(tmp_path: Path) -> None:
    target = "reference_apps.raw_app:app"
    assert locate_app(target, load_app(target, app_dir=REPO), tmp_path) is None


def test_locate_app_points_a_factory_at_its_def(tmp_path: Path) -> None:
    (tmp_path / "factory_main_gh.py").write_text(
        "from reference_apps.raw_app import app as _raw\n\n\ndef create_app():\n    return _raw\n"
    )
    app = load_app("factory_main_gh:create_app", app_dir=tmp_path, factory=True)
    # The raw app is defined in the repository, not under tmp_path: the module's own file is used instead.
    assert locate_app("factory_main_gh:create_app", app, tmp_path) == SourceLocation("factory_main_gh.py", 4)


def run_cli(*args: str, cwd: Path = REPO, **env: str) -> subprocess.CompletedProcess[str]:
    # Annotation paths are relative to GITHUB_WORKSPACE when set: only the test that sets it gets one.
    outer = {name: value for name, value in os.environ.items() if name != "GITHUB_WORKSPACE"}
    environment = {**outer, "NO_COLOR": "1", **env}
    command = [sys.executable, "-m", "asgibench", "conform", *args]
    return subprocess.run(command, cwd=cwd, env=environment, capture_output=True, text=True, timeout=60)


def test_cli_prints_annotations_and_keeps_the_exit_code(tmp_path: Path) -> None:
    junit, json_path = tmp_path / "conform.xml", tmp_path / "conform.json"
    paths = [arg for path in BROKEN_PATHS for arg in ("--path", path)]
    options = ["--timeout", str(BROKEN_TIMEOUT), "--format", "github", "--junit", str(junit), "--json", str(json_path)]
    run = run_cli("reference_apps.broken_demo:app", *paths, *options)
    assert run.returncode == 1, run.stderr
    *annotations, summary = run.stdout.splitlines()
    # One annotation per failing or warning check of the same run's JSON report, errors first.
    checks = json.loads(json_path.read_text())["checks"]
    expected = [("error", c["id"]) for c in checks if c["verdict"] == "fail"]
    expected += [("warning", c["id"]) for c in checks if c["verdict"] == "warn"]
    found = [(line[2:].split(" ", 1)[0], line.split("title=", 1)[1].split(" ", 1)[0]) for line in annotations]
    assert found == expected and BROKEN_CHECKS <= {check_id for _, check_id in found}
    # Each points at the app: reference_apps/broken_demo.py, at `async def app(`.
    source = (REPO / "reference_apps" / "broken_demo.py").read_text().splitlines()
    line = next(number for number, text in enumerate(source, start=1) if text.startswith("async def app("))
    assert all(f",file=reference_apps/broken_demo.py,line={line}::" in a for a in annotations)
    failed = sum(1 for kind, _ in expected if kind == "error")
    assert summary.startswith("asgibench conform reference_apps.broken_demo:app: ") and f" {failed} failed" in summary
    assert f'failures="{failed}"' in junit.read_text()  # the other outputs are written as before


def test_cli_paths_are_relative_to_the_github_workspace(tmp_path: Path) -> None:
    run = run_cli(
        "reference_apps.broken_demo:app", "--app-dir", str(REPO), "--only", "WS", "--format", "github",
        cwd=tmp_path, GITHUB_WORKSPACE=str(REPO),
    )  # fmt: skip
    assert run.returncode == 1, run.stderr
    assert ",file=reference_apps/broken_demo.py,line=" in run.stdout.splitlines()[0]


def test_cli_a_correct_app_prints_only_the_summary() -> None:
    run = run_cli("reference_apps.raw_app:app", "--format", "github")
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines() == [run.stdout.strip()]
    assert run.stdout.startswith("asgibench conform reference_apps.raw_app:app: ") and " 0 failed" in run.stdout


def test_cli_refuses_an_unknown_format() -> None:
    run = run_cli("reference_apps.raw_app:app", "--format", "xml")
    assert run.returncode == 2
    assert "--format 'xml'" in run.stderr and "Traceback" not in run.stderr
