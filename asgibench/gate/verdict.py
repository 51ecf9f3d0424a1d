"""The gate's decision: per metric, the change, its noise and a verdict; for the build, pass or fail.

How a metric is judged
----------------------
* **Change**: the median over the current runs of the whole-run figure (the
  one ``asgibench load`` prints) against the median over the baseline runs,
  as a fraction (``+0.12`` is 12% more); error_rate, usually zero in the
  baseline, as a difference in percentage points.
* **Noise**: a 95% interval for the change as seen second by second: the
  wider of two. A hierarchical bootstrap (``asgibench.gate.stats``: runs,
  then the seconds within each run) sees the second-to-second noise and, with
  many repeats, the run-to-run noise; a Student t interval over one number
  per run sees the run-to-run noise honestly when there are only two or three
  repeats, where the bootstrap is far too narrow (measured on this project's
  shared 2-core machine, eight runs of one app paired two against two: the
  bootstrap alone called 24% of the p50 comparisons regressions; with a
  pooled t interval 5%; with Welch's, none of 210). Per run the
  metric's per-second values are reduced the way that matches the whole-run
  figure where it can (rps: the mean rate; error_rate: errors over attempts)
  and by the median otherwise (latency: the median of the per-second p99s).
  The median is chosen on purpose for latency: one bad second moves a
  whole-run p99 of a few hundred requests a lot but the per-second median
  hardly at all, so a one-off stall reads as noise, while a real slowdown
  moves every second. Metrics the timeline lacks (p75, p95, mean, service_*)
  use the whole-run values of the repeats, which needs two runs a side; with
  one, there is no noise estimate. So do metrics of one named request
  (``p99{name:slow}``): the timeline is kept for the whole run, not per name.
  With one run a side nothing measures the run-to-run noise, and the gate says so.
* **Verdict**: *regression* when the change is worse than the allowance AND
  the interval lies wholly on the worse side of zero; *within noise* when it
  is worse than the allowance but the interval reaches zero (noise alone
  never fails a build); *improvement* when it is better by more than the
  allowance and the interval lies wholly on the better side; else *ok*. With
  no noise estimate the change alone decides, and the gate warns.

A build fails when any metric is a regression.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from asgibench.errors import UsageError
from asgibench.gate.inputs import Run
from asgibench.gate.metrics import Metric
from asgibench.gate.stats import Interval, bootstrap_change, change, runs_interval, widest
from asgibench.results.spread import Spread


class Verdict(StrEnum):
    OK = "ok"
    REGRESSION = "regression"
    IMPROVEMENT = "improvement"
    WITHIN_NOISE = "within noise"


@dataclass(frozen=True, slots=True)
class MetricVerdict:
    """One metric judged: the figures on each side, the change, its interval, the verdict."""

    metric: Metric
    baseline: Spread
    current: Spread
    change: float
    allowed: float
    interval: Interval | None
    noise_source: str  # "per-second", "repeats", or "none"
    verdict: Verdict

    def to_dict(self) -> dict[str, Any]:
        return {
            "metric": self.metric.name,
            "request": self.metric.request,
            "status": self.metric.status,
            "unit": self.metric.unit,
            "better": self.metric.direction,
            "scale": self.metric.scale,
            "baseline": _spread_dict(self.baseline),
            "current": _spread_dict(self.current),
            "change": _finite(self.change),
            "allowed": self.allowed,
            "interval": None
            if self.interval is None
            else {"low": _finite(self.interval.low), "high": _finite(self.interval.high), "confidence": 0.95},
            "noise_source": self.noise_source,
            "verdict": self.verdict.value,
        }


@dataclass(frozen=True, slots=True)
class GateReport:
    """Every metric's verdict, the warnings met on the way, and which files were compared."""

    verdicts: tuple[MetricVerdict, ...]
    baseline_files: tuple[str, ...]
    current_files: tuple[str, ...]
    warnings: tuple[str, ...] = field(default=())

    @property
    def regressions(self) -> tuple[MetricVerdict, ...]:
        return tuple(verdict for verdict in self.verdicts if verdict.verdict is Verdict.REGRESSION)

    @property
    def passed(self) -> bool:
        return not self.regressions

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": "asgibench.gate/1",
            "passed": self.passed,
            "baseline": list(self.baseline_files),
            "current": list(self.current_files),
            "warnings": list(self.warnings),
            "metrics": [verdict.to_dict() for verdict in self.verdicts],
        }


