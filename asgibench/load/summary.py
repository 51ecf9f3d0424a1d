"""A run's summary from its merged histograms: the numbers reports and thresholds read."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from hdrh.histogram import HdrHistogram

from asgibench.load.aggregate import Aggregate
from asgibench.load.recorder import Moments
from asgibench.load.thresholds import percentile_key

STANDARD_PERCENTILES = (50.0, 75.0, 90.0, 95.0, 99.0, 99.9, 99.99)


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


def summarize(
    aggregate: Aggregate, *, duration: float, open_model: bool, extra_percentiles: Iterable[float] = ()
) -> dict[str, Any]:
    errors = {kind: count for kind, count in aggregate.errors.items()}
    total_errors = sum(errors.values())
    # A 4xx or 5xx answer is both a response and an error; the others never got an answer.
    failed_without_answer = total_errors - errors["http_4xx"] - errors["http_5xx"]
    attempts = aggregate.responses + failed_without_answer
    extra = tuple(extra_percentiles)
    return {
        "requests": aggregate.responses,
        "duration_s": round(duration, 3),
        "rps": round(aggregate.responses / duration, 1) if duration > 0 else 0.0,
        "errors": {"total": total_errors, **errors},
        "error_rate": round(total_errors / attempts, 6) if attempts else 0.0,
        "bytes_received": aggregate.bytes_received,
        "bytes_sent": aggregate.bytes_sent,
        "latency_ms": latency_table(aggregate.latency, aggregate.latency_moments, extra),
        "service_time_ms": latency_table(aggregate.service, aggregate.service_moments, extra) if open_model else None,
    }
