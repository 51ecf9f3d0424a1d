"""In-process ASGI conformance: drive an app through the fake server, judge it.

``run_conformance(app, config)`` is the library entry point the CLI calls.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from asgibench.conformance.catalogue import CHECKS, Check, select_checks
from asgibench.conformance.harness import App
from asgibench.conformance.judge import (
    judge,
    judge_differential,
    judge_head,
    judge_lifespan,
    judge_revalidation,
    judge_stateless_lifespan,
    judge_tolerance,
)
from asgibench.conformance.report import ConformanceReport, build_report
from asgibench.conformance.scenarios import DEFAULT_ROUTES, RouteSpec, plan
from asgibench.conformance.session import Session

__all__ = ["CHECKS", "ConformConfig", "ConformanceReport", "RouteSpec", "run_conformance", "select_checks"]


@dataclass(frozen=True, slots=True)
class ConformConfig:
    routes: tuple[RouteSpec, ...] = DEFAULT_ROUTES
    timeout: float = 2.0
    checks: tuple[Check, ...] = CHECKS
    strict: bool = False
    target: str = "app"


def run_conformance(app: App, config: ConformConfig = ConformConfig()) -> ConformanceReport:
    """Run every scenario against ``app`` and return the report."""
    started = time.monotonic()
    result = Session(app, config.timeout).run(plan(config.routes))
    for outcome in result.outcomes:
        judge(outcome)
    judge_differential(result.outcomes)
    judge_tolerance(result.outcomes)
    judge_head(result.outcomes)
    judge_revalidation(result.outcomes)
    judge_lifespan(result.lifespan.outcome)
    outcomes = [result.lifespan.outcome, *result.outcomes]
    if result.stateless_lifespan is not None:
        control = result.lifespan_control.outcome if result.lifespan_control is not None else None
        judge_stateless_lifespan(result.stateless_lifespan.outcome, result.lifespan.outcome, control)
        outcomes.append(result.stateless_lifespan.outcome)
    return build_report(
        config.target,
        config.checks,
        outcomes,
        duration=time.monotonic() - started,
        timeout=config.timeout,
        strict=config.strict,
    )
