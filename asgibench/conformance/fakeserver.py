"""The strict fake server: ``receive`` and ``send`` for one connection of each kind.

Each exchange plays the client's script (the scenario), records every message
in the trace, hands what the app sends to its state machine, and fills the
observation the judge reads (the app's steps, the client's side, the response
so far) as the run goes. Like a strict
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
from asgibench.conformance.observation import AppRecord, ClientSide, Departure, ResponseSide, Step
from asgibench.conformance.scenarios import BODY_METHODS, Leave, Malformation, Role, Scenario
from asgibench.conformance.scopes import UNKNOWN_KEY, UNKNOWN_VALUE
from asgibench.conformance.trace import Trace, snapshot
from asgibench.conformance.values import version_tuple
from asgibench.conformance.websocket_machine import WebSocketMachine

# The type of the event the unknown-type malformation hands the app (ER-06): no spec defines it.
UNKNOWN_EVENT_TYPE = "http.asgibench.unknown"


class ClientDisconnected(OSError):
    """Raised from ``send()`` after the client left (ASGI spec 2.4)."""


class AsgiProtocolViolation(RuntimeError):
    """Raised from ``send()`` when the app breaks a MUST rule, as strict servers do."""

    def __init__(self, finding: Finding) -> None:
        super().__init__(f"asgibench: {finding.check_id}: {finding.observed}")
        self.finding = finding


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
    """The app's exception comes from a send() this server refused."""
    return exception is not None and any(isinstance(e, AsgiProtocolViolation) for e in leaves(exception))


def caused_by_disconnect(exception: BaseException | None) -> bool:
    return exception is not None and any(isinstance(e, ClientDisconnected) for e in leaves(exception))


class Exchange:
    """What every exchange shares: the trace, the app's steps, findings and the send rules."""

    async def receive(self) -> dict[str, Any]:
        raise NotImplementedError

    async def send(self, message: Any) -> None:
        raise NotImplementedError

    def __init__(self, trace: Trace, app: AppRecord, client: ClientSide, send_raises_after_leaving: bool) -> None:
        self.trace = trace
        self.app = app
        self.client = client
        self.findings: list[Finding] = []
        self.exercised: set[str] = set()
        self._gone = asyncio.Event()
        self._send_raises_after_leaving = send_raises_after_leaving
        # The loop that called the app; set by the harness when the call starts.
        self.loop: asyncio.AbstractEventLoop | None = None

    @property
    def client_gone(self) -> bool:
        return self.client.gone

    def _check_loop(self, call: str) -> None:
        """Note a receive() or send() made from another event loop or thread (HR-06)."""
        if self.loop is None or asyncio.get_running_loop() is self.loop:
            return
        ending = self.app.ending
        if ending is not None:
            ending.other_loop_calls.append(call)
        self.trace.note(f"{call}() called from another event loop or thread than the app's")

    def _received(self, message: dict[str, Any]) -> int:
        """Hand ``message`` to the app: in the trace and in the app's steps, at one time."""
        index = self.trace.received(message)
        self.app.add(self.trace.events[index].at, Step.RECEIVE, message)
        return index

    def _sent(self, message: Any) -> int:
        index = self.trace.sent(message)
        self.app.add(self.trace.events[index].at, Step.SEND, message)
        return index

    def _fate(self, kind: Step, value: Any = None) -> None:
        self.app.add(self.trace.now(), kind, value)

    def _disconnect_delivered(self, index: int) -> None:
        self.client.disconnect_delivered_at = index
        self.exercised.add("DC-08")

    def _after_disconnect(self, seen: bool, message: Any, findings: list[Finding], index: int) -> None:
        """Keep a send the app made knowing the client had gone (judged in judge.py)."""
        if seen and not any(f.verdict in {Verdict.FAIL, Verdict.WARN} for f in findings):
            # A message that breaks a rule of its own is reported by that rule.
            self.client.sent_after_disconnect.append((index, message))

    def leave(self, why: Departure) -> None:
        """The client goes away; receivers parked on it wake with a disconnect."""
        if not self.client.gone:
            self.client.left, self.client.left_at = why, self.trace.now()
            self._gone.set()
            self.trace.note(f"client disconnected ({why})")

    def _judge_sent(self, message: Any, findings: list[Finding]) -> None:
        """Keep the findings; then drop, refuse or accept the send."""
        self.findings.extend(findings)
        if self.client.gone:
            if self._send_raises_after_leaving:
                self.trace.note("send() raised ClientDisconnected (OSError): the client has gone")
                self._fate(Step.SEND_ERROR, _error_step(ClientDisconnected("client disconnected")))
                raise ClientDisconnected("client disconnected")
            self.trace.note("send() ignored: the client has gone")
            self._fate(Step.IGNORED)
            return
        failure = next((f for f in findings if f.verdict is Verdict.FAIL), None)
        if failure is not None:
            self.trace.note(f"send() raised: {failure.check_id} {failure.observed}")
            self._fate(Step.REFUSED, failure.check_id)
            raise AsgiProtocolViolation(failure)
        self._fate(Step.SENT, message.get("type") if isinstance(message, dict) else None)


