"""Result documents (``asgibench.result/2``) built by hand, for the report, compare and gate unit tests.

The counts follow the result file's accounting rule: every request of the window
ends as ok or as one error, so ``requests == ok + errors.total``; a ``status`` or
``check`` error is also a response. Latency blocks are read from a histogram, so
a document's summary and its histograms agree.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hdrh.histogram import HdrHistogram

SCHEMA = "asgibench.result/2"
ERROR_KINDS = (
    "status", "check", "refused", "reset", "timeout", "truncated", "protocol", "tls", "other", "unsent", "abandoned",
)  # fmt: skip
PERCENTILES = {"p50": 50.0, "p75": 75.0, "p90": 90.0, "p95": 95.0, "p99": 99.0, "p999": 99.9, "p9999": 99.99}


def histogram_of(values_us: Sequence[int]) -> HdrHistogram:
    histogram = HdrHistogram(1, 3_600_000_000, 3)
    for value in values_us:
        histogram.record_value(value)
    return histogram


def latency_of(histogram: HdrHistogram) -> dict[str, Any] | None:
    """A ``latency_ms`` block as the load side writes it; None for an empty histogram (no response)."""
    count = histogram.get_total_count()
    if count == 0:
        return None
    block: dict[str, Any] = {key: histogram.get_value_at_percentile(at) / 1000 for key, at in PERCENTILES.items()}
    block |= {
        "min": histogram.get_min_value() / 1000,
        "mean": histogram.get_mean_value() / 1000,
        "max": histogram.get_max_value() / 1000,
        "stdev": histogram.get_stddev() / 1000,
        "count": count,
        "percentiles": {f"{at:g}": histogram.get_value_at_percentile(at) / 1000 for at in PERCENTILES.values()},
    }
    return block


def errors_block(kinds: Mapping[str, int] | None = None) -> dict[str, int]:
    kinds = dict(kinds or {})
    unknown = set(kinds) - set(ERROR_KINDS)
    assert not unknown, f"not v2 error kinds: {unknown}"
    return {"total": sum(kinds.values()), **{kind: kinds.get(kind, 0) for kind in ERROR_KINDS}}


@dataclass(frozen=True, slots=True)
class Counts:
    """The counts of a window (or of one named request), by the accounting rule."""

    requests: int
    responses: int
    ok: int
    errors: dict[str, int]
    statuses: dict[str, int]

    @classmethod
    def of(cls, responses: int, errors: Mapping[str, int] | None = None) -> Counts:
        """``responses`` answered (status errors among them, answered 500), plus the unanswered errors."""
        block = errors_block(errors)
        ok = responses - block["status"] - block["check"]
        assert ok >= 0, "more status and check errors than responses"
        statuses = {"200": ok + block["check"]} if ok + block["check"] else {}
        if block["status"]:
            statuses["500"] = block["status"]
        return cls(ok + block["total"], responses, ok, block, statuses)

    @property
    def error_rate(self) -> float:
        return self.errors["total"] / self.requests if self.requests else 0.0


@dataclass(frozen=True, slots=True)
class Named:
    """One named request: its ``requests`` entry and its histograms entry."""

    entry: dict[str, Any]
    histograms: dict[str, Any]


def named(
    name: str,
    *,
    rps: float,
    duration_s: float = 3.0,
    values_us: Sequence[int] | None = None,
    errors: Mapping[str, int] | None = None,
    latency: Mapping[str, float] | None = None,
) -> Named:
    """A named request answering ``rps`` per second for ``duration_s``, its latency from ``values_us``.

    ``latency`` overrides the latency block (and leaves the histogram out), for gate tests that set a p99.
    """
    responses = round(rps * duration_s)
    counts = Counts.of(responses, errors)
    histogram = histogram_of(values_us or [1000] * min(responses, 100))
    block = dict(latency) if latency is not None else latency_of(histogram)
    entry = {
        "name": name, "method": "GET", "path": f"/{name}",
        "requests": counts.requests, "responses": counts.responses, "ok": counts.ok,
        "rps": rps, "ok_rps": rps * counts.ok / responses if responses else 0.0, "error_rate": counts.error_rate,
        "errors": counts.errors, "unsent": {"queue_full": 0, "run_ended": counts.errors["unsent"], "interrupted": 0},
        "statuses": counts.statuses, "checks": [],
        "latency_ms": block, "service_time_ms": None,
    }  # fmt: skip
    encoded = histogram.encode().decode() if latency is None and responses else None
    return Named(entry, {"name": name, "latency": encoded, "service_time": None})


def timeline_row(
    second: int,
    *,
    requests: int = 100,
    responses: int | None = None,
    rps: float | None = None,
    errors_by_kind: Mapping[str, int] | None = None,
    **latency_ms: float | None,
) -> dict[str, Any]:
    """One second of a timeline; ``latency_ms`` as columns (``p99_ms=1.2``), the others null."""
    kinds = dict(errors_by_kind or {})
    answered = responses if responses is not None else requests - sum(kinds.values())
    columns = {f"{key}_ms": None for key in ("p50", "p90", "p99", "p999", "max")} | latency_ms
    return {
        "second": second, "start_s": float(second), "end_s": float(second + 1),
        "requests": requests, "responses": answered, "rps": float(answered) if rps is None else rps,
        "errors": sum(kinds.values()), "errors_by_kind": kinds, "bytes_received": 0, **columns,
        "generator_cpu": 0.3, "generator_lag_max_ms": 0.5, "generator_rss_mib": 40.0,
    }  # fmt: skip


def result_document(
    *,
    rps: float = 1000.0,
    duration_s: float = 3.0,
    model: str = "closed",
    rate: float | None = None,
    values_us: Sequence[int] | None = None,
    errors: Mapping[str, int] | None = None,
    requests: Sequence[Named] = (),
    server: str | None = None,
    bottleneck: bool = False,
    reasons: Sequence[str] = (),
    offered_rps: float | None = None,
    target_behind: bool | None = None,
    timeline: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A complete v2 result: ``rps`` responses a second for ``duration_s`` s, latency from ``values_us`` (µs).

    The open model offers ``offered_rps`` (default ``rate``, default ``rps``); ``target_behind`` defaults to
    the doc's rule (achieved under 95% of offered, generator not the bottleneck).
    """
    responses = round(rps * duration_s)
    counts = Counts.of(responses, errors)
    histogram = histogram_of(values_us or [1000] * 98 + [5000] * 2)
    latency = latency_of(histogram) if responses else None
    open_model = model == "open"
    if open_model:
        offered_rps = offered_rps if offered_rps is not None else rate if rate is not None else rps
        if target_behind is None:
            target_behind = rps < 0.95 * offered_rps and not bottleneck
    else:
        offered_rps = target_behind = None
    seconds = max(1, round(duration_s))
    each = {kind: count // seconds for kind, count in counts.errors.items() if kind != "total" and count}
    columns = {f"{key}_ms": (latency or {}).get(key) for key in ("p50", "p90", "p99", "p999", "max")}
    rows = timeline
    if rows is None:
        rows = [
            timeline_row(second, requests=counts.requests // seconds, responses=responses // seconds, rps=rps,
                         errors_by_kind=each, **columns)
            for second in range(seconds)
        ]  # fmt: skip
    failures = [] if counts.ok else [f"no request succeeded ({counts.errors['total']} errors)"]
    document: dict[str, Any] = {
        "schema": SCHEMA,
        "created": "2026-11-30T15:24:54+00:00",
        "partial": False,
        "partial_reason": None,
        "environment": {
            "asgibench": "0.2.0", "python": "3.11.7", "implementation": "cpython", "os": "Linux",
            "machine": "x86_64", "cpu_model": "Test CPU", "cpu_count": 2, "cpus_usable": 2, "hostname": "test",
            "server": None,
        },
        "config": {
            "target": "http://127.0.0.1:8000/", "target_source": "TARGET", "scenario": None, "model": model,
            "vus": None if open_model else 8, "rate": offered_rps if open_model and rate is None else rate,
            "duration_s": duration_s, "warmup_s": 1.0, "timeout_s": 10.0, "drain_s": 1.0, "think_s": 0.0,
            "workers": 1, "connections": 0, "max_connections": 1024, "stages": [],
            "requests": [
                {"name": one.entry["name"], "method": "GET", "path": one.entry["path"], "headers": [],
                 "body_bytes": 0, "weight": 1.0, "expect": {"status": ["2xx", "3xx"], "body_contains": None,
                                                            "headers": {}}}
                for one in requests
            ],
            "thresholds": [],
        },
        "summary": {
            "requests": counts.requests,
            "scheduled": counts.requests if open_model else None,
            "responses": responses,
            "ok": counts.ok,
            "interim": 0,
            "duration_s": duration_s,
            "drain_s": 0.0,
            "rps": rps,
            "ok_rps": rps * counts.ok / responses if responses else 0.0,
            "offered_rps": offered_rps,
            "target_behind": target_behind,
            "errors": counts.errors,
            "unsent": {"queue_full": 0, "run_ended": counts.errors["unsent"], "interrupted": 0},
            "error_rate": counts.error_rate,
            "error_examples": {},
            "statuses": counts.statuses,
            "bytes_received": 0,
            "bytes_sent": 0,
            "latency_ms": latency,
            "service_time_ms": copy.deepcopy(latency) if open_model else None,
        },
        "requests": [one.entry for one in requests],
        "histograms": {
            "encoding": "hdrhistogram-v2-compressed-base64", "unit": "us", "lowest": 1, "highest": 3_600_000_000,
            "significant_digits": 3,
            "latency": histogram.encode().decode() if responses else None,
            "service_time": None,
            "requests": [one.histograms for one in requests],
        },
        "timeline": rows,
        "generator": {
            "workers": 1, "cpu_seconds": [0.9], "cpu_fraction": [0.3], "loop_lag_ms": None, "send_lateness_ms": None,
            "connections_opened": 8, "bottleneck": bottleneck,
            "reasons": list(reasons) or (["the generator was the bottleneck"] if bottleneck else []),
            "worker_failures": [],
        },
        "thresholds": [],
        "passed": not failures,
        "failures": failures,
    }  # fmt: skip
    if server is not None:
        document["server"] = {
            "name": server, "version": "1.0", "cpu_fraction": 0.5, "cpu_seconds": 1.5, "peak_rss_mib": 40.0,
        }  # fmt: skip
    return document


def with_statuses(document: dict[str, Any], **latencies_us: list[int]) -> dict[str, Any]:
    """``document`` with a latency table and histogram per status code (``s503=[...]`` for 503)."""
    codes = {name.removeprefix("s"): values for name, values in latencies_us.items()}
    document["by_status"] = [
        {"status": code, "responses": len(values), "latency_ms": latency_of(histogram_of(values))}
        for code, values in codes.items()
    ]
    document["histograms"]["by_status"] = [
        {"status": code, "latency": histogram_of(values).encode().decode()} for code, values in codes.items()
    ]
    return document
