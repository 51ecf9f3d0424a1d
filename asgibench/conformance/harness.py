"""Runs an app in-process under the fake server, the way a server process would.

The app gets one event loop on a thread of its own for the whole session
(lifespan startup, the requests, shutdown: ASGI requires one loop for all).
The calling thread supervises: each scenario has a deadline enforced inside
the loop by cancellation, and if synchronous code in the app blocks the loop
itself, the supervisor gives up on it instead of hanging, and the scenarios
left are reported as not run.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import inspect
import threading
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from asgibench.conformance.fakeserver import Exchange, HttpExchange, LifespanExchange, WebSocketExchange
from asgibench.conformance.http_machine import HttpResponseMachine
from asgibench.conformance.lifespan_machine import LifespanMachine
from asgibench.conformance.outcome import Ending, NotAwaitable, Outcome
from asgibench.conformance.scenarios import Role, Scenario
from asgibench.conformance.scopes import http_scope, lifespan_scope, unknown_scope, websocket_scope
from asgibench.conformance.trace import Trace
from asgibench.conformance.websocket_machine import WebSocketMachine

CANCEL_GRACE = 0.5  # how long a cancelled app may take to unwind
HEARTBEAT = 0.01

App = Callable[..., Any]


async def invoke(app: App, scope: dict[str, Any], receive: Any, send: Any) -> Any:
    result = app(scope, receive, send)
    if not inspect.isawaitable(result):
        raise NotAwaitable(result)
    return await result


class LoopThread:
    """An event loop running forever on a daemon thread, with a heartbeat the supervisor reads."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.last_beat = time.monotonic()
        self._thread = threading.Thread(target=self._run, name="asgibench-app-loop", daemon=True)
        self._thread.start()

    @property
    def ident(self) -> int | None:
        return self._thread.ident

    def lateness(self) -> float:
        """How long past its due time the heartbeat is: the loop's current stall."""
        return max(0.0, time.monotonic() - self.last_beat - HEARTBEAT)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.call_soon(self._beat)
        self.loop.run_forever()

    def _beat(self) -> None:
        self.last_beat = time.monotonic()
        self.loop.call_later(HEARTBEAT, self._beat)

    def submit(self, coroutine: Coroutine[Any, Any, Any]) -> concurrent.futures.Future[Any]:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop)

    def close(self, blocked: bool) -> None:
        """Stop the loop; a blocked loop is left to die with the process."""
        if blocked:
            return
        self.submit(_cancel_all()).result(timeout=CANCEL_GRACE + 1)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=2)
        if not self._thread.is_alive():
            self.loop.close()


async def _cancel_all() -> None:
    current = asyncio.current_task()
    tasks = [task for task in asyncio.all_tasks() if task is not current]
    for task in tasks:
        task.cancel()
    if tasks:
        await asyncio.wait(tasks, timeout=CANCEL_GRACE)


async def run_app(app: App, scope: dict[str, Any], exchange: Exchange, outcome: Outcome, deadline: float) -> None:
    """Run one app call until it ends or the deadline passes; fill ``outcome``."""
    outcome.deadline = deadline
    heartbeat = asyncio.ensure_future(_watch_loop_lag(outcome))
    started = time.monotonic()
    task = asyncio.ensure_future(invoke(app, scope, exchange.receive, exchange.send))
    try:
        done, _ = await asyncio.wait({task}, timeout=deadline)
        outcome.elapsed = time.monotonic() - started
        outcome.client_gone_at_end = exchange.client_gone
        if done:
            _record_end(task, outcome)
            return
        outcome.ending = Ending.TIMED_OUT
        outcome.parked_after_body_at_deadline = bool(getattr(exchange, "parked_after_body", False))
        outcome.trace.note(f"deadline of {deadline:.2f} s passed: the app is still running; cancelling it")
        task.cancel()
        await asyncio.wait({task}, timeout=CANCEL_GRACE)
        if not task.done():
            outcome.trace.note("the app ignored cancellation and is still running")
        elif not task.cancelled():
            task.exception()  # retrieved, so asyncio does not log it as lost
    finally:
        heartbeat.cancel()


def _record_end(task: asyncio.Task[Any], outcome: Outcome) -> None:
    if task.cancelled():
        outcome.ending = Ending.RAISED
        outcome.exception = asyncio.CancelledError("the app cancelled itself")
    elif task.exception() is not None:
        outcome.ending = Ending.RAISED
        outcome.exception = task.exception()
        outcome.trace.note(f"app raised {outcome.exception_text}")
    else:
        outcome.ending = Ending.RETURNED
        outcome.return_value = task.result()
        outcome.trace.note("app returned" + ("" if task.result() is None else f" {task.result()!r:.40}"))


