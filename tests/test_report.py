"""asgibench report: grouping, statistics, the percentile spectrum, Markdown and HTML, and the page in Chromium."""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import statistics
import subprocess
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from asgibench.report import build_report, render_html, render_markdown, write_reports
from asgibench.report.charts import Bar, SpectrumLine, TimelineLine, percentile_spectrum, throughput_bars, timeline
from asgibench.report.model import Run, Series
from asgibench.report.sources import ResultSource, load_sources
from asgibench.report.spectrum import merged_latency, spectrum
from asgibench.report.svg import TICK_SIZE, legend, series_key, text_width
from asgibench.report.tables import named_rows, status_rows, summary_table
from asgibench.results.model import Result
from tests.loadkit import asgibench, read, uvicorn
from tests.resultkit import histogram_of, named, result_document, timeline_row, with_statuses

# --- documents --------------------------------------------------------------------------------------------------


def crafted(
    rps: float = 1000.0,
    p99: float = 5.0,
    *,
    server: str | None = None,
    model: str = "closed",
    values_us: list[int] | None = None,
    errors: int = 0,
    **more: Any,
) -> dict[str, Any]:
    """A result document whose p99 is about ``p99`` ms; ``errors`` requests timed out beside the answered ones."""
    return result_document(
        rps=rps,
        model=model,
        server=server,
        values_us=values_us or [1000] * 98 + [round(p99 * 1000)] * 2,
        errors={"timeout": errors} if errors else None,
        **more,
    )


def write_json(path: Path, document: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document))
    return path


def typed(document: dict[str, Any] | Result) -> Result:
    """The report holds typed results (asgibench.report.sources converts each file once, where it is read)."""
    return document if isinstance(document, Result) else Result.from_json(document)


def result_source(path: Path, document: dict[str, Any] | Result) -> ResultSource:
    return ResultSource(path, typed(document))


def typed_run(path: Path, document: dict[str, Any] | Result) -> Run:
    return Run(path, typed(document))


# --- real runs -------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def real_runs(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Two real `asgibench load` runs against uvicorn, saved as a/uvicorn.json and b/uvicorn.json (one series)."""
    base = tmp_path_factory.mktemp("runs")
    paths = [base / "a" / "uvicorn.json", base / "b" / "uvicorn.json"]
    with uvicorn() as (url, _):
        for path in paths:
            path.parent.mkdir()
            done = asgibench(
                "load", url, "--rate", "300", "--duration", "2s", "--warmup", "0.5s", "-q",
                "--threshold", "p99<2s", "--json", str(path),
            )  # fmt: skip
            assert done.returncode == 0, done.stdout + done.stderr
    return paths


