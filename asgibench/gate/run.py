"""``run_gate``: from a frozen GateConfig to a GateReport (reads the files; the judging is pure)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from asgibench.errors import UsageError
from asgibench.gate.inputs import (
    CONFIG_KEYS,
    ENVIRONMENT_KEYS,
    Run,
    check_partial,
    collect,
    config_values,
    differing,
    without_generator_bound,
)
from asgibench.gate.verdict import GateReport, judge
from asgibench.results.figures import caveats
from asgibench.results.metrics import Metric
from asgibench.results.model import Result


@dataclass(frozen=True, slots=True)
class GateConfig:
    """What ``asgibench gate`` compares and how strictly; the CLI builds one, library users may too."""

    baseline: tuple[Path, ...]
    current: tuple[Path, ...]
    metrics: tuple[Metric, ...]
    allowances: dict[str, float]  # by metric name: the worst change that still passes (0.05 is 5%)
    allow_partial: bool = False
    allow_config_change: bool = False  # judge runs of different loads, with a warning, instead of refusing


def run_gate(config: GateConfig) -> GateReport:
    baseline = collect(config.baseline, side="baseline")
    current = collect(config.current, side="current")
    check_partial((*baseline, *current), allow_partial=config.allow_partial)
    baseline, left_out_baseline = without_generator_bound(baseline, side="baseline")
    current, left_out_current = without_generator_bound(current, side="current")
    check_request_names(config.metrics, (*baseline, *current))
    config_differs = differing(baseline, current, CONFIG_KEYS, "config")
    if "model" in config_differs:
        models = sorted({run.result.model for run in (*baseline, *current)})
        raise UsageError(
            f"The runs use different load models ({', '.join(models)}): closed-model latency and open-model "
            "latency measure different things, so the gate will not compare them.",
            hint="Run baseline and current with the same --vus or --rate.",
        )
    warnings = left_out_baseline + left_out_current
    if config_differs and not config.allow_config_change:
        raise UsageError(
            f"The runs measured different loads ({describe_differences(baseline, current, config_differs)}): "
            "a change in the figures would be the load's as much as the build's.",
            hint="Measure baseline and current with the same load; --allow-config-change judges them anyway.",
        )
    if config_differs:
        warnings.append(f"configuration differs between the runs: {', '.join(config_differs)}")
    environment_differs = differing(baseline, current, ENVIRONMENT_KEYS, "environment")
    if environment_differs:
        warnings.append(f"environment differs between the runs: {', '.join(environment_differs)}")
    warnings += overload_warnings((*baseline, *current))
    return judge(config.metrics, config.allowances, baseline, current, warnings)


def overload_warnings(runs: Sequence[Run]) -> list[str]:
    """Runs the gate judges but names: an overloaded target, and runs where nothing succeeded.

    An overloaded target is judged because a slower build is exactly what the gate
    must catch; generator-bound runs never get here (``without_generator_bound`` leaves them out).
    """
    notes = []
    for run in runs:
        for caveat in caveats([run.result]):
            if caveat.kind == "target_behind":
                notes.append(
                    f"{run.path}: {caveat.text}; judged all the same, its figures are those of an overloaded target"
                )
            elif caveat.kind == "failed":
                notes.append(f"{run.path}: {caveat.text}; judged all the same")
    return notes


def check_request_names(metrics: Sequence[Metric], runs: Sequence[Run]) -> None:
    """A UsageError for a metric tagged with a request name or status code some file lacks, listing what they hold."""
    for metric in metrics:
        if metric.status is not None:
            wanted, held_by, missing = metric.status, _status_codes, f"no response with status {metric.status}"
            none_held = None
        elif metric.request is not None:
            wanted, held_by, missing = metric.request, _request_names, f"no request named {metric.request!r}"
            none_held = "The files hold no per-name statistics (files written before asgibench.result/2 have none)."
        else:
            continue
        held = {run.path: held_by(run.result) for run in runs}
        lacking = [str(path) for path, values in held.items() if wanted not in values]
        if not lacking:
            continue
        where = "the result files" if len(lacking) == len(runs) else ", ".join(lacking)
        every = list(dict.fromkeys(value for values in held.values() for value in values))
        if metric.status is not None:
            every.sort()
        hint = f"The files hold: {', '.join(every)}." if every else none_held
        raise UsageError(f"--metric {metric.name!r}: {missing} in {where}.", hint=hint)


def _status_codes(result: Result) -> list[str]:
    return [entry.status for entry in result.by_status]


def _request_names(result: Result) -> list[str]:
    return [entry.name for entry in result.requests]


def describe_differences(baseline: Sequence[Run], current: Sequence[Run], keys: Sequence[str]) -> str:
    """``rate 200.0 in the baseline, 400.0 in the current``: each differing key with each side's values."""

    def values(side: Sequence[Run], key: str) -> str:
        return ", ".join(dict.fromkeys(str(config_values(run.result).get(key)) for run in side))

    return "; ".join(
        f"{key} {values(baseline, key)} in the baseline, {values(current, key)} in the current" for key in keys
    )
