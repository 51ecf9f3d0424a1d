"""The report's model: loaded results turned into series and their figures. Pure.

A series is what one row of the report describes: a server (or a result file)
measured one or more times. Results are grouped by label, the server's name
when the file records it, else the file's stem, so repeats of one server
become one series. A comparison file yields one series per server, in its
order, including the servers that failed.

A series' figures are ``asgibench compare``'s, computed by the same code
(asgibench.compare.stats.server_stats): each run's figure from the metric
registry, then their median and min–max over the runs. The section's ranking
is compare's too (``standings``: the best ★, ties ≈ by the noise rule of
asgibench.results.noise, each against the best ×), so the terminal, the
Markdown and the HTML say the same of the same runs.

A comparison's server that could not serve the load's protocol was never
run: its series is ``unsupported``, with the reason, neither measured nor
failed, and never ranked.

A series is eligible to be the best of its section unless a run of it was
generator-bound, overloaded (the target fell behind the offered rate),
partial, mostly failing or failed: ``Series.caveats`` says which, and the
ranking passes over it, while its figures stay in the table with the mark.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from asgibench.compare.stats import COLUMNS, Column, Standing, server_stats, standings, throughput_column
from asgibench.report.describe import load_line, machine_line
from asgibench.report.sources import ComparisonSource, Source
from asgibench.results.figures import Caveat, caveats, error_rate, is_failed, is_target_behind, rate
from asgibench.results.metrics import METRICS, Metric
from asgibench.results.model import Result, ThresholdOutcome
from asgibench.results.spread import Spread

Document = Mapping[str, Any]
Ranking = Literal["rps", "p99"]
# What each ranking reads: compare's column of the same figure.
RANKING_COLUMNS: dict[Ranking, Column] = {
    "rps": next(column for column in COLUMNS if column.key == "rps"),
    "p99": next(column for column in COLUMNS if column.key == "p99_ms"),
}
LATENCY_KEYS = ("p50", "p90", "p99", "p999", "max")


@dataclass(frozen=True, slots=True)
class Run:
    """One measured run: the result file's path and its result."""

    path: Path
    result: Result


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
    unsupported: str | None = None  # why a comparison's server was not run: it cannot serve the load's protocol

    def run_name(self, run: Run) -> str:
        """The run's file name; with its directory when repeats share a name (a/uvicorn.json, b/uvicorn.json)."""
        if sum(1 for other in self.runs if other.path.name == run.path.name) == 1:
            return run.path.name
        return f"{run.path.parent.name}/{run.path.name}"

    @property
    def failed(self) -> bool:
        """Nothing (complete) was measured of it, though it was meant to be: not so for an unsupported server."""
        return self.unsupported is None and (self.failure is not None or not self.runs)

    @property
    def measured(self) -> bool:
        return not self.failed and self.unsupported is None

    @property
    def name(self) -> str:
        return f"{self.label} {self.version}" if self.version else self.label

    @property
    def results(self) -> tuple[Result, ...]:
        return tuple(run.result for run in self.runs)

    @property
    def stats(self) -> dict[str, Any]:
        """compare's figures of these runs (asgibench.compare.stats.server_stats): medians, ranges, counts, marks."""
        return server_stats(self.results)

    def spread(self, metric: Metric) -> Spread | None:
        """``metric`` of each run: its median and range over the runs (as ``server_stats`` takes each column's)."""
        return Spread.of(metric.value(result) for result in self.results)

    @property
    def rps(self) -> Spread | None:
        return self.spread(METRICS["rps"])

    def latency(self, key: str) -> Spread | None:
        """A latency figure (``p50`` … ``p999``, ``max``) of each run, in ms: its median and range over the runs."""
        return self.spread(METRICS[key])

    @property
    def request_names(self) -> tuple[str, ...]:
        """The named requests of the runs (per-name statistics), in the order they first appear."""
        return tuple(dict.fromkeys(entry.name for result in self.results for entry in result.requests))

    def named(self, name: str) -> NamedRequest:
        """One named request's figures: counts summed over the runs; req/s and latency each run's, their median."""
        entries = [entry for result in self.results if (entry := result.named(name)) is not None]
        requests, errors = sum(entry.requests for entry in entries), sum(entry.errors.total for entry in entries)
        return NamedRequest(
            name=name,
            requests=requests,
            ok=sum(entry.ok for entry in entries),
            errors=errors,
            error_rate=error_rate(errors, requests),
            rps=self.spread(METRICS["rps"].tagged("name", name)),
            latency={key: self.spread(METRICS[key].tagged("name", name)) for key in LATENCY_KEYS},
        )

    def status_latency(self, status: str) -> dict[str, Spread | None]:
        """The latency of one status code's responses (ms): each run's figure, their median and range."""
        return {key: self.spread(METRICS[key].tagged("status", status)) for key in LATENCY_KEYS}

    @property
    def statuses(self) -> dict[str, int]:
        """Final responses by status code over every run, in code order."""
        counts: dict[str, int] = {}
        for result in self.results:
            for code, count in result.summary.statuses.items():
                counts[code] = counts.get(code, 0) + count
        return dict(sorted(counts.items()))

    @property
    def requests(self) -> int:
        return sum(result.summary.requests for result in self.results)

    @property
    def errors(self) -> int:
        return sum(result.summary.errors.total for result in self.results)

    @property
    def ok(self) -> int:
        return sum(result.summary.ok for result in self.results)

    @property
    def error_rate(self) -> float:
        """Errors over requests across every run, as ``server_stats`` counts them."""
        return error_rate(self.errors, self.requests)

    @property
    def caveats(self) -> tuple[Caveat, ...]:
        """Why this series may not be ranked the best (generator-bound, target behind, failed); empty if it may."""
        return caveats(self.results)

    @property
    def eligible(self) -> bool:
        return self.measured and not self.caveats

    @property
    def generator_warnings(self) -> list[str]:
        """Why the generator, not the server, limited a run (one line per reason, deduplicated)."""
        reasons: list[str] = []
        for result in self.results:
            if result.generator.bottleneck:
                for reason in result.generator.reasons or ("the generator was the bottleneck",):
                    if reason not in reasons:
                        reasons.append(reason)
        return reasons

    @property
    def run_caveats(self) -> list[str]:
        """Each overloaded or failed run in a sentence, so the mark in the table can be traced to its run."""
        notes = []
        for run in self.runs:
            summary = run.result.summary
            if is_target_behind(run.result):
                offered = summary.offered_rps
                of = f" of the {rate(offered)} offered" if offered is not None else ""
                notes.append(
                    f"{self.run_name(run)}: the target fell behind, completing {rate(summary.rps)}{of} "
                    "requests/s; its latency is that of an overloaded target"
                )
            if is_failed(run.result):
                notes.append(f"{self.run_name(run)}: no request succeeded ({summary.errors.total:,} errors)")
        return notes

    @property
    def partial_notes(self) -> list[str]:
        return [
            f"{self.run_name(run)}: partial run ({run.result.partial_reason or 'reason not recorded'})"
            for run in self.runs
            if run.result.partial
        ]

    @property
    def thresholds(self) -> list[tuple[str, ThresholdOutcome]]:
        """Every run's threshold verdicts, as (run file name, verdict)."""
        return [(self.run_name(run), verdict) for run in self.runs for verdict in run.result.thresholds]


