"""Scope dicts the fake server hands the app, built from a scenario."""

from __future__ import annotations

from typing import Any

from asgibench import __version__
from asgibench.conformance.scenarios import Role, Scenario

_CLIENT = ("127.0.0.1", 51234)
_SERVER = ("127.0.0.1", 8000)


def _request_headers(scenario: Scenario) -> list[tuple[bytes, bytes]]:
    headers = [
        (b"host", b"127.0.0.1:8000"),
        (b"user-agent", f"asgibench/{__version__}".encode()),
        (b"accept", b"*/*"),
    ]
    if scenario.route.method in {"POST", "PUT", "PATCH"}:
        headers.append((b"content-type", b"application/json"))
        headers.append((b"content-length", str(scenario.body_length).encode()))
    headers.extend(scenario.extra_headers)
    return headers


def http_scope(scenario: Scenario, state: dict[str, Any] | None) -> dict[str, Any]:
    route = scenario.route
    if scenario.role is Role.MINIMAL_SCOPE:
        # Only what www.rst does not call optional, and one key no spec defines.
        # State stays: its absence is LS-11's question, not this one.
        minimal: dict[str, Any] = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": route.method,
            "path": route.decoded_path,
            "query_string": route.query,
            "headers": _request_headers(scenario),
            "asgibench.unknown_key": {"note": "servers may add keys no spec defines"},
        }
        if state is not None:
            minimal["state"] = state
        return minimal
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": scenario.spec_version},
        "http_version": scenario.http_version,
        "method": route.method,
        "scheme": "http",
        "path": route.decoded_path,
        "raw_path": route.path.encode("latin-1"),
        "query_string": route.query,
        "root_path": "",
        "headers": _request_headers(scenario),
        "client": _CLIENT,
        "server": _SERVER,
        "extensions": {name: {} for name in scenario.extensions},
    }
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


def lifespan_scope() -> dict[str, Any]:
    return {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}, "state": {}}


def unknown_scope() -> dict[str, Any]:
    return {"type": "asgibench.unknown", "asgi": {"version": "3.0"}}
