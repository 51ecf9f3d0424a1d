"""The HTTP response state machine: what an app may send, in which order.

Kinds refine the message type with the flag that decides the next state:
``http.response.body`` becomes ``body`` or ``body.final`` depending on
``more_body``. The table below is the whole ordering rule; ``blame`` only
names the check a missing pair breaks.
"""

from __future__ import annotations

import os
from typing import Any

from asgibench.conformance.findings import Finding, Verdict
from asgibench.conformance.machine import Machine
from asgibench.conformance.values import (
    bool_field_findings,
    bytes_field_findings,
    content_length,
    describe,
    has_header,
    header_findings,
    status_findings,
)

AWAITING_START = "awaiting start"
STREAMING = "streaming body"
STREAMING_WITH_TRAILERS = "streaming body (trailers declared)"
AWAITING_TRAILERS = "awaiting trailers"
COMPLETE = "complete"

HTTP_TRANSITIONS: dict[tuple[str, str], str] = {
    (AWAITING_START, "start"): STREAMING,
    (AWAITING_START, "start.trailers"): STREAMING_WITH_TRAILERS,
    (AWAITING_START, "early_hint"): AWAITING_START,
    (AWAITING_START, "debug"): AWAITING_START,
    (STREAMING, "body"): STREAMING,
    (STREAMING, "body.final"): COMPLETE,
    (STREAMING, "zerocopysend"): STREAMING,
    (STREAMING, "zerocopysend.final"): COMPLETE,
    (STREAMING, "pathsend"): COMPLETE,
    (STREAMING, "early_hint"): STREAMING,
    (STREAMING_WITH_TRAILERS, "body"): STREAMING_WITH_TRAILERS,
    (STREAMING_WITH_TRAILERS, "body.final"): AWAITING_TRAILERS,
    (STREAMING_WITH_TRAILERS, "zerocopysend"): STREAMING_WITH_TRAILERS,
    (STREAMING_WITH_TRAILERS, "zerocopysend.final"): AWAITING_TRAILERS,
    (STREAMING_WITH_TRAILERS, "pathsend"): AWAITING_TRAILERS,
    (STREAMING_WITH_TRAILERS, "early_hint"): STREAMING_WITH_TRAILERS,
    (AWAITING_TRAILERS, "trailers"): AWAITING_TRAILERS,
    (AWAITING_TRAILERS, "trailers.final"): COMPLETE,
}

_BODY_KINDS = frozenset({"body", "body.final", "zerocopysend", "zerocopysend.final", "pathsend"})
_STATUSES_WITHOUT_BODY = frozenset({204, 304})


