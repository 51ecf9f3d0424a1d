"""SC-16: did the app change the scope it was handed?

A deep copy is taken before the app runs and compared after. Adding keys is
what routers do (Starlette adds ``app``, ``router``, ``endpoint``...) and is
not reported; replacing a top-level value is noted (INFO); changing a
server-owned container in place (headers, asgi, extensions, client, server)
is a WARN: that object may be shared with the server or other middleware.
"""

from __future__ import annotations

import copy
from typing import Any

from asgibench.conformance.findings import Finding, Verdict

_SERVER_OWNED = ("headers", "asgi", "extensions", "client", "server")


class ScopeWatch:
    def __init__(self, scope: dict[str, Any]) -> None:
        self._values = {key: _copy(value) for key, value in scope.items() if key != "state"}
        self._objects = {key: scope[key] for key in _SERVER_OWNED if key in scope}

    def findings(self, scope: dict[str, Any]) -> list[Finding]:
        findings: list[Finding] = []
        for key, original in self._objects.items():
            if scope.get(key) is original and _plain(original) != _plain(self._values[key]):
                findings.append(
                    Finding(
                        "SC-16", Verdict.WARN, f"scope[{key!r}] was changed in place", "a copy of the scope, changed"
                    )
                )
        replaced = [
            key
            for key, before in self._values.items()
            if key in scope and key not in self._objects and _plain(scope[key]) != _plain(before)
        ]
        removed = [key for key in self._values if key not in scope]
        if replaced or removed:
            parts = []
            if replaced:
                parts.append(f"replaced {', '.join(sorted(replaced))}")
            if removed:
                parts.append(f"removed {', '.join(sorted(removed))}")
            findings.append(Finding("SC-16", Verdict.INFO, f"the app {'; '.join(parts)} in the scope it was given"))
        return findings


def _copy(value: Any) -> Any:
    try:
        return copy.deepcopy(value)
    except Exception:
        return value


def _plain(value: Any) -> Any:
    """Tuples and lists compare alike: only content counts."""
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    return value