@pytest.fixture(scope="module")
def comparison(real_runs: list[Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A comparison file over the real runs: uvicorn (with a flame graph), hypercorn, and daphne which failed."""
    base = tmp_path_factory.mktemp("comparison")
    servers = []
    for name, cpu in (("uvicorn", 0.41), ("hypercorn", 0.63)):
        runs = []
        for index, source in enumerate(real_runs, start=1):
            result = read(source)
            result["server"] = {"name": name, "version": "9.9", "cpu_fraction": cpu, "peak_rss_mib": 42.5}
            result["environment"]["server"] = {"name": name, "version": "9.9"}
            write_json(base / f"{name}-{index}.json", result)
            runs.append(f"{name}-{index}.json")
        servers.append({"name": name, "version": "9.9", "status": "ok", "error": None, "log_tail": [], "runs": runs,
                        "profile": None})  # fmt: skip
    servers[0]["profile"] = "uvicorn.svg"
    servers[1]["profile_error"] = "py-spy could not attach"
    servers[1]["app"] = "reference_apps.wsgi_app:app"
    (base / "uvicorn.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")
    servers.append(
        {"name": "daphne", "version": "4.0", "status": "failed", "error": "did not start within 10 s",
         "log_tail": ["Traceback (most recent call last):", "ImportError: no module named <twisted>"], "runs": []}
    )  # fmt: skip
    first = read(real_runs[0])
    document = {
        "schema": "asgibench.comparison/1",
        "created": "2026-11-21T14:33:22+00:00",
        "app": "reference_apps.raw_app:app",
        "wsgi_app": None,
        "environment": first["environment"],
        "config": first["config"],
        "repeat": 2,
        "server_workers": 1,
        "cpus": {"server": [0], "generator": [1]},
        "servers": servers,
    }
    return write_json(base / "comparison.json", document)


# --- grouping and statistics (pure) ---------------------------------------------------------------------------


def test_results_group_by_server_name_else_file_stem() -> None:
    no_server = crafted()
    named_in_environment = crafted()
    named_in_environment["environment"]["server"] = {"name": "hypercorn", "version": "0.17"}
    sources = [
        result_source(Path("x/run-1.json"), crafted(900, server="uvicorn")),
        result_source(Path("x/baseline.json"), no_server),
        result_source(Path("y/run-2.json"), crafted(1100, server="uvicorn")),
        result_source(Path("z/h.json"), named_in_environment),
        result_source(Path("other/baseline.json"), crafted(1200)),
    ]
    report = build_report(sources)
    assert [(one.label, len(one.runs)) for one in report.series] == [("uvicorn", 2), ("baseline", 2), ("hypercorn", 1)]
    assert report.series[0].name == "uvicorn 1.0"
    assert report.series[2].name == "hypercorn 0.17"
    rps = report.series[0].rps
    assert rps is not None and (rps.median, rps.low, rps.high) == (1000.0, 900.0, 1100.0)


def test_comparison_gives_one_series_per_server_in_order_with_failures(comparison: Path) -> None:
    report = build_report(load_sources([comparison]))
    assert [one.label for one in report.series] == ["uvicorn", "hypercorn", "daphne"]
    assert [len(one.runs) for one in report.series] == [2, 2, 0]
    daphne = report.series[2]
    assert daphne.failed and daphne.failure == "did not start within 10 s"
    assert report.series[0].profile == (comparison.parent / "uvicorn.svg").absolute()
    assert len(report.sections) == 1 and report.sections[0].title == comparison.parent.name
    assert report.sections[0].comparison is not None
    assert report.sections[0].comparison["app"] == "reference_apps.raw_app:app"


def test_each_comparison_is_a_section_ranked_alone(comparison: Path, tmp_path: Path) -> None:
    """Comparisons of different endpoints are not ranked against each other; result files get their own section."""
    second = tmp_path / "json"
    shutil.copytree(comparison.parent, second)
    result = write_json(tmp_path / "mine.json", crafted())
    report = build_report(load_sources([comparison, result, second / "comparison.json"]))
    assert [section.title for section in report.sections] == [comparison.parent.name, "Result files", "json"]
    assert [one.label for one in report.sections[2].series] == ["uvicorn", "hypercorn", "daphne"]
    page = render_html(report, report_directory=tmp_path)
    charts = parse(page).charts
    assert set(charts) == {f"{chart}{suffix}" for chart in ("percentile-spectrum", "throughput", "timeline")
                           for suffix in ("", "-2", "-3")}  # fmt: skip
    assert all(count == 1 for count in Counter(parse(page).ids).values())  # ids stay unique
    markdown = render_markdown(report, report_directory=tmp_path)
    assert markdown.count("× ★") == 3  # a best in each section
    assert "## json" in markdown and "## Result files" in markdown


@pytest.mark.parametrize(
    ("model", "relative"), [("closed", {"fast": 1.0, "slow": 0.25}), ("open", {"fast": 4.0, "slow": 1.0})]
)
def test_relative_to_best_by_throughput_or_by_p99(model: str, relative: dict[str, float]) -> None:
    """compare's standings: against the most requests/s (closed model), or the lowest p99 (open model)."""
    sources = [
        result_source(Path("fast.json"), crafted(2000, p99=8.0, model=model)),
        result_source(Path("slow.json"), crafted(500, p99=2.0, model=model)),
    ]
    places = build_report(sources).sections[0].standings()
    assert {label: place.relative for label, place in places.items()} == pytest.approx(relative, rel=1e-2)


def test_open_model_ranks_by_p99_and_marks_the_best_row() -> None:
    sources = [
        result_source(Path("a.json"), crafted(500, p99=4.0, model="open")),
        result_source(Path("b.json"), crafted(500, p99=2.0, model="open")),
    ]
    table = summary_table(build_report(sources).sections[0])
    assert table.headers[-1] == "p99 vs best"
    assert table.best_row == 1
    assert table.rows[0][-1] == "2.00×" and table.rows[1][-1] == "1.00× ★"


def test_error_rate_pools_runs() -> None:
    one = crafted(100, errors=30)  # 300 answered + 30 timed out: 330 requests
    two = crafted(100, errors=0)
    series = Series("s", (typed_run(Path("1.json"), one), typed_run(Path("2.json"), two)))
    assert series.errors == 30 and series.ok == 600
    assert series.error_rate == pytest.approx(30 / 630)


# --- the percentile spectrum ----------------------------------------------------------------------------------


def test_spectrum_is_monotonic_and_ends_at_the_maximum() -> None:
    histogram = histogram_of(list(range(100, 20_100, 2)) + [250_000])  # 10,001 values and one outlier
    points = spectrum(histogram)
    assert [p.x for p in points] == sorted(p.x for p in points)
    assert all(a.ms <= b.ms for a, b in zip(points, points[1:], strict=False))
    assert points[-1].percentile == 100.0 and points[-1].ms == histogram.get_max_value() / 1000
    assert points[-1].ms == pytest.approx(250.0, rel=1e-3)
    assert points[0].ms == pytest.approx(0.1, rel=1e-2)
    by_percentile = {p.percentile: p.ms for p in points}
    for wanted in (50.0, 90.0, 99.0, 99.9, 99.99):
        assert by_percentile[wanted] == histogram.get_value_at_percentile(wanted) / 1000


def test_repeats_merge_by_adding_histograms_not_averaging() -> None:
    """The spectrum chart pools its series' requests (the tables show medians over the runs, as compare does)."""
    quick = typed(crafted(values_us=[1000] * 900))
    slow = typed(crafted(values_us=[100_000] * 100))
    merged = merged_latency([quick, slow])
    assert merged is not None and merged.get_total_count() == 1000
    assert merged.get_value_at_percentile(50) == pytest.approx(1000, rel=1e-3)  # an average would say 50.5 ms
    assert merged.get_value_at_percentile(95) == pytest.approx(100_000, rel=1e-3)


# --- charts (pure SVG) ----------------------------------------------------------------------------------------


class Elements(HTMLParser):
    """Counts elements by (tag, class) and collects ids and titles, inside each svg chart."""

    def __init__(self) -> None:
        super().__init__()
        self.charts: dict[str, Counter[str]] = {}
        self.current: str | None = None
        self.ids: list[str] = []
        self.titles: list[str] = []
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if attributes.get("id"):
            self.ids.append(str(attributes["id"]))
        if tag == "svg" and "chart" in (attributes.get("class") or ""):
            self.current = str(attributes["id"])
            self.charts[self.current] = Counter()
        elif self.current is not None:
            for css in (attributes.get("class") or "").split() or [""]:
                self.charts[self.current][f"{tag}.{css}" if css else tag] += 1
        self._in_title = tag == "title"

    def handle_endtag(self, tag: str) -> None:
        if tag == "svg":
            self.current = None
        self._in_title = False

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.titles.append(data)


def parse(markup: str) -> Elements:
    parser = Elements()
    parser.feed(markup)
    return parser


def test_spectrum_chart_draws_one_line_per_series_with_labelled_axes() -> None:
    outlier = histogram_of([200] * 50 + [90_000])
    lines = [
        SpectrumLine("a & b", tuple(spectrum(histogram_of(list(range(100, 5000)))))),
        SpectrumLine("c", tuple(spectrum(outlier))),
    ]
    markup = percentile_spectrum(lines)
    found = parse(markup)
    assert found.charts["percentile-spectrum"]["polyline.series"] == 2
    for label in ("0%", "90%", "99%", "99.9%"):
        assert f">{label}</text>" in markup
    assert "latency (ms, log scale)" in markup  # 0.2 ms to 90 ms is a wide range
    assert "a &amp; b" in markup and "a & b" not in markup
    assert f"c: max = {outlier.get_max_value() / 1000:.2f} ms" in found.titles  # 90.05: as the tables print ms
    assert "c: p50 = 0.200 ms" in found.titles


def test_throughput_chart_has_bars_and_whiskers_for_repeats() -> None:
    markup = throughput_bars([Bar("one", 100.0, 90.0, 120.0, 3), Bar("two", 80.0, 80.0, 80.0, 1)])
    found = parse(markup).charts["throughput"]
    assert found["rect.bar"] == 2
    assert found["path.whisker"] == 1  # a single run has no range to draw


def test_timeline_breaks_the_p99_line_on_a_second_without_answers() -> None:
    seconds = ((0.5, 100.0, 2.0), (1.5, 0.0, None), (2.5, 100.0, 3.0))
    found = parse(timeline([TimelineLine("s", seconds)])).charts["timeline"]
    assert found["polyline.series"] == 1 + 2  # rps: one line; p99: two pieces around the gap


# --- Markdown and HTML from real runs -------------------------------------------------------------------------


def test_markdown_table_from_real_runs(real_runs: list[Path]) -> None:
    done = asgibench("report", *map(str, real_runs))
    assert done.returncode == 0, done.stderr
    markdown = done.stdout
    results = [read(path) for path in real_runs]
    row = next(line for line in markdown.splitlines() if line.startswith("| **uvicorn"))
    cells = [cell.strip().strip("*") for cell in row.strip("|").split("|")]
    assert cells[0] == "uvicorn" and cells[1] == "2"
    assert cells[2] == _ranged([result["summary"]["rps"] for result in results], lambda value: f"{value:,.0f}")
    # Each run's own percentile, then their median (min–max) over the runs: as compare shows them.
    for index, key in enumerate(("p50", "p90", "p99", "p999", "max"), start=3):
        assert cells[index] == _ranged([result["summary"]["latency_ms"][key] for result in results], _ms), key
    assert cells[8] == "0"
    assert cells[9] == "pass 2/2" and cells[10] == "1.00× ★"
    machine = results[0]["environment"]
    assert f"**Machine:** {machine['cpu_model']}" in markdown and f"CPython {machine['python']}" in markdown
    assert "**Load:** open model, 300 requests/s · 2 s measured after 0.5 s warm-up" in markdown
    assert "| a/uvicorn.json | p99\\<2s |" in markdown  # the verdicts, runs told apart by directory, < escaped


def _ms(value: float) -> str:
    return f"{value:.3f}" if value < 10 else f"{value:.2f}" if value < 100 else f"{value:.1f}"


def _ranged(values: list[float], shown: Any) -> str:
    """The median of ``values``, and their (min–max) when they differ."""
    middle = shown(statistics.median(values))
    return middle if min(values) == max(values) else f"{middle} ({shown(min(values))}–{shown(max(values))})"


def test_comparison_report_has_header_failure_and_profile_links(comparison: Path, tmp_path: Path) -> None:
    out = tmp_path / "published"
    out.mkdir()
    done = asgibench("report", str(comparison), "--out", str(out))
    assert done.returncode == 0, done.stderr
    markdown = (out / "report.md").read_text()
    page = (out / "report.html").read_text()
    expected_link = os.path.relpath(comparison.parent / "uvicorn.svg", out)
    assert f"]({expected_link})" in markdown and f'href="{expected_link}"' in page
    assert "**Comparison:** app reference\\_apps.raw\\_app:app · 2 measured runs per server" in markdown
    assert "server on CPU 0, generator on CPU 1" in markdown
    assert "| daphne 4.0 ✗ | 0 | failed |" in markdown and "did not start within 10 s" in markdown
    assert "| ✗ failed |" in markdown and "### daphne 4.0 ✗" in markdown  # marked in its row and its section
    # hypercorn's server: cores busy and peak memory, compare's figures by compare's names
    assert "| CPU cores | memory MiB |" in markdown and "| 0.63 | 42.5 |" in markdown
    assert "| 1.00× ≈ |" in markdown  # hypercorn ran uvicorn's very runs: a tie by the noise rule, not a loss
    assert "ImportError: no module named &lt;twisted&gt;" in page  # the log tail, escaped
    assert "No flame graph: py-spy could not attach" in markdown
    assert "App: `reference_apps.wsgi_app:app`" in markdown  # differs from the comparison's app
    assert "App: `reference_apps.raw_app:app`" not in markdown


def test_links_are_relative_to_where_each_report_is_written(comparison: Path) -> None:
    write_reports([comparison], markdown=comparison.parent / "report.md")
    assert "](uvicorn.svg)" in (comparison.parent / "report.md").read_text()


def test_text_from_files_is_escaped(tmp_path: Path) -> None:
    hostile = crafted(server="<script>alert(1)</script>")
    hostile["thresholds"] = [
        {"threshold": "p99<1ms", "metric": "p99", "name": None, "comparison": "<", "limit": 1.0, "unit": "ms",
         "observed": 2.0, "passed": False}
    ]  # fmt: skip
    report = build_report(load_sources([write_json(tmp_path / "r.json", hostile)]))
    page = render_html(report, report_directory=tmp_path)
    assert "<script" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    markdown = render_markdown(report, report_directory=tmp_path)
    assert "<script>" not in markdown and "\\<script\\>" in markdown
    assert "FAIL 1/1" in markdown


def test_errors_show_count_and_pooled_rate() -> None:
    report = build_report([result_source(Path("e.json"), crafted(100, errors=30))])
    row = summary_table(report.sections[0]).rows[0]
    assert row[8] == "30 (9.09%)"  # 30 of 330 requests: 300 answered, 30 timed out


def test_html_fetches_nothing_by_construction(comparison: Path, tmp_path: Path) -> None:
    page_path = tmp_path / "report.html"
    write_reports([comparison], html=page_path)
    page = page_path.read_text()
    assert not re.search(r"""(?:src|href|action|poster|data)\s*=\s*["']?\s*(?:[a-z][a-z0-9+.-]*:)?//""", page, re.I)
    assert not re.search(r"url\(|@import|<script|<link|<img|<iframe|<object|<embed", page, re.I)
    assert "default-src 'none'" in page  # the page's own policy forbids any load
    assert page.count('<svg class="chart"') == 3


# --- the CLI --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json {", "not valid JSON"),
        ('{"hello": 1}', "is not an asgibench result file"),
        ('{"schema": "asgibench.result/9"}', "has schema 'asgibench.result/9'"),
        ('{"schema": "asgibench.comparison/1"}', "comparison file lacks"),
    ],
)
def test_not_a_result_exits_two_naming_the_file(tmp_path: Path, content: str, message: str) -> None:
    bad = tmp_path / "not-a-result.json"
    bad.write_text(content)
    done = asgibench("report", str(bad))
    assert done.returncode == 2
    assert "not-a-result.json" in done.stderr and message in done.stderr
    assert "Traceback" not in done.stderr


