"""The strict fake server: ``receive`` and ``send`` for one connection of each kind.

Each exchange plays the client's script (the scenario), records every message
in the trace and hands what the app sends to its state machine. Like a strict
real server it raises from ``send()`` when a message breaks a MUST rule, and
after the client has left it either ignores sends (spec 2.3) or raises an
``OSError`` subclass (spec 2.4). Every ``receive`` and ``send`` yields to the
event loop first, so deadlines fire even for an app stuck in a tight loop.
"""

from __future__ import annotations

import asyncio
from typing import Any

from asgibench.conformance.findings import Finding, Verdict
from asgibench.conformance.http_machine import HttpResponseMachine
from asgibench.conformance.lifespan_machine import LifespanMachine
from asgibench.conformance.scenarios import BODY_METHODS, Leave, Scenario
from asgibench.conformance.trace import Trace, snapshot
from asgibench.conformance.values import version_tuple
from asgibench.conformance.websocket_machine import WebSocketMachine

AFTER_COMPLETE_RESPONSE = "after the complete response"


class ClientDisconnected(OSError):
    """Raised from ``send()`` after the client left (ASGI spec 2.4)."""


class AsgiProtocolViolation(RuntimeError):
    """Raised from ``send()`` when the app breaks a MUST rule, as strict servers do."""

    def __init__(self, finding: Finding) -> None:
        super().__init__(f"asgibench: {finding.check_id}: {finding.observed}")
        self.finding = finding


class Exchange:
    """What every exchange shares: the trace, findings and the send rules."""

    async def receive(self) -> dict[str, Any]:
        raise NotImplementedError

    async def send(self, message: Any) -> None:
        raise NotImplementedError

    def __init__(self, trace: Trace, send_raises_after_leaving: bool) -> None:
        self.trace = trace
        self.findings: list[Finding] = []
        self.exercised: set[str] = set()
        self.client_gone = False
        self.gone_reason = ""
        self.receive_calls = 0
        # receive() has handed the app a disconnect event; the sends it made
        # after that, as (trace index, message), for DC-08 and DC-09.
        self.disconnect_seen = False
        self.sent_after_disconnect: list[tuple[int, Any]] = []
        self._gone = asyncio.Event()
        self._send_raises_after_leaving = send_raises_after_leaving

    def _disconnect_delivered(self) -> None:
        self.disconnect_seen = True
        self.exercised.add("DC-08")

    def _after_disconnect(self, seen: bool, message: Any, findings: list[Finding], index: int) -> None:
        """Keep a send the app made knowing the client had gone (judged in judge.py)."""
        if seen and not any(f.verdict in {Verdict.FAIL, Verdict.WARN} for f in findings):
            # A message that breaks a rule of its own is reported by that rule.
            self.sent_after_disconnect.append((index, message))

    def leave(self, why: str) -> None:
        """The client goes away; receivers parked on it wake with a disconnect."""
        if not self.client_gone:
            self.client_gone = True
            self.gone_reason = why
            self._gone.set()
            self.trace.note(f"client disconnected ({why})")

    def _judge_sent(self, findings: list[Finding]) -> None:
        """Keep the findings; then drop, refuse or accept the send."""
        self.findings.extend(findings)
        if self.client_gone:
            if self._send_raises_after_leaving:
                self.trace.note("send() raised ClientDisconnected (OSError): the client has gone")
                raise ClientDisconnected("client disconnected")
            self.trace.note("send() ignored: the client has gone")
            return
        failure = next((f for f in findings if f.verdict is Verdict.FAIL), None)
        if failure is not None:
            self.trace.note(f"send() raised: {failure.check_id} {failure.observed}")
            raise AsgiProtocolViolation(failure)


class HttpExchange(Exchange):
    def __init__(self, scenario: Scenario, trace: Trace, machine: HttpResponseMachine) -> None:
        super().__init__(trace, scenario.send_raises_after_leaving)
        self.scenario = scenario
        self.machine = machine
        self.delivered = 0  # http.request messages handed to the app
        self.delivered_bytes = 0
        self.total = len(scenario.body)
        # The disconnect reached the app before the body was complete (DC-09).
        self.disconnect_mid_body = False
        self.parked_after_body = False  # waiting in receive() after the final chunk
        self.received_malformed = False
        # receive() calls made once the response had started: a disconnect
        # listener (Starlette's) consumes body messages without acting on them.
        self.receives_after_start = 0

    async def receive(self) -> dict[str, Any]:
        await asyncio.sleep(0)
        self.receive_calls += 1
        if self.machine.started:
            self.receives_after_start += 1
        if not self.client_gone and self.delivered < self.total:
            message = self._next_body_message()
            if self.scenario.leave is Leave.MID_BODY and self.delivered == 2:
                self.leave("part-way through the request body")
            return message
        if not self.client_gone:
            self.parked_after_body = True
            try:
                await self._gone.wait()
            finally:
                self.parked_after_body = False
        message = {"type": "http.disconnect"}
        self.trace.received(message)
        self._disconnect_delivered()
        if not self.body_complete:
            self.disconnect_mid_body = True
            self.exercised.add("DC-09")
        return dict(message)

    @property
    def body_complete(self) -> bool:
        """Every body message was delivered, or every byte its Content-Length declares.

        Frameworks stop reading once Content-Length bytes are in, leaving the
        final empty ``more_body=False`` message unread: the body is whole.
        """
        if self.delivered >= self.total:
            return True
        length = self.scenario.body_length
        declared = self.scenario.route.method in BODY_METHODS  # the scope carries a Content-Length
        return self.delivered_bytes >= length and (declared or length == 0)

    def _next_body_message(self) -> dict[str, Any]:
        chunk = self.scenario.body[self.delivered]
        self.delivered += 1
        if isinstance(chunk, bytes):
            self.delivered_bytes += len(chunk)
        message = {"type": "http.request", "body": chunk, "more_body": self.delivered < self.total}
        if not isinstance(chunk, bytes):
            self.received_malformed = True
        self.trace.received(message)
        return dict(message)

    async def send(self, message: Any) -> None:
        seen = self.disconnect_seen  # before yielding: what the app knew when it called send()
        await asyncio.sleep(0)
        recorded = snapshot(message)
        index = self.trace.sent(recorded)
        was_streaming = self.machine.started and not self.machine.complete
        findings = self.machine.app_sent(recorded, index)
        self._after_disconnect(seen, recorded, findings, index)
        self._judge_sent(findings)
        if self.machine.complete:
            self.leave(AFTER_COMPLETE_RESPONSE)
        elif (
            self.scenario.leave is Leave.MID_RESPONSE
            and was_streaming
            and isinstance(recorded, dict)
            and recorded.get("more_body") is True
        ):
            self.leave("while the response streams")


