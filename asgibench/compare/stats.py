"""Per-server figures over repeated runs, and who is best at what. Pure.

Each metric is summarised by its median and its range over the measured runs
(the median resists one disturbed run; the range shows how much runs disagree).
A server is only called the winner of a column when its range does not overlap
the runner-up's; otherwise the servers whose ranges overlap the best one are
marked as tied with it: the difference is within the noise of this machine.

A server whose runs were generator-bound, overloaded (the target fell behind
the offered rate) or failed (no request succeeded) is never called the best:
its figures do not measure what the others do. It keeps its numbers, marked
with the reason (``marks``), and is compared against the best eligible server.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from asgibench.results.figures import caveats, error_rate
from asgibench.results.spread import Spread

Better = Literal["higher", "lower"]


@dataclass(frozen=True, slots=True)
class Column:
    key: str
    label: str  # the table's header
    better: Better
    read: Callable[[dict[str, Any]], float | None]  # one run's value


def _latency(key: str) -> Callable[[dict[str, Any]], float | None]:
    def read(result: dict[str, Any]) -> float | None:
        value = (result["summary"]["latency_ms"] or {}).get(key)
        return float(value) if value is not None else None

    return read


def _server(key: str) -> Callable[[dict[str, Any]], float | None]:
    def read(result: dict[str, Any]) -> float | None:
        value = (result.get("server") or {}).get(key)
        return float(value) if value is not None else None

    return read


def _cpu_per_response_us(result: dict[str, Any]) -> float | None:
    # Per response, not per request: requests the server never received (unsent, refused) cost it nothing.
    server, responses = result.get("server") or {}, result["summary"]["responses"]
    if "cpu_seconds" not in server or not responses:
        return None
    return float(server["cpu_seconds"]) / float(responses) * 1e6


COLUMNS = (
    Column("rps", "req/s", "higher", lambda result: float(result["summary"]["rps"])),
    Column("p50_ms", "p50 ms", "lower", _latency("p50")),
    Column("p99_ms", "p99 ms", "lower", _latency("p99")),
    Column("p999_ms", "p99.9 ms", "lower", _latency("p999")),
    # Cores busy, and CPU per answered request: the second stays fair when servers answered different numbers.
    Column("server_cpu", "CPU cores", "lower", _server("cpu_fraction")),
    Column("server_cpu_per_request_us", "CPU µs/req", "lower", _cpu_per_response_us),
    Column("server_peak_rss_mib", "memory MiB", "lower", _server("peak_rss_mib")),
)
# The terminal table leaves out "CPU cores" (the comparison file and the report keep it).
TABLE_COLUMNS = tuple(column for column in COLUMNS if column.key != "server_cpu")


def server_stats(results: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The figures of one server over its measured runs (the comparison file's ``stats``)."""
    stats: dict[str, Any] = {}
    for column in COLUMNS:
        spread = Spread.of(column.read(result) for result in results)
        stats[column.key] = spread.as_dict() if spread else None
    summaries = [result["summary"] for result in results]
    stats["requests"] = sum(int(summary["requests"]) for summary in summaries)
    stats["ok"] = sum(int(summary["ok"]) for summary in summaries)
    stats["errors"] = sum(int(summary["errors"]["total"]) for summary in summaries)
    stats["error_rate"] = error_rate(stats["errors"], stats["requests"])
    offered = Spread.of(summary.get("offered_rps") for summary in summaries)
    stats["offered_rps"] = offered.as_dict() if offered else None
    found = caveats(results)  # each flag is a caveat's kind: judged once, here
    kinds = {caveat.kind for caveat in found}
    stats["generator_bound"] = "generator_bound" in kinds
    stats["target_behind"] = "target_behind" in kinds
    stats["failed"] = "failed" in kinds
    stats["marks"] = [caveat.mark for caveat in found]
    stats["partial"] = any(result["partial"] for result in results)
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
    tied: bool  # its range overlaps the best one's
    eligible: bool = True  # False: never the best, whatever its figures (see ``eligible``)


def standings(stats_by_server: Mapping[str, dict[str, Any]], column: Column) -> dict[str, Standing]:
    """Each server against the best eligible one; when none is eligible, against the best of all, with no best."""
    spreads = {
        name: Spread(stats[column.key]["median"], stats[column.key]["min"], stats[column.key]["max"])
        for name, stats in stats_by_server.items()
        if stats.get(column.key) is not None
    }
    if not spreads:
        return {}
    allowed = [name for name in spreads if eligible(stats_by_server[name])]  # in order: the first wins a tie
    pick = max if column.better == "higher" else min
    reference = pick(allowed or spreads, key=lambda name: spreads[name].median)
    best_name = reference if allowed else None
    best = spreads[reference]
    result = {}
    for name, spread in spreads.items():
        relative = spread.median / best.median if best.median else (1.0 if not spread.median else float("inf"))
        tied = name != reference and spread.overlaps(best)
        result[name] = Standing(relative, name == best_name, tied, name in allowed)
    return result
