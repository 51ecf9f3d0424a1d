"""Thresholds (``p99<50ms``, ``error_rate<0.1%``, ``p99{name:login}<80ms``, ``p99{status:200}<20ms``). Pure.

A threshold names a metric of the run's summary, a comparison and a limit
with its unit. Latencies are compared in milliseconds, rates as fractions.
As in k6, a metric may be narrowed to one named request with a tag,
``{name:...}``; it then reads that request's figures in the result's
per-name table instead of the whole run's. A latency may also be narrowed to
the responses of one status code, ``{status:200}``; with no such response it
holds (as in k6, a sub-metric without data breaks no threshold).
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from asgibench.results.metrics import metric as registry_metric
from asgibench.results.model import Counts, Latency, Summary

_OPERATORS: dict[str, Callable[[float, float], bool]] = {
    "<=": operator.le,
    ">=": operator.ge,
    "<": operator.lt,
    ">": operator.gt,
}
_SYNTAX = re.compile(r"^\s*([a-z_][a-z0-9_.]*)\s*(\{[^{}]*\})?\s*(<=|>=|<|>)\s*([0-9]*\.?[0-9]+)\s*([a-z%]*)\s*$")
_TAG = re.compile(r"^\{\s*(name|status)\s*:(.+)\}$")
_LATENCY_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}
_LATENCY_NAMES = {"min", "mean", "max"}
_PERCENTILE = re.compile(r"^p(\d{1,2}(?:\.\d+)?|100)$")

METRICS_HELP = (
    "metrics: p50 p90 p99 p99.9 (any pNN), min, mean, max, service_p99 (open model), rps, requests, errors, "
    "error_rate; any of them for one named request as metric{name:NAME}; a latency for one status code as "
    "p99{status:200}; streams and messages: first_byte_p99, gap_p99, gap_max, handshake_p99 (p50 p90 p99 p999 "
    "max), messages_rps, events_rps, held, dropped"
)
# Figures of the whole run beyond requests (asgibench.results.metrics), by their unit.
STREAM_METRICS = {
    **{f"{prefix}_{key}": "ms" for prefix in ("first_byte", "gap", "handshake")
       for key in ("p50", "p90", "p99", "p999", "max")},
    "messages_rps": "count",
    "events_rps": "count",
    "held": "count",
    "dropped": "count",
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Threshold:
    text: str
    metric: str  # a latency ("p99", "service_p99", "max"), "rps", "requests", "errors" or "error_rate"
    comparison: str
    limit: float  # milliseconds for latencies, a fraction for error_rate, a number otherwise
    unit: str  # "ms", "fraction" or "count"
    name: str | None = None  # {name:...}: one named request's figures instead of the run's
    status: str | None = None  # {status:...}: the latency of the responses with that code

    @property
    def can_abort(self) -> bool:
        """Whether a breach part-way through a run already decides it (throughput is judged at the end)."""
        return self.metric not in ("rps", "requests")

    def holds(self, observed: float) -> bool:
        return _OPERATORS[self.comparison](observed, self.limit)


@dataclass(frozen=True, slots=True)
class Verdict:
    threshold: Threshold
    observed: float | None
    passed: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "threshold": self.threshold.text,
            "metric": self.threshold.metric,
            "name": self.threshold.name,
            "status": self.threshold.status,
            "comparison": self.threshold.comparison,
            "limit": self.threshold.limit,
            "unit": self.threshold.unit,
            "observed": self.observed,
            "passed": self.passed,
        }


def parse_threshold(text: str) -> Threshold:
    match = _SYNTAX.match(text.lower())
    if not match:
        raise ValueError(f"{text!r} is not a threshold; write it as metric, comparison, limit: 'p99<50ms'")
    metric, tag, comparison, number, unit = match.groups()
    name = status = None
    if tag:
        tagged = _TAG.match(_original_tag(text))
        if not tagged or not tagged.group(2).strip():
            raise ValueError(
                f"{text!r}: a tag narrows a metric to one named request or status code, as in p99{{name:login}}<80ms"
            )
        if tagged.group(1) == "name":
            name = tagged.group(2).strip()
        else:
            status = tagged.group(2).strip()
            if not (status.isdigit() and len(status) == 3) or metric.startswith("service_"):
                raise ValueError(f"{text!r}: a status tag narrows a latency to one code, as in p99{{status:200}}<20ms")
    limit = float(number)
    latency_name = metric.removeprefix("service_")
    if _PERCENTILE.match(latency_name) or latency_name in _LATENCY_NAMES:
        if unit not in _LATENCY_UNITS:
            raise ValueError(f"{text!r}: give the latency a unit, us, ms or s (as in {metric}<50ms)")
        return Threshold(text, metric, comparison, limit * _LATENCY_UNITS[unit], "ms", name, status)
    if status is not None:
        raise ValueError(f"{text!r}: a status tag narrows a latency to one code, as in p99{{status:200}}<20ms")
    if metric == "error_rate":
        if unit == "%":
            limit /= 100
        elif unit:
            raise ValueError(f"{text!r}: error_rate takes a percentage (0.1%) or a fraction (0.001)")
        return Threshold(text, metric, comparison, limit, "fraction", name)
    if metric in ("rps", "requests", "errors"):
        if unit:
            raise ValueError(f"{text!r}: {metric} takes a plain number, no unit")
        return Threshold(text, metric, comparison, limit, "count", name)
    if metric in STREAM_METRICS:
        if name is not None:
            raise ValueError(f"{text!r}: {metric} is a figure of the whole run; it takes no name tag")
        if STREAM_METRICS[metric] == "ms":
            if unit not in _LATENCY_UNITS:
                raise ValueError(f"{text!r}: give the time a unit, us, ms or s (as in {metric}<50ms)")
            return Threshold(text, metric, comparison, limit * _LATENCY_UNITS[unit], "ms")
        if unit:
            raise ValueError(f"{text!r}: {metric} takes a plain number, no unit")
        return Threshold(text, metric, comparison, limit, "count")
    raise ValueError(f"{text!r}: unknown metric {metric!r} ({METRICS_HELP})")


def _original_tag(text: str) -> str:
    """The {...} part as typed: request names keep their case (the metric does not)."""
    start, end = text.find("{"), text.find("}")
    return text[start : end + 1]


def observe(
    threshold: Threshold,
    summary: Counts,
    requests: Sequence[Mapping[str, Any]] = (),
    statuses: Sequence[Mapping[str, Any]] = (),
) -> float | None:
    """The value of the threshold's metric in the run's counts, or in its request's or status's row (None: missing).

    The metric is read as the registry reads it (asgibench.results.metrics), so ``p99`` here is gate's ``p99``.
    """
    metric = registry_metric(threshold.metric)
    if threshold.status is not None:
        row = next((row for row in statuses if row.get("status") == threshold.status), None)
        table = None if row is None else Latency.from_json(row.get("latency_ms"))
        return None if table is None or metric.latency_key is None else table.get(metric.latency_key)
    counts: Counts | None = summary
    if threshold.name is not None:
        named = next((row for row in requests if row.get("name") == threshold.name), None)
        counts = None if named is None else Counts.of(named)
    if counts is None or metric.of_counts is None:
        return None
    return metric.of_counts(counts)


def evaluate(
    thresholds: tuple[Threshold, ...],
    summary: Mapping[str, Any],
    requests: Sequence[Mapping[str, Any]] = (),
    statuses: Sequence[Mapping[str, Any]] = (),
) -> list[Verdict]:
    """Every threshold judged on a result's summary (read once into Counts) and its per-name and per-status rows."""
    counts = Summary.from_json(summary)  # a Summary: stream and message figures are read from it too
    verdicts = []
    for threshold in thresholds:
        observed = observe(threshold, counts, requests, statuses)
        if observed is None and threshold.status is not None:
            verdicts.append(Verdict(threshold, None, True))  # no response with that code: nothing to break it
            continue
        verdicts.append(Verdict(threshold, observed, observed is not None and threshold.holds(observed)))
    return verdicts


def percentiles_wanted(thresholds: tuple[Threshold, ...]) -> set[float]:
    """Percentiles the thresholds need beyond the standard ones a summary always has."""
    wanted = set()
    for threshold in thresholds:
        name = threshold.metric.removeprefix("service_")
        if _PERCENTILE.match(name):
            wanted.add(float(name[1:]))
    return wanted


def percentile_key(percentile: float) -> str:
    """How summaries name a percentile: 99.9 as "99.9", 50.0 as "50"."""
    return f"{percentile:g}"
