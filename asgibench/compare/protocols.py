"""Which servers can take a comparison's load: the protocols it speaks, against what each server serves. Pure.

A comparison speaks its load's protocol (HTTP/1.1, h2c, WebSocket) and, with
--hold, that of the held streams too: idle WebSockets for a ws:// hold
target, else SSE over HTTP/1.1. A server that lacks one of them is not
launched: it is listed as unsupported, with its plugin's reason, rather than
measured failing at something it never claimed to do.
"""

from __future__ import annotations

from typing import Any

from asgibench.load.config import LoadConfig, Protocol
from asgibench.servers.base import ServerPlugin


def needed(config: LoadConfig) -> tuple[Protocol, ...]:
    """The protocols a server must serve for this load, the load's own first."""
    wanted: list[Protocol] = [config.protocol]
    if config.hold:
        hold_target = config.hold_target or config.target
        wanted.append("websocket" if hold_target.scheme in ("ws", "wss") else "http/1.1")
    return tuple(dict.fromkeys(wanted))


def unsupported_reason(plugin: ServerPlugin, config: LoadConfig) -> str | None:
    """Why ``plugin``'s server cannot take this load (its first missing protocol's reason); None when it can."""
    return next((reason for protocol in needed(config) if (reason := plugin.unsupported(protocol))), None)


def comparison_config(config: LoadConfig) -> dict[str, Any]:
    """The load as every server got it: no target URL (each server had its own port), the held streams' path."""
    described = {**config.describe(), "target": None, "target_source": "each server launched on a free port"}
    if described.get("hold_target") is not None and config.hold_target is not None:
        held = config.hold_target
        described["hold_target"] = None
        described["hold_path"] = f"ws:{held.path}" if held.scheme in ("ws", "wss") else held.path
    return described
