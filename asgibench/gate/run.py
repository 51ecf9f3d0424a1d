"""``run_gate``: from a frozen GateConfig to a GateReport (reads the files; the judging is pure)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from asgibench.errors import UsageError
from asgibench.gate.inputs import CONFIG_KEYS, ENVIRONMENT_KEYS, check_judgeable, collect, differing
from asgibench.gate.metrics import Metric
from asgibench.gate.verdict import GateReport, judge


@dataclass(frozen=True, slots=True)
class GateConfig:
    """What ``asgibench gate`` compares and how strictly; the CLI builds one, library users may too."""

    baseline: tuple[Path, ...]
    current: tuple[Path, ...]
    metrics: tuple[Metric, ...]
    allowances: dict[str, float]  # by metric name: the worst change that still passes (0.05 is 5%)
    allow_partial: bool = False


def run_gate(config: GateConfig) -> GateReport:
    baseline = collect(config.baseline, side="baseline")
    current = collect(config.current, side="current")
    check_judgeable((*baseline, *current), allow_partial=config.allow_partial)
    config_differs = differing(baseline, current, CONFIG_KEYS, "config")
    if "model" in config_differs:
        models = sorted({str(run.document["config"].get("model")) for run in (*baseline, *current)})
        raise UsageError(
            f"The runs use different load models ({', '.join(models)}): closed-model latency and open-model "
            "latency measure different things, so the gate will not compare them.",
            hint="Run baseline and current with the same --vus or --rate.",
        )
    warnings = []
    if config_differs:
        warnings.append(f"configuration differs between the runs: {', '.join(config_differs)}")
    environment_differs = differing(baseline, current, ENVIRONMENT_KEYS, "environment")
    if environment_differs:
        warnings.append(f"environment differs between the runs: {', '.join(environment_differs)}")
    return judge(config.metrics, config.allowances, baseline, current, warnings)
