"""What one run of an app was seen to do: the typed record the judges read. Pure.

Two observers fill it. The server probe's recording app runs inside a real
server and logs the app's side as JSON lines; the probe adds the bytes of its
socket. The in-process harness plays the server itself and writes the same
app-side steps, plus what only a fake server knows: when and why the client
left, how much of the body it delivered, what the state machines made of the
response, how the lifespan phases went. A judge reads this record (and the
scenario it ran), never the observer that filled it.

ASGI values do not survive plain JSON (bytes, tuples, a port given as a
string), so the probe's log carries them in a tagged form that keeps their
Python type: a check can tell ``8000`` from ``"8000"`` and ``b"x"`` from ``"x"``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from asgibench.conformance.loop_watch import BlockingCall

TAG = "$asgi"


@dataclass(frozen=True, slots=True)
class Opaque:
    """A value of a type JSON cannot carry and ASGI does not allow, kept as its type's name and repr."""

    type_name: str
    text: str


def encode(value: Any) -> Any:
    """``value`` as JSON-able data that ``decode`` turns back into the same Python types."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else {TAG: "float", "v": repr(value)}
    if isinstance(value, bytes):
        return {TAG: "bytes", "v": value.decode("latin-1")}
    if isinstance(value, bytearray):
        return {TAG: "bytearray", "v": bytes(value).decode("latin-1")}
    if isinstance(value, list):
        return [encode(item) for item in value]
    if isinstance(value, tuple):
        return {TAG: "tuple", "v": [encode(item) for item in value]}
    if isinstance(value, dict):
        if all(isinstance(key, str) for key in value) and TAG not in value:
            return {key: encode(item) for key, item in value.items()}
        return {TAG: "dict", "v": [[encode(key), encode(item)] for key, item in value.items()]}
    return {TAG: "other", "type": type(value).__name__, "v": repr(value)[:200]}


def decode(data: Any) -> Any:
    if isinstance(data, list):
        return [decode(item) for item in data]
    if not isinstance(data, dict):
        return data
    tag = data.get(TAG)
    if tag is None:
        return {key: decode(item) for key, item in data.items()}
    if tag == "bytes":
        return data["v"].encode("latin-1")
    if tag == "bytearray":
        return bytearray(data["v"].encode("latin-1"))
    if tag == "tuple":
        return tuple(decode(item) for item in data["v"])
    if tag == "float":
        return float(data["v"])
    if tag == "dict":
        return {_hashable(decode(key)): decode(item) for key, item in data["v"]}
    return Opaque(str(data.get("type", "?")), str(data.get("v", "")))


def _hashable(key: Any) -> Any:
    return key if isinstance(key, str | bytes | int | float | bool | tuple | Opaque) or key is None else repr(key)


# -- The app's side: one list of steps, whoever observed them ------------------------------------------------------


class Step(StrEnum):
    """What an app step was. A ``send`` step is followed by its fate: sent, refused, ignored or send-error."""

    SCOPE = "scope"  # the scope the app was called with
    RECEIVE = "receive"  # the message receive() returned
    TIMEOUT = "timeout"  # receive() gave nothing within the wait (the probe's app waits bounded)
    SEND = "send"  # the message handed to send()
    SENT = "sent"  # send() accepted it (value: the message type)
    REFUSED = "send-refused"  # send() raised: the message broke a MUST rule (value: the check id)
    IGNORED = "send-ignored"  # send() returned without effect: the client had gone (spec 2.3)
    SEND_ERROR = "send-error"  # send() raised anything else (value: type, oserror, classes, text)
    NOTE = "note"
    END = "end"  # the app call ended (value: {"raised": type name or None})


class Ending(StrEnum):
    RETURNED = "returned"
    RAISED = "raised"
    TIMED_OUT = "timed out"
    NOT_RUN = "not run"


@dataclass
class AppEnding:
    """How the app call ended, with the clocks around it (the harness's knowledge)."""

    kind: Ending = Ending.NOT_RUN
    exception_type: str = ""  # the class name of what the app raised
    exception_message: str = ""  # str() of it
    # app(scope, receive, send) returned something that cannot be awaited.
    not_awaitable: bool = False
    # The exception came from a send() the server refused, or from the spec 2.4
    # ClientDisconnected: the server's doing, not the app's own crash.
    refused_send: bool = False
    client_disconnected: bool = False
    return_value: Any = None
    elapsed: float = 0.0
    deadline: float = 0.0
    max_loop_lag: float = 0.0
    loop_blocked: bool = False  # the loop stayed blocked so long the session gave up
    # Where the loop was stuck, from the stack sampled when it was latest (HR-13).
    blocking_call: BlockingCall | None = None
    # A legacy ASGI 2 app (app(scope) gives the callable taking receive and send), run as servers should try to.
    legacy_double_callable: bool = False
    # receive()/send() calls made from an event loop or thread other than the app's ("receive" or "send").
    other_loop_calls: list[str] = field(default_factory=list)

    @property
    def exception_text(self) -> str:
        """ "Type: message" (or the type alone), as reports show it."""
        if not self.exception_type:
            return ""
        return f"{self.exception_type}: {self.exception_message}" if self.exception_message else self.exception_type


@dataclass(frozen=True, slots=True)
class AppEvent:
    """One step of the app, as it saw it; ``kind`` is a ``Step`` value.

    ``at`` is seconds on the observer's clock: the probe's is ``time.monotonic()``
    in the server's process (one clock with the wire record on the same
    machine), the harness's starts with the scenario (one clock with its trace).
    """

    at: float
    kind: str
    value: Any = None


@dataclass
class AppRecord:
    """Everything the app saw of one case, in order, and (in-process) how it ended."""

    events: list[AppEvent] = field(default_factory=list)
    ending: AppEnding | None = None

    @property
    def scope(self) -> dict[str, Any] | None:
        return next((event.value for event in self.events if event.kind == Step.SCOPE), None)

    @property
    def scope_at(self) -> float | None:
        return next((event.at for event in self.events if event.kind == Step.SCOPE), None)

    def of_kind(self, kind: str) -> list[AppEvent]:
        return [event for event in self.events if event.kind == kind]

    def received(self) -> list[Any]:
        """The messages ``receive()`` returned, in order."""
        return [event.value for event in self.events if event.kind == Step.RECEIVE]

    def sent(self) -> list[Any]:
        """The messages handed to ``send()``, in order, whatever became of them."""
        return [event.value for event in self.events if event.kind == Step.SEND]

    def first(self, kind: str) -> AppEvent | None:
        return next((event for event in self.events if event.kind == kind), None)

    @property
    def ended(self) -> bool:
        return any(event.kind == Step.END for event in self.events)

    def add(self, at: float, kind: Step, value: Any = None) -> None:
        self.events.append(AppEvent(at, kind, value))


# -- What only the in-process fake server knows ---------------------------------------------------------------------


class Departure(StrEnum):
    """When and why the client left; the value is how findings say it."""

    MID_BODY = "part-way through the request body"
    MID_RESPONSE = "while the response streams"
    AFTER_COMPLETE_RESPONSE = "after the complete response"
    SCENARIO_END = "at the end of the scenario"
    APP_CLOSED = "after the app closed the connection"
    CLOSE_FRAME = "close frame"
    CONNECTION_LOST = "TCP connection lost, no close frame"
    CLOSED_AFTER_MESSAGES = "client closed after its messages"


@dataclass
class ClientSide:
    """The fake client's script as it played out: the body it delivered, when it left."""

    left: Departure | None = None  # None while connected; the first reason it went
    left_at: float | None = None  # when, on the record's clock
    gone_at_end: bool = False  # it had left when the app call ended
    body_messages: int = 0  # http.request messages the scenario announces
    body_messages_delivered: int = 0
    body_bytes: int = 0  # bytes the scenario's body holds
    body_bytes_delivered: int = 0
    length_declared: bool = False  # the scope carries a Content-Length
    received_malformed: bool = False  # the app was handed the scenario's malformed event (ER-06)
    receive_calls: int = 0
    # receive() calls once the response had started: a disconnect listener
    # (Starlette's) consumes body messages without acting on them.
    receives_after_start: int = 0
    parked_after_body: bool = False  # waiting in receive() after the final chunk, right now
    parked_after_body_at_deadline: bool = False
    # receive() has handed the app a disconnect event, and where in the trace.
    disconnect_delivered_at: int | None = None
    disconnect_mid_body: bool = False  # that disconnect came before the body was complete
    # Sends the app made knowing the client had gone, as (trace index, message).
    sent_after_disconnect: list[tuple[int, Any]] = field(default_factory=list)

    @property
    def gone(self) -> bool:
        return self.left is not None

    @property
    def body_complete(self) -> bool:
        """Every body message was delivered, or every byte its Content-Length declares.

        Frameworks stop reading once Content-Length bytes are in, leaving the
        final empty ``more_body=False`` message unread: the body is whole.
        """
        if self.body_messages_delivered >= self.body_messages:
            return True
        return self.body_bytes_delivered >= self.body_bytes and (self.length_declared or self.body_bytes == 0)


@dataclass
class ResponseSide:
    """What the state machine made of the app's answer so far."""

    started: bool = False  # http.response.start accepted
    complete: bool = False  # the final body (and trailers) sent
    status: int | None = None
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)  # of the start, the well-formed pairs
    body: bytearray = field(default_factory=bytearray)
    body_messages: int = 0
    answered: bool = False  # WebSocket: accept, close or denial sent
    # Files handed over with zerocopysend: the app should close them (EX-07).
    zerocopy_files: list[Any] = field(default_factory=list)


