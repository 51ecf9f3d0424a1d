"""What a server probe observed of one case: the app's side (scope, events, sends) and the wire's. Pure.

The recording app runs inside the server's process and writes what it saw as
JSON lines; the probe reads them back into these records, beside the bytes it
sent and received on its socket. ASGI values do not survive plain JSON (bytes,
tuples, a port given as a string), so they travel in a tagged form that keeps
their Python type: a check can tell ``8000`` from ``"8000"`` and ``b"x"`` from
``"x"``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

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


@dataclass(frozen=True, slots=True)
class AppEvent:
    """One step of the app, as it saw it: ``kind`` is scope, receive, send, send-error, timeout, note or end."""

    at: float  # time.monotonic() in the server's process: one clock with the probe's on the same machine
    kind: str
    value: Any = None


@dataclass
class AppRecord:
    """Everything the recording app saw of one case, in order."""

    events: list[AppEvent] = field(default_factory=list)

    @property
    def scope(self) -> dict[str, Any] | None:
        return next((event.value for event in self.events if event.kind == "scope"), None)

    @property
    def scope_at(self) -> float | None:
        return next((event.at for event in self.events if event.kind == "scope"), None)

    def of_kind(self, kind: str) -> list[AppEvent]:
        return [event for event in self.events if event.kind == kind]

    def received(self) -> list[Any]:
        """The messages ``receive()`` returned, in order."""
        return [event.value for event in self.events if event.kind == "receive"]

    def first(self, kind: str) -> AppEvent | None:
        return next((event for event in self.events if event.kind == kind), None)

    @property
    def ended(self) -> bool:
        return any(event.kind == "end" for event in self.events)


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
    """One case: the app's record (None when the app never saw it) and the wire's."""

    case: str
    app: AppRecord
    wire: WireRecord
    notes: list[str] = field(default_factory=list)
