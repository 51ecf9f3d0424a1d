"""A run's summary from its merged histograms: the numbers reports and thresholds read (docs/result-file.md)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from hdrh.histogram import HdrHistogram

from asgibench.load.aggregate import Aggregate, Outcomes
from asgibench.load.config import LoadConfig
from asgibench.load.recorder import Moments
from asgibench.load.schedule import ArrivalSchedule
from asgibench.load.thresholds import percentile_key
from asgibench.results.figures import error_rate

STANDARD_PERCENTILES = (50.0, 75.0, 90.0, 95.0, 99.0, 99.9, 99.99)
# The open model's target kept up when it achieved at least this share of the offered rate.
KEPT_UP = 0.95


def latency_table(
    histogram: HdrHistogram, moments: Moments, extra_percentiles: Iterable[float] = ()
) -> dict[str, Any] | None:
    """min, mean, p50 ... p99.9, max and stdev in milliseconds; None for an empty histogram.

    Percentiles come from the histogram (3 significant digits); mean and
    deviation from the exact sums the workers kept.
    """
    if histogram.total_count == 0:
        return None
    wanted = sorted(set(STANDARD_PERCENTILES) | set(extra_percentiles))
    values = histogram.get_percentile_to_value_dict(wanted)
    percentiles = {percentile_key(p): values[p] / 1000 for p in wanted}
    return {
        "min": histogram.get_min_value() / 1000,
        "mean": round(moments.mean / 1000, 3),
        "p50": percentiles["50"],
        "p75": percentiles["75"],
        "p90": percentiles["90"],
        "p95": percentiles["95"],
        "p99": percentiles["99"],
        "p999": percentiles["99.9"],
        "p9999": percentiles["99.99"],
        "max": histogram.get_max_value() / 1000,
        "stdev": round(moments.stdev / 1000, 3),
        "count": histogram.total_count,
        "percentiles": percentiles,
    }


def outcome_figures(
    outcomes: Outcomes, *, duration: float, open_model: bool, extra_percentiles: Iterable[float] = ()
) -> dict[str, Any]:
    """The figures the summary and each named request share: counts, rates, errors, statuses, latency tables."""
    requests = outcomes.requests
    errors = outcomes.error_total
    extra = tuple(extra_percentiles)
    return {
        "requests": requests,
        "responses": outcomes.responses,
        "ok": outcomes.ok,
        # Achieved: responses completed inside the window, over the window (wrk's definition, whatever was offered).
        "rps": round(outcomes.completed / duration, 1) if duration > 0 else 0.0,
        # The achieved rate scaled by the share of responses that were ok.
        "ok_rps": round(outcomes.completed * outcomes.ok / outcomes.responses / duration, 1)
        if duration > 0 and outcomes.responses
        else 0.0,
        "error_rate": round(error_rate(errors, requests), 6),
        "errors": {"total": errors, **outcomes.errors},
        "unsent": dict(outcomes.unsent),
        "statuses": {status: outcomes.statuses[status] for status in sorted(outcomes.statuses)},
        "latency_ms": latency_table(outcomes.latency, outcomes.latency_moments, extra),
        "service_time_ms": latency_table(outcomes.service, outcomes.service_moments, extra) if open_model else None,
    }


def summarize(
    aggregate: Aggregate,
    *,
    duration: float,
    open_model: bool,
    extra_percentiles: Iterable[float] = (),
    offered_rps: float | None = None,
) -> dict[str, Any]:
    """``offered_rps``: the open model's schedule over the window that was run (see ``offered_rate``)."""
    figures = outcome_figures(
        aggregate.total, duration=duration, open_model=open_model, extra_percentiles=extra_percentiles
    )
    # A worker lost without its report leaves the schedule unknown: the reported part alone would read as fewer
    # due requests than outcomes, and the target as behind.
    scheduled = aggregate.scheduled if open_model and None not in aggregate.scheduled_by_worker else None
    return {
        "requests": figures["requests"],
        "scheduled": scheduled,
        "responses": figures["responses"],
        "ok": figures["ok"],
        "interim": aggregate.interim,
        "duration_s": round(duration, 3),
        "drain_s": round(aggregate.drain_seconds, 3),
        "rps": figures["rps"],
        "ok_rps": figures["ok_rps"],
        "offered_rps": round(offered_rps, 1) if offered_rps is not None and open_model else None,
        "target_behind": None,  # decided with the generator's health (asgibench.load.result.assess)
        "errors": figures["errors"],
        "unsent": figures["unsent"],
        "error_rate": figures["error_rate"],
        "error_examples": dict(aggregate.error_examples),
        "statuses": figures["statuses"],
        "bytes_received": aggregate.bytes_received,
        "bytes_sent": aggregate.bytes_sent,
        "latency_ms": figures["latency_ms"],
        "service_time_ms": figures["service_time_ms"],
    }


