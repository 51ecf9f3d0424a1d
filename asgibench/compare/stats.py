"""Per-server figures over repeated runs, and who is best at what. Pure.

Each column is a metric of the registry (asgibench.results.metrics), summarised
by its median and its range over the measured runs (the median resists one
disturbed run; the range shows how much runs disagree); the runs' own values
are kept, so that the standings can judge noise.

A server is called the best of a column only when it differs from each other
server beyond the noise, by the one rule gate and report use
(asgibench.results.noise); a server that does not is marked as tied (≈) with
the best: the difference is within the noise of this machine.

A server whose runs were generator-bound, overloaded (the target fell behind
the offered rate), partial, mostly failing or failed is never called the best:
its figures do not measure what the others do. It keeps its numbers, marked
with the reason (``marks``), and is compared against the best eligible server.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from asgibench.results.figures import caveats, error_rate
from asgibench.results.metrics import METRICS, Metric
from asgibench.results.model import Result
from asgibench.results.noise import compare
from asgibench.results.spread import Spread

Better = Literal["higher", "lower"]


@dataclass(frozen=True, slots=True)
class Column:
    key: str  # the comparison file's name for it
    metric: Metric
    heading: str | None = None  # a header shorter than the metric's own, where tables are tight

    @property
    def label(self) -> str:
        return self.heading or self.metric.short

    @property
    def better(self) -> Better:
        return self.metric.direction


REQUEST_COLUMNS = (
    Column("rps", METRICS["rps"]),
    Column("p50_ms", METRICS["p50"]),
    Column("p99_ms", METRICS["p99"]),
    Column("p999_ms", METRICS["p999"]),
    # Cores busy, and CPU per answered request: the second stays fair when servers answered different numbers.
    Column("server_cpu", METRICS["server_cpu"]),
    Column("server_cpu_per_request_us", METRICS["server_cpu_per_request_us"]),
    Column("server_peak_rss_mib", METRICS["server_peak_rss_mib"]),
)
# What a load beyond request and response adds; each is None in the stats of a load without it.
MESSAGES = Column("messages_rps", METRICS["messages_rps"])  # WebSocket: echoed messages received per second
STREAM_COLUMNS = (
    Column("first_byte_p99_ms", METRICS["first_byte_p99"], "first-byte p99 ms"),
    Column("gap_p99_ms", METRICS["gap_p99"], "gap p99 ms"),
)
HOLD_COLUMNS = (Column("held", METRICS["held"]), Column("dropped", METRICS["dropped"]))
COLUMNS = (*REQUEST_COLUMNS, MESSAGES, *STREAM_COLUMNS, *HOLD_COLUMNS)
# The terminal table leaves out "CPU cores" (the comparison file and the report keep it).
TABLE_COLUMNS = tuple(column for column in REQUEST_COLUMNS if column.key != "server_cpu")


def is_websocket(config: Mapping[str, Any] | None) -> bool:
    """A WebSocket load (a config as a result or comparison file describes it; older files have no protocol)."""
    return config is not None and config.get("protocol") == "websocket"


def protocol_columns(config: Mapping[str, Any] | None) -> tuple[Column, ...]:
    """The figures this load adds to the latencies: streamed responses' first byte and gaps, held streams."""
    if config is None:
        return ()
    streamed = any(isinstance(spec, Mapping) and spec.get("stream") for spec in config.get("requests") or ())
    return (*(STREAM_COLUMNS if streamed else ()), *(HOLD_COLUMNS if config.get("hold") else ()))


def throughput_column(config: Mapping[str, Any] | None) -> Column:
    """req/s; for WebSocket, msg/s: each message's echo is the round trip its latency times."""
    return MESSAGES if is_websocket(config) else COLUMNS[0]


def table_columns(config: Mapping[str, Any] | None) -> tuple[Column, ...]:
    """The terminal table's columns for this load: throughput, latencies, the protocol's own figures, the server's."""
    columns = [throughput_column(config) if column.key == "rps" else column for column in TABLE_COLUMNS]
    after = next(index for index, column in enumerate(columns) if column.key == "p999_ms") + 1
    return (*columns[:after], *protocol_columns(config), *columns[after:])


