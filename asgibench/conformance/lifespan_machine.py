"""The lifespan state machine: one reply per phase, each after its trigger.

Unlike HTTP, the app's replies depend on what the server sent, so the table
also holds the server's two events (``recv:`` kinds).
"""

from __future__ import annotations

from typing import Any

from asgibench.conformance.findings import Finding, Verdict
from asgibench.conformance.machine import Machine
from asgibench.conformance.values import describe

IDLE = "idle"
STARTING = "starting"
STARTED = "started"
STARTUP_FAILED = "startup failed"
STOPPING = "stopping"
STOPPED = "stopped"

LIFESPAN_TRANSITIONS: dict[tuple[str, str], str] = {
    (IDLE, "recv:lifespan.startup"): STARTING,
    (STARTING, "lifespan.startup.complete"): STARTED,
    (STARTING, "lifespan.startup.failed"): STARTUP_FAILED,
    (STARTED, "recv:lifespan.shutdown"): STOPPING,
    (STOPPING, "lifespan.shutdown.complete"): STOPPED,
    (STOPPING, "lifespan.shutdown.failed"): STOPPED,
}

# How each state reads in a finding: "<message> sent <where>".
_WHERE = {
    IDLE: "before lifespan.startup was received",
    STARTING: "in reply to lifespan.startup",
    STARTED: "after startup had completed, before lifespan.shutdown",
    STARTUP_FAILED: "after lifespan.startup.failed",
    STOPPING: "in reply to lifespan.shutdown",
    STOPPED: "after shutdown had completed",
}
_EXPECTED = {
    IDLE: "nothing until lifespan.startup",
    STARTING: "lifespan.startup.complete or .failed",
    STARTED: "nothing until lifespan.shutdown",
    STARTUP_FAILED: "nothing more",
    STOPPING: "lifespan.shutdown.complete or .failed",
    STOPPED: "nothing more",
}


class LifespanMachine(Machine):
    scope_type = "lifespan"
    message_types = frozenset(
        {
            "lifespan.startup.complete",
            "lifespan.startup.failed",
            "lifespan.shutdown.complete",
            "lifespan.shutdown.failed",
        }
    )
    transitions = LIFESPAN_TRANSITIONS
    initial_state = IDLE

    def server_sent(self, message_type: str) -> None:
        """Record that the server delivered ``lifespan.startup`` or ``.shutdown``."""
        next_state = self.transitions.get((self.state, f"recv:{message_type}"))
        if next_state is not None:
            self.state = next_state

    @property
    def awaiting_reply(self) -> bool:
        return self.state in {STARTING, STOPPING}

    def field_findings(self, message: dict[str, Any]) -> list[Finding]:
        self.exercised.add("LS-09")
        text = message.get("message")
        if message["type"].endswith(".failed") and text is not None and not isinstance(text, str):
            return [Finding("LS-09", Verdict.FAIL, f"message is {describe(text)}", "a str")]
        return []

    def blame(self, kind: str, message_type: str) -> Finding:
        return Finding("LS-09", Verdict.FAIL, f"{message_type} sent {_WHERE[self.state]}", _EXPECTED[self.state])
