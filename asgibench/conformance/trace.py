"""The message trace of one scenario: every event both ways, with its time."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Literal

Direction = Literal["in", "out", "note"]
_ARROWS: dict[str, str] = {"in": "server → app", "out": "app → server", "note": "            "}
_BYTES_SHOWN = 24


@dataclass(frozen=True, slots=True)
class TraceEvent:
    at: float  # seconds since the scenario started
    direction: Direction
    message: Any  # a snapshot of the message dict, or a note's text

    def render(self) -> str:
        text = self.message if self.direction == "note" else summarize(self.message)
        return f"{self.at * 1000:9.2f} ms  {_ARROWS[self.direction]}  {text}"


class Trace:
    def __init__(self) -> None:
        self.events: list[TraceEvent] = []
        self._started = time.monotonic()

    def now(self) -> float:
        return time.monotonic() - self._started

    def received(self, message: Any) -> int:
        return self._add("in", message)

    def sent(self, message: Any) -> int:
        return self._add("out", message)

    def note(self, text: str) -> int:
        return self._add("note", text)

    def lines(self, limit: int = 40) -> list[str]:
        """Rendered events; long traces keep their head and tail."""
        rendered = [event.render() for event in self.events]
        if len(rendered) <= limit:
            return rendered
        half = limit // 2
        skipped = len(rendered) - 2 * half
        return [*rendered[:half], f"{'':14}... {skipped} events ...", *rendered[-half:]]

    def _add(self, direction: Direction, message: Any) -> int:
        self.events.append(TraceEvent(self.now(), direction, message))
        return len(self.events) - 1


def snapshot(message: Any) -> Any:
    """A shallow copy the app can no longer change, with iterators made lists."""
    if not isinstance(message, dict):
        return message
    copied = dict(message)
    for key in ("headers", "links"):
        value = copied.get(key)
        if value is not None and not isinstance(value, list | tuple | str | bytes | dict):
            try:
                copied[key] = list(value)
            except TypeError:
                pass
    return copied


def summarize(message: Any) -> str:
    """One line per message: its type, then the other keys, bytes shortened."""
    if not isinstance(message, dict):
        return f"<{type(message).__name__}> {_short(message)}"
    parts = [str(message.get("type", "<no type>"))]
    parts.extend(f"{key}={_short(value)}" for key, value in message.items() if key != "type")
    return " ".join(parts)


def _short(value: Any) -> str:
    if isinstance(value, bytes | bytearray):
        shown = bytes(value[:_BYTES_SHOWN])
        # ASCII "...": a Unicode ellipsis in the report would read as text cut short by the terminal.
        more = f"...({len(value)} bytes)" if len(value) > _BYTES_SHOWN else ""
        return f"{shown!r}{more}"
    if isinstance(value, list | tuple) and len(value) > 4:
        return f"[{', '.join(_short(item) for item in value[:4])}, ...({len(value)} items)]"
    if isinstance(value, list | tuple):
        return f"[{', '.join(_short(item) for item in value)}]"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