def decide(metric: Metric, change: float, allowed: float, interval: Interval | None) -> Verdict:
    """The decision rule (see the module docstring), on a change signed as the metric reads it."""
    worse = metric.worse_by(change)
    if interval is None:
        significant_worse = significant_better = True
    else:
        worse_low = min(metric.worse_by(interval.low), metric.worse_by(interval.high))
        worse_high = max(metric.worse_by(interval.low), metric.worse_by(interval.high))
        significant_worse, significant_better = worse_low > 0, worse_high < 0
    if worse > allowed:
        return Verdict.REGRESSION if significant_worse else Verdict.WITHIN_NOISE
    if -worse > allowed and significant_better:
        return Verdict.IMPROVEMENT
    return Verdict.OK


def judge_metric(
    metric: Metric, baseline: Sequence[Run], current: Sequence[Run], allowed: float, *, seed: str = "asgibench.gate"
) -> MetricVerdict:
    base_values = [_summary(metric, run) for run in baseline]
    current_values = [_summary(metric, run) for run in current]
    base, now = Spread.of(base_values), Spread.of(current_values)
    assert base is not None and now is not None, "inputs.collect refuses a side without runs"
    point = change(base.median, now.median, metric.scale)
    interval, source = _noise(metric, baseline, current, base_values, current_values, seed=f"{seed}:{metric.name}")
    return MetricVerdict(
        metric=metric,
        baseline=base,
        current=now,
        change=point,
        allowed=allowed,
        interval=interval,
        noise_source=source,
        verdict=decide(metric, point, allowed, interval),
    )


def _noise(
    metric: Metric,
    baseline: Sequence[Run],
    current: Sequence[Run],
    base_values: list[float],
    current_values: list[float],
    *,
    seed: str,
) -> tuple[Interval | None, str]:
    """The widest of a hierarchical bootstrap and a t interval over the runs (see the module docstring)."""
    if metric.per_second is not None:
        base_seconds = [metric.per_second(run.document["timeline"]) for run in baseline]
        current_seconds = [metric.per_second(run.document["timeline"]) for run in current]
        if all(base_seconds) and all(current_seconds):
            bootstrap = bootstrap_change(
                base_seconds, current_seconds, metric.run_statistic, scale=metric.scale, seed=seed
            )
            per_run = runs_interval(
                [metric.run_statistic(seconds) for seconds in base_seconds],
                [metric.run_statistic(seconds) for seconds in current_seconds],
                metric.scale,
            )
            return widest(bootstrap, per_run), "per-second"
    per_run = runs_interval(base_values, current_values, metric.scale)
    if per_run is not None and len(base_values) >= 2 and len(current_values) >= 2:
        only_runs = bootstrap_change(
            [[value] for value in base_values],
            [[value] for value in current_values],
            _only,
            scale=metric.scale,
            seed=seed,
        )
        return widest(only_runs, per_run), "repeats"
    return None, "none"


def _only(samples: Sequence[float]) -> float:
    return samples[0]


def _summary(metric: Metric, run: Run) -> float:
    value = metric.value(run.document)
    if value is None:
        hint = "Service time is measured in the open model (--rate) only." if metric.open_model_only else None
        raise UsageError(f"{run.path}: has no {metric.label} (--metric {metric.name}).", hint=hint)
    return float(value)


def _spread_dict(values: Spread) -> dict[str, float | int]:
    return {"median": values.median, "min": values.low, "max": values.high, "runs": values.count}


def _finite(value: float) -> float | str:
    return value if value == value and abs(value) != float("inf") else str(value)


def judge(
    metrics: Sequence[Metric],
    allowances: dict[str, float],
    baseline: Sequence[Run],
    current: Sequence[Run],
    warnings: Sequence[str] = (),
) -> GateReport:
    """Judge every metric; the warnings (config or environment differences) travel with the report."""
    notes = list(warnings)
    verdicts = tuple(judge_metric(metric, baseline, current, allowances[metric.name]) for metric in metrics)
    for verdict in verdicts:
        if verdict.noise_source == "none":
            notes.append(
                f"{verdict.metric.name}: no per-second values and fewer than two runs a side, so no noise "
                "estimate; the change alone decides. Give each side repeats (a directory of runs)."
            )
    tagged = [
        verdict.metric.name
        for verdict in verdicts
        if (verdict.metric.request or verdict.metric.status) and verdict.noise_source != "none"
    ]
    if tagged:
        notes.append(
            f"{', '.join(tagged)}: a named request or a status code has no per-second timeline, so its noise "
            "comes from the repeats only (ᴿ)."
        )
    if len(baseline) == 1 or len(current) == 1:
        notes.append(
            "one run on a side: the noise interval covers second-to-second variation only, not run to run; "
            "repeats (a directory of result files per side) make the gate steadier."
        )
    return GateReport(
        verdicts=verdicts,
        baseline_files=tuple(str(run.path) for run in baseline),
        current_files=tuple(str(run.path) for run in current),
        warnings=tuple(notes),
    )
