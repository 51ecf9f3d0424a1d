"""The command line as a user meets it: exit codes, messages, report files."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path
from xml.etree import ElementTree

import pytest
from typer.testing import CliRunner

from asgibench import __version__
from asgibench.cli import app

runner = CliRunner()
REPO = Path(__file__).resolve().parent.parent


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def write_module(directory: Path, source: str) -> str:
    """A uniquely named module in ``directory``; returns its name."""
    name = f"cliapp_{uuid.uuid4().hex[:8]}"
    (directory / f"{name}.py").write_text(textwrap.dedent(source))
    return name


def test_version() -> None:
    assert run("--version") == (0, f"asgibench {__version__}\n")


def test_help_lists_conform() -> None:
    code, output = run("--help")
    assert code == 0 and "conform" in output


def test_list_prints_the_catalogue() -> None:
    code, output = run("conform", "--list")
    assert code == 0
    for check_id in ("SC-16", "HR-01", "ST-09", "DC-06", "LS-12", "WS-13", "EX-05", "ER-07"):
        assert check_id in output


def test_correct_app_exits_zero_and_writes_json_and_junit(tmp_path: Path) -> None:
    json_path, junit_path = tmp_path / "report.json", tmp_path / "report.xml"
    code, output = run(
        "conform",
        "reference_apps.raw_app:app",
        "-p",
        "GET:/stream",
        "--json",
        str(json_path),
        "--junit",
        str(junit_path),
    )
    assert code == 0, output
    assert "0 failed" in output.splitlines()[-1]
    report = json.loads(json_path.read_text())
    assert report["summary"]["failed"] == 0 and report["summary"]["passed"] >= 20
    assert {"passed", "failed", "warned"} <= report["summary"].keys()
    assert all({"id", "verdict", "message"} <= check.keys() for check in report["checks"])
    suite = ElementTree.parse(junit_path).getroot()
    assert suite.get("failures") == "0" and len(suite.findall("testcase")) == len(report["checks"])


def test_broken_app_exits_one_and_reports_the_rule_and_trace(tmp_path: Path) -> None:
    name = write_module(
        tmp_path,
        """
        async def app(scope, receive, send):
            if scope["type"] != "http":
                raise RuntimeError("HTTP only")
            await receive()
            await send({"type": "http.response.body", "body": b"oops"})
        """,
    )
    json_path = tmp_path / "report.json"
    code, output = run(
        "conform", f"{name}:app", "--app-dir", str(tmp_path), "--json", str(json_path), "--timeout", "0.3"
    )
    assert code == 1
    assert "HR-01" in output and "http.response.body sent before http.response.start" in output
    flowing = " ".join(output.replace("│", " ").split())
    assert "Needs to be followed by at least one response content message" in flowing  # the quoted rule
    assert "server → app" in output  # the trace
    checks = {c["id"]: c for c in json.loads(json_path.read_text())["checks"]}
    assert checks["HR-01"]["verdict"] == "fail" and checks["HR-01"]["findings"][0]["trace"]


def test_strict_makes_warnings_fail(tmp_path: Path) -> None:
    name = write_module(
        tmp_path,
        """
        from reference_apps.raw_app import read_body

        async def app(scope, receive, send):
            assert scope["type"] == "http"
            await read_body(receive)
            await send({"type": "http.response.start", "status": 200, "headers": [(b"X-Upper", b"1")]})
            await send({"type": "http.response.body", "body": b"ok"})
        """,
    )
    assert run("conform", f"{name}:app", "--app-dir", str(tmp_path))[0] == 0
    assert run("conform", f"{name}:app", "--app-dir", str(tmp_path), "--strict")[0] == 1


def test_only_limits_the_report(tmp_path: Path) -> None:
    json_path = tmp_path / "only.json"
    code, _ = run(
        "conform", "reference_apps.raw_app:app", "--only", "HR-01", "--only", "lifespan", "--json", str(json_path)
    )
    assert code == 0
    ids = [c["id"] for c in json.loads(json_path.read_text())["checks"]]
    assert ids == ["HR-01", "LS-09", "LS-10", "LS-11", "LS-12"]


def test_factory(tmp_path: Path) -> None:
    name = write_module(tmp_path, "from reference_apps.raw_app import app as _app\ndef create():\n    return _app\n")
    assert run("conform", f"{name}:create", "--factory", "--app-dir", str(tmp_path), "--only", "HR")[0] == 0


@pytest.mark.parametrize(
    ("source", "attribute", "message"),
    [
        ("app = 1\n", "app", "is a int, not a callable"),
        ("", "missing", "Attribute 'missing' not found"),
        ("class App:\n    def __init__(self, scope):\n        pass\n", "App", "ASGI2 double-callable"),
        ("def app(scope):\n    pass\n", "app", "ASGI2 double-callable"),
        ("def app(environ, start_response):\n    pass\n", "app", "WSGI"),
        ("raise ImportError('boom')\n", "app", "raised ImportError: boom"),
        ("import not_installed_package_xyz\n", "app", "not_installed_package_xyz"),
    ],
)
def test_bad_apps_exit_two_with_a_clear_message(tmp_path: Path, source: str, attribute: str, message: str) -> None:
    name = write_module(tmp_path, source)
    code, output = run("conform", f"{name}:{attribute}", "--app-dir", str(tmp_path))
    assert code == 2
    assert message in output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["conform", "no_colon_here"], "must be 'module:attribute'"),
        (["conform", "no_such_module_abc:app"], "Could not import module 'no_such_module_abc'"),
        (["conform", "reference_apps.raw_app:app", "--path", "/nomethod"], "--path '/nomethod'"),
        (["conform", "reference_apps.raw_app:app", "--path", "FETCH:/x"], "unknown method 'FETCH'"),
        (["conform", "reference_apps.raw_app:app", "--only", "XX-99"], "--only 'XX-99'"),
        (["conform", "reference_apps.raw_app:app", "--app-dir", "/no/such/dir"], "--app-dir"),
        (["conform", "reference_apps.raw_app:app", "--json", "/no/such/dir/out.json"], "--json"),
        (["conform"], "Missing APP"),
        (["conform", "reference_apps.raw_app:app", "--timeout", "0"], "--timeout"),
    ],
)
def test_bad_usage_exits_two_naming_the_flag(args: list[str], message: str) -> None:
    code, output = run(*args)
    assert code == 2
    assert message in output


def test_the_installed_console_script_runs_as_a_user_would() -> None:
    script = Path(sys.executable).parent / "asgibench"
    result = subprocess.run(
        [str(script), "conform", "reference_apps.starlette_app:app", "--only", "HR,ST"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    from asgibench.conformance.catalogue import select_checks

    selected = len(select_checks(["HR,ST"]))
    assert result.stdout.strip().splitlines()[-1].startswith(f"{selected} passed, 0 failed")
