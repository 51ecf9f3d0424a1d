"""One conformance session: lifespan startup, every scenario, shutdown.

This is the supervising side: it submits each step to the app's loop thread
and waits a bounded time. A step that overruns its deadline by far means the
app blocked the loop with synchronous code; the session then stops there and
marks what is left as not run, instead of waiting forever.
"""

from __future__ import annotations

import concurrent.futures
import time
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

from asgibench.conformance import loop_watch
from asgibench.conformance.findings import Finding
from asgibench.conformance.harness import CANCEL_GRACE, App, LifespanRun, LoopThread, prepare, run_scenario
from asgibench.conformance.lifespan_machine import STARTED, STOPPED
from asgibench.conformance.outcome import Ending, Outcome
from asgibench.conformance.scenarios import Leave, Plan, Role, Scenario, revalidation
from asgibench.conformance.scope_watch import ScopeWatch


@dataclass
class SessionResult:
    outcomes: list[Outcome]
    lifespan: LifespanRun
    loop_blocked: bool = False
    # The second cycle, without state in its scope; None when the first did not start and stop cleanly.
    stateless_lifespan: LifespanRun | None = None
    # A third cycle, with state again, run only when the second went wrong: can the app start twice at all?
    lifespan_control: LifespanRun | None = None
    notes: list[str] = field(default_factory=list)


class Session:
    def __init__(self, app: App, deadline: float, blocked_limit: float | None = None) -> None:
        self.app = app
        self.deadline = deadline
        # Beyond this the loop itself is stuck, not just the app's task.
        self.blocked_limit = blocked_limit if blocked_limit is not None else max(5.0, 3 * deadline)
        self.blocked = False
        # Each scenario's scope, its watch, and its outcome: compared again once the session is over (SC-16).
        self._watched: list[tuple[ScopeWatch, dict[str, Any], Outcome]] = []

    def run(self, plan: Plan) -> SessionResult:
        runner = LoopThread()
        lifespan = LifespanRun(self.app, self.deadline)
        outcomes: list[Outcome] = []
        stateless: LifespanRun | None = None
        control: LifespanRun | None = None
        try:
            for scenario in plan.before_lifespan:
                outcomes.append(self._scenario(runner, scenario, state=None))
            self._step(runner, lifespan.startup(), self.deadline)
            for scenario in plan.during_lifespan:
                outcomes.append(self._scenario(runner, scenario, state=lifespan.state))
            for scenario in _revalidations(outcomes):
                outcomes.append(self._scenario(runner, scenario, state=lifespan.state))
            self._step(runner, lifespan.shutdown(), 2 * self.deadline)
            stateless = self._stateless_cycle(runner, lifespan, plan, outcomes)
            if stateless is not None and not _clean(stateless):
                control = LifespanRun(self.app, self.deadline)
                self._step(runner, control.startup(), self.deadline)
                self._step(runner, control.shutdown(), 2 * self.deadline)
        finally:
            runner.close(blocked=self.blocked)
        if not self.blocked:
            self._late_scope_changes()
        if self.blocked:
            lifespan.outcome.end.kind = Ending.NOT_RUN
            for run in (stateless, control):
                if run is not None:
                    run.outcome.end.kind = Ending.NOT_RUN
        return SessionResult(outcomes, lifespan, self.blocked, stateless_lifespan=stateless, lifespan_control=control)

    def _stateless_cycle(
        self, runner: LoopThread, lifespan: LifespanRun, plan: Plan, outcomes: list[Outcome]
    ) -> LifespanRun | None:
        """Lifespan once more, as a server without state support runs it, and a request after it (LS-11).

        It comes last, so that an app that cannot start twice spoils nothing else; and only after a first
        cycle that started and stopped cleanly, so that what goes wrong here is the missing state.
        """
        if self.blocked or not _clean(lifespan):
            return None
        stateless = LifespanRun(self.app, self.deadline, with_state=False)
        self._step(runner, stateless.startup(), self.deadline)
        if stateless.phases.state_after_startup == STARTED:
            for scenario in plan.after_stateless_lifespan:
                outcomes.append(self._scenario(runner, scenario, state=None))
        self._step(runner, stateless.shutdown(), 2 * self.deadline)
        return stateless

    def _scenario(self, runner: LoopThread, scenario: Any, state: dict[str, Any] | None) -> Outcome:
        run = prepare(scenario, state, self.deadline)
        if self.blocked:
            run.outcome.trace.note("not run: an earlier scenario blocked the event loop")
            return run.outcome
        watch = ScopeWatch(run.scope)
        finished = self._step(runner, run_scenario(self.app, run, self.deadline), self.deadline, run.outcome)
        if not finished:
            run.outcome.end.kind = Ending.TIMED_OUT
            run.outcome.end.loop_blocked = True
            run.outcome.trace.note(
                f"the event loop stayed blocked for over {self.blocked_limit:.1f} s "
                "(synchronous code in the app); the remaining scenarios are not run"
            )
            run.outcome.findings.extend(run.exchange.findings)
        run.outcome.findings.extend(watch.findings(run.scope))
        run.outcome.exercised.add("SC-16")
        self._watched.append((watch, run.scope, run.outcome))
        return run.outcome

    def _late_scope_changes(self) -> None:
        """SC-16 once more at the end: a task the app left behind may change a scope after its call returned."""
        for watch, scope, outcome in self._watched:
            seen = {(f.verdict, f.observed) for f in outcome.findings if f.check_id == "SC-16"}
            for finding in watch.findings(scope):
                if (finding.verdict, finding.observed) not in seen:
                    late = f"{finding.observed}, after the app call had returned"
                    outcome.findings.append(Finding(finding.check_id, finding.verdict, late, finding.expected))

    def _step(
        self,
        runner: LoopThread,
        coroutine: Coroutine[Any, Any, None],
        budget: float,
        outcome: Outcome | None = None,
    ) -> bool:
        """Run one step on the app's loop; while waiting, sample who stalls the loop (HR-13)."""
        if self.blocked:
            coroutine.close()
            return False
        future = runner.submit(coroutine)
        give_up_at = time.monotonic() + budget + CANCEL_GRACE + self.blocked_limit
        while (remaining := give_up_at - time.monotonic()) > 0:
            done, _ = concurrent.futures.wait([future], timeout=min(loop_watch.SAMPLE_EVERY, remaining))
            if done:
                future.result()
                return True
            if outcome is not None:
                _sample_blocking(runner, outcome)
        self.blocked = True
        return False


