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
from asgibench.results.schema import is_result, json_files_in, read_document, result_from

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
            documents = [(path, _result_in(path)) for path in json_files_in(source)]
            found = [Run(path, Result.from_json(document)) for path, document in documents if document]
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


def generator_bound(run: Run) -> str | None:
    """Why ``run``'s generator was the bottleneck, or None: its figures then understate the target."""
    generator = run.result.generator
    if not generator.bottleneck:
        return None
    return "; ".join(generator.reasons) or "no reason recorded"


def without_generator_bound(runs: Sequence[Run], *, side: str) -> tuple[tuple[Run, ...], list[str]]:
    """The runs of one side whose generator kept up, and a warning for each left out.

    A generator-bound run is left out rather than failing the whole gate: on a
    shared CI runner one run in a few may meet a stall, and the other repeats
    still measure the build. A side left with none is refused (UsageError).
    """
    why = {run.path: reason for run in runs if (reason := generator_bound(run)) is not None}
    kept = tuple(run for run in runs if run.path not in why)
    if not kept:
        lines = "; ".join(f"{path}: the load generator was the bottleneck ({reason})" for path, reason in why.items())
        raise UsageError(
            f"The gate refuses every {side} run: {lines}.",
            hint="Re-run generator-bound loads with more generator workers (--workers) or a lower load.",
        )
    warnings = [
        f"{path}: left out, the load generator was the bottleneck ({reason}); {len(kept)} {side} run(s) judged"
        for path, reason in why.items()
    ]
    return kept, warnings


def check_partial(runs: Sequence[Run], *, allow_partial: bool) -> None:
    """A UsageError listing every partial run (a run cut short measures less), unless ``allow_partial``."""
    partial = [run for run in runs if run.result.partial]
    if partial and not allow_partial:
        lines = "; ".join(
            f"{run.path}: the run is partial ({run.result.partial_reason or 'no reason recorded'})" for run in partial
        )
        raise UsageError(
            f"The gate refuses {len(partial)} result file(s): {lines}.",
            hint="--allow-partial judges partial runs anyway.",
        )


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
