"""The report's model: loaded documents turned into series and their statistics. Pure.

A series is what one row of the report describes: a server (or a result file)
measured one or more times. Results are grouped by label, the server's name
when the file records it, else the file's stem, so repeats of one server
become one series with a median and a range. A comparison file yields one
series per server, in its order, including the servers that failed.
"""

from __future__ import annotations

import dataclasses
import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from asgibench.report.describe import load_line, machine_line
from asgibench.report.sources import ComparisonSource, ResultSource, Source
from asgibench.report.spectrum import merged_latency

Document = Mapping[str, Any]
Ranking = Literal["rps", "p99"]
POOLED_PERCENTILES = {"p50": 50.0, "p90": 90.0, "p99": 99.0, "p999": 99.9}


@dataclass(frozen=True, slots=True)
class Spread:
    """The median of some runs' values and their range."""

    median: float
    low: float
    high: float

    @classmethod
    def of(cls, values: Sequence[float | None]) -> Spread | None:
        present = [float(value) for value in values if value is not None]
        if not present:
            return None
        return cls(statistics.median(present), min(present), max(present))


@dataclass(frozen=True, slots=True)
class Run:
    """One measured run: the result file's path and its document."""

    path: Path
    result: Document


@dataclass(frozen=True, slots=True)
class Series:
    """A server (or a result file) measured ``len(runs)`` times."""

    label: str
    runs: tuple[Run, ...]
    version: str | None = None
    failure: str | None = None  # why a comparison's server has no (complete) measurement
    log_tail: tuple[str, ...] = ()
    profile: Path | None = None  # a flame graph of the server under load
    profile_error: str | None = None  # why a flame graph was asked for and not made
    app: str | None = None  # what the server ran, when not the comparison's app
    origin: Path | None = None  # the comparison file it came from

    @property
    def failed(self) -> bool:
        return self.failure is not None or not self.runs

    @property
    def name(self) -> str:
        return f"{self.label} {self.version}" if self.version else self.label

    def spread(self, pick: Callable[[Document], float | None]) -> Spread | None:
        return Spread.of([pick(run.result) for run in self.runs])

    @property
    def rps(self) -> Spread | None:
        return self.spread(lambda result: result["summary"]["rps"])

    def latency(self, key: str) -> Spread | None:
        """A latency percentile (``p50`` … ``p999``, ``max``) of each run, in ms: its median and range."""
        return self.spread(lambda result: (result["summary"].get("latency_ms") or {}).get(key))

    def pooled_latency(self) -> dict[str, float]:
        """Latency percentiles (ms) of every run's requests together: histograms added, percentiles never averaged.

        Runs without a histogram fall back to the runs' own values (the higher
        middle one, so no percentile is ever an average of two).
        """
        histogram = merged_latency(run.result for run in self.runs)
        if histogram is not None:
            values = histogram.get_percentile_to_value_dict(list(POOLED_PERCENTILES.values()))
            pooled = {key: values[percentile] / 1000 for key, percentile in POOLED_PERCENTILES.items()}
            return pooled | {"max": histogram.get_max_value() / 1000}
        found = {}
        for key in (*POOLED_PERCENTILES, "max"):
            present = [
                float(value)
                for run in self.runs
                if (value := (run.result["summary"].get("latency_ms") or {}).get(key)) is not None
            ]
            if present:
                found[key] = max(present) if key == "max" else statistics.median_high(present)
        return found

    @property
    def requests(self) -> int:
        return sum(int(run.result["summary"]["requests"]) for run in self.runs)

    @property
    def errors(self) -> int:
        return sum(int(run.result["summary"]["errors"]["total"]) for run in self.runs)

    @property
    def error_rate(self) -> float:
        """Errors over attempts across every run (the rate of the runs pooled, as a summary computes one)."""
        attempts = 0
        for run in self.runs:
            errors = run.result["summary"]["errors"]
            # A 4xx or 5xx answer is a response and an error; other errors never got an answer.
            unanswered = errors["total"] - errors.get("http_4xx", 0) - errors.get("http_5xx", 0)
            attempts += int(run.result["summary"]["requests"]) + int(unanswered)
        return self.errors / attempts if attempts else 0.0

    @property
    def server_cpu(self) -> Spread | None:
        """The server's CPU as a fraction of one core, when the runs launched it."""
        return self.spread(lambda result: (result.get("server") or {}).get("cpu_fraction"))

    @property
    def peak_rss_mib(self) -> Spread | None:
        return self.spread(lambda result: (result.get("server") or {}).get("peak_rss_mib"))

    @property
    def generator_warnings(self) -> list[str]:
        """Why the generator, not the server, limited a run (one line per reason, deduplicated)."""
        reasons: list[str] = []
        for run in self.runs:
            generator = run.result.get("generator") or {}
            if generator.get("bottleneck"):
                for reason in generator.get("reasons") or ["the generator was the bottleneck"]:
                    if reason not in reasons:
                        reasons.append(str(reason))
        return reasons

    @property
    def partial_notes(self) -> list[str]:
        return [
            f"{run.path.name}: partial run ({run.result.get('partial_reason') or 'reason not recorded'})"
            for run in self.runs
            if run.result.get("partial")
        ]

    @property
    def thresholds(self) -> list[tuple[str, Mapping[str, Any]]]:
        """Every run's threshold verdicts, as (run file name, verdict)."""
        return [(run.path.name, verdict) for run in self.runs for verdict in run.result.get("thresholds") or []]