def beyond_requests(
    aggregate: Aggregate, config: LoadConfig, *, duration: float, extra_percentiles: Iterable[float] = ()
) -> dict[str, Any]:
    """The summary's figures beyond request and response: the protocol, coded errors, stream and message figures.

    Each is null when the run had nothing of its kind (an HTTP/1.1 run has no handshakes and no messages).
    """
    counts = aggregate.counts
    timings = {
        name: latency_table(histogram, moments, extra_percentiles)
        for name, (histogram, moments) in aggregate.timings.items()
    }

    def per_second(count: int) -> float:
        return round(count / duration, 1) if duration > 0 else 0.0

    messages = None
    if config.protocol == "websocket":
        sent, received = counts["messages_sent"], counts["messages_received"]
        messages = {
            "sent": sent,
            "received": received,
            "unmatched": counts["messages_unmatched"],  # replies that answered no message in flight
            "sent_per_s": per_second(sent),
            "received_per_s": per_second(received),
        }
    streamed = counts["stream_events"]
    held = None
    if config.hold:
        held = {
            "wanted": config.hold,
            "held": aggregate.held_seconds[-1] if aggregate.held_seconds else 0,  # at the window's end
            "min_held": min(aggregate.held_seconds, default=0),
            "opened": counts["held_opened"],
            "failed": counts["held_failed"],  # never opened: refused, or not a stream
            "dropped": counts["held_dropped"],  # opened, then ended before the window did
            "events": counts["held_events"],
        }
    return {
        "protocol": config.protocol,
        "error_codes": {
            kind: {code: codes[code] for code in sorted(codes)} for kind, codes in sorted(aggregate.error_codes.items())
        },
        "first_byte_ms": timings.get("first_byte"),
        "gap_ms": timings.get("gap"),
        "handshake_ms": timings.get("handshake"),
        "messages": messages,
        "stream_events": {"events": streamed, "events_per_s": per_second(streamed)} if streamed else None,
        "held": held,
    }


def by_status(aggregate: Aggregate, *, extra_percentiles: Iterable[float] = ()) -> list[dict[str, Any]]:
    """Latency by status code (k6's {status:...}): each code's responses and latency table, codes in order."""
    return [
        {"status": status, "responses": histogram.total_count,
         "latency_ms": latency_table(histogram, moments, extra_percentiles)}
        for status, (histogram, moments) in sorted(aggregate.by_status.items())
    ]  # fmt: skip


def offered_rate(config: LoadConfig, seconds: float) -> float | None:
    """The open model's rate over the first ``seconds`` of its window: arrivals of the schedule, per second."""
    if config.model != "open" or seconds <= 0:
        return None
    schedule = ArrivalSchedule.build(
        rate=config.rate, duration=config.duration, stages=config.stages, warmup=config.warmup
    )
    return (schedule.arrivals_by(config.warmup + seconds) - schedule.arrivals_by(config.warmup)) / seconds


def target_behind(summary: dict[str, Any], *, generator_bound: bool) -> bool | None:
    """Open model: the target answered less than KEPT_UP of the offered rate, and the generator was not to blame."""
    offered = summary["offered_rps"]
    if offered is None or summary["scheduled"] is None:  # closed model, or a worker's share is unknown
        return None
    return not generator_bound and summary["requests"] > 0 and summary["rps"] < KEPT_UP * offered


def by_name(
    aggregate: Aggregate, config: LoadConfig, *, duration: float, extra_percentiles: Iterable[float] = ()
) -> list[dict[str, Any]]:
    """The per-name table of the result: each named request's figures, in the config's order."""
    rows = []
    described = config.describe()["requests"]
    assert isinstance(described, list)
    for spec, row, outcomes in zip(config.requests, described, aggregate.by_name, strict=True):
        figures = outcome_figures(
            outcomes, duration=duration, open_model=config.model == "open", extra_percentiles=extra_percentiles
        )
        names = spec.expect.check_names()
        counts = outcomes.checks or [[0, 0] for _ in names]
        rows.append(
            {
                "name": row["name"],
                "method": row["method"],
                "path": row["path"],
                **figures,
                "checks": [
                    {"check": name, "passed": passed, "failed": failed}
                    for name, (passed, failed) in zip(names, counts, strict=True)
                ],
            }
        )
    return rows
