"""The pytest plugin as users meet it: a real inner pytest, started as a subprocess, finding it by its entry point.

No ``-p asgibench.pytest_plugin`` anywhere: each inner session loads the
plugin through the ``pytest11`` entry point of the installed package, as a
user's does.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from asgibench.conformance import CHECKS

pytest_plugins = ["pytester"]

REPO = Path(__file__).resolve().parent.parent
# broken_demo keeps streaming every 0.1 s: at this deadline it is seen streaming, not hung.
BROKEN_TIMEOUT = 1.0
CHECK_BY_ID = {check.id: check for check in CHECKS}
# The MUST rule it breaks whatever the routes: it sends before accepting a WebSocket.
BROKEN_CHECK = "WS-10"

# Correct but for one SHOULD rule: a mixed-case response header name (HR-02 warns).
WARN_ONLY_APP = """
from reference_apps.raw_app import read_body

async def app(scope, receive, send):
    assert scope["type"] == "http"
    if await read_body(receive) is None:
        return  # the client left: nothing to answer
    await send({"type": "http.response.start", "status": 200, "headers": [(b"X-Upper", b"1")]})
    await send({"type": "http.response.body", "body": b"ok"})
"""


@pytest.fixture
def inner(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """An inner session that autoloads installed plugins and can import reference_apps."""
    monkeypatch.delenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", raising=False)
    monkeypatch.delenv("PYTEST_ADDOPTS", raising=False)
    monkeypatch.delenv("PYTEST_PLUGINS", raising=False)
    monkeypatch.setenv("PYTHONPATH", str(REPO))
    return pytester


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess("--strict-markers", "-p", "no:cacheprovider", *args, timeout=120)


def test_loaded_from_the_entry_point_without_importing_the_suite(inner: pytest.Pytester) -> None:
    inner.makepyfile(
        """
        import sys

        def test_start_up_is_light(pytestconfig):
            plugin = pytestconfig.pluginmanager.get_plugin("asgibench")
            assert plugin is not None and plugin.__name__ == "asgibench.pytest_plugin"
            heavy = [m for m in sys.modules if m.startswith(("asgibench.conformance", "asgibench.cli", "rich"))]
            assert heavy == []
        """
    )
    result = run(inner)
    result.assert_outcomes(passed=1)
    assert "asgi_conformance" in run(inner, "--markers").stdout.str()


def test_fixture_passes_a_correct_app_and_returns_the_report(inner: pytest.Pytester) -> None:
    inner.makepyfile(
        """
        from reference_apps.raw_app import app

        def test_by_name(asgi_conformance):
            report = asgi_conformance("reference_apps.raw_app:app", paths=["GET:/stream", "POST:/echo", "ws:/ws"])
            assert report.target == "reference_apps.raw_app:app"
            assert report.summary()["failed"] == 0 and report.summary()["passed"] > 20

        def test_by_object(asgi_conformance):
            report = asgi_conformance(app, only=["HR"])
            assert {result.check.id[:2] for result in report.checks} == {"HR"}

        def test_inside_a_running_loop(asgi_conformance):
            import asyncio

            async def check():
                # The suite runs its own loop in a thread: one running in the caller's thread does not matter.
                return asgi_conformance(app, only=["lifespan"])

            assert not asyncio.run(check()).failed
        """
    )
    run(inner).assert_outcomes(passed=3)


def test_fixture_fails_a_broken_app_naming_each_check(inner: pytest.Pytester) -> None:
    inner.makepyfile(
        f"""
        def test_broken(asgi_conformance):
            asgi_conformance(
                "reference_apps.broken_demo:app", paths=["GET:/stream", "POST:/echo"], timeout={BROKEN_TIMEOUT}
            )
            raise AssertionError("the fixture returned for a broken app")
        """
    )
    result = run(inner)
    result.assert_outcomes(failed=1)
    output = result.stdout.str()
    assert "returned for a broken app" not in output
    result.stdout.fnmatch_lines(["*ASGI conformance of reference_apps.broken_demo:app: * passed, * failed*"])
    # The closing line names the failing checks; each has its block: title, rule, scenario, expected, observed.
    closing = next(line for line in output.splitlines() if " check(s) failed: " in line)
    failing = closing.split(" check(s) failed: ", 1)[1].split(", ")
    assert BROKEN_CHECK in failing and closing.startswith(f"{len(failing)} check(s)")
    for check_id in failing:
        check = CHECK_BY_ID[check_id]
        block = output.split(f"FAIL {check_id} {check.title}\n", 1)[1].split("\n\n", 1)[0].splitlines()
        assert block[0] == f"  rule ({check.reference}): {check.rule}"
        assert [line.split(":", 1)[0] for line in block[1:4]] == ["  scenario", "  expected", "  observed"]
    assert "websocket.send sent before websocket.accept" in output  # what the app did
    warned = int(output.split(" warned, ", 1)[0].rsplit(" ", 1)[1])  # from the first line's counts
    assert (f"{warned} check(s) warned (strict=True fails them): " in output) == (warned > 0)
    assert "pytest_plugin.py" not in output  # the summary, not the plugin's traceback


def test_marker_runs_the_suite_before_the_body(inner: pytest.Pytester) -> None:
    inner.makepyfile(
        f"""
        import pytest

        pytestmark = pytest.mark.asgi_conformance("reference_apps.raw_app:app", paths=["POST:/echo"])
        ran = []

        def test_module_marker():
            ran.append("module")

        @pytest.mark.asgi_conformance(
            "reference_apps.broken_demo:app", paths=["POST:/echo"], only=["WS"], timeout={BROKEN_TIMEOUT}
        )
        def test_closest_marker_wins():
            ran.append("broken")

        def test_bodies():
            assert ran == ["module"]
        """
    )
    result = run(inner)
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["*FAILED test_marker_runs_the_suite_before_the_body.py::test_closest_marker_wins*"])
    output = result.stdout.str()
    assert f"FAIL {BROKEN_CHECK} " in output and "ST-0" not in output  # only=["WS"]


def test_strict_turns_a_warning_into_a_failure(inner: pytest.Pytester) -> None:
    inner.makepyfile(warn_only=WARN_ONLY_APP)
    inner.makepyfile(
        """
        import pytest

        def test_lenient(asgi_conformance):
            report = asgi_conformance("warn_only:app")
            assert [r.check.id for r in report.checks if r.verdict == "warn"] == ["HR-02"]

        def test_strict(asgi_conformance):
            asgi_conformance("warn_only:app", strict=True)

        @pytest.mark.asgi_conformance("warn_only:app", strict=True)
        def test_strict_marker():
            pass
        """
    )
    result = run(inner)
    result.assert_outcomes(passed=1, failed=2)
    output = result.stdout.str()
    # Counted in the failure sections only: pytest's short summary repeats each failure's message, and in CI
    # it does so whole, not cut to one line.
    failures = output.split("short test summary info", 1)[0]
    title = re.escape(CHECK_BY_ID["HR-02"].title)
    assert len(re.findall(rf"^FAIL HR-02 {title}$", failures, re.MULTILINE)) == 2
    assert "header name b'X-Upper' is not lower-case" in output
    assert len(re.findall(r"^1 check\(s\) failed \(strict: warnings count as failures\): HR-02$", failures, re.M)) == 2
    # --asgi-strict makes every run strict but one that says strict=False.
    inner.makepyfile(
        """
        def test_default(asgi_conformance):
            asgi_conformance("warn_only:app")

        def test_says_lenient(asgi_conformance):
            asgi_conformance("warn_only:app", strict=False)
        """
    )
    run(inner, "--asgi-strict").assert_outcomes(passed=1, failed=1)
    run(inner).assert_outcomes(passed=2)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        ('asgi_conformance("no_such_module_xyz:app")', "Could not import module 'no_such_module_xyz'"),
        ('asgi_conformance("reference_apps.raw_app")', "APP must be 'module:attribute'"),
        ('asgi_conformance(app, paths=["FETCH:/x"])', "paths entry 'FETCH:/x': unknown method 'FETCH'"),
        ('asgi_conformance(app, paths="GET:/x")', "paths and only are lists of strings"),
        ('asgi_conformance(app, only=["XX-99"])', "only entry 'XX-99' names no check"),
        ("asgi_conformance(app, timeout=0)", "timeout must be a positive number of seconds, got 0"),
        ("asgi_conformance(lambda scope: None)", "ASGI2 double-callable"),
    ],
)
def test_bad_arguments_fail_with_what_was_wrong(inner: pytest.Pytester, call: str, message: str) -> None:
    inner.makepyfile(
        f"""
        from reference_apps.raw_app import app

        def test_call(asgi_conformance):
            {call}
        """
    )
    result = run(inner)
    result.assert_outcomes(failed=1)
    assert message in result.stdout.str()
    assert "Traceback" not in result.stdout.str()


def test_bad_marker_arguments_fail_with_what_was_wrong(inner: pytest.Pytester) -> None:
    inner.makepyfile(
        """
        import pytest

        @pytest.mark.asgi_conformance()
        def test_no_app():
            pass

        @pytest.mark.asgi_conformance("reference_apps.raw_app:app", path=["GET:/x"])
        def test_misspelt_option():
            pass
        """
    )
    result = run(inner)
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(
        [
            "*@pytest.mark.asgi_conformance takes one positional argument, the app; got 0.",
            "*@pytest.mark.asgi_conformance: unknown option(s) path (known: app_dir, factory, only, paths, strict, *",
        ],
        consecutive=False,
    )
