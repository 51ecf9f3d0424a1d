"""A finished (or cut short) run as a result file document (``asgibench.result/1``)."""

from __future__ import annotations

import datetime
from typing import Any

from hdrh.histogram import HdrHistogram

from asgibench.load.health import Health, Spread, judge
from asgibench.load.recorder import HIGHEST_US, LOWEST_US, SIGNIFICANT_DIGITS
from asgibench.load.runner import RunOutcome
from asgibench.load.summary import summarize
from asgibench.load.thresholds import Threshold, Verdict, evaluate, percentiles_wanted
from asgibench.results import environment
from asgibench.results.schema import SCHEMA


def assess(outcome: RunOutcome, thresholds: tuple[Threshold, ...]) -> tuple[dict[str, Any], Health, list[Verdict]]:
    """The summary, the generator's health and the threshold verdicts of a run."""
    aggregate = outcome.aggregate
    summary = summarize(
        aggregate,
        duration=outcome.measured_seconds,
        open_model=outcome.config.model == "open",
        extra_percentiles=percentiles_wanted(thresholds),
    )
    health = judge(
        aggregate.cpu_seconds,
        outcome.measured_seconds,
        loop_lag=_spread(aggregate.lag),
        send_lateness=_spread(aggregate.lateness),
    )
    return summary, health, evaluate(thresholds, summary)


def build_result(
    outcome: RunOutcome,
    summary: dict[str, Any],
    health: Health,
    verdicts: list[Verdict],
    *,
    server: dict[str, Any] | None = None,
) -> dict[str, Any]:
    aggregate = outcome.aggregate
    return {
        "schema": SCHEMA,
        "created": datetime.datetime.fromtimestamp(outcome.started_at, datetime.UTC).isoformat(timespec="seconds"),
        "partial": outcome.partial,
        "partial_reason": outcome.partial_reason,
        "environment": environment.collect(server),
        "config": outcome.config.describe(),
        "summary": summary,
        "histograms": {
            "encoding": "hdrhistogram-v2-compressed-base64",
            "unit": "us",
            "lowest": LOWEST_US,
            "highest": HIGHEST_US,
            "significant_digits": SIGNIFICANT_DIGITS,
            "latency": aggregate.latency.encode().decode("ascii") if aggregate.latency.total_count else None,
            "service_time": aggregate.service.encode().decode("ascii") if aggregate.service.total_count else None,
        },
        "timeline": aggregate.timeline,
        "generator": {
            "workers": outcome.config.workers,
            "cpu_seconds": [round(seconds, 3) for seconds in aggregate.cpu_seconds],
            "cpu_fraction": list(health.cpu_fractions),
            "loop_lag_ms": health.loop_lag.to_dict() if health.loop_lag else None,
            "send_lateness_ms": health.send_lateness.to_dict() if health.send_lateness else None,
            "connections_opened": outcome.connections_opened,
            "bottleneck": health.bottleneck,
            "reasons": list(health.reasons),
            "worker_failures": outcome.worker_failures,
        },
        "thresholds": [verdict.to_dict() for verdict in verdicts],
        "passed": all(verdict.passed for verdict in verdicts),
    }


def _spread(histogram: HdrHistogram) -> Spread | None:
    if histogram.total_count == 0:
        return None
    percentiles = histogram.get_percentile_to_value_dict([50.0, 99.0])
    return Spread(p50=percentiles[50.0] / 1000, p99=percentiles[99.0] / 1000, max=histogram.get_max_value() / 1000)
