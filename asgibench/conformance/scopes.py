"""Scope dicts the fake server hands the app, built from a scenario."""

from __future__ import annotations

from typing import Any

from asgibench import __version__
from asgibench.conformance.scenarios import Role, Scenario, Variation

_CLIENT = ("127.0.0.1", 51234)
_SERVER = ("127.0.0.1", 8000)
_IPV6_CLIENT = ("::1", 51234)
_IPV6_SERVER = ("::1", 8000)
# A server listening on a unix socket gives its path and no port (spec 2.2), and has no IP peer.
_UNIX_SERVER = ("/run/asgibench.sock", None)
# A key no spec defines, as servers may add to scopes and events: it should not raise.
UNKNOWN_KEY = "asgibench.unknown_key"
UNKNOWN_VALUE = "servers may add keys no spec defines"


def _request_headers(scenario: Scenario) -> list[tuple[bytes, bytes]]:
    headers = [
        (b"host", b"127.0.0.1:8000"),
        (b"user-agent", f"asgibench/{__version__}".encode()),
        (b"accept", b"*/*"),
    ]
    if scenario.method in {"POST", "PUT", "PATCH"}:
        headers.append((b"content-type", b"application/json"))
        headers.append((b"content-length", str(scenario.body_length).encode()))
    headers.extend(scenario.extra_headers)
    if scenario.variation is Variation.MIXED_CASE:
        # Names as an HTTP/1.1 client spelled them: the spec asks servers to keep their case where they can.
        headers = [(_title_case(name), value) for name, value in headers]
    return headers


def _title_case(name: bytes) -> bytes:
    return b"-".join(part[:1].upper() + part[1:] for part in name.split(b"-"))


def http_scope(scenario: Scenario, state: dict[str, Any] | None) -> dict[str, Any]:
    route = scenario.route
    if scenario.role is Role.MINIMAL_SCOPE:
        # Only what www.rst does not call optional, and one key no spec defines.
        # State stays: its absence is LS-11's question, not this one.
        minimal: dict[str, Any] = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": scenario.method,
            "path": scenario.path,
            "query_string": route.query,
            "headers": _request_headers(scenario),
            UNKNOWN_KEY: {"note": UNKNOWN_VALUE},
        }
        if state is not None:
            minimal["state"] = state
        return minimal
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": scenario.spec_version},
        "http_version": scenario.http_version,
        "method": scenario.method,
        "scheme": "http",
        "path": scenario.path,
        "raw_path": scenario.raw_path.encode("latin-1"),
        "query_string": route.query,
        "root_path": "",
        "headers": _request_headers(scenario),
        "client": _CLIENT,
        "server": _SERVER,
        "extensions": {name: {} for name in scenario.extensions},
    }
    if scenario.role is Role.NO_ASGI_VERSION:
        # "If missing, the version should default to 2.0"; a missing spec_version means 2.0 as well.
        scope["asgi"] = {}
    if scenario.variation is Variation.MIXED_CASE:
        scope["client"], scope["server"] = _IPV6_CLIENT, _IPV6_SERVER
    elif scenario.variation is Variation.UNIX_SOCKET_HTTP2:
        scope["client"], scope["server"] = None, _UNIX_SERVER
    if state is not None:
        scope["state"] = state
    return scope


def _websocket_headers(scenario: Scenario) -> list[tuple[bytes, bytes]]:
    headers = [
        (b"host", b"127.0.0.1:8000"),
        (b"upgrade", b"websocket"),
        (b"connection", b"Upgrade"),
        (b"sec-websocket-key", b"dGhlIHNhbXBsZSBub25jZQ=="),
        (b"sec-websocket-version", b"13"),
    ]
    if scenario.subprotocols:
        headers.append((b"sec-websocket-protocol", ", ".join(scenario.subprotocols).encode()))
    return headers


def websocket_scope(scenario: Scenario, state: dict[str, Any] | None) -> dict[str, Any]:
    route = scenario.route
    if scenario.role is Role.WEBSOCKET_MINIMAL:
        # Only what www.rst does not call optional, and one key no spec defines; no spec_version means 2.0.
        # query_string stays: the HTTP scope requires it and every server sends it, though the WebSocket
        # section calls it optional. State stays, as in the HTTP minimal scope: its absence is LS-11's question.
        minimal: dict[str, Any] = {
            "type": "websocket",
            "asgi": {"version": "3.0"},
            "path": route.decoded_path,
            "query_string": route.query,
            "headers": _websocket_headers(scenario),
            UNKNOWN_KEY: {"note": UNKNOWN_VALUE},
        }
        if state is not None:
            minimal["state"] = state
        return minimal
    scope: dict[str, Any] = {
        "type": "websocket",
        "asgi": {"version": "3.0", "spec_version": scenario.spec_version},
        "http_version": "1.1",
        "scheme": "ws",
        "path": route.decoded_path,
        "raw_path": route.path.encode("latin-1"),
        "query_string": route.query,
        "root_path": "",
        "headers": _websocket_headers(scenario),
        "client": _CLIENT,
        "server": _SERVER,
        "subprotocols": list(scenario.subprotocols),
        "extensions": {name: {} for name in scenario.extensions},
    }
    if state is not None:
        scope["state"] = state
    return scope


def lifespan_scope(*, with_state: bool = True) -> dict[str, Any]:
    """The lifespan scope; without ``state`` it is a server that does not support the feature."""
    scope: dict[str, Any] = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}}
    if with_state:
        scope["state"] = {}
    return scope


def unknown_scope() -> dict[str, Any]:
    return {"type": "asgibench.unknown", "asgi": {"version": "3.0"}}
