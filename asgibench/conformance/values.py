"""Pure validators for the values inside ASGI messages (no I/O, no state).

Each returns a list of ``Finding`` for the check the field belongs to; the
state machines call them and attach the position in the trace.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from typing import Any

from asgibench.conformance.findings import Finding, Verdict

_INT64 = (-(2**63), 2**63 - 1)
# RFC 9110 §5.6.2 token characters: what a header name may contain on the wire.
_TOKEN = re.compile(rb"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
_FORBIDDEN_IN_VALUE = re.compile(rb"[\r\n\x00]")


def version_tuple(version: str) -> tuple[int, ...]:
    """``"2.3"`` as ``(2, 3)``, so versions compare; anything unreadable counts as 2.0."""
    try:
        return tuple(int(part) for part in version.split("."))
    except ValueError:
        return (2, 0)


def describe(value: Any) -> str:
    """A short, safe rendering of a value for a finding's text."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def disallowed_values(message: Any, path: str = "") -> list[str]:
    """Paths of values outside the types ASGI events may hold (main§Events)."""
    problems: list[str] = []
    if isinstance(message, bool) or message is None or isinstance(message, str | bytes):
        return problems
    if isinstance(message, int):
        if not _INT64[0] <= message <= _INT64[1]:
            problems.append(f"{path or 'value'}: integer {message} outside the signed 64-bit range")
    elif isinstance(message, float):
        if math.isnan(message) or math.isinf(message):
            problems.append(f"{path or 'value'}: float {message} (NaN and infinities are not allowed)")
    elif isinstance(message, dict):
        for key, value in message.items():
            if not isinstance(key, str):
                problems.append(f"{path or 'message'}: dict key {describe(key)} is not a str")
            problems.extend(disallowed_values(value, f"{path}.{key}" if path else str(key)))
    elif isinstance(message, list | tuple):
        for index, value in enumerate(message):
            problems.extend(disallowed_values(value, f"{path}[{index}]"))
    else:
        problems.append(f"{path or 'value'}: {type(message).__name__} is not an ASGI value type")
    return problems


def tuple_paths(message: Any, iterable_keys: frozenset[str], path: str = "") -> list[str]:
    """Paths of tuples in fields the spec does not type as iterables (main§Events: encode as lists)."""
    found: list[str] = []
    if isinstance(message, dict):
        for key, value in message.items():
            if path or key not in iterable_keys:
                found.extend(tuple_paths(value, iterable_keys, f"{path}.{key}" if path else str(key)))
    elif isinstance(message, list | tuple):
        if isinstance(message, tuple):
            found.append(path or "value")
        for index, value in enumerate(message):
            found.extend(tuple_paths(value, iterable_keys, f"{path}[{index}]"))
    return found


def status_findings(status: Any, check_id: str = "HR-02") -> list[Finding]:
    """The status of a final response: an int from 200 to 599 (1xx responses are interim)."""
    if isinstance(status, bool) or not isinstance(status, int):
        return [_fail(check_id, f"status is {describe(status)} ({type(status).__name__})", "an int")]
    if 100 <= status <= 199:
        return [
            _fail(
                check_id,
                f"status {status} is an interim (1xx) status, but this message carries the final response",
                "a final status, 200-599",
            )
        ]
    if not 200 <= status <= 599:
        return [_fail(check_id, f"status {status} is not a three-digit HTTP status", "200-599")]
    return []


def header_findings(
    headers: Any, check_id: str, *, forbidden: Iterable[bytes] = (), forbidden_why: str = "use the dedicated key"
) -> list[Finding]:
    """Validate an iterable of [name, value] byte-string pairs; ``forbidden`` names fail with ``forbidden_why``."""
    if headers is None:
        return []
    if isinstance(headers, str | bytes | dict) or not isinstance(headers, Iterable):
        return [_fail(check_id, f"headers is {describe(headers)}", "an iterable of [bytes, bytes]")]
    findings: list[Finding] = []
    forbidden_names = set(forbidden)
    for position, pair in enumerate(headers):
        try:
            name, value = pair
        except (TypeError, ValueError):
            findings.append(_fail(check_id, f"headers[{position}] is {describe(pair)}", "a two-item [name, value]"))
            continue
        if not isinstance(name, bytes) or not isinstance(value, bytes):
            findings.append(
                _fail(
                    check_id,
                    f"headers[{position}] is ({type(name).__name__}, {type(value).__name__}): {describe(pair)}",
                    "[bytes, bytes]",
                )
            )
            continue
        findings.extend(_header_bytes_findings(check_id, name, value, forbidden_names, forbidden_why))
    return findings


def _header_bytes_findings(
    check_id: str, name: bytes, value: bytes, forbidden: set[bytes], forbidden_why: str
) -> list[Finding]:
    if name.startswith(b":"):
        return [_fail(check_id, f"pseudo-header {name!r} in headers", "no pseudo-headers")]
    if not _TOKEN.match(name):
        return [_fail(check_id, f"header name {name!r} is not an HTTP token", "token characters")]
    if _FORBIDDEN_IN_VALUE.search(value):
        return [_fail(check_id, f"header {name!r} value contains CR, LF or NUL: {value!r}", "no CR/LF/NUL")]
    if name.lower() in forbidden:
        return [_fail(check_id, f"header {name!r} is not allowed here", forbidden_why)]
    if name != name.lower():
        # Django sends mixed-case names by design and servers lower-case them on
        # the wire, so this is reported without failing (--strict fails it).
        return [Finding(check_id, Verdict.WARN, f"header name {name!r} is not lower-case", "lower-case names")]
    return []


