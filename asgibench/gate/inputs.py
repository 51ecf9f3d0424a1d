"""The gate's inputs: result files (or directories of repeats), and the runs it refuses to judge.

A directory stands for its repeats: every ``*.json`` file in it whose ``schema``
is an ``asgibench.result`` version (other JSON, such as a comparison file or the
gate's own ``--json`` output, is passed over). A file that is not valid JSON
is an error rather than skipped, since it may be a result cut short. Every
result is read through ``asgibench.results.schema`` (checked, version 1 migrated).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from asgibench.errors import UsageError
from asgibench.results import load_result
from asgibench.results.model import Result
from asgibench.results.schema import is_result, read_document, result_from

# The configuration that must match for two sides to measure the same thing.
CONFIG_KEYS = ("model", "rate", "vus", "duration_s", "requests", "target path")
# Where the runs came from; a difference is worth a warning, not a refusal (CI runners vary).
ENVIRONMENT_KEYS = ("cpu_model", "cpu_count", "python", "server")


@dataclass(frozen=True, slots=True)
class Run:
    """One result file, read."""

    path: Path
    result: Result


def collect(sources: Sequence[Path], *, side: str) -> tuple[Run, ...]:
    """The runs named by ``sources`` (files or directories); a UsageError naming ``side`` when there are none."""
    runs: list[Run] = []
    for source in sources:
        if source.is_dir():
            files = [path for path in sorted(source.glob("*.json")) if path.is_file()]
            found = [Run(path, Result.from_json(document)) for path in files if (document := _result_in(path))]
            if not found:
                raise UsageError(f"{side} directory {str(source)!r} holds no asgibench result files (*.json).")
            runs.extend(found)
        else:
            runs.append(Run(source, Result.from_json(load_result(source))))
    if not runs:
        raise UsageError(f"No {side} given.", hint="asgibench gate BASELINE CURRENT (files or directories).")
    return tuple(runs)


def _result_in(path: Path) -> dict[str, Any] | None:
    """A directory's result file, or None for its other JSON files (a comparison.json, say)."""
    document = read_document(path)
    return result_from(document, path) if is_result(document) else None


def refusals(run: Run, *, allow_partial: bool) -> list[str]:
    """Why the gate will not judge ``run``: a generator-bound run understates the target; a partial one is short."""
    reasons = []
    generator = run.result.generator
    if generator.bottleneck:
        why = "; ".join(generator.reasons) or "no reason recorded"
        reasons.append(f"the load generator was the bottleneck ({why})")
    if run.result.partial and not allow_partial:
        reasons.append(f"the run is partial ({run.result.partial_reason or 'no reason recorded'})")
    return reasons


def check_judgeable(runs: Sequence[Run], *, allow_partial: bool) -> None:
    """A UsageError listing every refused file with its reasons, or nothing."""
    refused = [(run, reasons) for run in runs if (reasons := refusals(run, allow_partial=allow_partial))]
    if refused:
        lines = "; ".join(f"{run.path}: {', '.join(reasons)}" for run, reasons in refused)
        every = " ".join(reason for _, reasons in refused for reason in reasons)
        hints = []
        if "bottleneck" in every:
            hints.append("Re-run generator-bound loads with more generator workers (--workers) or a lower load.")
        if "partial" in every:
            hints.append("--allow-partial judges partial runs anyway.")
        raise UsageError(f"The gate refuses {len(refused)} result file(s): {lines}.", hint=" ".join(hints))


def config_values(result: Result) -> dict[str, Any]:
    config = result.config
    values = {key: config.get(key) for key in CONFIG_KEYS if key in config}
    values["requests"] = [
        (spec.get("method"), spec.get("path"), spec.get("weight")) for spec in config.get("requests") or []
    ]
    target = str(config.get("target") or "")
    values["target path"] = urlsplit(target).path if "://" in target else target
    return values


def differing(baseline: Sequence[Run], current: Sequence[Run], keys: Sequence[str], section: str) -> list[str]:
    """The ``keys`` whose values are not the same in every run of both sides."""

    def read(run: Run) -> dict[str, Any]:
        if section == "config":
            return config_values(run.result)
        return {key: run.result.environment.get(key) for key in keys}

    values = [read(run) for run in (*baseline, *current)]
    return [key for key in keys if any(value.get(key) != values[0].get(key) for value in values)]