def _error_step(error: BaseException) -> dict[str, Any]:
    """A send() that raised, in the words the probe's recording app logs it."""
    return {
        "type": type(error).__name__,
        "oserror": isinstance(error, OSError),
        "classes": [cls.__name__ for cls in type(error).__mro__],
        "text": str(error)[:200],
    }


class HttpExchange(Exchange):
    def __init__(
        self,
        scenario: Scenario,
        trace: Trace,
        machine: HttpResponseMachine,
        app: AppRecord,
        client: ClientSide,
        response: ResponseSide,
    ) -> None:
        super().__init__(trace, app, client, scenario.send_raises_after_leaving)
        self.scenario = scenario
        self.machine = machine
        self.response = response
        client.body_messages = len(scenario.body)
        client.body_bytes = scenario.body_length
        client.length_declared = scenario.method in BODY_METHODS
        # ER-06: an event of a type no spec defines comes first, then the body.
        self._unknown_event_due = scenario.malformation is Malformation.UNKNOWN_TYPE

    async def receive(self) -> dict[str, Any]:
        self._check_loop("receive")
        await asyncio.sleep(0)
        client = self.client
        client.receive_calls += 1
        if self.machine.started:
            client.receives_after_start += 1
        if not client.gone and self._unknown_event_due:
            self._unknown_event_due = False
            client.received_malformed = True
            message = {"type": UNKNOWN_EVENT_TYPE}
            self._received(message)
            return dict(message)
        if not client.gone and client.body_messages_delivered < client.body_messages:
            message = self._next_body_message()
            if self.scenario.leave is Leave.MID_BODY and client.body_messages_delivered == 2:
                self.leave(Departure.MID_BODY)
            return message
        if not client.gone:
            client.parked_after_body = True
            try:
                await self._gone.wait()
            finally:
                client.parked_after_body = False
        message = self._bare({"type": "http.disconnect"})
        self._disconnect_delivered(self._received(message))
        if not client.body_complete:
            client.disconnect_mid_body = True
            self.exercised.add("DC-09")
        return dict(message)

    def _next_body_message(self) -> dict[str, Any]:
        client = self.client
        chunk = self.scenario.body[client.body_messages_delivered]
        client.body_messages_delivered += 1
        if isinstance(chunk, bytes):
            client.body_bytes_delivered += len(chunk)
        more: bool | int = client.body_messages_delivered < client.body_messages
        if not more and self.scenario.malformation is Malformation.MORE_BODY_NOT_BOOL:
            more = 0  # falsy, so an app that reads it by truth value is not left waiting for more
            client.received_malformed = True
        message: dict[str, Any] = {"type": "http.request", "body": chunk, "more_body": more}
        if self.scenario.role is Role.MINIMAL_SCOPE:
            # Both keys are optional, with the defaults b"" and False.
            message = {key: value for key, value in message.items() if value not in (b"", False)}
        message = self._bare(message)
        if not isinstance(chunk, bytes):
            client.received_malformed = True
        self._received(message)
        return dict(message)

    def _bare(self, message: dict[str, Any]) -> dict[str, Any]:
        """In the minimal-scope scenario, an event carries a key no spec defines (it should not raise)."""
        if self.scenario.role is Role.MINIMAL_SCOPE:
            return {**message, UNKNOWN_KEY: UNKNOWN_VALUE}
        return message

    async def send(self, message: Any) -> None:
        # Before yielding: what the app knew when it called send().
        seen = self.client.disconnect_delivered_at is not None
        self._check_loop("send")
        await asyncio.sleep(0)
        recorded = snapshot(message)
        index = self._sent(recorded)
        was_streaming = self.machine.started and not self.machine.complete
        findings = self.machine.app_sent(recorded, index)
        self._observe_response()
        self._after_disconnect(seen, recorded, findings, index)
        self._judge_sent(recorded, findings)
        if self.machine.complete:
            self.leave(Departure.AFTER_COMPLETE_RESPONSE)
        elif (
            self.scenario.leave is Leave.MID_RESPONSE
            and was_streaming
            and isinstance(recorded, dict)
            and recorded.get("more_body") is True
        ):
            self.leave(Departure.MID_RESPONSE)

    def _observe_response(self) -> None:
        """Copy the machine's view of the response into the record; body and files grow by what is new."""
        machine, response = self.machine, self.response
        response.started, response.complete = machine.started, machine.complete
        response.status, response.body_messages = machine.status, machine.body_messages
        response.headers = list(machine.headers)
        response.body += machine.body[len(response.body) :]
        response.zerocopy_files.extend(machine.zerocopy_files[len(response.zerocopy_files) :])


