"""Reading the report's inputs: result files, comparison files (with the run files they name), directories of them.

A directory stands for every asgibench result or comparison file (``*.json``) in
it, in name order, as ``gate DIR`` reads one; its other JSON files (a gate or
conformance report) are passed over, and a file that is not valid JSON is an
error, since it may be a result cut short. Each file counts once: paths are
resolved, so a file named twice, or a run file that a comparison given too
already lists (``report cmp/*.json``), is read into the report once.

Each result is checked (and migrated) and turned into a typed ``Result``
(asgibench.results.model) here, once, where its file is read: the rest of
the report reads attributes, never a document's keys.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from asgibench.errors import UsageError
from asgibench.results.comparison import comparison_from, is_comparison, run_paths
from asgibench.results.model import Result
from asgibench.results.schema import is_result, json_files_in, other_file, read_document, result_from

READS = "asgibench report reads result files (asgibench load --json) and comparison files (asgibench compare --out)."


@dataclass(frozen=True, slots=True)
class ResultSource:
    """One result file, in the ``asgibench.result/2`` layout (a version 1 file is migrated on reading)."""

    path: Path
    result: Result


@dataclass(frozen=True, slots=True)
class ComparisonSource:
    """A comparison file and, for each of its servers in order, the runs it lists as (path, result)."""

    path: Path
    comparison: dict[str, Any]
    runs: tuple[tuple[tuple[Path, Result], ...], ...]


Source = ResultSource | ComparisonSource


def load_sources(paths: Iterable[str | Path]) -> list[Source]:
    """Each path read as a comparison file when it says it is one, else as a result file; a directory as its files.

    A file named more than once, or listed by a comparison among the paths, counts once (where first named;
    a run file, in its comparison). Anything else is a UsageError naming the file and what it is.
    """
    documents = _Documents()
    named: list[tuple[Path, Any]] = []
    for given in paths:
        path = Path(given)
        if path.is_dir():
            named += _directory(path, documents)
        else:
            named.append((path, documents.read(path)))
    sources: list[Source] = []
    seen: set[Path] = set()
    for path, document in named:
        if identity(path) in seen:
            continue
        seen.add(identity(path))
        sources.append(_source(path, document, documents))
    if not sources:
        raise UsageError("No result files given.", hint="asgibench report RESULT.json... (results or comparisons)")
    listed = {
        identity(run_path)
        for source in sources
        if isinstance(source, ComparisonSource)
        for runs in source.runs
        for run_path, _ in runs
    }
    return [source for source in sources if isinstance(source, ComparisonSource) or identity(source.path) not in listed]


def identity(path: Path) -> Path:
    """What makes two paths the same file: the absolute path with symbolic links and ``..`` resolved."""
    return path.resolve()


class _Documents:
    """Files read once each, by identity: a run file in a directory and in its comparison is parsed once,
    and its result built once."""

    def __init__(self) -> None:
        self._read: dict[Path, Any] = {}
        self._results: dict[Path, Result] = {}

    def read(self, path: Path) -> Any:
        key = identity(path)
        if key not in self._read:
            self._read[key] = read_document(path)
        return self._read[key]

    def result(self, path: Path) -> Result:
        """The file at ``path`` as a result: checked, migrated and typed; a UsageError naming it if it is not one."""
        key = identity(path)
        if key not in self._results:
            self._results[key] = Result.from_json(result_from(self.read(path), path))
        return self._results[key]


def _directory(directory: Path, documents: _Documents) -> list[tuple[Path, Any]]:
    """The result and comparison files in ``directory``, by name; a UsageError naming it when it holds none."""
    found = [(path, document) for path in json_files_in(directory) if _readable(document := documents.read(path))]
    if not found:
        raise UsageError(
            f"Directory {str(directory)!r} holds no asgibench result or comparison files (*.json).", hint=READS
        )
    return found


def _readable(document: Any) -> bool:
    return is_result(document) or is_comparison(document)


def _source(path: Path, document: Any, documents: _Documents) -> Source:
    if is_comparison(document):
        return _load_comparison(path, comparison_from(document, path), documents)
    other = other_file(document)
    if other is not None:  # named before the result reader says "not a result file", which is true but no help
        what, writer = other
        raise UsageError(f"{path} is {what}, which asgibench report does not read.", hint=f"{writer} wrote it; {READS}")
    return ResultSource(path, documents.result(path))


def _load_comparison(path: Path, comparison: dict[str, Any], documents: _Documents) -> ComparisonSource:
    runs = []
    for server in comparison["servers"]:
        loaded = []
        for run_path in run_paths(path, server):
            try:
                loaded.append((run_path, documents.result(run_path)))
            except UsageError as error:
                name = server.get("name", "?")
                raise UsageError(f"{path}: server {name!r}: {error.message}", hint=error.hint) from None
        runs.append(tuple(loaded))
    return ComparisonSource(path, comparison, tuple(runs))
