"""The metric registry: every figure a command compares, with where it is read, its unit and which way is better.

thresholds (``load --threshold``), gate (``--metric``), compare's table and the
report all name figures from here, so ``p99`` means the same thing to each.
A metric reads a ``Result`` (asgibench.results.model). A figure of the
requests (latency, rates, errors) is read from a ``Counts`` record, the
whole run's summary or one named request's entry, so it can be tagged as in
k6: ``p99{name:slow}`` reads the request named ``slow``, and a latency
``p99{status:200}`` the latency of that status code's responses.

``per_second`` reads the metric from each second of the timeline: with one
run a side it is the only spread left to judge noise by (asgibench.results.noise).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from asgibench.results.figures import error_rate
from asgibench.results.model import Counts, Latency, Result, Second, Summary
from asgibench.results.noise import Scale

Direction = Literal["lower", "higher"]
Unit = Literal["ms", "rps", "fraction", "cores", "us", "MiB", "count"]

LATENCY_KEYS = ("p50", "p75", "p90", "p95", "p99", "p999", "min", "max", "mean")
# Per-second columns of the timeline, by latency key (the timeline has no p75, p95 or mean).
TIMELINE_LATENCY = {"p50": "p50_ms", "p90": "p90_ms", "p99": "p99_ms", "p999": "p999_ms", "max": "max_ms"}
ALIASES = {"p99.9": "p999", "service_p99.9": "service_p999", "throughput": "rps"}


@dataclass(frozen=True, slots=True)
class Metric:
    """One comparable figure of a run: of the whole run, or of one named request or status code."""

    name: str
    label: str  # as a sentence names it: "p99 latency"
    short: str  # as a table's header names it: "p99 ms"
    unit: Unit
    direction: Direction
    scale: Scale  # how a change is measured: relative, or a difference (error rate: its baseline is usually 0)
    # The figure in a Counts record (summary or named request); None for a figure of the server.
    of_counts: Callable[[Counts], float | None] | None = None
    # The figure of a launched server (compare); used when ``of_counts`` is None.
    of_server: Callable[[Result], float | None] | None = None
    # One run's per-second values, or None when the timeline does not carry this metric.
    per_second: Callable[[Sequence[Second]], list[float]] | None = None
    latency_key: str | None = None  # "p99" for a latency metric: what a {status:...} tag reads
    service_time: bool = False  # service time (open model only)
    request: str | None = None  # the named request it is tagged with, or None for the whole run
    status: str | None = None  # the status code it is tagged with (latencies only), or None

    def worse_by(self, change: float) -> float:
        """The change signed so that positive is worse, whichever way the metric improves."""
        return change if self.direction == "lower" else -change

    def value(self, result: Result) -> float | None:
        """The whole-run figure of ``result``; None when the run lacks it (or the named request, or the status)."""
        if self.status is not None:
            entry = result.status(self.status)
            table = None if entry is None else entry.latency_ms
            return None if table is None or self.latency_key is None else table.get(self.latency_key)
        if self.request is not None:
            named = result.named(self.request)
            return None if named is None or self.of_counts is None else self.of_counts(named)
        if self.of_counts is not None:
            return self.of_counts(result.summary)
        return None if self.of_server is None else self.of_server(result)

    def seconds(self, result: Result) -> list[float]:
        """The run's per-second values of this metric (empty for a tagged metric: the timeline is the run's)."""
        if self.per_second is None or self.request is not None or self.status is not None:
            return []
        return self.per_second(result.timeline)

    def tagged(self, tag: Literal["name", "status"], value: str) -> Metric:
        """This metric of one named request or one status code."""
        return dataclasses.replace(
            self,
            name=f"{self.name}{{{tag}:{value}}}",
            label=f"{self.label} {{{tag}:{value}}}",
            short=f"{self.short} {{{tag}:{value}}}",
            request=value if tag == "name" else None,
            status=value if tag == "status" else None,
        )


def _latency(key: str, service: bool) -> Callable[[Counts], float | None]:
    def read(counts: Counts) -> float | None:
        table: Latency | None = counts.service_time_ms if service else counts.latency_ms
        return None if table is None else table.get(key)

    return read


def _timing(field: str, key: str) -> Callable[[Counts], float | None]:
    """A stream or handshake timing (Summary.first_byte_ms, gap_ms, handshake_ms): the whole run's only."""

    def read(counts: Counts) -> float | None:
        table = getattr(counts, field) if isinstance(counts, Summary) else None
        return None if table is None else table.get(key)

    return read


def _messages_rate(counts: Counts) -> float | None:
    messages = counts.messages if isinstance(counts, Summary) else None
    return None if messages is None else messages.received_per_s


def _events_rate(counts: Counts) -> float | None:
    events = counts.stream_events if isinstance(counts, Summary) else None
    return None if events is None else events.events_per_s


def _held(field: str) -> Callable[[Counts], float | None]:
    def read(counts: Counts) -> float | None:
        held = counts.held if isinstance(counts, Summary) else None
        return None if held is None else float(getattr(held, field))

    return read


def _column(column: str) -> Callable[[Sequence[Second]], list[float]]:
    def read(timeline: Sequence[Second]) -> list[float]:
        return [value for row in timeline if (value := row.latency_ms.get(column)) is not None]

    return read


def _rates(timeline: Sequence[Second]) -> list[float]:
    return [row.rps for row in timeline]


def _error_rates(timeline: Sequence[Second]) -> list[float]:
    # A row's requests count every outcome that ended in it, errors included, as the summary's do.
    return [error_rate(row.errors, row.requests) for row in timeline if row.requests]