async def _watch_loop_lag(outcome: Outcome) -> None:
    """Measure how late the loop wakes us: synchronous code in the app shows here."""
    while True:
        before = time.monotonic()
        await asyncio.sleep(HEARTBEAT)
        outcome.max_loop_lag = max(outcome.max_loop_lag, time.monotonic() - before - HEARTBEAT)


@dataclass
class ScenarioRun:
    """One scenario with its exchange and machine, built before it runs."""

    scenario: Scenario
    outcome: Outcome
    exchange: Exchange
    machine: Any
    scope: dict[str, Any]


def prepare(scenario: Scenario, state: dict[str, Any] | None, deadline: float) -> ScenarioRun:
    trace = Trace()
    outcome = Outcome(scenario.name, scenario, trace)
    machine: Any
    exchange: Exchange
    if scenario.role is Role.WEBSOCKET:
        scope = websocket_scope(scenario, state)
        machine = WebSocketMachine(
            scope.get("extensions"), spec_version=scenario.spec_version, subprotocols=scenario.subprotocols
        )
        exchange = WebSocketExchange(scenario, trace, machine, close_after=min(0.5, deadline / 4))
    else:
        scope = unknown_scope() if scenario.role is Role.UNKNOWN_SCOPE else http_scope(scenario, state)
        machine = HttpResponseMachine(scope.get("extensions"), method=scenario.route.method)
        exchange = HttpExchange(scenario, trace, machine)
    outcome.exchange, outcome.machine = exchange, machine
    return ScenarioRun(scenario, outcome, exchange, machine, scope)


async def run_scenario(app: App, run: ScenarioRun, deadline: float) -> None:
    try:
        await run_app(app, run.scope, run.exchange, run.outcome, deadline)
    finally:
        if isinstance(run.exchange, WebSocketExchange):
            run.exchange.cancel_timers()
        run.exchange.leave("at the end of the scenario")
        run.outcome.findings.extend(run.exchange.findings)
        run.outcome.exercised.update(run.machine.exercised)
        run.outcome.exercised.update(run.exchange.exercised)


class LifespanRun:
    """The lifespan scope: started before the requests, shut down after them."""

    def __init__(self, app: App, deadline: float) -> None:
        self.app = app
        self.deadline = deadline
        self.trace = Trace()
        self.machine = LifespanMachine()
        self.exchange = LifespanExchange(self.trace, self.machine)
        self.outcome = Outcome("lifespan startup and shutdown", None, self.trace)
        self.scope = lifespan_scope()
        self.startup_timed_out = False
        self.shutdown_timed_out = False
        self.shutdown_sent = False
        self.returned_after_shutdown: bool | None = None
        self.state_after_startup = self.machine.state
        self.state_after_shutdown = self.machine.state
        self._task: asyncio.Task[Any] | None = None

    @property
    def state(self) -> dict[str, Any]:
        return dict(self.scope["state"])

    async def startup(self) -> None:
        self._task = asyncio.ensure_future(invoke(self.app, self.scope, self.exchange.receive, self.exchange.send))
        self.startup_timed_out = not await self._reply_or_end()
        self.state_after_startup = self.machine.state
        if self.startup_timed_out:
            self.trace.note(f"no reply to lifespan.startup within {self.deadline:.2f} s")

    async def shutdown(self) -> None:
        task = self._task
        if task is None:
            return
        if not task.done() and self.machine.state == "started":
            self.shutdown_sent = True
            self.exchange.replied.clear()
            self.exchange.shutdown_requested.set()
            self.shutdown_timed_out = not await self._reply_or_end()
            if self.shutdown_timed_out:
                self.trace.note(f"no reply to lifespan.shutdown within {self.deadline:.2f} s")
            self.state_after_shutdown = self.machine.state
        if self.shutdown_sent and not self.shutdown_timed_out:
            done, _ = await asyncio.wait({task}, timeout=self.deadline)
            self.returned_after_shutdown = bool(done)
        if task.done():
            _record_end(task, self.outcome)
        else:
            self.outcome.ending = Ending.TIMED_OUT
            task.cancel()
            await asyncio.wait({task}, timeout=CANCEL_GRACE)
            if task.done() and not task.cancelled():
                task.exception()
        self.outcome.findings.extend(self.exchange.findings)
        self.outcome.exercised.update(self.machine.exercised)

    async def _reply_or_end(self) -> bool:
        """Wait for the app's reply or its end; False when the deadline passed."""
        assert self._task is not None
        replied = asyncio.ensure_future(self.exchange.replied.wait())
        done, _ = await asyncio.wait({replied, self._task}, timeout=self.deadline, return_when=asyncio.FIRST_COMPLETED)
        replied.cancel()
        return bool(done)