class WebSocketExchange(Exchange):
    """Connect, then a text and a bytes message, then the client closes."""

    CLIENT_MESSAGES: tuple[dict[str, Any], ...] = (
        {"type": "websocket.receive", "text": "hello asgibench"},
        {"type": "websocket.receive", "bytes": b"\x00asgibench\xff"},
    )

    def __init__(self, scenario: Scenario, trace: Trace, machine: WebSocketMachine, close_after: float) -> None:
        super().__init__(trace, scenario.send_raises_after_leaving)
        self.scenario = scenario
        self.machine = machine
        self._connected = False
        self._script = list(self.CLIENT_MESSAGES)
        self._answered = asyncio.Event()
        self._close_after = close_after
        self._close_timer: asyncio.TimerHandle | None = None
        self.disconnect_code = 1006 if scenario.ws_vanishes else 1000

    async def receive(self) -> dict[str, Any]:
        await asyncio.sleep(0)
        self.receive_calls += 1
        if not self._connected:
            self._connected = True
            self.machine.connect_received = True
            return self._deliver({"type": "websocket.connect"})
        if not self.machine.answered:
            await self._answered.wait()
        if self.machine.state in {"denied", "closed"} and not self.client_gone:
            code = self.machine.close_code if self.machine.state == "closed" else 1006
            self.leave("after the app closed the connection")
            return self._disconnect(code or 1000)
        if not self.client_gone and self._script:
            return self._deliver(self._script.pop(0))
        self.leave("close frame" if not self.scenario.ws_vanishes else "TCP connection lost, no close frame")
        return self._disconnect(self.disconnect_code)

    def _disconnect(self, code: int) -> dict[str, Any]:
        message: dict[str, Any] = {"type": "websocket.disconnect", "code": code}
        if version_tuple(self.scenario.spec_version) >= (2, 5):
            message["reason"] = ""  # the key exists from spec 2.5
        self._disconnect_delivered()
        return self._deliver(message)

    def _deliver(self, message: dict[str, Any]) -> dict[str, Any]:
        self.trace.received(message)
        return dict(message)

    async def send(self, message: Any) -> None:
        seen = self.disconnect_seen
        await asyncio.sleep(0)
        recorded = snapshot(message)
        index = self.trace.sent(recorded)
        findings = self.machine.app_sent(recorded, index)
        self._after_disconnect(seen, recorded, findings, index)
        self._judge_sent(findings)
        if self.machine.answered and not self._answered.is_set():
            self._answered.set()
            if self.machine.state == "connected":
                # An app that never calls receive() still sees the client go.
                loop = asyncio.get_running_loop()
                self._close_timer = loop.call_later(self._close_after, self.leave, "client closed after its messages")

    def cancel_timers(self) -> None:
        if self._close_timer is not None:
            self._close_timer.cancel()


class LifespanExchange(Exchange):
    """Startup when first asked, shutdown when the harness says so."""

    def __init__(self, trace: Trace, machine: LifespanMachine) -> None:
        super().__init__(trace, send_raises_after_leaving=False)
        self.machine = machine
        self.shutdown_requested = asyncio.Event()
        self.replied = asyncio.Event()
        self.startup_delivered = False

    async def receive(self) -> dict[str, Any]:
        await asyncio.sleep(0)
        self.receive_calls += 1
        if not self.startup_delivered:
            self.startup_delivered = True
            return self._deliver("lifespan.startup")
        await self.shutdown_requested.wait()
        if self.machine.state == "started":
            return self._deliver("lifespan.shutdown")
        await asyncio.Event().wait()  # nothing more will ever come
        raise AssertionError("unreachable")

    def _deliver(self, message_type: str) -> dict[str, Any]:
        self.replied.clear()
        self.machine.server_sent(message_type)
        self.trace.received({"type": message_type})
        return {"type": message_type}

    async def send(self, message: Any) -> None:
        await asyncio.sleep(0)
        recorded = snapshot(message)
        index = self.trace.sent(recorded)
        awaiting = self.machine.awaiting_reply
        findings = self.machine.app_sent(recorded, index)
        if awaiting and not self.machine.awaiting_reply:
            self.replied.set()
        self._judge_sent(findings)