def _server_cpu(result: Result) -> float | None:
    return None if result.server is None else result.server.cpu_fraction


def _server_memory(result: Result) -> float | None:
    return None if result.server is None else result.server.peak_rss_mib


def cpu_per_response_us(result: Result) -> float | None:
    """The server's CPU per response (µs): fair when servers answered different numbers of requests.

    Per response, not per request: requests the server never received (unsent, refused) cost it nothing.
    """
    if result.server is None or result.server.cpu_seconds is None or not result.summary.responses:
        return None
    return result.server.cpu_seconds / result.summary.responses * 1e6


def _catalogue() -> dict[str, Metric]:
    metrics: dict[str, Metric] = {}
    for key in LATENCY_KEYS:
        column = TIMELINE_LATENCY.get(key)
        shown = "p99.9" if key == "p999" else key
        metrics[key] = Metric(
            name=key,
            label=f"{shown} latency",
            short=f"{shown} ms",
            unit="ms",
            direction="lower",
            scale="relative",
            of_counts=_latency(key, service=False),
            per_second=_column(column) if column else None,
            latency_key=key,
        )
        metrics[f"service_{key}"] = Metric(
            name=f"service_{key}",
            label=f"{shown} service time",
            short=f"{shown} service ms",
            unit="ms",
            direction="lower",
            scale="relative",
            of_counts=_latency(key, service=True),
            service_time=True,
        )
    metrics["rps"] = Metric(
        name="rps",
        label="requests/s",
        short="req/s",
        unit="rps",
        direction="higher",
        scale="relative",
        of_counts=lambda counts: counts.rps,  # achieved: completions inside the window over the window
        per_second=_rates,
    )
    metrics["error_rate"] = Metric(
        name="error_rate",
        label="error rate",
        short="errors",
        unit="fraction",
        direction="lower",
        scale="difference",
        of_counts=lambda counts: counts.error_rate,
        per_second=_error_rates,
    )
    for name, label, read in (
        ("requests", "requests", lambda counts: float(counts.requests)),
        ("errors", "errors", lambda counts: float(counts.errors.total)),
    ):
        metrics[name] = Metric(
            name=name, label=label, short=label, unit="count", direction="lower", scale="relative", of_counts=read
        )
    metrics["requests"] = dataclasses.replace(metrics["requests"], direction="higher")
    for prefix, field, label in (
        ("first_byte", "first_byte_ms", "time to first byte"),
        ("gap", "gap_ms", "gap between stream reads"),
        ("handshake", "handshake_ms", "WebSocket handshake"),
    ):
        for key in ("p50", "p90", "p99", "p999", "max"):
            shown = "p99.9" if key == "p999" else key
            metrics[f"{prefix}_{key}"] = Metric(
                name=f"{prefix}_{key}",
                label=f"{shown} {label}",
                short=f"{prefix.replace('_', ' ')} {shown} ms",
                unit="ms",
                direction="lower",
                scale="relative",
                of_counts=_timing(field, key),
            )
    metrics["messages_rps"] = Metric(
        name="messages_rps", label="WebSocket messages received/s", short="msg/s", unit="rps",
        direction="higher", scale="relative", of_counts=_messages_rate,
    )  # fmt: skip
    metrics["events_rps"] = Metric(
        name="events_rps", label="SSE events/s", short="events/s", unit="rps",
        direction="higher", scale="relative", of_counts=_events_rate,
    )  # fmt: skip
    metrics["held"] = Metric(
        name="held", label="streams held", short="held", unit="count",
        direction="higher", scale="relative", of_counts=_held("held"),
    )  # fmt: skip
    metrics["dropped"] = Metric(
        name="dropped", label="streams dropped", short="dropped", unit="count",
        direction="lower", scale="difference", of_counts=_held("dropped"),
    )  # fmt: skip
    server: tuple[tuple[str, str, str, Unit, Callable[[Result], float | None]], ...] = (
        ("server_cpu", "server CPU (cores busy)", "CPU cores", "cores", _server_cpu),
        ("server_cpu_per_request_us", "server CPU per response", "CPU µs/req", "us", cpu_per_response_us),
        ("server_peak_rss_mib", "server peak memory", "memory MiB", "MiB", _server_memory),
    )
    for name, label, short, unit, read_server in server:
        metrics[name] = Metric(
            name=name, label=label, short=short, unit=unit, direction="lower", scale="relative", of_server=read_server
        )
    return metrics


METRICS = _catalogue()
# What the gate may judge: rates and latencies of the requests (counts depend on the run's length; a
# server's own usage is compare's).
GATE_METRICS = tuple(
    name for name, metric in METRICS.items() if metric.of_counts is not None and metric.unit != "count"
)
PERCENTILE = re.compile(r"^(service_)?p(\d{1,2}(?:\.\d+)?|100)$")


def metric(name: str) -> Metric:
    """The metric ``name``: a catalogued one (or an alias: ``p99.9``, ``throughput``), or any latency
    percentile, ``p99.99`` or ``service_p75.5``, as thresholds allow; KeyError when there is none."""
    key = ALIASES.get(name, name)
    if key in METRICS:
        return METRICS[key]
    found = PERCENTILE.match(key)
    if found is None:
        raise KeyError(name)
    service, percentile = found.group(1) is not None, f"p{float(found.group(2)):g}"
    shown = f"{percentile} service time" if service else f"{percentile} latency"
    return Metric(
        name=key,
        label=shown,
        short=f"{percentile} ms",
        unit="ms",
        direction="lower",
        scale="relative",
        of_counts=_latency(percentile, service),
        latency_key=percentile,
        service_time=service,
    )
