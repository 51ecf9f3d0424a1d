"""A version 1 result file in the version 2 layout, as docs/result-file.md ("Reading asgibench.result/1") says.

Version 1 counted only answered requests in ``requests`` and had the error
kinds refused, reset, timeout, protocol, http_4xx, http_5xx, unsent and other.
``from_v1`` takes a document already checked against ``layouts.RESULT_V1``
and returns a new one (the input is not changed); what version 1 did not
record is empty, zero or null, as the document says. ``migrated_from`` keeps
the version the file was written as.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from asgibench.results.figures import error_rate
from asgibench.results.outcomes import ERROR_KINDS, UNSENT_REASONS

V1 = "asgibench.result/1"
V2 = "asgibench.result/2"
_ANSWERED_ERRORS = ("http_4xx", "http_5xx")  # version 1's errors that were responses: now kind "status"


def from_v1(document: Mapping[str, Any]) -> dict[str, Any]:
    migrated = copy.deepcopy(dict(document))
    migrated["schema"] = V2
    migrated["migrated_from"] = V1
    migrated["summary"] = _summary(document["summary"], document["config"])
    migrated["requests"] = []
    migrated["by_status"] = []
    migrated["timeline"] = [_row(row) for row in document["timeline"]]
    thresholds = document["thresholds"]
    failed = [verdict["threshold"] for verdict in thresholds if not verdict["passed"]]
    migrated["failures"] = [f"threshold {text} failed" for text in failed]  # as the version 2 writer words them
    migrated.setdefault("passed", all(verdict["passed"] for verdict in thresholds))
    return migrated


def _errors(old: Mapping[str, int]) -> dict[str, int]:
    """Version 1's kinds in version 2's: http_4xx and http_5xx become status; the new kinds are 0."""
    errors = dict.fromkeys(ERROR_KINDS, 0)
    for kind, count in old.items():
        if kind == "total":
            continue
        target = "status" if kind in _ANSWERED_ERRORS else kind
        errors[target] = errors.get(target, 0) + count
    return errors


def _summary(old: Mapping[str, Any], config: Mapping[str, Any]) -> dict[str, Any]:
    responses = old["requests"]
    answered_errors = sum(old["errors"][kind] for kind in _ANSWERED_ERRORS)
    ok = max(responses - answered_errors, 0)  # never negative, even if a version 1 file disagreed with itself
    errors = {"total": old["errors"]["total"], **_errors(old["errors"])}
    requests = ok + errors["total"]
    return {
        "requests": requests,
        "scheduled": None,
        "responses": responses,
        "ok": ok,
        "interim": 0,
        "duration_s": old["duration_s"],
        "drain_s": 0.0,
        "rps": old["rps"],
        "ok_rps": old["rps"] * ok / responses if responses else 0.0,
        "offered_rps": config["rate"] if config["model"] == "open" else None,
        "target_behind": None,
        "errors": errors,
        "unsent": dict.fromkeys(UNSENT_REASONS, 0) | {"run_ended": errors["unsent"]},
        "error_rate": error_rate(errors["total"], requests),
        "error_examples": {},
        "statuses": {},
        "bytes_received": old["bytes_received"],
        "bytes_sent": old["bytes_sent"],
        "latency_ms": copy.deepcopy(old["latency_ms"]),
        "service_time_ms": copy.deepcopy(old["service_time_ms"]),
    }


def _row(old: Mapping[str, Any]) -> dict[str, Any]:
    """A timeline row: responses were version 1's requests; requests add the errors that got no answer."""
    kinds = old["errors_by_kind"]
    answered_errors = sum(kinds.get(kind, 0) for kind in _ANSWERED_ERRORS)
    row = dict(old)
    row["responses"] = old["requests"]
    row["requests"] = max(old["requests"] + old["errors"] - answered_errors, 0)
    row["errors_by_kind"] = {kind: count for kind, count in _errors(kinds).items() if count}
    return row