class WebSocketExchange(Exchange):
    """Connect, then a text and a bytes message, then the client closes."""

    CLIENT_MESSAGES: tuple[dict[str, Any], ...] = (
        {"type": "websocket.receive", "text": "hello asgibench"},
        {"type": "websocket.receive", "bytes": b"\x00asgibench\xff"},
    )
    # The same, as a server may also spell them: both keys present, one None, and a key no spec defines.
    MINIMAL_CLIENT_MESSAGES: tuple[dict[str, Any], ...] = (
        {"type": "websocket.receive", "bytes": None, "text": "hello asgibench", UNKNOWN_KEY: UNKNOWN_VALUE},
        {"type": "websocket.receive", "bytes": b"\x00asgibench\xff", "text": None, UNKNOWN_KEY: UNKNOWN_VALUE},
    )
    # ER-06: the one message of a malformed scenario, then the client closes.
    MALFORMED_CLIENT_MESSAGES: dict[Malformation, dict[str, Any]] = {
        Malformation.BOTH_DATA_KEYS: {"type": "websocket.receive", "bytes": b"\x00asgibench", "text": "asgibench"},
        Malformation.TEXT_NOT_STR: {"type": "websocket.receive", "text": b"hello asgibench"},
    }

    def __init__(
        self,
        scenario: Scenario,
        trace: Trace,
        machine: WebSocketMachine,
        app: AppRecord,
        client: ClientSide,
        response: ResponseSide,
        close_after: float,
    ) -> None:
        super().__init__(trace, app, client, scenario.send_raises_after_leaving)
        self.scenario = scenario
        self.machine = machine
        self.response = response
        self._connected = False
        self._minimal = scenario.role is Role.WEBSOCKET_MINIMAL
        self._script = list(self.MINIMAL_CLIENT_MESSAGES if self._minimal else self.CLIENT_MESSAGES)
        malformed = self.MALFORMED_CLIENT_MESSAGES.get(scenario.malformation) if scenario.malformation else None
        if malformed is not None:
            self._script = [malformed]
        self._answered = asyncio.Event()
        self._close_after = close_after
        self._close_timer: asyncio.TimerHandle | None = None
        # A close frame without a status code reads as 1005 (RFC 6455 §7.1.5).
        self.disconnect_code = 1006 if scenario.ws_vanishes else 1005 if self._minimal else 1000

    async def receive(self) -> dict[str, Any]:
        self._check_loop("receive")
        await asyncio.sleep(0)
        self.client.receive_calls += 1
        if not self._connected:
            self._connected = True
            self.machine.connect_received = True
            connect: dict[str, Any] = {"type": "websocket.connect"}
            return self._deliver({**connect, UNKNOWN_KEY: UNKNOWN_VALUE} if self._minimal else connect)
        if not self.machine.answered:
            await self._answered.wait()
        if self.machine.state in {"denied", "closed"} and not self.client_gone:
            code = self.machine.close_code if self.machine.state == "closed" else 1006
            self.leave(Departure.APP_CLOSED)
            return self._disconnect(code or 1000)
        if not self.client_gone and self._script:
            if self.scenario.malformation is not None:
                self.client.received_malformed = True
            return self._deliver(self._script.pop(0))
        self.leave(Departure.CONNECTION_LOST if self.scenario.ws_vanishes else Departure.CLOSE_FRAME)
        return self._disconnect(self.disconnect_code)

    def _disconnect(self, code: int) -> dict[str, Any]:
        message: dict[str, Any] = {"type": "websocket.disconnect", "code": code}
        if self._minimal:
            message.update({"reason": None, UNKNOWN_KEY: UNKNOWN_VALUE})  # None reads as ""
        elif version_tuple(self.scenario.spec_version) >= (2, 5):
            message["reason"] = ""  # the key exists from spec 2.5
        self._disconnect_delivered(self._received(message))
        return dict(message)

    def _deliver(self, message: dict[str, Any]) -> dict[str, Any]:
        self._received(message)
        return dict(message)

    async def send(self, message: Any) -> None:
        seen = self.client.disconnect_delivered_at is not None
        self._check_loop("send")
        await asyncio.sleep(0)
        recorded = snapshot(message)
        index = self._sent(recorded)
        findings = self.machine.app_sent(recorded, index)
        self.response.answered = self.machine.answered
        self._after_disconnect(seen, recorded, findings, index)
        self._judge_sent(recorded, findings)
        if self.machine.answered and not self._answered.is_set():
            self._answered.set()
            if self.machine.state == "connected":
                # An app that never calls receive() still sees the client go.
                loop = asyncio.get_running_loop()
                self._close_timer = loop.call_later(self._close_after, self.leave, Departure.CLOSED_AFTER_MESSAGES)

    def cancel_timers(self) -> None:
        if self._close_timer is not None:
            self._close_timer.cancel()


class LifespanExchange(Exchange):
    """Startup when first asked, shutdown when the harness says so."""

    def __init__(self, trace: Trace, machine: LifespanMachine, app: AppRecord) -> None:
        super().__init__(trace, app, ClientSide(), send_raises_after_leaving=False)
        self.machine = machine
        self.shutdown_requested = asyncio.Event()
        self.replied = asyncio.Event()
        self.startup_delivered = False

    async def receive(self) -> dict[str, Any]:
        self._check_loop("receive")
        await asyncio.sleep(0)
        self.client.receive_calls += 1
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
        message: dict[str, Any] = {"type": message_type}
        if message_type == "lifespan.startup":
            message[UNKNOWN_KEY] = UNKNOWN_VALUE  # a key no spec defines should not raise (LS-10 if it does)
        self._received(message)
        return dict(message)

    async def send(self, message: Any) -> None:
        self._check_loop("send")
        await asyncio.sleep(0)
        recorded = snapshot(message)
        index = self._sent(recorded)
        awaiting = self.machine.awaiting_reply
        findings = self.machine.app_sent(recorded, index)
        if awaiting and not self.machine.awaiting_reply:
            self.replied.set()
        self._judge_sent(recorded, findings)