def protocol_notes(config: Mapping[str, Any] | None) -> list[str]:
    """What the load's own columns mean, for the note under compare's table and the report's: the same words."""
    notes = []
    if is_websocket(config):
        notes.append(
            "WebSocket: msg/s counts echoed messages received per second (each a round trip, as req/s would); "
            "the latency is each message's round trip."
        )
    keys = {column.key for column in protocol_columns(config)}
    if "first_byte_p99_ms" in keys:
        notes.append(
            "Streamed responses: first-byte p99 is the 99th percentile of the time to a response's first byte, "
            "gap p99 that of the waits between its reads; the latency runs to the last byte."
        )
    if "held" in keys:
        wanted = config.get("hold") if config is not None else None
        notes.append(
            f"Held streams: held is how many of the {wanted} held open beside the load were still open at the "
            "window's end; dropped, how many the server ended before it."
        )
    return notes


def server_stats(results: Sequence[Result]) -> dict[str, Any]:
    """The figures of one server over its measured runs (the comparison file's ``stats``)."""
    stats: dict[str, Any] = {}
    for column in COLUMNS:
        values = [value for result in results if (value := column.metric.value(result)) is not None]
        spread = Spread.of(values)
        stats[column.key] = None if spread is None else spread.as_dict() | {"values": values}
    stats["requests"] = sum(result.summary.requests for result in results)
    stats["ok"] = sum(result.summary.ok for result in results)
    stats["errors"] = sum(result.summary.errors.total for result in results)
    stats["error_rate"] = error_rate(stats["errors"], stats["requests"])
    offered = Spread.of(result.summary.offered_rps for result in results)
    stats["offered_rps"] = offered.as_dict() if offered else None
    found = caveats(results)  # each flag is a caveat's kind: judged once, here
    kinds = {caveat.kind for caveat in found}
    stats["generator_bound"] = "generator_bound" in kinds
    stats["target_behind"] = "target_behind" in kinds
    stats["failed"] = "failed" in kinds
    stats["marks"] = [caveat.mark for caveat in found]
    stats["partial"] = any(result.partial for result in results)
    stats["runs"] = len(results)
    return stats


def eligible(stats: Mapping[str, Any]) -> bool:
    """Whether a server may be called the best: none of its runs has a caveat (generator-bound, overloaded, ...)."""
    return not stats.get("marks") and not any(
        stats.get(flag) for flag in ("generator_bound", "target_behind", "failed")
    )


@dataclass(frozen=True, slots=True)
class Standing:
    relative: float  # this server's median / the best one's: req/s 0.8 is 80% of the best; p99 2.0 is twice it
    best: bool
    tied: bool  # not different from the best one beyond noise
    eligible: bool = True  # False: never the best, whatever its figures (see ``eligible``)


def standings(stats_by_server: Mapping[str, dict[str, Any]], column: Column) -> dict[str, Standing]:
    """Each server against the best eligible one; when none is eligible, against the best of all, with no best.

    Each server's runs are set against the best one's by the noise rule: tied when the difference is not
    beyond noise. A comparison file written before the runs' values were kept ties no one.
    """
    figures = {name: stats[column.key] for name, stats in stats_by_server.items() if stats.get(column.key) is not None}
    if not figures:
        return {}
    allowed = [name for name in figures if eligible(stats_by_server[name])]  # in order: the first wins a tie
    pick = max if column.better == "higher" else min
    reference = pick(allowed or figures, key=lambda name: figures[name]["median"])
    best_name = reference if allowed else None
    best = figures[reference]
    result = {}
    for name, figure in figures.items():
        median, best_median = figure["median"], best["median"]
        relative = median / best_median if best_median else (1.0 if not median else float("inf"))
        tied = (
            name != reference
            and not compare(
                figure.get("values") or [median], best.get("values") or [best_median], column.metric.scale
            ).beyond_noise
        )
        result[name] = Standing(relative, name == best_name, tied, name in allowed)
    return result
