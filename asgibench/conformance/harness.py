"""Runs an app in-process under the fake server, the way a server process would.

The app gets one event loop on a thread of its own for the whole session
(lifespan startup, the requests, shutdown: ASGI requires one loop for all).
The calling thread supervises: each scenario has a deadline enforced inside
the loop by cancellation, and if synchronous code in the app blocks the loop
itself, the supervisor gives up on it instead of hanging, and the scenarios
left are reported as not run.

While the app runs, the fake server fills the scenario's observation (see
observation.py); the judge reads that record, not the exchange or the machines.
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

from asgibench.conformance.fakeserver import (
    Exchange,
    HttpExchange,
    LifespanExchange,
    WebSocketExchange,
    caused_by_disconnect,
    caused_by_violation,
)
from asgibench.conformance.http_machine import HttpResponseMachine
from asgibench.conformance.lifespan_machine import LifespanMachine
from asgibench.conformance.loop_watch import BlockingCall
from asgibench.conformance.observation import AppEnding, ClientSide, Departure, Ending, LifespanSide, ResponseSide, Step
from asgibench.conformance.outcome import Outcome
from asgibench.conformance.scenarios import Role, Scenario
from asgibench.conformance.scopes import http_scope, lifespan_scope, unknown_scope, websocket_scope
from asgibench.conformance.trace import Trace
from asgibench.conformance.websocket_machine import WebSocketMachine

CANCEL_GRACE = 0.5  # how long a cancelled app may take to unwind
# The second lifespan cycle's name: run after the first has shut down, with no state in its scope (LS-11).
STATELESS_LIFESPAN = "lifespan again, without state in its scope (a server without the feature)"
HEARTBEAT = 0.01

App = Callable[..., Any]


class NotAwaitable(TypeError):
    """``app(scope, receive, send)`` gave back something that cannot be awaited."""

    def __init__(self, value: Any) -> None:
        super().__init__(f"app(scope, receive, send) returned {type(value).__name__}, not an awaitable")
        self.value = value


async def invoke(app: App, scope: dict[str, Any], receive: Any, send: Any, ending: AppEnding | None = None) -> Any:
    if is_legacy_double_callable(app):
        # ASGI 2 style: app(scope) builds the instance, the instance is awaited with receive and send.
        # The spec asks servers to try to support it, so asgibench runs it that way and records it (HR-06).
        if ending is not None:
            ending.legacy_double_callable = True
        result = app(scope)(receive, send)
    else:
        result = app(scope, receive, send)
    if not inspect.isawaitable(result):
        raise NotAwaitable(result)
    return await result


def is_legacy_double_callable(app: App) -> bool:
    """``app`` takes the scope alone: a class whose constructor, or a function whose signature, has one parameter.

    An app whose signature cannot be read, or that also accepts more arguments, is taken as ASGI 3.
    """
    if not callable(app):
        return False
    # An instance's entry point is its class's __call__ (iscoroutinefunction does not look there on 3.11).
    call = app if inspect.isclass(app) or inspect.isroutine(app) else type(app).__call__
    if inspect.iscoroutinefunction(call):
        return False
    try:
        parameters = list(inspect.signature(app).parameters.values())
    except (TypeError, ValueError):
        return False
    kinds = {parameter.kind for parameter in parameters}
    if inspect.Parameter.VAR_POSITIONAL in kinds:
        return False
    positional = [
        parameter
        for parameter in parameters
        if parameter.kind in {inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD}
    ]
    return len(positional) == 1


class LoopThread:
    """An event loop running forever on a daemon thread, with a heartbeat the supervisor reads."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.last_beat = time.monotonic()
        self.pending_sample: BlockingCall | None = None  # the supervisor's last stack sample, to be confirmed
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
    end = outcome.end
    end.deadline = deadline
    heartbeat = asyncio.ensure_future(_watch_loop_lag(end))
    started = time.monotonic()
    exchange.loop = asyncio.get_running_loop()
    task = asyncio.ensure_future(invoke(app, scope, exchange.receive, exchange.send, end))
    try:
        done, _ = await asyncio.wait({task}, timeout=deadline)
        end.elapsed = time.monotonic() - started
        exchange.client.gone_at_end = exchange.client.gone
        if done:
            _record_end(task, outcome)
            return
        end.kind = Ending.TIMED_OUT
        exchange.client.parked_after_body_at_deadline = exchange.client.parked_after_body
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
    end, app = outcome.end, outcome.observation.app
    exception = asyncio.CancelledError("the app cancelled itself") if task.cancelled() else task.exception()
    if exception is not None:
        _raised(end, exception)
        if not task.cancelled():
            outcome.trace.note(f"app raised {end.exception_text}")
        app.add(outcome.trace.now(), Step.END, {"raised": end.exception_type})
    else:
        end.kind = Ending.RETURNED
        end.return_value = task.result()
        outcome.trace.note("app returned" + ("" if task.result() is None else f" {task.result()!r:.40}"))
        app.add(outcome.trace.now(), Step.END, {"raised": None})


