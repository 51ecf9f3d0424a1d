"""A finished (or cut short) run as a result file document (``asgibench.result/2``, docs/result-file.md)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from hdrh.histogram import HdrHistogram

from asgibench.load.health import LATENESS_P99_LIMIT_MS, Health, Spread, judge
from asgibench.load.recorder import HIGHEST_US, LOWEST_US, SIGNIFICANT_DIGITS
from asgibench.load.runner import RunOutcome
from asgibench.load.summary import beyond_requests, by_name, by_status, offered_rate, summarize, target_behind
from asgibench.load.thresholds import Threshold, Verdict, evaluate, percentiles_wanted
from asgibench.results import environment
from asgibench.results.schema import SCHEMA


@dataclass(frozen=True, slots=True)
class Assessment:
    """What a run came to: its summary, its per-name table, the generator's health, the verdicts, and why it failed."""

    summary: dict[str, Any]
    requests: list[dict[str, Any]]
    statuses: list[dict[str, Any]]  # latency by status code
    health: Health
    verdicts: list[Verdict]
    failures: list[str]

    @property
    def passed(self) -> bool:
        return not self.failures


def assess(outcome: RunOutcome, thresholds: tuple[Threshold, ...]) -> Assessment:
    aggregate = outcome.aggregate
    config = outcome.config
    extra = percentiles_wanted(thresholds)
    seconds = outcome.measured_seconds
    summary = summarize(
        aggregate,
        duration=seconds,
        open_model=config.model == "open",
        extra_percentiles=extra,
        offered_rps=offered_rate(config, seconds),
    )
    summary |= beyond_requests(aggregate, config, duration=seconds, extra_percentiles=extra)
    requests = by_name(aggregate, config, duration=seconds, extra_percentiles=extra)
    statuses = by_status(aggregate, extra_percentiles=extra)
    health = judge(
        aggregate.cpu_seconds,
        seconds,
        loop_lag=_spread(aggregate.lag),
        send_lateness=_spread(aggregate.lateness),
        late_writes=_count_above(aggregate.lateness, int(LATENESS_P99_LIMIT_MS * 1000)),
        requests=summary["requests"],
    )
    summary["target_behind"] = target_behind(summary, generator_bound=health.bottleneck)
    verdicts = evaluate(thresholds, summary, requests, statuses)
    reasons = [f"load worker failed ({failure})" for failure in outcome.worker_failures]
    return Assessment(summary, requests, statuses, health, verdicts, failures(summary, verdicts) + reasons)


def failures(summary: dict[str, Any], verdicts: list[Verdict]) -> list[str]:
    """Why a run did not pass: each failed threshold, and a run in which nothing succeeded, whatever the thresholds."""
    reasons = [f"threshold {verdict.threshold.text} failed" for verdict in verdicts if not verdict.passed]
    if summary["ok"] == 0:
        if summary["requests"] == 0:
            reasons.append("no request was made in the measured window")
        else:
            kinds = {kind: count for kind, count in summary["errors"].items() if kind != "total" and count}
            top = sorted(kinds.items(), key=lambda item: -item[1])[:3]
            statuses = ", ".join(f"{code} ×{count:,}" for code, count in summary["statuses"].items())
            detail = ", ".join(f"{kind} ×{count:,}" for kind, count in top)
            if statuses and kinds.get("status"):
                detail += f"; statuses {statuses}"
            reasons.append(f"no request succeeded out of {summary['requests']:,} ({detail})")
    return reasons


def build_result(outcome: RunOutcome, assessment: Assessment) -> dict[str, Any]:
    aggregate = outcome.aggregate
    health = assessment.health
    return {
        "schema": SCHEMA,
        "created": datetime.datetime.fromtimestamp(outcome.started_at, datetime.UTC).isoformat(timespec="milliseconds"),
        "partial": outcome.partial,
        "partial_reason": outcome.partial_reason,
        "environment": environment.collect(None),  # a launched server is added by launch.measure.with_server
        "config": outcome.config.describe(),
        "summary": assessment.summary,
        "requests": assessment.requests,
        "by_status": assessment.statuses,
        "histograms": {
            "encoding": "hdrhistogram-v2-compressed-base64",
            "unit": "us",
            "lowest": LOWEST_US,
            "highest": HIGHEST_US,
            "significant_digits": SIGNIFICANT_DIGITS,
            "latency": _encode(aggregate.total.latency),
            "service_time": _encode(aggregate.total.service),
            "requests": [
                {"name": row["name"], "latency": _encode(outcomes.latency), "service_time": _encode(outcomes.service)}
                for row, outcomes in zip(assessment.requests, aggregate.by_name, strict=True)
            ],
            "by_status": [
                {"status": status, "latency": _encode(histogram)}
                for status, (histogram, _) in sorted(aggregate.by_status.items())
            ],
        },
        "timeline": aggregate.timeline,
        "generator": {
            "workers": outcome.config.workers,
            "cpu_seconds": [round(seconds, 3) for seconds in aggregate.cpu_seconds],
            "cpu_fraction": list(health.cpu_fractions),
            "requests": list(aggregate.requests_by_worker),
            "scheduled": list(aggregate.scheduled_by_worker),
            "start_late_ms": [
                None if worker not in outcome.start_late else round(outcome.start_late[worker] * 1000, 3)
                for worker in range(outcome.config.workers)
            ],
            "loop_lag_ms": health.loop_lag.to_dict() if health.loop_lag else None,
            "send_lateness_ms": health.send_lateness.to_dict() if health.send_lateness else None,
            "connections_opened": outcome.connections_opened,
            "connections_peak": outcome.connections_peak,
            "bottleneck": health.bottleneck,
            "reasons": list(health.reasons),
            "worker_failures": outcome.worker_failures,
        }
        | ({} if outcome.cluster is None else {"cluster": outcome.cluster.to_json()}),
        "thresholds": [verdict.to_dict() for verdict in assessment.verdicts],
        "passed": assessment.passed,
        "failures": assessment.failures,
    }


def _encode(histogram: HdrHistogram) -> str | None:
    return histogram.encode().decode("ascii") if histogram.total_count else None


def _spread(histogram: HdrHistogram) -> Spread | None:
    if histogram.total_count == 0:
        return None
    percentiles = histogram.get_percentile_to_value_dict([50.0, 99.0])
    return Spread(p50=percentiles[50.0] / 1000, p99=percentiles[99.0] / 1000, max=histogram.get_max_value() / 1000)


def _count_above(histogram: HdrHistogram, value: int) -> int:
    """How many recorded values lie above ``value`` (at the histogram's precision)."""
    if histogram.total_count == 0 or histogram.get_max_value() <= value:
        return 0  # the common case, without walking every bucket in Python
    return sum(
        item.count_at_value_iterated_to for item in histogram.get_recorded_iterator() if item.value_iterated_to > value
    )
