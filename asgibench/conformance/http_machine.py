"""The HTTP response state machine: what an app may send, in which order.

Kinds refine the message type with the flag that decides the next state:
``http.response.body`` becomes ``body`` or ``body.final`` depending on
``more_body``. The table below is the whole ordering rule; ``blame`` only
names the check a missing pair breaks.
"""

from __future__ import annotations

import io
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
    header_values,
    joined_set_cookie,
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
    # Early hints belong before the start (asgiref#579); while streaming they
    # are still accepted, with a warning (see _early_hint_findings).
    (AWAITING_START, "early_hint"): AWAITING_START,
    (AWAITING_START, "debug"): AWAITING_START,
    (STREAMING, "body"): STREAMING,
    (STREAMING, "body.final"): COMPLETE,
    (STREAMING, "zerocopysend"): STREAMING,
    (STREAMING, "zerocopysend.final"): COMPLETE,
    (STREAMING, "pathsend"): COMPLETE,
    (STREAMING, "early_hint"): STREAMING,
    (STREAMING, "push"): STREAMING,
    (STREAMING_WITH_TRAILERS, "body"): STREAMING_WITH_TRAILERS,
    (STREAMING_WITH_TRAILERS, "body.final"): AWAITING_TRAILERS,
    (STREAMING_WITH_TRAILERS, "zerocopysend"): STREAMING_WITH_TRAILERS,
    (STREAMING_WITH_TRAILERS, "zerocopysend.final"): AWAITING_TRAILERS,
    (STREAMING_WITH_TRAILERS, "pathsend"): AWAITING_TRAILERS,
    (STREAMING_WITH_TRAILERS, "early_hint"): STREAMING_WITH_TRAILERS,
    (STREAMING_WITH_TRAILERS, "push"): STREAMING_WITH_TRAILERS,
    (AWAITING_TRAILERS, "trailers"): AWAITING_TRAILERS,
    (AWAITING_TRAILERS, "trailers.final"): COMPLETE,
}

