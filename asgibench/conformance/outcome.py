"""What running one scenario produced: how the app ended, the trace, findings."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from asgibench.conformance.fakeserver import AsgiProtocolViolation, ClientDisconnected
from asgibench.conformance.findings import Finding
from asgibench.conformance.loop_watch import BlockingCall
from asgibench.conformance.scenarios import Scenario
from asgibench.conformance.trace import Trace


class Ending(StrEnum):
    RETURNED = "returned"
    RAISED = "raised"
    TIMED_OUT = "timed out"
    NOT_RUN = "not run"


class NotAwaitable(TypeError):
    """``app(scope, receive, send)`` gave back something that cannot be awaited."""

    def __init__(self, value: Any) -> None:
        super().__init__(f"app(scope, receive, send) returned {type(value).__name__}, not an awaitable")
        self.value = value


@dataclass
class Outcome:
    name: str
    scenario: Scenario | None
    trace: Trace
    ending: Ending = Ending.NOT_RUN
    exception: BaseException | None = None
    return_value: Any = None
    elapsed: float = 0.0
    max_loop_lag: float = 0.0
    loop_blocked: bool = False
    # Where the loop was stuck, from the stack sampled when it was latest (HR-13).
    blocking_call: BlockingCall | None = None
    findings: list[Finding] = field(default_factory=list)
    exercised: set[str] = field(default_factory=set)
    # The fake server's side of the scenario, for the judge to read.
    exchange: Any = None
    machine: Any = None
    client_gone_at_end: bool = False
    deadline: float = 0.0
    # At the deadline: was the app parked in receive() after the final chunk?
    parked_after_body_at_deadline: bool = False

    @property
    def exception_text(self) -> str:
        if self.exception is None:
            return ""
        text = str(self.exception)
        return f"{type(self.exception).__name__}: {text}" if text else type(self.exception).__name__


def leaves(exception: BaseException) -> list[BaseException]:
    """The exception, its causes and contexts, and exception-group members."""
    seen: list[BaseException] = []
    pending = [exception]
    while pending:
        current = pending.pop()
        if any(current is known for known in seen):
            continue
        seen.append(current)
        if isinstance(current, BaseExceptionGroup):
            pending.extend(current.exceptions)
        for linked in (current.__cause__, current.__context__):
            if linked is not None:
                pending.append(linked)
    return seen


def caused_by_violation(exception: BaseException | None) -> bool:
    """The app's exception comes from a send() that asgibench refused."""
    return exception is not None and any(isinstance(e, AsgiProtocolViolation) for e in leaves(exception))


def caused_by_disconnect(exception: BaseException | None) -> bool:
    return exception is not None and any(isinstance(e, ClientDisconnected) for e in leaves(exception))