def test_missing_run_file_of_a_comparison_names_both(comparison: Path, tmp_path: Path) -> None:
    copy_directory = tmp_path / "broken"
    shutil.copytree(comparison.parent, copy_directory)
    (copy_directory / "hypercorn-2.json").unlink()
    done = asgibench("report", str(copy_directory / "comparison.json"))
    assert done.returncode == 2
    assert "comparison.json: server 'hypercorn'" in done.stderr and "hypercorn-2.json" in done.stderr


def test_bad_output_paths_exit_two_before_reading(tmp_path: Path) -> None:
    result = write_json(tmp_path / "r.json", crafted())
    done = asgibench("report", str(result), "--md", str(tmp_path / "missing" / "report.md"))
    assert done.returncode == 2 and "--md" in done.stderr and "does not exist" in done.stderr
    done = asgibench("report", str(result), "--out", str(result))  # a file, not a directory
    assert done.returncode == 2 and "--out" in done.stderr and "not a directory" in done.stderr
    done = asgibench("report", str(result), "--out", str(result / "under-a-file"))
    assert done.returncode == 2 and "Cannot create --out directory" in done.stderr
    assert sorted(path.name for path in tmp_path.iterdir()) == ["r.json"]


def test_out_creates_the_directory_and_its_parents(tmp_path: Path) -> None:
    result = write_json(tmp_path / "r.json", crafted())
    out = tmp_path / "reports" / "2026" / "main"
    done = asgibench("report", str(result), "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert sorted(path.name for path in out.iterdir()) == ["report.html", "report.md"]
    done = asgibench("report", str(result), "--out", str(out))  # and writes into one that exists
    assert done.returncode == 0, done.stderr


def test_out_leaves_no_directory_behind_for_bad_input(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"hello": 1}')
    done = asgibench("report", str(bad), "--out", str(tmp_path / "new" / "reports"))
    assert done.returncode == 2 and "bad.json" in done.stderr
    assert not (tmp_path / "new").exists()


def test_a_directory_stands_for_its_result_and_comparison_files(comparison: Path, tmp_path: Path) -> None:
    """`report DIR` as `gate DIR`: the comparison in it, its runs once, other JSON (gate, conformance) skipped."""
    directory = tmp_path / "cmp"
    shutil.copytree(comparison.parent, directory)
    write_json(directory / "gate.json", {"schema": "asgibench.gate/1", "passed": True})
    write_json(directory / "conform.json", {"schema": "asgibench.conformance/1", "checks": []})
    write_json(directory / "other.json", {"hello": "world"})
    done = asgibench("report", str(directory))
    assert done.returncode == 0, done.stderr
    alone = asgibench("report", str(directory / "comparison.json"))
    assert done.stdout == alone.stdout  # the run files it lists are not a second section
    assert done.stdout.count("### uvicorn") == 1 and "<sub>4 runs · generated" in done.stdout


def test_a_directory_of_result_files_is_read_in_name_order(tmp_path: Path) -> None:
    for name, rps in (("b", 2000.0), ("a", 1000.0), ("c", 3000.0)):
        write_json(tmp_path / "runs" / f"{name}.json", crafted(rps))
    report = build_report(load_sources([tmp_path / "runs"]))
    assert [one.label for one in report.series] == ["a", "b", "c"]


def test_a_directory_without_results_is_named_in_the_error(tmp_path: Path) -> None:
    directory = tmp_path / "empty-ish"
    write_json(directory / "gate.json", {"schema": "asgibench.gate/1"})
    done = asgibench("report", str(directory))
    assert done.returncode == 2
    assert f"Directory '{directory}' holds no asgibench result or comparison files" in done.stderr


def test_duplicate_inputs_count_once(comparison: Path, tmp_path: Path) -> None:
    """`report cmp/*.json` names the comparison and, again, the runs it lists; and a file named twice is one run."""
    runs = sorted(comparison.parent.glob("*-*.json"))
    assert len(runs) == 4
    globbed = load_sources([*runs[:2], comparison, *runs[2:]])  # a run named before its comparison too
    assert len(globbed) == 1 and [len(one.runs) for one in build_report(globbed).series] == [2, 2, 0]
    result = write_json(tmp_path / "x" / "r.json", crafted())
    twice = load_sources([result, tmp_path / "x" / ".." / "x" / "r.json", tmp_path / "x"])
    assert len(twice) == 1 and [len(one.runs) for one in build_report(twice).series] == [1]
    markdown = asgibench("report", *map(str, sorted(comparison.parent.glob("*.json")))).stdout
    sections = [line for line in markdown.splitlines() if line.startswith("## ")]
    assert "<sub>4 runs · generated" in markdown and sections == ["## Results"]  # one section, each run once


@pytest.mark.parametrize(
    ("document", "what", "writer"),
    [
        ({"schema": "asgibench.conformance/1", "target": "m:app", "checks": []}, "conformance report", "conform"),
        ({"target": "m:app", "summary": {}, "checks": [], "scenarios": []}, "conformance report", "conform"),
        ({"schema": "asgibench.gate/1", "passed": True}, "gate report", "gate"),
    ],
)
def test_another_asgibench_file_is_named_with_what_it_is(
    tmp_path: Path, document: dict[str, Any], what: str, writer: str
) -> None:
    path = write_json(tmp_path / "mine.json", document)
    done = asgibench("report", str(path))
    assert done.returncode == 2
    assert f"mine.json is an asgibench {what}, which asgibench report does not read" in done.stderr
    assert f"asgibench {writer} --json wrote it" in done.stderr and "Upgrade" not in done.stderr


def test_md_and_html_options_write_atomically(tmp_path: Path) -> None:
    result = write_json(tmp_path / "r.json", crafted())
    done = asgibench("report", str(result), "--md", str(tmp_path / "r.md"), "--html", str(tmp_path / "r.html"))
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    assert (tmp_path / "r.md").read_text().startswith("# asgibench report")
    assert (tmp_path / "r.html").read_text().startswith("<!DOCTYPE html>")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["r.html", "r.json", "r.md"]  # no temporary left


def test_generator_bound_and_partial_runs_are_flagged(tmp_path: Path) -> None:
    bound = crafted()
    bound["generator"] |= {"bottleneck": True, "reasons": ["generator CPU at 98% of a core"]}
    partial = copy.deepcopy(bound)
    partial["partial"], partial["partial_reason"] = True, "interrupted after 1.2 s"
    report = build_report([result_source(Path("s/x.json"), bound), result_source(Path("t/x.json"), partial)])
    markdown = render_markdown(report, report_directory=tmp_path)
    assert "Generator-bound, the figures understate the server: generator CPU at 98% of a core" in markdown
    assert "t/x.json: partial run (interrupted after 1.2 s)" in markdown


# --- eligibility for the best, and per-name statistics (pure) ------------------------------------------------


def at(p99_us: int, **more: Any) -> dict[str, Any]:
    """An open-model run at 5,000 requests/s offered whose every latency is ``p99_us``."""
    return result_document(model="open", rate=5000.0, values_us=[p99_us] * 100, **more)


def test_an_overloaded_generator_bound_or_failed_series_is_never_the_best(tmp_path: Path) -> None:
    """Ranked by p99 (open model), each flawed run has a lower p99 than the steady one: the steady one is best."""
    runs = {
        "overloaded": at(500, rps=1650.0, errors={"unsent": 10_050}),  # 1,650 of 5,000 a second: it fell behind
        "bound": at(1000, rps=5000.0, bottleneck=True, reasons=["generator CPU at 99% of a core"]),
        "failed": at(1500, rps=5000.0, errors={"status": 15_000}),  # every response a 500
        "steady": at(2000, rps=5000.0),
    }
    report = build_report([result_source(Path(f"{name}.json"), document) for name, document in runs.items()])
    section = report.sections[0]
    assert section.best == "steady"
    table = summary_table(section)
    against = {row[0]: row[-1] for row in table.rows}
    assert against == {
        "overloaded ⚠✗": "0.25× ⚠ target behind: achieved 1,650 of 5,000 req/s; ✗ 67% of requests failed",
        "bound ⚠": "0.50× ⚠ generator-bound",
        "failed ✗": "0.75× ✗ no request succeeded",
        "steady": "1.00× ★",
    }
    assert table.best_row == 3 and table.flagged_rows == (0, 1, 2)
    markdown = render_markdown(report, report_directory=tmp_path)
    assert "| **1.00× ★** |" in markdown and markdown.count("★") == 3  # the row and two notes under the table
    assert "0.25× ⚠ target behind: achieved 1,650 of 5,000 req/s; ✗ 67% of requests failed |" in markdown
    assert "Never ★: ⚠ generator-bound" in markdown
    assert "overloaded.json: the target fell behind, completing 1,650 of the 5,000 offered requests/s" in markdown
    assert "failed.json: no request succeeded (15,000 errors)" in markdown
    page = render_html(report, report_directory=tmp_path)
    assert '<tr class="flagged"><td>overloaded ⚠✗</td>' in page and '<tr class="best"><td>steady</td>' in page
    assert "✗ no request succeeded" in page and "⚠ generator-bound" in page


def test_a_caveat_in_some_runs_says_how_many_and_rps_ranking_skips_it_too() -> None:
    """Closed model, ranked by req/s: a series generator-bound in one of its two runs is still not the best."""
    sources = [
        result_source(Path("a/fast.json"), crafted(3000)),
        result_source(Path("b/fast.json"), crafted(3200, bottleneck=True)),
        result_source(Path("slow.json"), crafted(1000)),
    ]
    section = build_report(sources).sections[0]
    assert section.best == "slow"
    rows = {row[0]: row[-1] for row in summary_table(section).rows}
    assert rows == {"fast ⚠": "3.10× ⚠ generator-bound in 1 of 2 runs", "slow": "1.00× ★"}


def test_with_no_eligible_series_there_is_no_best_but_the_ratios_stay() -> None:
    sources = [
        result_source(Path("one.json"), crafted(2000, bottleneck=True)),
        result_source(Path("two.json"), crafted(1000, bottleneck=True)),
    ]
    section = build_report(sources).sections[0]
    table = summary_table(section)
    assert section.best is None and table.best_row is None
    assert [row[-1] for row in table.rows] == ["1.00× ⚠ generator-bound", "0.50× ⚠ generator-bound"]


def two_names(fast_rps: float, slow_us: int) -> dict[str, Any]:
    return result_document(
        rps=400.0,
        requests=[
            named("fast", rps=fast_rps, values_us=[1000] * 100),
            named("slow", rps=100.0, values_us=[slow_us] * 100, errors={"timeout": 10, "status": 5}),
        ],
        errors={"timeout": 20, "status": 10},
    )


def test_each_named_request_has_its_row_counts_summed_figures_medians_of_the_runs(tmp_path: Path) -> None:
    runs = (typed_run(Path("1.json"), two_names(300.0, 20_000)), typed_run(Path("2.json"), two_names(320.0, 1000)))
    series = Series("s", runs)
    assert series.request_names == ("fast", "slow")
    slow = series.named("slow")
    assert (slow.requests, slow.ok, slow.errors) == (2 * 310, 2 * 295, 2 * 15)
    assert slow.error_rate == pytest.approx(30 / 620)
    p50, most = slow.latency["p50"], slow.latency["max"]
    assert p50 is not None and most is not None
    # Each run's own p50 (20 ms, 1 ms), then their median: the rule of the summary row and of compare.
    assert (p50.median, p50.low, p50.high) == pytest.approx((10.5, 1.0, 20.0), rel=1e-3)
    assert most.median == pytest.approx(10.5, rel=1e-3)
    table = named_rows(series)
    assert table.headers == ("name", "requests", "ok", "errors", "error rate", "req/s", "p50 ms", "p99 ms",
                             "p99.9 ms", "max ms")  # fmt: skip
    assert table.rows[0][:7] == ("fast", "1,860", "1,860", "0", "0.00%", "310 (300–320)", "1.000")
    assert table.rows[1][:7] == ("slow", "620", "590", "30", "4.84%", "100", "10.51 (1.000–20.02)")
    report = build_report([result_source(Path(f"{index}/s.json"), run.result) for index, run in enumerate(runs)])
    markdown = render_markdown(report, report_directory=tmp_path)
    assert "<summary>runs, requests by name and status codes</summary>" in markdown
    assert "| slow | 620 | 590 | 30 | 4.84% | 100 |" in markdown
    page = render_html(report, report_directory=tmp_path)
    assert "<h4>Requests by name</h4>" in page and "<td>slow</td>" in page


def test_status_codes_are_counted_over_the_runs_and_one_name_has_no_name_table(tmp_path: Path) -> None:
    one = result_document(rps=100.0, requests=[named("only", rps=100.0)], errors={"status": 7, "unsent": 3})
    series = Series("s", (typed_run(Path("1.json"), one), typed_run(Path("2.json"), copy.deepcopy(one))))
    assert named_rows(series).rows == ()  # one name: the summary row already says it all
    assert [row[:2] for row in status_rows(series).rows] == [("200", "586"), ("500", "14")]
    markdown = render_markdown(build_report([result_source(Path("x.json"), one)]), report_directory=tmp_path)
    assert "Status codes:" in markdown and "| 500 | 7 |" in markdown and "Requests by name" not in markdown


def test_each_status_code_has_its_latency_over_the_runs() -> None:
    """The 500s are slow, the 200s fast: the status table shows each code's own percentiles, medians of the runs."""
    runs = [
        typed_run(
            Path(f"{index}.json"),
            with_statuses(result_document(errors={"status": 10}), s200=[1000] * 90, s500=[20_000 + step] * 10),
        )
        for index, step in enumerate((0, 2_000))
    ]
    table = status_rows(Series("s", tuple(runs)))
    assert table.headers == ("status", "count", "p50 ms", "p99 ms", "max ms")
    slow = next(row for row in table.rows if row[0] == "500")
    # Each run's own figure (20 ms, then 22 ms), then their median (min–max), as everywhere in the report.
    assert slow[2] == slow[4] == "21.02 (20.02–22.02)"
    fast = next(row for row in table.rows if row[0] == "200")
    assert fast[2] == "1.000"


# --- marks, the offered rate, ties (pure) --------------------------------------------------------------------


def flawed_runs() -> dict[str, dict[str, Any]]:
    """Closed model: each flawed series serves more than the clean one, so only the marks keep it from ★."""
    partial = crafted(5000)
    partial |= {"partial": True, "partial_reason": "interrupted (SIGTERM)"}
    return {
        "clean": crafted(1000),
        "cut": partial,
        "failing": crafted(4000, errors=30_000),  # 12,000 answered, 30,000 timed out: 71% failed
    }


def test_every_kind_of_mark_follows_the_series_everywhere_and_is_never_best(tmp_path: Path) -> None:
    report = build_report([result_source(Path(f"{name}.json"), doc) for name, doc in flawed_runs().items()])
    section = report.sections[0]
    assert section.best == "clean"
    table = summary_table(section)
    rows = {row[0]: row[-1] for row in table.rows}
    assert rows == {"clean": "1.00× ★", "cut ⚠": "5.00× ⚠ partial", "failing ✗": "4.00× ✗ 71% of requests failed"}
    markdown = render_markdown(report, report_directory=tmp_path)
    # The legend lists the kinds that occur, and only those.
    legend = next(line for line in markdown.splitlines() if "Never ★" in line)
    assert "⚠ partial (the run was cut short)" in legend and "✗ most requests failed" in legend
    assert "generator-bound" not in legend and "target behind" not in legend and "no request succeeded" not in legend
    assert "### cut ⚠" in markdown and "### failing ✗" in markdown
    assert "failing.json: 71% of requests failed, so its latency is mostly that of errors" in markdown
    page = render_html(report, report_directory=tmp_path)
    assert "<h3>cut ⚠</h3>" in page and "<h3>failing ✗</h3>" in page
    assert "<td>cut.json</td>" in page and "<td>⚠ partial</td>" in page  # its run, marked
    assert '<tr class="flagged"><td>cut ⚠</td>' in page and '<tr class="best"><td>clean</td>' in page
    legend_labels = re.findall(r'<text [^>]*class="legend-label">([^<]*)</text>', page)
    assert legend_labels.count("cut ⚠") == 2 and legend_labels.count("failing ✗") == 2  # spectrum and timeline
    assert '<text x="' in page and ">cut ⚠</text>" in page.split('id="throughput"')[1].split("</svg>")[0]


def test_the_legend_line_names_a_failed_server(comparison: Path, tmp_path: Path) -> None:
    markdown = render_markdown(build_report(load_sources([comparison])), report_directory=tmp_path)
    legend = next(line for line in markdown.splitlines() if "Never ★" in line)
    assert "✗ failed (the server did not start, or stopped during a run" in legend


def test_a_series_tied_with_the_best_is_marked_as_compare_marks_it(tmp_path: Path) -> None:
    """Not different from the best beyond the runs' noise (compare's standings): ≈ after its ratio, explained."""
    runs = {"a": (1000.0, 1020.0, 990.0), "b": (980.0, 1005.0, 965.0), "c": (500.0, 510.0, 495.0)}
    sources = [
        result_source(Path(f"{n}/{label}.json"), crafted(rps))
        for label, rates in runs.items()
        for n, rps in enumerate(rates)
    ]
    report = build_report(sources)
    section = report.sections[0]
    places = section.standings()
    assert places["a"].best and places["b"].tied and not places["c"].tied
    table = summary_table(section)
    assert table.best_row == 0 and table.tied_rows == (1,)
    markdown = render_markdown(report, report_directory=tmp_path)
    assert "| 0.98× ≈ |" in markdown and "| 0.50× |" in markdown
    assert "≈: not different from the best beyond the runs' noise" in markdown
    page = render_html(report, report_directory=tmp_path)
    assert '<tr class="tied"><td>b</td>' in page and "0.98× ≈" in page


def test_open_model_throughput_is_the_achieved_rate_against_the_offered_one(tmp_path: Path) -> None:
    """The charts draw what was completed each second, and the offered rate as a labelled reference line."""
    seconds = [timeline_row(second, requests=5000, rps=1650.0 + 10 * second, p99_ms=40.0) for second in range(3)]
    runs = {
        "kept-up": at(2000, rps=5000.0),
        "behind": at(500, rps=1650.0, errors={"unsent": 10_050}, timeline=seconds),
    }
    report = build_report([result_source(Path(f"{name}.json"), document) for name, document in runs.items()])
    page = render_html(report, report_directory=tmp_path)
    throughput = page.split('id="throughput"')[1].split("</svg>")[0]
    each_second = page.split('id="timeline"')[1].split("</svg>")[0]
    for chart in (throughput, each_second):
        assert chart.count('<line class="reference"') == 1  # one rate offered to both: one line across
        assert ">offered rate (5,000 req/s)</text>" in chart and ">achieved requests/s</text>" in chart
    reference_y = float(re.findall(r'<line class="reference" x1="[^"]+" y1="([^"]+)"', each_second)[0])
    behind = re.findall(r'<polyline class="series" data-series="behind"[^>]* points="([^"]+)"', each_second)[0]
    ys = [float(y) for y in re.findall(r"[\d.]+,([\d.]+)", behind)]  # the first line: the requests/s panel
    assert len(ys) == 3 and all(y > reference_y + 50 for y in ys)  # drawn at 1,650/s, well below 5,000/s
    assert "against the offered rate (dashed)" in page
    closed = render_html(build_report([result_source(Path("c.json"), crafted())]), report_directory=tmp_path)
    assert 'class="reference"' not in closed and "offered rate" not in closed


def test_each_series_offered_its_own_rate_gets_its_own_reference() -> None:
    bars = [Bar("a", 900.0, 900.0, 900.0, 1, offered=1000.0), Bar("b", 1800.0, 1800.0, 1800.0, 1, offered=2000.0)]
    chart = throughput_bars(bars)
    assert chart.count('<line class="reference"') == 2 and ">offered rate (of each series)</text>" in chart


def test_edge_tick_labels_are_moved_inside_the_chart() -> None:
    """99.99999% centred on the last tick would stick out of the SVG; it is moved in by its (generous) width."""
    many = histogram_of([])
    many.record_value(1000, 2_000_000)  # two million requests: the axis runs to 99.99999%
    markup = percentile_spectrum([SpectrumLine("a", tuple(spectrum(many)))])
    width = float(re.search(r'viewBox="0 0 ([\d.]+) ', markup).group(1))  # type: ignore[union-attr]
    label = "99.99999%"
    x = float(re.search(rf'<text x="([\d.]+)" [^>]*>{re.escape(label)}</text>', markup).group(1))  # type: ignore[union-attr]
    assert x + text_width(label, TICK_SIZE) / 2 <= width


def test_legend_wraps_to_rows_and_cuts_a_label_longer_than_a_row() -> None:
    keys = [series_key(label, index) for index, label in enumerate(["a" * 10, "b" * 10, "c" * 300])]
    markup, height = legend(keys, 0, 10, 200)
    assert markup.count('class="legend-item"') == 3 and height == 3 * 22  # three rows: each too wide to share
    assert "…</text>" in markup and f"<title>{'c' * 300}</title>" in markup


# --- the page in a real browser -------------------------------------------------------------------------------


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


@pytest.fixture(scope="module")
def browser() -> str:
    found = chromium()
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is required in CI (make test installs it)")
        pytest.skip("chromium is not installed (make test installs it)")
    return found


def headless(browser: str, *args: str, home: Path) -> subprocess.CompletedProcess[str]:
    command = [
        browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--no-first-run", "--disable-sync", "--disable-component-update", "--disable-default-apps",
        '--host-resolver-rules=MAP * ~NOTFOUND', f"--user-data-dir={home / 'profile'}", *args,
    ]  # fmt: skip
    return subprocess.run(command, capture_output=True, text=True, timeout=120, env=os.environ | {"HOME": str(home)})


def test_chromium_renders_the_three_charts_and_fetches_nothing(browser: str, comparison: Path, tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    write_reports([comparison], html=page)
    net_log = tmp_path / "net-log.json"
    done = headless(browser, f"--log-net-log={net_log}", "--dump-dom", page.as_uri(), home=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    found = parse(done.stdout)
    assert {"percentile-spectrum", "throughput", "timeline"} <= set(found.charts)
    measured = 2  # uvicorn and hypercorn; daphne failed
    assert found.charts["percentile-spectrum"]["polyline.series"] == measured
    assert found.charts["throughput"]["rect.bar"] == measured
    assert found.charts["timeline"]["polyline.series"] >= 2 * measured
    assert found.charts["percentile-spectrum"]["text.tick"] >= 8
    assert "Latency by percentile" in found.titles

    assert page_fetches(net_log) == []


def page_fetches(net_log: Path) -> list[str]:
    """Network URLs the page asked for, from a Chromium net log.

    The browser's own background requests (update checks, clock sync) have no
    origin ("not an origin"); a request made by a page opened from a file
    carries the file:// network isolation key.
    """
    log = json.loads(net_log.read_text())
    start_job = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    fetched = []
    for event in log["events"]:
        params = event.get("params")
        if event["type"] != start_job or not isinstance(params, dict) or "url" not in params:
            continue
        if params.get("initiator") != "not an origin" or str(params.get("network_isolation_key", "")).startswith(
            "file"
        ):
            fetched.append(str(params.get("url")))
    return [url for url in fetched if not url.startswith(("file:", "data:"))]


def test_the_net_log_check_catches_a_page_that_fetches(browser: str, tmp_path: Path) -> None:
    """The check above can fail: a page with a remote image and stylesheet is caught."""
    control = tmp_path / "control.html"
    control.write_text(
        '<!DOCTYPE html><link rel="stylesheet" href="https://canary.invalid/style.css">'
        '<img src="http://canary.invalid/pixel.png"><p>control</p>'
    )
    net_log = tmp_path / "net-log.json"
    done = headless(browser, f"--log-net-log={net_log}", "--dump-dom", control.as_uri(), home=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert sorted(page_fetches(net_log)) == ["http://canary.invalid/pixel.png", "https://canary.invalid/style.css"]


def test_chromium_screenshot(browser: str, comparison: Path, tmp_path: Path) -> None:
    """The page paints: a real, non-blank PNG of it."""
    page = tmp_path / "report.html"
    write_reports([comparison], html=page)
    shot = tmp_path / "report.png"
    done = headless(browser, f"--screenshot={shot}", "--window-size=1280,2400", page.as_uri(), home=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    data = shot.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 50_000  # a blank page compresses to a few KiB
