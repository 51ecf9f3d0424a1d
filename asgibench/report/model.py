"""The report's model: loaded documents turned into series and their statistics. Pure.

A series is what one row of the report describes: a server (or a result file)
measured one or more times. Results are grouped by label, the server's name
when the file records it, else the file's stem, so repeats of one server
become one series with a median and a range. A comparison file yields one
series per server, in its order, including the servers that failed.

A series is eligible to be the best of its section unless a run of it was
generator-bound, overloaded (the target fell behind the offered rate) or failed
(no request succeeded): ``Series.caveats`` says which, and the ranking passes
over it, while its figures stay in the table with the mark.
"""

from __future__ import annotations

import dataclasses
import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from hdrh.histogram import HdrHistogram

from asgibench.report.describe import load_line, machine_line
from asgibench.report.sources import ComparisonSource, Source
from asgibench.report.spectrum import merged_histogram, merged_latency, request_histograms, status_histograms
from asgibench.results.figures import Caveat, caveats, is_failed, is_target_behind, pooled_error_rate, rate
from asgibench.results.model import Result
from asgibench.results.spread import Spread

Document = Mapping[str, Any]
Ranking = Literal["rps", "p99"]
POOLED_PERCENTILES = {"p50": 50.0, "p90": 90.0, "p99": 99.0, "p999": 99.9}


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

    def run_name(self, run: Run) -> str:
        """The run's file name; with its directory when repeats share a name (a/uvicorn.json, b/uvicorn.json)."""
        if sum(1 for other in self.runs if other.path.name == run.path.name) == 1:
            return run.path.name
        return f"{run.path.parent.name}/{run.path.name}"

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
        """Latency percentiles (ms) of every run's requests together: histograms added, percentiles never averaged."""
        return pooled_percentiles(merged_latency(run.result for run in self.runs), self._summaries())

    def _summaries(self) -> list[Document]:
        return [run.result["summary"] for run in self.runs]

    @property
    def request_names(self) -> tuple[str, ...]:
        """The named requests of the runs (per-name statistics), in the order they first appear."""
        names = (str(entry["name"]) for run in self.runs for entry in run.result.get("requests") or ())
        return tuple(dict.fromkeys(names))

    def named(self, name: str) -> NamedRequest:
        """One named request's figures over every run: counts summed, req/s as a spread, latency pooled."""
        entries = [entry for run in self.runs for entry in run.result.get("requests") or () if entry["name"] == name]
        histogram = merged_histogram(
            encoded for run in self.runs for encoded in request_histograms(run.result, name, "latency")
        )
        return NamedRequest(
            name=name,
            requests=sum(int(entry["requests"]) for entry in entries),
            ok=sum(int(entry["ok"]) for entry in entries),
            errors=sum(int(entry["errors"]["total"]) for entry in entries),
            error_rate=pooled_error_rate(entries),
            rps=Spread.of(entry.get("rps") for entry in entries),
            latency=pooled_percentiles(histogram, entries),
        )

    def status_latency(self, status: str) -> dict[str, float]:
        """The latency percentiles (ms) of one status code's responses over every run, histograms added."""
        entries = [
            entry for run in self.runs for entry in run.result.get("by_status") or () if entry["status"] == status
        ]
        histogram = merged_histogram(encoded for run in self.runs for encoded in status_histograms(run.result, status))
        return pooled_percentiles(histogram, entries)

    @property
    def statuses(self) -> dict[str, int]:
        """Final responses by status code over every run, in code order."""
        counts: dict[str, int] = {}
        for run in self.runs:
            for code, count in (run.result["summary"].get("statuses") or {}).items():
                counts[str(code)] = counts.get(str(code), 0) + int(count)
        return dict(sorted(counts.items()))

    @property
    def requests(self) -> int:
        return sum(int(run.result["summary"]["requests"]) for run in self.runs)

    @property
    def errors(self) -> int:
        return sum(int(run.result["summary"]["errors"]["total"]) for run in self.runs)

    @property
    def ok(self) -> int:
        return sum(int(run.result["summary"]["ok"]) for run in self.runs)

    @property
    def error_rate(self) -> float:
        """Errors over requests across every run (the runs pooled, as a summary computes its own)."""
        return pooled_error_rate(self._summaries())

    @property
    def caveats(self) -> tuple[Caveat, ...]:
        """Why this series may not be ranked the best (generator-bound, target behind, failed); empty if it may."""
        return caveats([Result.from_json(run.result) for run in self.runs])

    @property
    def eligible(self) -> bool:
        return not self.failed and not self.caveats

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
    def run_caveats(self) -> list[str]:
        """Each overloaded or failed run in a sentence, so the mark in the table can be traced to its run."""
        notes = []
        for run in self.runs:
            summary = run.result["summary"]
            if is_target_behind(Result.from_json(run.result)):
                offered = summary.get("offered_rps")
                of = f" of the {rate(float(offered))} offered" if offered is not None else ""
                notes.append(
                    f"{self.run_name(run)}: the target fell behind, completing {rate(float(summary['rps']))}{of} "
                    "requests/s; its latency is that of an overloaded target"
                )
            if is_failed(Result.from_json(run.result)):
                notes.append(f"{self.run_name(run)}: no request succeeded ({int(summary['errors']['total']):,} errors)")
        return notes

    @property
    def partial_notes(self) -> list[str]:
        return [
            f"{self.run_name(run)}: partial run ({run.result.get('partial_reason') or 'reason not recorded'})"
            for run in self.runs
            if run.result.get("partial")
        ]

    @property
    def thresholds(self) -> list[tuple[str, Mapping[str, Any]]]:
        """Every run's threshold verdicts, as (run file name, verdict)."""
        return [(self.run_name(run), verdict) for run in self.runs for verdict in run.result.get("thresholds") or []]