class HttpResponseMachine(Machine):
    scope_type = "http"
    message_types = frozenset(
        {
            "http.response.start",
            "http.response.body",
            "http.response.trailers",
            "http.response.pathsend",
            "http.response.zerocopysend",
            "http.response.early_hint",
            "http.response.debug",
            "http.response.push",
        }
    )
    extension_keys = {
        "http.response.trailers": "http.response.trailers",
        "http.response.pathsend": "http.response.pathsend",
        "http.response.zerocopysend": "http.response.zerocopysend",
        "http.response.early_hint": "http.response.early_hint",
        "http.response.debug": "http.response.debug",
        "http.response.push": "http.response.push",
    }
    transitions = HTTP_TRANSITIONS
    initial_state = AWAITING_START
    flag_keys = ("more_body", "more_trailers", "trailers")
    opaque_keys = {"http.response.zerocopysend": frozenset({"file"})}  # a file object, by the extension

    def __init__(self, extensions: dict[str, Any] | None = None, *, method: str = "GET") -> None:
        super().__init__(extensions)
        self.method = method
        self.status: int | None = None
        self.headers: list[tuple[bytes, bytes]] = []
        self.body = bytearray()
        self.body_messages = 0
        self.sent_file = False
        self._declared_length: int | None = None

    @property
    def started(self) -> bool:
        return self.state != AWAITING_START

    @property
    def complete(self) -> bool:
        return self.state == COMPLETE

    def kind_of(self, message: dict[str, Any]) -> str:
        short = message["type"].removeprefix("http.response.")
        if short == "start":
            return "start.trailers" if message.get("trailers") is True else "start"
        if short in {"body", "zerocopysend"}:
            return short if message.get("more_body") is True else f"{short}.final"
        if short == "trailers":
            return "trailers" if message.get("more_trailers") is True else "trailers.final"
        return str(short)

    def field_findings(self, message: dict[str, Any]) -> list[Finding]:
        message_type = message["type"]
        if message_type == "http.response.start":
            self.exercised.update({"HR-01", "HR-02", "HR-05"})
            return [
                *status_findings(message.get("status")),
                *header_findings(message.get("headers"), "HR-02"),
                *bool_field_findings(message, "trailers", "HR-02"),
            ]
        if message_type == "http.response.body":
            self.exercised.update({"HR-03", "HR-04"})
            return [
                *bytes_field_findings(message, "body", "HR-03"),
                *bool_field_findings(message, "more_body", "HR-03"),
            ]
        if message_type == "http.response.trailers":
            self.exercised.add("EX-05")
            return [
                *header_findings(message.get("headers"), "EX-05"),
                *bool_field_findings(message, "more_trailers", "EX-05"),
            ]
        if message_type == "http.response.pathsend":
            return self._pathsend_findings(message)
        if message_type == "http.response.zerocopysend":
            return self._zerocopysend_findings(message)
        if message_type == "http.response.early_hint":
            return self._early_hint_findings(message)
        return []

    def blame(self, kind: str, message_type: str) -> Finding:
        state = self.state
        if state == COMPLETE:
            if kind.startswith("trailers"):
                return _fail(
                    "EX-05",
                    f"{message_type} sent, but the start did not set trailers=True",
                    "trailers=True in http.response.start",
                )
            return _fail(
                "HR-04", f"{message_type} sent after the response was complete", "nothing after the final body"
            )
        if kind.startswith("start"):
            return _fail("HR-01", "http.response.start sent a second time", "exactly one http.response.start")
        if state == AWAITING_START:
            return _fail("HR-01", f"{message_type} sent before http.response.start", "http.response.start first")
        if kind.startswith("trailers"):
            if state == STREAMING:
                return _fail(
                    "EX-05",
                    "http.response.trailers sent, but the start did not set trailers=True",
                    "trailers=True in http.response.start",
                )
            return _fail("EX-05", "http.response.trailers sent before the final body", "trailers after more_body=False")
        if kind == "early_hint":
            return _fail(
                "EX-08", "http.response.early_hint sent after the final body", "early hints before the final body"
            )
        if kind == "debug":
            return _fail("EX-01", "http.response.debug sent after http.response.start", "debug before the start")
        return _fail("HR-04", f"{message_type} sent after the final body (awaiting trailers)", "http.response.trailers")

    def after_transition(self, message: dict[str, Any], kind: str) -> list[Finding]:
        if kind.startswith("start"):
            self.status = message.get("status") if isinstance(message.get("status"), int) else None
            self.headers = _pairs(message.get("headers"))
            return self._framing_findings()
        if kind in _BODY_KINDS:
            body = message.get("body", b"")
            if kind.startswith("body") and isinstance(body, bytes | bytearray | memoryview):
                self.body.extend(body)
                self.body_messages += 1
            elif not kind.startswith("body"):
                self.sent_file = True
            if self.state in {COMPLETE, AWAITING_TRAILERS}:
                return self._length_findings()
        return []

    # Field rules of each message --------------------------------------------

    def _framing_findings(self) -> list[Finding]:
        findings: list[Finding] = []
        self._declared_length, problem = content_length(self.headers)
        if problem:
            findings.append(_fail("HR-05", problem, "one numeric Content-Length"))
        if has_header(self.headers, b"transfer-encoding"):
            findings.append(
                Finding(
                    "HR-05",
                    Verdict.WARN,
                    "the app set Transfer-Encoding (servers must ignore it; uvicorn drops such responses)",
                    "no Transfer-Encoding from the app",
                )
            )
        return findings

    def _length_findings(self) -> list[Finding]:
        declared = self._declared_length
        if declared is None or self.sent_file or self.method == "HEAD":
            return []
        if self.status in _STATUSES_WITHOUT_BODY or (self.status or 200) < 200:
            return []
        if len(self.body) != declared:
            return [
                _fail(
                    "HR-05",
                    f"Content-Length {declared} but {len(self.body)} body bytes were sent",
                    f"{declared} body bytes",
                )
            ]
        return []

    def _pathsend_findings(self, message: dict[str, Any]) -> list[Finding]:
        self.exercised.add("EX-06")
        path = message.get("path")
        if not isinstance(path, str):
            return [_fail("EX-06", f"path is {describe(path)}", "a str")]
        if not os.path.isabs(path):
            return [_fail("EX-06", f"path {path!r} is not absolute", "an absolute path")]
        if self.body_messages:
            return [_fail("EX-06", "pathsend mixed with http.response.body", "pathsend alone after the start")]
        return []

    def _zerocopysend_findings(self, message: dict[str, Any]) -> list[Finding]:
        self.exercised.add("EX-07")
        findings: list[Finding] = []
        file = message.get("file")
        fileno = getattr(file, "fileno", None)
        if not callable(fileno):
            findings.append(_fail("EX-07", f"file is {describe(file)}", "an open file with a real fileno()"))
        for key in ("offset", "count"):
            value = message.get(key)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
                findings.append(_fail("EX-07", f"{key} is {describe(value)}", "a non-negative int or absent"))
        findings.extend(bool_field_findings(message, "more_body", "EX-07"))
        return findings

    def _early_hint_findings(self, message: dict[str, Any]) -> list[Finding]:
        self.exercised.add("EX-08")
        links = message.get("links")
        if isinstance(links, bytes | str) or not isinstance(links, list | tuple):
            return [_fail("EX-08", f"links is {describe(links)}", "a list of bytes")]
        bad = [link for link in links if not isinstance(link, bytes)]
        if bad:
            return [_fail("EX-08", f"links holds {describe(bad[0])}", "bytes items")]
        return []


def _pairs(headers: Any) -> list[tuple[bytes, bytes]]:
    pairs: list[tuple[bytes, bytes]] = []
    if isinstance(headers, str | bytes | dict) or headers is None:
        return pairs
    try:
        for pair in headers:
            name, value = pair
            if isinstance(name, bytes) and isinstance(value, bytes):
                pairs.append((name, value))
    except (TypeError, ValueError):
        pass
    return pairs


def _fail(check_id: str, observed: str, expected: str) -> Finding:
    return Finding(check_id, Verdict.FAIL, observed, expected)
