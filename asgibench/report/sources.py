"""Reading the report's inputs: result files and comparison files (with the run files they name)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from asgibench.errors import UsageError
from asgibench.results import load_result
from asgibench.results.comparison import comparison_from, is_comparison, run_paths
from asgibench.results.schema import read_document, result_from


@dataclass(frozen=True, slots=True)
class ResultSource:
    """One result file, in the ``asgibench.result/2`` layout (a version 1 file is migrated on reading)."""

    path: Path
    result: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ComparisonSource:
    """A comparison file and, for each of its servers in order, the runs it lists as (path, result)."""

    path: Path
    comparison: dict[str, Any]
    runs: tuple[tuple[tuple[Path, dict[str, Any]], ...], ...]


Source = ResultSource | ComparisonSource


def load_sources(paths: Iterable[str | Path]) -> list[Source]:
    """Each path read as a comparison file when it says it is one, else as a result file.

    Anything else is a UsageError naming the file (the readers' own messages).
    """
    sources: list[Source] = []
    for given in paths:
        path = Path(given)
        document = read_document(path)
        if isinstance(document, dict) and is_comparison(document):
            sources.append(_load_comparison(path, comparison_from(document, path)))
        else:
            sources.append(ResultSource(path, result_from(document, path)))
    if not sources:
        raise UsageError("No result files given.", hint="asgibench report RESULT.json... (results or comparisons)")
    return sources


def _load_comparison(path: Path, comparison: dict[str, Any]) -> ComparisonSource:
    runs = []
    for server in comparison["servers"]:
        loaded = []
        for run_path in run_paths(path, server):
            try:
                loaded.append((run_path, load_result(run_path)))
            except UsageError as error:
                name = server.get("name", "?")
                raise UsageError(f"{path}: server {name!r}: {error.message}", hint=error.hint) from None
        runs.append(tuple(loaded))
    return ComparisonSource(path, comparison, tuple(runs))