@dataclass(frozen=True, slots=True)
class Report:
    """What both renderers draw: the series, the machine, the load, and what differs between inputs."""

    series: tuple[Series, ...]
    environment: Document | None
    config: Document | None
    comparisons: tuple[Document, ...] = ()
    notes: tuple[str, ...] = field(default=())

    @property
    def measured(self) -> tuple[Series, ...]:
        return tuple(series for series in self.series if not series.failed)

    @property
    def ranking(self) -> Ranking:
        """What "best" means: lowest p99 when the rate was fixed (open model), else most requests/s."""
        return "p99" if self.config is not None and self.config.get("model") == "open" else "rps"

    def relative(self) -> dict[str, float]:
        return relative_to_best(self.measured, self.ranking)


def relative_to_best(series: Sequence[Series], ranking: Ranking) -> dict[str, float]:
    """Each series against the best: 1.0 is the best; >1 is a slower pooled p99, <1 fewer requests/s (median)."""
    if ranking == "p99":
        values = {one.label: p99 for one in series if (p99 := one.pooled_latency().get("p99")) is not None}
        best = min((value for value in values.values() if value > 0), default=None)
        return {label: value / best for label, value in values.items()} if best else {}
    values = {one.label: spread.median for one in series if (spread := one.rps) is not None}
    best = max(values.values(), default=0.0)
    return {label: value / best for label, value in values.items()} if best > 0 else {}


def best_label(relative: Mapping[str, float]) -> str | None:
    """The series whose relative value is exactly 1 (the first, on a tie)."""
    return next((label for label, value in relative.items() if value == 1.0), None)


def result_label(path: Path, result: Document) -> tuple[str, str | None]:
    """The label and version a result file is grouped under: its server's, else the file's stem."""
    for server in (result.get("server"), (result.get("environment") or {}).get("server")):
        if isinstance(server, Mapping) and server.get("name"):
            version = server.get("version")
            return str(server["name"]), str(version) if version else None
    return path.stem, None


def build_report(sources: Sequence[Source]) -> Report:
    """Group the sources' runs into series and pick the header the report shows."""
    series: list[Series] = []
    taken: dict[str, int] = {}  # every label shown, so none appears twice
    repeats: dict[str, int] = {}  # a result file's label -> its series, so repeats join it
    for source in sources:
        if isinstance(source, ResultSource):
            label, version = result_label(source.path, source.result)
            run = Run(source.path, source.result)
            if label in repeats:
                series[repeats[label]] = _with_run(series[repeats[label]], run)
                continue
            shown = _unique(label, taken)
            repeats[label] = taken[shown] = len(series)
            series.append(Series(shown, (run,), version))
        else:
            for one in comparison_series(source):
                shown = _unique(one.label, taken)
                taken[shown] = len(series)
                series.append(one if shown == one.label else _relabelled(one, shown))
    comparisons = tuple(source.comparison for source in sources if isinstance(source, ComparisonSource))
    documents = [run.result for one in series for run in one.runs]
    environment = comparisons[0]["environment"] if comparisons else (documents[0]["environment"] if documents else None)
    config = comparisons[0]["config"] if comparisons else (documents[0]["config"] if documents else None)
    notes = _differences(series, comparisons)
    notes += [
        f"Comparison {source.path.name} was interrupted: some servers have fewer runs than planned."
        for source in sources
        if isinstance(source, ComparisonSource) and source.comparison.get("partial")
    ]
    return Report(tuple(series), environment, config, comparisons, tuple(notes))


def comparison_series(source: ComparisonSource) -> list[Series]:
    """One series per server of a comparison, in its order; a failed server keeps its error and log tail."""
    found = []
    for server, runs in zip(source.comparison["servers"], source.runs, strict=True):
        failure = None
        if server.get("status", "ok") != "ok":
            failure = str(server.get("error") or "failed")
        elif not runs:
            failure = "no measured runs"
        profile = server.get("profile")
        found.append(
            Series(
                label=str(server.get("name") or "?"),
                runs=tuple(Run(path, result) for path, result in runs),
                version=server.get("version"),
                failure=failure,
                log_tail=tuple(str(line) for line in server.get("log_tail") or ()),
                profile=(source.path.parent / profile).absolute() if profile else None,
                profile_error=server.get("profile_error"),
                # Named only when it differs from the comparison's app (a WSGI server runs the WSGI twin).
                app=server.get("app") if server.get("app") != source.comparison.get("app") else None,
                origin=source.path,
            )
        )
    return found


def _with_run(series: Series, run: Run) -> Series:
    return Series(series.label, (*series.runs, run), series.version)


def _relabelled(series: Series, label: str) -> Series:
    return dataclasses.replace(series, label=label)


def _unique(label: str, taken: Mapping[str, int]) -> str:
    """``label``, or ``label (2)``… when a series already has it (two comparisons of the same server)."""
    if label not in taken:
        return label
    number = 2
    while f"{label} ({number})" in taken:
        number += 1
    return f"{label} ({number})"


def _differences(series: Sequence[Series], comparisons: Sequence[Document]) -> list[str]:
    """Notes when the inputs were measured on different machines or with different loads."""
    machines: dict[str, list[str]] = {}
    loads: dict[str, list[str]] = {}
    for one in series:
        for run in one.runs:
            machines.setdefault(machine_line(run.result.get("environment")), []).append(one.label)
            loads.setdefault(load_line(run.result.get("config")), []).append(one.label)
    for comparison in comparisons:
        loads.setdefault(load_line(comparison["config"]), []).append(f"comparison {comparison.get('app')}")
    notes = []
    if len(machines) > 1:
        notes.append("The runs come from different machines or Pythons, compare with care: " + _groups(machines))
    if len(loads) > 1:
        notes.append("The runs used different loads, compare with care: " + _groups(loads))
    return notes


def _groups(described: Mapping[str, list[str]]) -> str:
    return "; ".join(f"{', '.join(dict.fromkeys(labels))}: {text}" for text, labels in described.items()) + "."
