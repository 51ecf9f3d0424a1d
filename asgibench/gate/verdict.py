"""The gate's decision: per metric, the change, its noise and a verdict; for the build, pass or fail.

How a metric is judged
----------------------
* **Change**: the median over the current runs of the whole-run figure (the
  one ``asgibench load`` prints) against the median over the baseline runs,
  as a fraction (``+0.12`` is 12% more); error_rate, usually zero in the
  baseline, as a difference in percentage points.
* **Noise**: an interval around that same change, by the one rule compare
  and report use too (asgibench.results.noise): Student's t over one number
  per run, on logarithms. Its confidence is shared out over the metrics
  (Bonferroni): with four metrics each interval is at 98.75%, so that noise
  alone fails a build at most 5% of the time however many metrics are gated.
  With one run a side only its seconds are left to judge noise by, which
  misses run-to-run variation, and the gate says so.
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
from asgibench.results.metrics import Metric
from asgibench.results.noise import CONFIDENCE, Interval, NoiseSource, compare
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
    noise_source: NoiseSource  # what the interval's spread came from: "runs", "seconds" or "none"
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
            else {
                "low": _finite(self.interval.low),
                "high": _finite(self.interval.high),
                "confidence": self.interval.confidence,
            },
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


def per_metric_confidence(metrics: int) -> float:
    """Each metric's interval confidence so that noise fails a build of ``metrics`` metrics at most 5% of the time."""
    return 1 - (1 - CONFIDENCE) / max(1, metrics)


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
    metric: Metric, baseline: Sequence[Run], current: Sequence[Run], allowed: float, *, confidence: float = CONFIDENCE
) -> MetricVerdict:
    base_values = [_summary(metric, run) for run in baseline]
    current_values = [_summary(metric, run) for run in current]
    base, now = Spread.of(base_values), Spread.of(current_values)
    assert base is not None and now is not None, "inputs.collect refuses a side without runs"
    difference = compare(
        base_values,
        current_values,
        metric.scale,
        baseline_seconds=metric.seconds(baseline[0].result) if len(baseline) == 1 else (),
        current_seconds=metric.seconds(current[0].result) if len(current) == 1 else (),
        confidence=confidence,
    )
    return MetricVerdict(
        metric=metric,
        baseline=base,
        current=now,
        change=difference.change,
        allowed=allowed,
        interval=difference.interval,
        noise_source=difference.source,
        verdict=decide(metric, difference.change, allowed, difference.interval),
    )


def _summary(metric: Metric, run: Run) -> float:
    value = metric.value(run.result)
    if value is None:
        hint = "Service time is measured in the open model (--rate) only." if metric.service_time else None
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
    confidence = per_metric_confidence(len(metrics))
    verdicts = tuple(
        judge_metric(metric, baseline, current, allowances[metric.name], confidence=confidence) for metric in metrics
    )
    for verdict in verdicts:
        if verdict.noise_source == "none":
            notes.append(
                f"{verdict.metric.name}: one run a side and no per-second values, so no noise estimate; "
                "the change alone decides. Give each side repeats (a directory of runs)."
            )
    if len(baseline) == 1 and len(current) == 1:
        notes.append(
            "one run a side: the noise interval covers second-to-second variation only, not run to run; "
            "repeats (a directory of three result files per side) make the gate steadier."
        )
    elif len(baseline) == 1 or len(current) == 1:
        notes.append(
            "one run on a side: its run-to-run noise is taken to be the other side's; repeats on both sides "
            "make the gate steadier."
        )
    return GateReport(
        verdicts=verdicts,
        baseline_files=tuple(str(run.path) for run in baseline),
        current_files=tuple(str(run.path) for run in current),
        warnings=tuple(notes),
    )
