"""The shared part of the sans-IO state machines that judge what an app sends.

Rules of every machine in this package (as in h11's _state.py):

1. All transitions live in a table: ``{(state, event kind): next state}``.
   A (state, kind) pair missing from the table is a violation, and a blame
   function names the check it breaks.
2. A machine never does I/O and never reads a clock; the harness feeds it the
   messages, with their position in the trace, and reads back findings.
3. A message whose flags are broken (``more_body`` not a bool) does not move
   the machine: which transition was meant is unknown. Any other broken
   message still moves it (a start with a str status is still the start),
   so one mistake is reported once and the messages after it are judged.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from asgibench.conformance.findings import Finding, Verdict
from asgibench.conformance.values import disallowed_values, tuple_paths

# Fields the spec types as iterables (``Iterable[[byte string, byte string]]``):
# a tuple there is as good as a list.
ITERABLE_KEYS = frozenset({"headers", "links"})


class Machine:
    """Validates app->server messages of one scope against a transition table."""

    scope_type: ClassVar[str]
    message_types: ClassVar[frozenset[str]]
    # Message types that belong to an extension, and the scope key advertising it.
    extension_keys: ClassVar[Mapping[str, str]] = {}
    transitions: ClassVar[Mapping[tuple[str, str], str]]
    initial_state: ClassVar[str]
    # Keys an extension defines to hold objects outside the ASGI value types.
    opaque_keys: ClassVar[Mapping[str, frozenset[str]]] = {}
    # Message keys whose value chooses the next state (see rule 3).
    flag_keys: ClassVar[tuple[str, ...]] = ()

    def __init__(self, extensions: Mapping[str, Any] | None = None) -> None:
        self.extensions: Mapping[str, Any] = extensions or {}
        self.state = self.initial_state
        self.exercised: set[str] = set()
        self._tuple_noted = False

    def app_sent(self, message: Any, index: int | None = None) -> list[Finding]:
        """Judge one message the app sent; returns the findings it raised."""
        findings = self._judge(message)
        return [_at(finding, index) for finding in findings]

    def _judge(self, message: Any) -> list[Finding]:
        self.exercised.update({"SC-19", "SC-20", "EX-01"})
        if not isinstance(message, dict) or not isinstance(message.get("type"), str):
            return [
                Finding(
                    "SC-19",
                    Verdict.FAIL,
                    f"sent {type(message).__name__} {message!r:.60}",
                    "a dict with a str 'type'",
                )
            ]
        message_type: str = message["type"]
        opaque = self.opaque_keys.get(message_type, frozenset())
        checked = {key: value for key, value in message.items() if key not in opaque}
        findings = [
            Finding("SC-20", Verdict.FAIL, problem, "only ASGI value types") for problem in disallowed_values(checked)
        ]
        findings.extend(self._tuple_findings(checked))
        if message_type not in self.message_types:
            findings.append(
                Finding(
                    "SC-19",
                    Verdict.FAIL,
                    f"{message_type!r} is not a message type of the {self.scope_type} scope",
                    ", ".join(sorted(self.message_types)),
                )
            )
            return findings
        extension = self.extension_keys.get(message_type)
        if extension is not None and extension not in self.extensions:
            findings.append(
                Finding(
                    "EX-01",
                    Verdict.FAIL,
                    f"sent {message_type!r} but the scope does not advertise {extension!r}",
                    f"{extension!r} in scope['extensions'] first",
                )
            )
        field_findings = self.field_findings(message)
        findings.extend(field_findings)
        if self.flags_broken(message):
            return findings  # rule 3
        kind = self.kind_of(message)
        next_state = self.transitions.get((self.state, kind))
        if next_state is None:
            findings.append(self.blame(kind, message_type))
            return findings
        self.state = next_state
        findings.extend(self.after_transition(message, kind))
        return findings

    def _tuple_findings(self, message: dict[str, Any]) -> list[Finding]:
        """Tuples where the spec asks for lists: noted once per scope, as information."""
        if self._tuple_noted:
            return []
        paths = tuple_paths(message, ITERABLE_KEYS)
        if not paths:
            return []
        self._tuple_noted = True
        return [
            Finding(
                "SC-20",
                Verdict.INFO,
                f"{message['type']}: a tuple at {paths[0]} (tuples should be encoded as lists)",
                "a list",
            )
        ]

    # Hooks for each protocol ------------------------------------------------

    def kind_of(self, message: dict[str, Any]) -> str:
        """The event kind used as the table key (the type, refined by flags)."""
        return str(message["type"])

    def field_findings(self, message: dict[str, Any]) -> list[Finding]:
        return []

    def flags_broken(self, message: dict[str, Any]) -> bool:
        """The fields that pick the transition hold something other than a bool."""
        return any(key in message and not isinstance(message[key], bool) for key in self.flag_keys)

    def blame(self, kind: str, message_type: str) -> Finding:
        raise NotImplementedError

    def after_transition(self, message: dict[str, Any], kind: str) -> list[Finding]:
        return []


def _at(finding: Finding, index: int | None) -> Finding:
    if index is None or finding.message_index is not None:
        return finding
    return Finding(finding.check_id, finding.verdict, finding.observed, finding.expected, index)