@dataclass(frozen=True, slots=True)
class NamedRequest:
    """One named request of a series (``requests`` in a result file), its runs pooled."""

    name: str
    requests: int
    ok: int
    errors: int
    error_rate: float
    rps: Spread | None
    latency: dict[str, float]  # pooled percentiles in ms: p50, p90, p99, p999, max


def pooled_percentiles(histogram: HdrHistogram | None, blocks: Sequence[Document]) -> dict[str, float]:
    """Percentiles (ms) of ``histogram`` (runs' histograms added); without one, of the blocks' own ``latency_ms``.

    The fallback takes the higher middle value of the runs (the highest for max),
    so no percentile is ever an average of two.
    """
    if histogram is not None:
        values = histogram.get_percentile_to_value_dict(list(POOLED_PERCENTILES.values()))
        pooled = {key: values[percentile] / 1000 for key, percentile in POOLED_PERCENTILES.items()}
        return pooled | {"max": histogram.get_max_value() / 1000}
    found = {}
    for key in (*POOLED_PERCENTILES, "max"):
        present = [float(value) for block in blocks if (value := (block.get("latency_ms") or {}).get(key)) is not None]
        if present:
            found[key] = max(present) if key == "max" else statistics.median_high(present)
    return found


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
        return tuple(series for series in self.series if not series.failed)

    @property
    def ranking(self) -> Ranking:
        """What "best" means: lowest p99 when the rate was fixed (open model), else most requests/s."""
        return "p99" if self.config is not None and self.config.get("model") == "open" else "rps"

    def ranked(self) -> tuple[dict[str, float], str | None]:
        """Each series against the best (``relative_to_best``), and the best eligible one: computed together."""
        return rank(self.measured, self.ranking)

    def relative(self) -> dict[str, float]:
        return self.ranked()[0]

    @property
    def best(self) -> str | None:
        """The label of the best eligible series, or None when none is eligible (or none has the figure)."""
        return self.ranked()[1]


@dataclass(frozen=True, slots=True)
class Report:
    """What both renderers draw: the machine, then sections of series; notes on what differs between inputs."""

    sections: tuple[Section, ...]
    environment: Document | None
    notes: tuple[str, ...] = ()

    @property
    def series(self) -> tuple[Series, ...]:
        return tuple(one for section in self.sections for one in section.series)


def ranked_values(series: Sequence[Series], ranking: Ranking) -> dict[str, float]:
    """What each series is ranked by: its pooled p99 (ms), or its median requests/s."""
    if ranking == "p99":
        return {one.label: p99 for one in series if (p99 := one.pooled_latency().get("p99")) is not None}
    return {one.label: spread.median for one in series if (spread := one.rps) is not None}


def _top(values: Mapping[str, float], ranking: Ranking) -> str | None:
    """The label with the lowest p99 or the most requests/s (the first, on a tie); a zero is never the best."""
    positive = {label: value for label, value in values.items() if value > 0}
    if not positive:
        return None
    return (min if ranking == "p99" else max)(positive, key=positive.__getitem__)


def rank(series: Sequence[Series], ranking: Ranking) -> tuple[dict[str, float], str | None]:
    """Each series against the best eligible one (or, when none is, the best of all), and that best eligible one.

    Ratios: 1.0 is the reference; >1 is a slower pooled p99, <1 fewer requests/s (median). The best is None
    when no series is eligible (see ``Series.caveats``). Each series' figure is pooled once, here.
    """
    values = ranked_values(series, ranking)
    eligible = {one.label for one in series if one.eligible}
    best = _top({label: value for label, value in values.items() if label in eligible}, ranking)
    reference = best or _top(values, ranking)
    if reference is None:
        return {}, best
    return {label: value / values[reference] for label, value in values.items()}, best


def relative_to_best(series: Sequence[Series], ranking: Ranking) -> dict[str, float]:
    """Each series against the best eligible one (or, when none is, the best of all): 1.0 is that one."""
    return rank(series, ranking)[0]


def result_label(path: Path, result: Document) -> tuple[str, str | None]:
    """The label and version a result file is grouped under: its server's, else the file's stem."""
    for server in (result.get("server"), (result.get("environment") or {}).get("server")):
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
    documents = [run.result for one in series for run in one.runs]
    environment = first.comparison["environment"] if first and first.comparison else None
    if environment is None and documents:
        environment = documents[0]["environment"]
    return Report(built, environment, tuple(_machine_differences(series)))


def _results_section(series: list[Series]) -> Section:
    config = series[0].runs[0].result.get("config")
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


def _machine_differences(series: Sequence[Series]) -> list[str]:
    machines: dict[str, list[str]] = {}
    for one in series:
        for run in one.runs:
            machines.setdefault(machine_line(run.result.get("environment")), []).append(one.label)
    if len(machines) < 2:
        return []
    return ["The runs come from different machines or Pythons, compare with care: " + _groups(machines)]


def _load_differences(series: Sequence[Series], planned: Document | None = None) -> list[str]:
    loads: dict[str, list[str]] = {}
    if planned is not None:
        loads[load_line(planned)] = []
    for one in series:
        for run in one.runs:
            loads.setdefault(load_line(run.result.get("config")), []).append(one.label)
    if len(loads) < 2:
        return []
    return ["The runs used different loads, compare with care: " + _groups(loads)]


def _groups(described: Mapping[str, list[str]]) -> str:
    groups = [f"{', '.join(dict.fromkeys(labels))}: {text}" for text, labels in described.items() if labels]
    return "; ".join(groups) + "."