@dataclass(frozen=True, slots=True)
class NamedRequest:
    """One named request of a series (``requests`` in a result file): counts summed, figures medians of the runs."""

    name: str
    requests: int
    ok: int
    errors: int
    error_rate: float
    rps: Spread | None
    latency: dict[str, Spread | None]  # in ms, by key: p50, p90, p99, p999, max


@dataclass(frozen=True, slots=True)
class Section:
    """Series ranked against each other: one comparison, or all the result files given on their own."""

    title: str
    series: tuple[Series, ...]
    config: Document | None
    comparison: Document | None = None
    notes: tuple[str, ...] = ()

    @property
    def measured(self) -> tuple[Series, ...]:
        return tuple(series for series in self.series if series.measured)

    @property
    def ranking(self) -> Ranking:
        """What "best" means: lowest p99 when the rate was fixed (open model), else most requests/s."""
        return "p99" if self.config is not None and self.config.get("model") == "open" else "rps"

    @property
    def column(self) -> Column:
        """compare's column the section is ranked by; for WebSocket throughput, msg/s (the terminal's column)."""
        if self.ranking == "rps":
            return throughput_column(self.config)
        return RANKING_COLUMNS[self.ranking]

    def stats(self) -> dict[str, dict[str, Any]]:
        """compare's figures of each measured series, by label (``Series.stats``)."""
        return {one.label: one.stats for one in self.measured}

    def standings(self, stats: Mapping[str, dict[str, Any]] | None = None) -> dict[str, Standing]:
        """Each measured series against the best eligible one, as ``asgibench compare`` ranks its servers.

        By label: the best (★), or not different from it beyond the runs' noise (≈), and the ratio to it (×);
        compare's ``standings`` over each series' ``server_stats`` (``stats``, when already computed), on the
        ranking's column.
        """
        return standings(self.stats() if stats is None else stats, self.column)

    @property
    def best(self) -> str | None:
        """The label of the best eligible series, or None when none is eligible (or none has the figure)."""
        return next((label for label, place in self.standings().items() if place.best), None)


