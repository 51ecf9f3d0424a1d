"""Correct apps in many frameworks: the suite raises no false alarm on them.

Each corpus app (tests/apps/frameworks) is run in-process with its JSON,
streaming, echo and WebSocket routes, and every route discovery finds. A fail or warn finding is allowed only
when tests/apps/frameworks/corpus.py lists it: a real deviation of the
framework, or a known false alarm of asgibench (docs/frameworks.md).
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import warnings
from collections.abc import Iterator
from types import ModuleType

import pytest

from asgibench.conformance import ConformanceReport
from asgibench.conformance.discovery import discover_routes
from asgibench.conformance.scenarios import DEFAULT_ROUTES, RouteSpec, parse_route
from tests.apps.frameworks.corpus import FRAMEWORKS, SUITE_WIDE, Framework, Known
from tests.conftest import conform, explain, verdicts


def load_corpus_module(framework: Framework) -> ModuleType:
    pytest.importorskip(
        framework.imports,
        reason=f"{framework.name} is not installed (pip install -e '.[frameworks]' brings the corpus frameworks)",
    )
    return importlib.import_module(f"tests.apps.frameworks.{framework.module}")


@contextlib.contextmanager
def framework_settings(framework: Framework) -> Iterator[None]:
    """Django's URLconf is process-wide: point it at the corpus app for the run."""
    if framework.imports != "django":
        yield
        return
    from django.test import override_settings

    # Django leaves a request body's SpooledTemporaryFile open when the client
    # aborts mid-body: collect it here, where its ResourceWarning is expected.
    with warnings.catch_warnings(), override_settings(ROOT_URLCONF=f"tests.apps.frameworks.{framework.module}"):
        warnings.simplefilter("ignore", ResourceWarning)
        yield
        gc.collect()


_reports: dict[str, ConformanceReport] = {}


def run_corpus_app(framework: Framework) -> tuple[ModuleType, ConformanceReport]:
    """Once per process: an app like Sanic's can be started only once."""
    module = load_corpus_module(framework)
    if framework.name not in _reports:
        with framework_settings(framework):
            discovered = discover_routes(module.app).routes
            paths = suite_paths(module.SUITE_PATHS, discovered)
            _reports[framework.name] = conform(module.app, paths, timeout=2.0)
    return module, _reports[framework.name]


def suite_paths(listed: tuple[str, ...], discovered: tuple[RouteSpec, ...]) -> tuple[str, ...]:
    """The app's listed routes, then the discovered ones, as --path would take them, without repeats."""
    routes = [parse_route(text) for text in listed] + list(discovered)
    unique = [route for route in dict.fromkeys(routes) if route not in DEFAULT_ROUTES]
    return tuple(f"{'ws' if route.is_websocket else route.method}:{route.path}" for route in unique)


def unexplained(report: ConformanceReport, known: tuple[Known, ...]) -> list[str]:
    """The fail/warn findings that no known entry accounts for."""
    found = []
    for result in report.checks:
        for evidence in result.evidence:
            finding = evidence.finding
            if finding.verdict.value not in {"fail", "warn"}:
                continue
            if not any(
                k.check_id == result.check.id and k.verdict == finding.verdict.value and k.fragment in finding.observed
                for k in known
            ):
                found.append(f"{result.check.id} {finding.verdict.value}: {evidence.scenario}: {finding.observed}")
    return found


@pytest.mark.parametrize("framework", FRAMEWORKS, ids=[f.name for f in FRAMEWORKS])
def test_correct_app_raises_only_known_findings(framework: Framework) -> None:
    _, report = run_corpus_app(framework)
    assert unexplained(report, framework.known + SUITE_WIDE) == [], explain(report)
    failing = {r.check.id for r in report.checks if r.verdict.value == "fail"}
    assert failing <= {k.check_id for k in framework.known if k.verdict == "fail"}, explain(report)


@pytest.mark.parametrize("framework", FRAMEWORKS, ids=[f.name for f in FRAMEWORKS])
def test_the_suite_drove_every_route_of_the_app(framework: Framework) -> None:
    module, report = run_corpus_app(framework)
    found = verdicts(report)
    exercised = {"pass", "info", "warn", "fail"}
    # The echo read a body sent in many messages, the stream was left mid-response, errors were watched.
    for check_id in ("ST-09", "DC-07", "HR-05", "ER-07"):
        assert found[check_id] in exercised, f"{check_id} not exercised\n{explain(report)}"
    if framework.websocket:
        assert found["WS-13"] in exercised and found["WS-10"] in exercised, explain(report)
    if framework.lifespan:
        assert found["LS-09"] == "pass", explain(report)
        assert {"startup", "shutdown"} <= set(module.EVENTS), "the app's lifespan handlers did not both run"


def test_a_real_deviation_is_reported_with_how_the_framework_deviates() -> None:
    framework = next(f for f in FRAMEWORKS if f.name == "Quart")
    _, report = run_corpus_app(framework)
    sc18 = next(r for r in report.checks if r.check.id == "SC-18")
    assert sc18.verdict.value == "warn"
    assert any("KeyError: 'scheme'" in e.finding.observed for e in sc18.evidence), explain(report)