def _clean(lifespan: LifespanRun) -> bool:
    """The cycle started and stopped as asked."""
    return lifespan.phases.state_after_startup == STARTED and lifespan.phases.state_after_shutdown == STOPPED


def _revalidations(outcomes: list[Outcome]) -> list[Scenario]:
    """A conditional repeat of each route's plain GET that answered 200 with an ETag or Last-Modified."""
    seen: set[object] = set()
    repeats: list[Scenario] = []
    for outcome in outcomes:
        scenario, response = outcome.scenario, outcome.observation.response
        if scenario is None or scenario.route in seen or response is None:
            continue
        plain = (
            scenario.role is Role.REQUEST
            and not scenario.extensions
            and scenario.leave is Leave.AFTER_RESPONSE
            and scenario.http_version == "1.1"
        )
        if not plain:
            continue
        seen.add(scenario.route)
        repeat = revalidation(scenario.route, response.status, response.headers) if response.complete else None
        if repeat is not None:
            repeats.append(repeat)
    return repeats


def _sample_blocking(runner: LoopThread, outcome: Outcome) -> None:
    """Name the blocking line once two samples in a row, both taken while the loop was late, agree on it.

    One sample can land just after the blocking call returned (a busy machine wakes the supervisor late), on
    the next line of the app: a call still on the same line one sample later is the one that blocks.
    """
    lateness = runner.lateness()
    if lateness < loop_watch.LATE_AFTER:
        runner.pending_sample = None
        return
    known = outcome.end.blocking_call
    if known is not None and known.lateness >= lateness:
        return
    call = loop_watch.sample(runner.ident, lateness)
    previous, runner.pending_sample = runner.pending_sample, call
    if call is not None and previous is not None and previous.where == call.where:
        outcome.end.blocking_call = call
