"""The harness never hangs: an app that blocks its event loop for good is given up on."""

from __future__ import annotations

import time
from typing import Any

from asgibench.conformance.judge import judge
from asgibench.conformance.outcome import Ending
from asgibench.conformance.scenarios import DEFAULT_ROUTES, plan
from asgibench.conformance.session import Session
from tests.broken_apps import compose


async def _blocks_for_good(scope: dict[str, Any], receive: Any, send: Any) -> None:
    time.sleep(30)  # a daemon thread; the process does not wait for it


def test_an_app_that_blocks_the_loop_for_good_ends_the_session_quickly() -> None:
    started = time.monotonic()
    result = Session(compose(http=_blocks_for_good), deadline=0.2, blocked_limit=0.5).run(plan(DEFAULT_ROUTES))
    assert time.monotonic() - started < 5
    assert result.loop_blocked
    first, *rest = result.outcomes
    assert first.ending is Ending.TIMED_OUT and first.loop_blocked
    assert rest and all(outcome.ending is Ending.NOT_RUN for outcome in rest)
    judge(first)
    assert [f.check_id for f in first.findings if f.verdict.value == "fail"] == ["HR-11"]


def test_plan_drives_every_default_route() -> None:
    scenarios = [*plan(DEFAULT_ROUTES).before_lifespan, *plan(DEFAULT_ROUTES).during_lifespan]
    names = " | ".join(s.name for s in scenarios)
    for needle in ("GET /", "HEAD /", "POST /", "ws /", "1 MiB body", "leaves mid-body", "unknown"):
        assert needle in names