_BODY_KINDS = frozenset({"body", "body.final", "zerocopysend", "zerocopysend.final", "pathsend"})
_STATUSES_WITHOUT_BODY = frozenset({204, 304})
# Fields whose definitions keep them out of trailers (RFC 9110 §6.5.1): framing,
# routing, authentication, and what tells the client how to read the content.
_FORBIDDEN_TRAILERS = frozenset(
    {
        b"content-length",
        b"transfer-encoding",
        b"te",
        b"connection",
        b"host",
        b"authorization",
        b"proxy-authorization",
        b"www-authenticate",
        b"proxy-authenticate",
        b"set-cookie",
        b"cookie",
        b"content-type",
        b"content-encoding",
        b"content-range",
        b"trailer",
        b"location",
    }
)


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
    # Objects the extensions define outside the ASGI value types: a file, and
    # debug information whose values are "left to the ASGI framework".
    opaque_keys = {
        "http.response.zerocopysend": frozenset({"file"}),
        "http.response.debug": frozenset({"info"}),
    }

    def __init__(self, extensions: dict[str, Any] | None = None, *, method: str = "GET") -> None:
        super().__init__(extensions)
        self.method = method
        self.status: int | None = None
        self.headers: list[tuple[bytes, bytes]] = []
        self.body = bytearray()
        self.body_messages = 0
        self.sent_file = False
        self.sent_pathsend = False
        self.sent_zerocopy = False
        self.debug_sent = False
        self.trailers_declared = False
        # Files handed over with zerocopysend: the app should close them (EX-07).
        self.zerocopy_files: list[Any] = []
        # Bytes the file sends put on the wire; None once one is unknown.
        self.file_bytes: int | None = 0
        self._declared_length: int | None = None
        self._empty_status_noted = False

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
            self.exercised.update({"HR-01", "HR-02", "HR-05", "HR-12"})
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
            return self._trailers_findings(message)
        if message_type == "http.response.pathsend":
            return self._pathsend_findings(message)
        if message_type == "http.response.zerocopysend":
            return self._zerocopysend_findings(message)
        if message_type == "http.response.early_hint":
            return self._early_hint_findings(message)
        if message_type == "http.response.push":
            return self._push_findings(message)
        if message_type == "http.response.debug":
            return self._debug_findings(message)
        return []

    def blame(self, kind: str, message_type: str) -> Finding:
        state = self.state
        where = "before http.response.start" if state == AWAITING_START else "after the final body"
        if kind == "push":
            return _fail("EX-11", f"http.response.push sent {where}", "push after the start, before the final body")
        if kind == "early_hint":
            return _fail("EX-08", "http.response.early_hint sent after the final body", "early hints before the start")
        if kind == "debug":
            return _fail("EX-12", "http.response.debug sent after http.response.start", "debug before the start")
        if self.sent_pathsend and (kind == "pathsend" or kind in _BODY_KINDS):
            observed = "pathsend sent a second time" if kind == "pathsend" else f"{message_type} sent after pathsend"
            return _fail("EX-06", observed, "one pathsend, not mixed with body")
        if state == COMPLETE:
            if kind.startswith("trailers") and not self.trailers_declared:
                return _fail(
                    "EX-05",
                    f"{message_type} sent, but the start did not set trailers=True",
                    "trailers=True in http.response.start",
                )
            after = "the final trailers" if self.trailers_declared else "the final body"
            return Finding(
                "HR-04",
                Verdict.WARN,
                f"{message_type} sent after {after}: the response was complete (the server ignores it)",
                "nothing after the response is complete",
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
        return _fail(
            "EX-05",
            f"{message_type} sent after the final body, where trailers=True promised http.response.trailers",
            "http.response.trailers",
        )

    def after_transition(self, message: dict[str, Any], kind: str) -> list[Finding]:
        if kind.startswith("start"):
            self.status = message.get("status") if isinstance(message.get("status"), int) else None
            self.headers = _pairs(message.get("headers"))
            self.trailers_declared = kind == "start.trailers"
            return self._framing_findings()
        if kind in _BODY_KINDS:
            findings: list[Finding] = []
            body = message.get("body", b"")
            if kind.startswith("body") and isinstance(body, bytes | bytearray | memoryview):
                self.body.extend(body)
                self.body_messages += 1
                findings.extend(self._empty_status_findings(len(body)))
            elif not kind.startswith("body"):
                self.sent_file = True
            if self.state in {COMPLETE, AWAITING_TRAILERS}:
                findings.extend(self._length_findings())
            return findings
        return []

    # Field rules of each message --------------------------------------------

    def _framing_findings(self) -> list[Finding]:
        findings: list[Finding] = []
        self._declared_length, problem = content_length(self.headers)
        if problem:
            findings.append(_fail("HR-05", problem, "one numeric Content-Length"))
        if self.status == 204 and has_header(self.headers, b"content-length"):
            findings.append(_fail("HR-12", "a 204 response carries a Content-Length header", "no Content-Length"))
        joined = joined_set_cookie(self.headers)
        if joined is not None:
            findings.append(
                Finding(
                    "HR-02",
                    Verdict.INFO,
                    f"a Set-Cookie value looks like cookies joined by a comma: {describe(joined)} "
                    "(send one Set-Cookie header per cookie)",
                )
            )
        if has_header(self.headers, b"transfer-encoding"):
            findings.append(
                Finding(
                    "HR-05",
                    Verdict.INFO,
                    "the app set Transfer-Encoding (allowed: the server must ignore it and frame the response itself)",
                )
            )
        return findings

    def _empty_status_findings(self, size: int) -> list[Finding]:
        """HR-12: body bytes on a status that cannot carry content (reported once)."""
        if not size or self.status not in _STATUSES_WITHOUT_BODY or self._empty_status_noted:
            return []
        self._empty_status_noted = True
        return [_fail("HR-12", f"{size} body bytes sent with status {self.status}", "no content")]

    def _length_findings(self) -> list[Finding]:
        declared = self._declared_length
        if declared is None or self.method == "HEAD":
            return []
        if self.status in _STATUSES_WITHOUT_BODY or (self.status or 200) < 200:
            return []
        if self.sent_file and self.file_bytes is None:
            return []  # a file send whose size could not be told
        sent = len(self.body) + (self.file_bytes or 0)
        if sent == declared:
            return []
        check_id = "EX-06" if self.sent_pathsend else "EX-07" if self.sent_zerocopy else "HR-05"
        what = "body bytes were sent" if not self.sent_file else "bytes were sent, the file's included"
        return [_fail(check_id, f"Content-Length {declared} but {sent} {what}", f"{declared} bytes")]

    def _trailers_findings(self, message: dict[str, Any]) -> list[Finding]:
        self.exercised.add("EX-05")
        headers = message.get("headers")
        if headers is None:
            return [_fail("EX-05", "http.response.trailers without headers", "headers: [[name, value], ...]")]
        findings = [
            *header_findings(
                headers,
                "EX-05",
                forbidden=_FORBIDDEN_TRAILERS,
                forbidden_why="no framing, routing, authentication or content fields in trailers",
            ),
            *bool_field_findings(message, "more_trailers", "EX-05"),
        ]
        if self.trailers_declared:
            declared = {
                name.strip().lower()
                for value in header_values(self.headers, b"trailer")
                for name in value.split(b",")
                if name.strip()
            }
            missing = [name for name, _ in _pairs(headers) if name.lower() not in declared]
            if missing:
                findings.append(
                    Finding(
                        "EX-05",
                        Verdict.WARN,
                        f"trailer field {missing[0]!r} is not named in a Trailer header of the start",
                        "a Trailer header naming each trailer field",
                    )
                )
        return findings

    def _pathsend_findings(self, message: dict[str, Any]) -> list[Finding]:
        self.exercised.add("EX-06")
        path = message.get("path")
        if self.started and not self.sent_pathsend:
            self.sent_pathsend = True
            size = _file_size(path)
            self.file_bytes = None if size is None or self.file_bytes is None else self.file_bytes + size
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
        descriptor, problem = _descriptor(file)
        if problem:
            findings.append(_fail("EX-07", problem, "an open file object with a real OS descriptor"))
        for key in ("offset", "count"):
            value = message.get(key)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
                findings.append(_fail("EX-07", f"{key} is {describe(value)}", "a non-negative int or absent"))
        findings.extend(bool_field_findings(message, "more_body", "EX-07"))
        if self.started and self.state != COMPLETE:
            self.sent_zerocopy = True
            if file is not None and all(f is not file for f in self.zerocopy_files):
                self.zerocopy_files.append(file)
            size = None if findings or descriptor is None else _sendfile_size(descriptor, message)
            self.file_bytes = None if size is None or self.file_bytes is None else self.file_bytes + size
        return findings

    def _early_hint_findings(self, message: dict[str, Any]) -> list[Finding]:
        self.exercised.add("EX-08")
        links = message.get("links")
        if isinstance(links, bytes | str | dict) or not isinstance(links, list | tuple):
            return [_fail("EX-08", f"links is {describe(links)}", "a list of bytes")]
        bad = [link for link in links if not isinstance(link, bytes)]
        if bad:
            return [_fail("EX-08", f"links holds {describe(bad[0])}", "bytes items")]
        injected = [link for link in links if any(c in link for c in (b"\r", b"\n", b"\x00"))]
        if injected:
            return [_fail("EX-08", f"a link holds CR, LF or NUL: {describe(injected[0])}", "no CR/LF/NUL")]
        if self.state in {STREAMING, STREAMING_WITH_TRAILERS}:
            return [
                Finding(
                    "EX-08",
                    Verdict.WARN,
                    "http.response.early_hint sent after http.response.start (a 103 goes before the final status)",
                    "early hints before http.response.start",
                )
            ]
        return []

    def _push_findings(self, message: dict[str, Any]) -> list[Finding]:
        self.exercised.add("EX-11")
        findings: list[Finding] = []
        path = message.get("path")
        if not isinstance(path, str):
            findings.append(_fail("EX-11", f"push path is {describe(path)}", "a str"))
        if message.get("headers") is None:
            findings.append(_fail("EX-11", "http.response.push without headers", "headers: [[name, value], ...]"))
        else:
            findings.extend(header_findings(message.get("headers"), "EX-11"))
        return findings

    def _debug_findings(self, message: dict[str, Any]) -> list[Finding]:
        self.exercised.add("EX-12")
        findings: list[Finding] = []
        info = message.get("info")
        if not isinstance(info, dict):
            findings.append(_fail("EX-12", f"info is {describe(info)}", "a dict"))
        if self.state == AWAITING_START:
            if self.debug_sent:
                findings.append(_fail("EX-12", "http.response.debug sent a second time", "debug sent once"))
            self.debug_sent = True
        return findings


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


def _descriptor(file: Any) -> tuple[int | None, str | None]:
    """The OS descriptor behind a zerocopysend ``file``, or why there is none."""
    if getattr(file, "closed", False) is True:
        return None, f"file {describe(file)} is already closed"
    fileno = getattr(file, "fileno", None)
    if not callable(fileno):
        return None, f"file is {describe(file)}"
    try:
        descriptor = fileno()
    except (OSError, ValueError) as error:  # io.UnsupportedOperation is both
        return None, f"file {type(file).__name__} has no OS descriptor ({type(error).__name__}: {error})"
    if isinstance(descriptor, bool) or not isinstance(descriptor, int):
        return None, f"file.fileno() returned {describe(descriptor)}"
    return descriptor, None


def _sendfile_size(descriptor: int, message: dict[str, Any]) -> int | None:
    """How many bytes ``os.sendfile`` would send for this message, when it can be told."""
    count, offset = message.get("count"), message.get("offset")
    try:
        remaining = os.fstat(descriptor).st_size
        start = offset if isinstance(offset, int) else os.lseek(descriptor, 0, io.SEEK_CUR)
    except OSError:
        return None
    available = max(remaining - start, 0)
    return min(count, available) if isinstance(count, int) else available


def _file_size(path: Any) -> int | None:
    if not isinstance(path, str) or not os.path.isfile(path):
        return None
    try:
        return os.path.getsize(path)
    except OSError:
        return None


def _fail(check_id: str, observed: str, expected: str) -> Finding:
    return Finding(check_id, Verdict.FAIL, observed, expected)