def bytes_field_findings(message: dict[str, Any], key: str, check_id: str) -> list[Finding]:
    """An optional byte-string field: str and other types fail.

    A bytes-like (bytearray, memoryview) is not an ASGI value type: SC-20
    fails it for every field, so it is not reported a second time here.
    """
    if key not in message or message[key] is None and key != "body":
        return []
    value = message[key]
    if isinstance(value, bytes | bytearray | memoryview):
        return []
    return [_fail(check_id, f"{key} is {describe(value)} ({type(value).__name__})", "bytes")]


def utf8_problem(text: str) -> str | None:
    """Why ``text`` cannot be sent as UTF-8 (a lone surrogate), or None."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        return f"{text[error.start : error.end]!r} at index {error.start} cannot be encoded as UTF-8"
    return None


def text_findings(text: Any, key: str, check_id: str) -> list[Finding]:
    """A str field that goes on the wire as UTF-8."""
    if not isinstance(text, str):
        return [_fail(check_id, f"{key} is {describe(text)}", "a str")]
    problem = utf8_problem(text)
    if problem:
        return [_fail(check_id, f"{key} holds a lone surrogate: {problem}", "text that encodes as UTF-8")]
    return []


def bool_field_findings(message: dict[str, Any], key: str, check_id: str) -> list[Finding]:
    if key in message and not isinstance(message[key], bool):
        value = message[key]
        return [_fail(check_id, f"{key} is {describe(value)} ({type(value).__name__})", "a bool")]
    return []


def content_length(headers: Any) -> tuple[int | None, str | None]:
    """The declared Content-Length, or an error text when it is unusable."""
    declared: set[bytes] = set()
    for pair in headers or ():
        try:
            name, value = pair
        except (TypeError, ValueError):
            continue
        if isinstance(name, bytes) and isinstance(value, bytes) and name.lower() == b"content-length":
            declared.add(value.strip())
    if not declared:
        return None, None
    if len(declared) > 1:
        return None, f"conflicting Content-Length values {sorted(declared)}"
    (only,) = declared
    if not only.isdigit():
        return None, f"Content-Length {only!r} is not a number"
    return int(only), None


def has_header(headers: Any, wanted: bytes) -> bool:
    return bool(header_values(headers, wanted))


def header_values(headers: Any, wanted: bytes) -> list[bytes]:
    """Every value of the header ``wanted`` (a lower-case name), in order."""
    values: list[bytes] = []
    if isinstance(headers, str | bytes | dict):
        return values
    try:
        for pair in headers or ():
            try:
                name, value = pair
            except (TypeError, ValueError):
                continue
            if isinstance(name, bytes) and isinstance(value, bytes) and name.lower() == wanted:
                values.append(value)
    except TypeError:
        pass
    return values


# RFC 6455 §7.4: codes an endpoint may send in a Close frame.
_RESERVED_CLOSE_CODES = frozenset({1004, 1005, 1006, 1015})


# RFC 6455 §5.5: a control frame's payload is at most 125 bytes, 2 of them the close code.
_MAX_CLOSE_REASON = 123


def close_code_findings(message: dict[str, Any]) -> list[Finding]:
    code = message.get("code", 1000)
    findings: list[Finding] = []
    if isinstance(code, bool) or not isinstance(code, int):
        findings.append(_fail("WS-12", f"close code is {describe(code)}", "an int"))
    elif code in _RESERVED_CLOSE_CODES or not (1000 <= code <= 1014 or 3000 <= code <= 4999):
        findings.append(
            _fail("WS-12", f"close code {code} may not be sent on the wire", "1000-1003, 1007-1014 or 3000-4999")
        )
    reason = message.get("reason")
    if reason is not None and not isinstance(reason, str):
        findings.append(_fail("WS-12", f"close reason is {describe(reason)}", "a str or None"))
    elif isinstance(reason, str):
        problem = utf8_problem(reason)
        if problem:
            findings.append(_fail("WS-12", f"close reason is not valid UTF-8: {problem}", "a UTF-8 reason"))
        elif len(reason.encode("utf-8")) > _MAX_CLOSE_REASON:
            findings.append(
                _fail(
                    "WS-12",
                    f"close reason is {len(reason.encode('utf-8'))} bytes of UTF-8",
                    f"at most {_MAX_CLOSE_REASON} UTF-8 bytes",
                )
            )
    return findings


def _fail(check_id: str, observed: str, expected: str) -> Finding:
    return Finding(check_id, Verdict.FAIL, observed, expected)


# ", name=" inside one Set-Cookie value: a second cookie joined on. An Expires date's comma is followed by a
# space and a day number ("Wed, 21 Oct"), never by a token and "=", so it does not match.
_JOINED_COOKIE = re.compile(rb",\s*[!#$%&'*+\-.^_`|~0-9A-Za-z]+=")


def joined_set_cookie(headers: Any) -> bytes | None:
    """A Set-Cookie value that looks like two cookies joined by a comma, or None."""
    return next((value for value in header_values(headers, b"set-cookie") if _JOINED_COOKIE.search(value)), None)
