"""The WebSocket state machine: handshake, messages, close, denial response."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from asgibench.conformance.findings import Finding, Verdict
from asgibench.conformance.machine import Machine
from asgibench.conformance.values import (
    bool_field_findings,
    bytes_field_findings,
    close_code_findings,
    content_length,
    describe,
    header_findings,
    status_findings,
    text_findings,
    version_tuple,
)

HANDSHAKE = "handshake"
CONNECTED = "connected"
DENYING = "sending denial response"
CLOSED = "closed"
DENIED = "denied"

WEBSOCKET_TRANSITIONS: dict[tuple[str, str], str] = {
    (HANDSHAKE, "accept"): CONNECTED,
    (HANDSHAKE, "close"): DENIED,
    (HANDSHAKE, "denial.start"): DENYING,
    (DENYING, "denial.body"): DENYING,
    (DENYING, "denial.body.final"): DENIED,
    (CONNECTED, "send"): CONNECTED,
    (CONNECTED, "close"): CLOSED,
}

_DENIAL_EXTENSION = "websocket.http.response"


class WebSocketMachine(Machine):
    scope_type = "websocket"
    message_types = frozenset(
        {
            "websocket.accept",
            "websocket.send",
            "websocket.close",
            "websocket.http.response.start",
            "websocket.http.response.body",
        }
    )
    extension_keys = {
        "websocket.http.response.start": _DENIAL_EXTENSION,
        "websocket.http.response.body": _DENIAL_EXTENSION,
    }
    transitions = WEBSOCKET_TRANSITIONS
    initial_state = HANDSHAKE
    flag_keys = ("more_body",)

    def __init__(
        self,
        extensions: dict[str, Any] | None = None,
        *,
        spec_version: str = "2.0",
        subprotocols: Sequence[str] = (),
    ) -> None:
        super().__init__(extensions)
        self.spec_version = version_tuple(spec_version)
        self.subprotocols = tuple(subprotocols)
        self.close_code: int | None = None
        self.denial_status: int | None = None
        # The denial's declared Content-Length, and the body bytes sent so far (EX-03).
        self.denial_length: int | None = None
        self.denial_body = 0
        # Set by the fake server once receive() has handed over websocket.connect.
        self.connect_received = False

    @property
    def answered(self) -> bool:
        """The handshake got its accept, close or denial."""
        return self.state != HANDSHAKE

    def kind_of(self, message: dict[str, Any]) -> str:
        message_type = message["type"]
        if message_type == "websocket.http.response.start":
            return "denial.start"
        if message_type == "websocket.http.response.body":
            return "denial.body" if message.get("more_body") is True else "denial.body.final"
        return str(message_type).removeprefix("websocket.")

    def field_findings(self, message: dict[str, Any]) -> list[Finding]:
        message_type = message["type"]
        self.exercised.add("WS-10")
        findings = self._answer_timing_findings(message_type)
        if message_type == "websocket.accept":
            return findings + self._accept_findings(message)
        if message_type == "websocket.send":
            return findings + self._send_findings(message)
        if message_type == "websocket.close":
            self.exercised.add("WS-12")
            return findings + close_code_findings(message) + self._reason_version_findings(message)
        self.exercised.add("EX-03")
        if message_type == "websocket.http.response.start":
            return [
                *findings,
                *status_findings(message.get("status"), "EX-03"),
                *header_findings(message.get("headers"), "EX-03"),
            ]
        return [
            *bytes_field_findings(message, "body", "EX-03"),
            *bool_field_findings(message, "more_body", "EX-03"),
        ]

    def _answer_timing_findings(self, message_type: str) -> list[Finding]:
        """An answer to the handshake before websocket.connect was even received (information)."""
        if self.state != HANDSHAKE or self.connect_received or message_type == "websocket.send":
            return []
        return [
            Finding(
                "WS-10",
                Verdict.INFO,
                f"{message_type} sent before receive() returned websocket.connect",
                "answer the connect message",
            )
        ]

    def _reason_version_findings(self, message: dict[str, Any]) -> list[Finding]:
        if message.get("reason") is None or self.spec_version >= (2, 3):
            return []
        return [
            Finding(
                "WS-12",
                Verdict.INFO,
                "close reason sent to a server at spec_version "
                + ".".join(map(str, self.spec_version))
                + " (the key exists from 2.3; older servers drop it)",
            )
        ]

    def blame(self, kind: str, message_type: str) -> Finding:
        state = self.state
        if state == DENIED and self.denial_status is not None:
            return _fail(
                "EX-03", f"{message_type} sent after the denial response", "nothing after the final denial body"
            )
        if state in {CLOSED, DENIED}:
            return Finding(
                "WS-10",
                Verdict.WARN,
                f"{message_type} sent after websocket.close (the server drops it)",
                "nothing after close",
            )
        if kind.startswith("denial"):
            if state == CONNECTED:
                return _fail(
                    "EX-03", f"{message_type} sent after websocket.accept", "a denial response only before accept"
                )
            if state == HANDSHAKE:
                return _fail(
                    "EX-03", "websocket.http.response.body before websocket.http.response.start", "start first"
                )
            return _fail("EX-03", "a second websocket.http.response.start", "one start, then body")
        if state == DENYING:
            return _fail(
                "EX-03",
                f"{message_type} sent during the denial response",
                "websocket.http.response.body until more_body=False",
            )
        if kind == "accept":
            return _fail("WS-10", "websocket.accept sent a second time", "exactly one accept")
        return _fail("WS-10", f"{message_type} sent before websocket.accept", "accept (or close) first")

    def after_transition(self, message: dict[str, Any], kind: str) -> list[Finding]:
        if kind == "close":
            code = message.get("code", 1000)
            self.close_code = code if isinstance(code, int) else None
        elif kind == "denial.start":
            status = message.get("status")
            self.denial_status = status if isinstance(status, int) else 0
            self.denial_length, problem = content_length(message.get("headers"))
            if problem:
                return [_fail("EX-03", problem, "one numeric Content-Length")]
        elif kind.startswith("denial.body"):
            body = message.get("body", b"")
            self.denial_body += len(body) if isinstance(body, bytes | bytearray | memoryview) else 0
            declared = self.denial_length
            if kind == "denial.body.final" and declared is not None and declared != self.denial_body:
                return [
                    _fail(
                        "EX-03",
                        f"denial Content-Length {declared} but {self.denial_body} body bytes were sent",
                        f"{declared} bytes",
                    )
                ]
        return []

    def _accept_findings(self, message: dict[str, Any]) -> list[Finding]:
        self.exercised.update({"WS-11", "WS-14"})
        findings: list[Finding] = []
        subprotocol = message.get("subprotocol")
        if subprotocol is not None and not isinstance(subprotocol, str):
            findings.append(_fail("WS-11", f"subprotocol is {describe(subprotocol)}", "a str or None"))
        elif subprotocol == "":
            findings.append(_fail("WS-14", "subprotocol is the empty string", "None, or one the client offered"))
        elif subprotocol is not None and subprotocol not in self.subprotocols:
            offered = ", ".join(map(repr, self.subprotocols)) or "none"
            findings.append(
                _fail(
                    "WS-14",
                    f"accepted subprotocol {subprotocol!r}, but the client offered {offered}",
                    "None, or one of scope['subprotocols']",
                )
            )
        headers = message.get("headers")
        if headers:
            if self.spec_version < (2, 1):
                findings.append(
                    _fail(
                        "WS-11",
                        "accept headers sent to a server at spec_version 2.0",
                        "headers only at spec_version >= 2.1",
                    )
                )
            findings.extend(header_findings(headers, "WS-11", forbidden=(b"sec-websocket-protocol",)))
        return findings

    def _send_findings(self, message: dict[str, Any]) -> list[Finding]:
        self.exercised.add("WS-11")
        data, text = message.get("bytes"), message.get("text")
        if (data is None) == (text is None):
            both = "both" if data is not None else "neither"
            return [_fail("WS-11", f"websocket.send with {both} of bytes and text", "exactly one of bytes/text")]
        if text is not None:
            return text_findings(text, "text", "WS-11")
        return bytes_field_findings(message, "bytes", "WS-11")


def _fail(check_id: str, observed: str, expected: str) -> Finding:
    return Finding(check_id, Verdict.FAIL, observed, expected)
