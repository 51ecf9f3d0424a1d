"""Parsers for what users type: durations, targets, headers. Pure; errors are ValueError.

The caller turns a ValueError into a UsageError naming the flag or the
scenario key the text came from.
"""

from __future__ import annotations

import math
import re
from typing import Literal
from urllib.parse import quote, urlsplit

from asgibench.load.config import Target

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|us|h|m|s)")
_UNIT_SECONDS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(text: str) -> float:
    """``30s``, ``1m30s``, ``500ms``, ``2h`` or a bare number of seconds, as seconds."""
    cleaned = text.strip().lower()
    if not cleaned:
        raise ValueError("empty duration")
    try:
        seconds = float(cleaned)
    except ValueError:
        position, seconds = 0, 0.0
        for match in _DURATION_PART.finditer(cleaned):
            if match.start() != position:
                break
            seconds += float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
            position = match.end()
        if position != len(cleaned) or position == 0:
            raise ValueError(f"{text!r} is not a duration (use e.g. 30s, 1m30s, 500ms)") from None
    if not math.isfinite(seconds):
        raise ValueError(f"{text!r} is not a duration (it must be a finite number of seconds)")
    if seconds < 0:
        raise ValueError(f"{text!r} is not a duration (it must be zero or more)")
    return seconds


def parse_target(text: str) -> Target:
    """``http://host:port/path``, ``https://...``, ``ws(s)://...`` or ``unix:/path/to.sock[:/request-path]``."""
    if text.startswith("unix:"):
        rest = text[len("unix:") :]
        socket_path, _, request_path = rest.partition(":")
        if not socket_path:
            raise ValueError(f"{text!r}: give the socket path, as in unix:/tmp/app.sock")
        return Target(
            url=text, scheme="unix", host="localhost", port=0, path=request_path or "/", unix_path=socket_path
        )
    if "://" not in text:
        raise ValueError(f"{text!r} is not a URL; use http://host:port/path, https://..., ws://... or unix:/path.sock")
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https", "ws", "wss"):
        raise ValueError(f"{text!r}: the scheme must be http, https, ws, wss or unix, not {parts.scheme!r}")
    if not parts.hostname:
        raise ValueError(f"{text!r} has no host")
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"{text!r} has an invalid port") from None
    if port is None:
        port = 443 if parts.scheme in ("https", "wss") else 80
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    parse_path(path)
    scheme: Literal["http", "https", "ws", "wss"] = parts.scheme  # type: ignore[assignment]  # checked above
    return Target(url=text, scheme=scheme, host=parts.hostname, port=port, path=path)


def parse_header(text: str) -> tuple[str, str]:
    """``Name: value`` as a pair; the name must be a valid HTTP token and the value printable ASCII."""
    name, separator, value = text.partition(":")
    name = name.strip()
    if not separator or not name:
        raise ValueError(f"{text!r} is not a header; use 'Name: value'")
    if not re.fullmatch(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+", name):
        raise ValueError(f"{name!r} is not a valid header name")
    if "\r" in value or "\n" in value:
        raise ValueError(f"the value of header {name!r} contains a line break")
    odd = next((character for character in value if not (" " <= character <= "~" or character == "\t")), None)
    if odd is not None:
        raise ValueError(
            f"the value of header {name!r} holds {odd!r}, which is not printable ASCII; "
            "encode it first (percent-encoding or base64, as the server expects)"
        )
    return name, value.strip()


def parse_path(text: str) -> str:
    """A request path: starts with '/', printable ASCII, no spaces (the request line is sent as written)."""
    if not text.startswith("/"):
        raise ValueError(f"{text!r} must start with '/'")
    if any(character in text for character in " \r\n\t"):
        raise ValueError(f"{text!r} contains a space or a line break; percent-encode it (%20)")
    if not text.isascii() or not text.isprintable():
        encoded = quote(text, safe="/?=&%:@!$'()*+,;~-._")
        raise ValueError(f"{text!r} is not printable ASCII; percent-encode it, as in {encoded!r}")
    return text