@dataclass
class LifespanSide:
    """The lifespan phases as the fake server drove them; states are lifespan_machine's."""

    deadline: float = 0.0
    state_after_startup: str = ""
    startup_timed_out: bool = False
    shutdown_sent: bool = False
    shutdown_timed_out: bool = False
    state_after_shutdown: str = ""
    returned_after_shutdown: bool | None = None


# -- The probe's socket ----------------------------------------------------------------------------------------------


@dataclass
class WireRecord:
    """The probe's socket: what it sent, what came back, and when (monotonic seconds)."""

    sent: bytes = b""
    received: bytes = b""
    started: float = 0.0
    first_byte_at: float | None = None
    closed_at: float | None = None  # the server closed (or reset) the connection
    reset: bool = False
    timed_out: bool = False  # the probe gave up waiting
    reads: list[tuple[float, bytes]] = field(default_factory=list)

    @property
    def closed_by_server(self) -> bool:
        return self.closed_at is not None


@dataclass
class Observation:
    """One case: the app's record and the wire's (empty in-process); the fake server's sides when it ran one."""

    case: str
    app: AppRecord = field(default_factory=AppRecord)
    wire: WireRecord = field(default_factory=WireRecord)
    notes: list[str] = field(default_factory=list)
    client: ClientSide | None = None
    response: ResponseSide | None = None
    lifespan: LifespanSide | None = None
