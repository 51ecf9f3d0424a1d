"""The conformance suite inside pytest: a fixture, a marker and ``--asgi-strict``.

Registered as a ``pytest11`` entry point, so it is active wherever asgibench
is installed. Every pytest start imports this module, so it imports nothing
but pytest and the standard library at the top; the suite itself
(``asgibench.conformance``) is imported by the first test that runs it.

- ``asgi_conformance(app, paths=..., strict=..., only=..., timeout=...)``: the
  fixture is a callable that runs the suite on an app (the object, or
  ``"module:attr"``), fails the test with each failing check's id, rule,
  expected and observed, and otherwise returns the report.
- ``@pytest.mark.asgi_conformance(app, **same_options)``: the same run, done
  in the test's call phase before its body (which runs only when the app
  passed). The marker closest to the test wins, so a module-wide
  ``pytestmark`` can be overridden by one test.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from asgibench.conformance import ConformanceReport
    from asgibench.conformance.report import CheckResult

MARKER = "asgi_conformance"
_RUN_OPTIONS = frozenset({"paths", "strict", "only", "timeout", "app_dir", "factory"})


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("asgibench", "asgibench ASGI conformance")
    group.addoption(
        "--asgi-strict",
        action="store_true",
        default=False,
        help="asgi_conformance: warnings (SHOULD rules) fail too, unless a test passes strict=False.",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(app, paths=(), strict=None, only=(), timeout=2.0, app_dir='.', factory=False): "
        "run asgibench's ASGI conformance suite on app (an object or 'module:attr') before the test body; "
        "the test fails when a check fails",
    )


class ConformanceRunner:
    """What the ``asgi_conformance`` fixture gives a test: call it to check an app."""

    def __init__(self, default_strict: bool) -> None:
        self.default_strict = default_strict

    def __call__(
        self,
        app: object,
        *,
        paths: Iterable[str] = (),
        strict: bool | None = None,
        only: Iterable[str] = (),
        timeout: float = 2.0,
        app_dir: str = ".",
        factory: bool = False,
    ) -> ConformanceReport:
        """Run the suite on ``app``; fail the test when a check fails (or warns, when strict); return the report.

        ``paths`` adds routes as ``asgibench conform --path`` does (``GET:/items``,
        ``ws:/chat``); ``only`` limits the report to check ids, prefixes or areas;
        ``strict=None`` follows ``--asgi-strict``.
        """
        if isinstance(paths, str) or isinstance(only, str):  # a bare string would be read letter by letter
            pytest.fail(f"{MARKER}: paths and only are lists of strings, e.g. paths=['GET:/items'].", pytrace=False)
        report = run_suite(
            app,
            paths=list(paths),
            strict=self.default_strict if strict is None else strict,
            only=list(only),
            timeout=timeout,
            app_dir=app_dir,
            factory=factory,
        )
        if report.failed:
            pytest.fail(failure_summary(report), pytrace=False)
        return report


@pytest.fixture
def asgi_conformance(pytestconfig: pytest.Config) -> ConformanceRunner:
    """Run asgibench's ASGI conformance suite on an app: ``asgi_conformance(app, paths=[...], strict=...)``."""
    return ConformanceRunner(bool(pytestconfig.getoption("asgi_strict")))


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_call(item: pytest.Item) -> None:
    """The marker: run the suite in the call phase, so that a failing app fails the test (not an error in setup)."""
    marker = item.get_closest_marker(MARKER)
    if marker is None:
        return
    if len(marker.args) != 1:
        count = len(marker.args)
        pytest.fail(f"@pytest.mark.{MARKER} takes one positional argument, the app; got {count}.", pytrace=False)
    unknown = sorted(set(marker.kwargs) - _RUN_OPTIONS)
    if unknown:
        known = ", ".join(sorted(_RUN_OPTIONS))
        pytest.fail(f"@pytest.mark.{MARKER}: unknown option(s) {', '.join(unknown)} (known: {known}).", pytrace=False)
    ConformanceRunner(bool(item.config.getoption("asgi_strict")))(marker.args[0], **marker.kwargs)


def run_suite(
    app: object,
    *,
    paths: list[str],
    strict: bool,
    only: list[str],
    timeout: float,
    app_dir: str,
    factory: bool,
) -> ConformanceReport:
    """Load the app when named, check the options, and run the suite; bad options fail with what was wrong."""
    from asgibench.apploader import check_asgi3, load_app
    from asgibench.conformance import ConformConfig, run_conformance
    from asgibench.conformance.catalogue import select_checks
    from asgibench.conformance.scenarios import DEFAULT_ROUTES, parse_route
    from asgibench.errors import AsgibenchError

    routes = list(DEFAULT_ROUTES)
    for text in paths:
        try:
            route = parse_route(text)
        except ValueError as error:
            pytest.fail(f"{MARKER}: paths entry {text!r}: {error}", pytrace=False)
        if route not in routes:
            routes.append(route)
    try:
        checks = select_checks(only)
    except ValueError as error:
        pytest.fail(f"{MARKER}: only entry {error.args[0]!r} names no check, id prefix or area.", pytrace=False)
    if not timeout > 0:
        pytest.fail(f"{MARKER}: timeout must be a positive number of seconds, got {timeout!r}.", pytrace=False)
    target = app if isinstance(app, str) else _name_of(app)
    try:
        application = (
            load_app(app, app_dir=app_dir, factory=factory) if isinstance(app, str) else check_asgi3(app, target)
        )
    except AsgibenchError as error:
        hint = f"\n{error.hint}" if error.hint else ""
        pytest.fail(f"{MARKER}: {error.message}{hint}", pytrace=False)
    config = ConformConfig(routes=tuple(routes), timeout=timeout, checks=checks, strict=strict, target=target)
    return run_conformance(application, config)  # its own loop, in a thread: async tests may call it too


def _name_of(app: object) -> str:
    module = getattr(app, "__module__", None) or type(app).__module__
    name = getattr(app, "__qualname__", None) or type(app).__qualname__
    return f"{module}:{name}"


def failure_summary(report: ConformanceReport) -> str:
    """Each failing check: id and title, the rule it rests on, then expected and observed in the first scenario."""
    from asgibench.conformance.findings import Verdict

    failing = [result for result in report.checks if result.verdict is Verdict.FAIL]
    lines = [f"ASGI conformance of {report.target}: {report.closing_line()}"]
    for result in failing:
        lines.extend(_check_lines(result))
    strict = " (strict: warnings count as failures)" if report.strict else ""
    lines.append(f"{len(failing)} check(s) failed{strict}: {', '.join(r.check.id for r in failing)}")
    warning = [result.check.id for result in report.checks if result.verdict is Verdict.WARN]
    if warning:
        lines.append(f"{len(warning)} check(s) warned (strict=True fails them): {', '.join(warning)}")
    return "\n".join(lines)


def _check_lines(result: CheckResult) -> list[str]:
    check = result.check
    lines = ["", f"FAIL {check.id} {check.title}", f"  rule ({check.reference}): {check.rule}"]
    if result.evidence:
        first = result.evidence[0]
        lines.append(f"  scenario: {first.scenario}")
        if first.finding.expected:
            lines.append(f"  expected: {first.finding.expected}")
    lines.append(f"  observed: {result.message}")
    return lines