def _raised(end: AppEnding, exception: BaseException) -> None:
    """What the judge needs of the exception: its words, and whether the server caused it."""
    end.kind = Ending.RAISED
    end.exception_type, end.exception_message = type(exception).__name__, str(exception)
    end.not_awaitable = isinstance(exception, NotAwaitable)
    end.refused_send = caused_by_violation(exception)
    end.client_disconnected = caused_by_disconnect(exception)


async def _watch_loop_lag(end: AppEnding) -> None:
    """Measure how late the loop wakes us: synchronous code in the app shows here."""
    while True:
        before = time.monotonic()
        await asyncio.sleep(HEARTBEAT)
        end.max_loop_lag = max(end.max_loop_lag, time.monotonic() - before - HEARTBEAT)


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
    observation = outcome.observation
    app, client, response = observation.app, ClientSide(), ResponseSide()
    observation.client, observation.response = client, response
    machine: Any
    exchange: Exchange
    if scenario.is_websocket:
        scope = websocket_scope(scenario, state)
        machine = WebSocketMachine(
            scope.get("extensions"), spec_version=scenario.spec_version, subprotocols=scenario.subprotocols
        )
        exchange = WebSocketExchange(
            scenario, trace, machine, app, client, response, close_after=min(0.5, deadline / 4)
        )
    else:
        scope = unknown_scope() if scenario.role is Role.UNKNOWN_SCOPE else http_scope(scenario, state)
        machine = HttpResponseMachine(scope.get("extensions"), method=scenario.method)
        exchange = HttpExchange(scenario, trace, machine, app, client, response)
    app.add(0.0, Step.SCOPE, dict(scope))
    return ScenarioRun(scenario, outcome, exchange, machine, scope)


async def run_scenario(app: App, run: ScenarioRun, deadline: float) -> None:
    try:
        await run_app(app, run.scope, run.exchange, run.outcome, deadline)
    finally:
        if isinstance(run.exchange, WebSocketExchange):
            run.exchange.cancel_timers()
        run.exchange.leave(Departure.SCENARIO_END)
        run.outcome.findings.extend(run.exchange.findings)
        run.outcome.exercised.update(run.machine.exercised)
        run.outcome.exercised.update(run.exchange.exercised)


class LifespanRun:
    """The lifespan scope: started before the requests, shut down after them."""

    def __init__(self, app: App, deadline: float, *, with_state: bool = True) -> None:
        self.app = app
        self.deadline = deadline
        self.trace = Trace()
        self.machine = LifespanMachine()
        name = "lifespan startup and shutdown" if with_state else STATELESS_LIFESPAN
        self.outcome = Outcome(name, None, self.trace)
        self.exchange = LifespanExchange(self.trace, self.machine, self.outcome.observation.app)
        self.scope = lifespan_scope(with_state=with_state)
        self.outcome.observation.app.add(0.0, Step.SCOPE, dict(self.scope))
        # The phases as they went, for the judge; filled as startup and shutdown run.
        self.phases = LifespanSide(
            deadline=deadline, state_after_startup=self.machine.state, state_after_shutdown=self.machine.state
        )
        self.outcome.observation.lifespan = self.phases
        self._task: asyncio.Task[Any] | None = None

    @property
    def state(self) -> dict[str, Any] | None:
        """A copy of the namespace for each request (None when the scope has none)."""
        state = self.scope.get("state")
        return None if state is None else dict(state)

    async def startup(self) -> None:
        self.exchange.loop = asyncio.get_running_loop()
        self._task = asyncio.ensure_future(
            invoke(self.app, self.scope, self.exchange.receive, self.exchange.send, self.outcome.end)
        )
        phases = self.phases
        phases.startup_timed_out = not await self._reply_or_end()
        phases.state_after_startup = self.machine.state
        if phases.startup_timed_out:
            self.trace.note(f"no reply to lifespan.startup within {self.deadline:.2f} s")

    async def shutdown(self) -> None:
        task, phases = self._task, self.phases
        if task is None:
            return
        if not task.done() and self.machine.state == "started":
            phases.shutdown_sent = True
            self.exchange.replied.clear()
            self.exchange.shutdown_requested.set()
            phases.shutdown_timed_out = not await self._reply_or_end()
            if phases.shutdown_timed_out:
                self.trace.note(f"no reply to lifespan.shutdown within {self.deadline:.2f} s")
            phases.state_after_shutdown = self.machine.state
        if phases.shutdown_sent and not phases.shutdown_timed_out:
            done, _ = await asyncio.wait({task}, timeout=self.deadline)
            phases.returned_after_shutdown = bool(done)
        if task.done():
            _record_end(task, self.outcome)
        else:
            self.outcome.end.kind = Ending.TIMED_OUT
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
