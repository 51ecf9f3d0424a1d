"""Shared fixtures: deterministic terminal output and a one-call conformance run."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from typing import Any

import pytest

from asgibench.conformance import ConformanceReport, ConformConfig, run_conformance
from asgibench.conformance.scenarios import DEFAULT_ROUTES, parse_route

# Short deadline: the broken apps that hang cost this much per scenario.
TEST_TIMEOUT = 0.3


def pytest_configure(config: pytest.Config) -> None:
    """Start from the usual signal dispositions, however the test run was launched.

    The tests send SIGINT, SIGTERM and SIGHUP to asgibench and expect them
    handled; but a shell starts a background job with SIGINT ignored, nohup
    ignores SIGHUP, and an ignored signal is inherited by every process the
    tests start (asgibench then rightly leaves it ignored).
    """
    defaults = {
        signal.SIGINT: signal.default_int_handler,
        signal.SIGTERM: signal.SIG_DFL,
        signal.SIGHUP: signal.SIG_DFL,
    }
    for signum, handler in defaults.items():
        if signal.getsignal(signum) is signal.SIG_IGN:
            signal.signal(signum, handler)


@pytest.fixture(autouse=True)
def plain_terminal(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Rich output without colour and at a fixed width, whatever the caller's terminal."""
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "120")
    monkeypatch.setenv("TERM", "dumb")
    yield


def conform(
    app: Any, paths: tuple[str, ...] = (), *, timeout: float = TEST_TIMEOUT, strict: bool = False
) -> ConformanceReport:
    routes = DEFAULT_ROUTES + tuple(parse_route(path) for path in paths)
    return run_conformance(app, ConformConfig(routes=routes, timeout=timeout, strict=strict))


def verdicts(report: ConformanceReport) -> dict[str, str]:
    return {result.check.id: result.verdict.value for result in report.checks}


def explain(report: ConformanceReport) -> str:
    """Every non-passing finding, for assertion messages."""
    lines = []
    for result in report.checks:
        for evidence in result.evidence:
            lines.append(
                f"{result.check.id} {evidence.finding.verdict.value}: {evidence.scenario}: {evidence.finding.observed}"
            )
    return "\n".join(lines)