@dataclass(frozen=True, slots=True)
class Report:
    """What both renderers draw: the machine, then sections of series; notes on what differs between inputs."""

    sections: tuple[Section, ...]
    environment: Document | None
    notes: tuple[str, ...] = ()

    @property
    def series(self) -> tuple[Series, ...]:
        return tuple(one for section in self.sections for one in section.series)


def result_label(path: Path, result: Result) -> tuple[str, str | None]:
    """The label and version a result file is grouped under: its server's, else the file's stem."""
    if result.server is not None and result.server.name:
        return result.server.name, result.server.version or None
    server = result.environment.get("server")
    if isinstance(server, Mapping) and server.get("name"):
        version = server.get("version")
        return str(server["name"]), str(version) if version else None
    return path.stem, None


def build_report(sources: Sequence[Source]) -> Report:
    """One section per comparison, and one for the result files (in the place of the first), each ranked alone.

    Result files are grouped into series by label, so repeats join one series.
    """
    sections: list[Section | list[Series]] = []  # the result files' series, collected in place
    loose: list[Series] = []
    repeats: dict[str, int] = {}  # a result file's label -> its series, so repeats join it
    for source in sources:
        if isinstance(source, ComparisonSource):
            sections.append(comparison_section(source))
            continue
        if not loose:
            sections.append(loose)
        label, version = result_label(source.path, source.result)
        run = Run(source.path, source.result)
        if label in repeats:
            loose[repeats[label]] = dataclasses.replace(loose[repeats[label]], runs=(*loose[repeats[label]].runs, run))
        else:
            repeats[label] = len(loose)
            loose.append(Series(label, (run,), version))
    built = tuple(part if isinstance(part, Section) else _results_section(part) for part in sections)
    series = [one for section in built for one in section.series]
    first = next((section for section in built if section.comparison is not None), None)
    results = [run.result for one in series for run in one.runs]
    environment = first.comparison["environment"] if first and first.comparison else None
    if environment is None and results:
        environment = results[0].environment
    return Report(built, environment, tuple(_machine_differences(series)))


def _results_section(series: list[Series]) -> Section:
    config = series[0].runs[0].result.config
    notes = _load_differences(series)
    return Section("Result files", tuple(series), config, None, tuple(notes))


def comparison_section(source: ComparisonSource) -> Section:
    """A comparison's servers in its order, titled by its directory (results/json/comparison.json: "json")."""
    comparison = source.comparison
    named_by_directory = source.path.stem == "comparison" and source.path.parent.name
    title = source.path.parent.name if named_by_directory else source.path.stem
    notes = []
    if comparison.get("partial"):
        notes.append("This comparison was interrupted: some servers have fewer runs than planned.")
    series = comparison_series(source)
    notes += _load_differences(series, comparison["config"])
    return Section(title, tuple(series), comparison["config"], comparison, tuple(notes))


def comparison_series(source: ComparisonSource) -> list[Series]:
    """One series per server of a comparison, in its order; a failed server keeps its error and log tail,
    an unsupported one its reason."""
    found = []
    for server, runs in zip(source.comparison["servers"], source.runs, strict=True):
        failure = unsupported = None
        status = server.get("status", "ok")
        if status == "unsupported":
            unsupported = str(server.get("reason") or "it cannot serve this load's protocol")
        elif status != "ok":
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
                unsupported=unsupported,
            )
        )
    return found


def _machine_differences(series: Sequence[Series]) -> list[str]:
    machines: dict[str, list[str]] = {}
    for one in series:
        for run in one.runs:
            machines.setdefault(machine_line(run.result.environment), []).append(one.label)
    if len(machines) < 2:
        return []
    return ["The runs come from different machines or Pythons, compare with care: " + _groups(machines)]


def _load_differences(series: Sequence[Series], planned: Document | None = None) -> list[str]:
    loads: dict[str, list[str]] = {}
    if planned is not None:
        loads[load_line(planned)] = []
    for one in series:
        for run in one.runs:
            loads.setdefault(load_line(run.result.config), []).append(one.label)
    if len(loads) < 2:
        return []
    return ["The runs used different loads, compare with care: " + _groups(loads)]


def _groups(described: Mapping[str, list[str]]) -> str:
    groups = [f"{', '.join(dict.fromkeys(labels))}: {text}" for text, labels in described.items() if labels]
    return "; ".join(groups) + "."
