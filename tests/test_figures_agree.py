"""One comparison, three renderings, the same figures: compare's terminal table, the Markdown and the HTML report.

Every figure is computed once (asgibench.compare.stats over the registry's metrics) and printed by one formatter
(asgibench.results.figures), so for each server the terminal and both reports show the same req/s, p50 and p99,
the same best (★) and tie (≈), the same ratio to the best and the same caveat marks.

The comparison is built in memory as ``asgibench compare`` builds it (``server_stats`` of each server's runs),
three runs a server, each run's figures its own: granian best, uvicorn tied with it within the runs' noise,
hypercorn clearly worse, and daphne, with the best figures of all, generator-bound in the closed model and
overloaded (the target fell behind the offered rate) in the open one: marked, never ★. The report reads it
both as ``compare --out`` leaves it on disk (``load_sources``) and as a ``ComparisonSource`` built in memory.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from asgibench.compare.stats import server_stats
from asgibench.render.compare import render_comparison
from asgibench.report import build_report, load_sources, render_html, render_markdown
from asgibench.report.sources import ComparisonSource, Source
from asgibench.results import write_result
from asgibench.results.comparison import COMPARISON_SCHEMA, write_comparison
from asgibench.results.model import Result, results_of
from tests.resultkit import result_document

SERVERS = ("granian", "uvicorn", "hypercorn", "daphne")
RATE = 5000.0


@dataclass(frozen=True)
class Runs:
    """One server's three runs: requests/s and a latency shape (µs: the first value and the step between
    the 100 recorded) for each, and what is wrong with all of them."""

    rps: tuple[float, float, float]
    latency: tuple[tuple[int, int], tuple[int, int], tuple[int, int]]
    flawed: dict[str, Any] = field(default_factory=dict)


CLOSED = {
    "granian": Runs((10_120.0, 9_880.0, 10_010.0), ((800, 40), (850, 35), (780, 45))),
    "uvicorn": Runs((9_990.0, 10_060.0, 9_850.0), ((900, 30), (820, 50), (870, 38))),
    "hypercorn": Runs((5_050.0, 4_960.0, 5_110.0), ((2_100, 90), (2_300, 80), (1_900, 110))),
    "daphne": Runs((12_500.0, 12_300.0, 12_650.0), ((500, 20), (520, 18), (480, 25)), {"bottleneck": True}),
}
OPEN = {
    "granian": Runs((4_990.0, 5_000.0, 4_995.0), ((800, 20), (760, 21), (820, 19))),
    "uvicorn": Runs((4_985.0, 4_998.0, 5_000.0), ((800, 21), (840, 19), (780, 22))),
    "hypercorn": Runs((4_970.0, 4_980.0, 4_960.0), ((1_500, 60), (1_700, 55), (1_400, 70))),
    "daphne": Runs((3_200.0, 3_100.0, 3_300.0), ((400, 10), (420, 9), (380, 11))),  # far below the offered rate
}


def runs_of(name: str, runs: Runs, model: str) -> list[dict[str, Any]]:
    documents = []
    for index, (rps, (first, step)) in enumerate(zip(runs.rps, runs.latency, strict=True)):
        document = result_document(
            rps=rps,
            model=model,
            rate=RATE if model == "open" else None,
            values_us=[first + step * k for k in range(100)],
            server=name,
            **runs.flawed,
        )
        document["server"] |= {"version": "1.0", "cpu_fraction": 0.8 + index / 100, "peak_rss_mib": 40.0 + index}
        document["environment"]["server"] = {"name": name, "version": "1.0"}
        documents.append(document)
    return documents


@dataclass(frozen=True)
class Built:
    comparison: dict[str, Any]
    runs: dict[str, list[dict[str, Any]]]  # each server's result documents


def build(model: str) -> Built:
    """A comparison document as compare.runner writes it: each server's stats over its runs."""
    plan = OPEN if model == "open" else CLOSED
    runs = {name: runs_of(name, plan[name], model) for name in SERVERS}
    first = runs[SERVERS[0]][0]
    comparison = {
        "schema": COMPARISON_SCHEMA,
        "created": "2026-11-30T15:24:54+00:00",
        "partial": False,
        "partial_reason": None,
        "app": "reference_apps.raw_app:app",
        "wsgi_app": None,
        "environment": first["environment"] | {"server": None},
        "config": {**first["config"], "target": None, "target_source": "each server launched on a free port"},
        "repeat": 3,
        "server_workers": 1,
        "cpus": {"server": [0], "generator": [1]},
        "servers": [
            {
                "name": name, "version": "1.0", "interface": "asgi", "app": "reference_apps.raw_app:app",
                "status": "ok", "error": None, "log_tail": [], "runs": [f"{name}-{n}.json" for n in (1, 2, 3)],
                "profile": None, "profile_error": None, "stats": server_stats(results_of(documents)),
            }
            for name, documents in runs.items()
        ],
    }  # fmt: skip
    return Built(comparison, runs)


def source(built: Built, via: str, directory: Path) -> list[Source]:
    """The comparison as the report reads it: from files on disk, or a ComparisonSource built in memory."""
    path = directory / "comparison.json"
    if via == "memory":
        runs = tuple(
            tuple((directory / f"{name}-{n}.json", Result.from_json(document)) for n, document in enumerate(docs, 1))
            for name, docs in built.runs.items()
        )
        return [ComparisonSource(path, built.comparison, runs)]
    for name, documents in built.runs.items():
        for n, document in enumerate(documents, 1):
            write_result(directory / f"{name}-{n}.json", document, option="--out")
    write_comparison(path, built.comparison)
    return load_sources([path])


# --- what each rendering says of a server ---------------------------------------------------------------------


@dataclass
class Shown:
    """What one rendering shows of one server: its figures, its standing in the ranked column, its marks."""

    figures: dict[str, str]  # "req/s", "p50", "p99": the median as printed
    standing: str  # "★", "≈" or ""
    ratio: str | None  # "0.50×" against the best; None for the best itself (the terminal prints only ★)
    symbols: str  # the caveats' symbols after the name: "⚠"
    marks: list[str]  # the caveats in words: ["⚠ generator-bound"]


def standing_of(text: str) -> str:
    return "★" if "★" in text else "≈" if "≈" in text else ""


def terminal(document: dict[str, Any], ranked: str) -> dict[str, Shown]:
    """The compare table printed at 120 columns, read back: a server's row is the lines from its name on."""
    console = Console(file=io.StringIO(), width=120, color_system=None)
    render_comparison(console, document)
    text: str = console.file.getvalue()  # type: ignore[attr-defined]
    lines = text.splitlines()
    top = next(index for index, line in enumerate(lines) if line.startswith("┏"))
    rule = next(index for index, line in enumerate(lines) if line.startswith("┡"))
    bottom = next(index for index, line in enumerate(lines) if line.startswith("└"))
    # A header may take two lines ("p50" over "ms"), aligned to the bottom: its first word names it.
    parts = zip(*([cell.strip() for cell in line.split("┃")[1:-1]] for line in lines[top + 1 : rule]), strict=True)
    headers = [" ".join(part for part in column if part).split(" ")[0] for column in parts]
    rows: dict[str, list[list[str]]] = {}
    current = None
    for line in lines[rule + 1 : bottom]:
        cells = [cell.strip() for cell in line.split("│")[1:-1]]
        name = cells[0].split(" ")[0]
        if name in SERVERS:
            current = name
            rows[current] = [[] for _ in cells]
        assert current is not None, text
        for column, cell in enumerate(cells):
            rows[current][column].append(cell)
    shown = {}
    for name, columns in rows.items():
        by_header = dict(zip(headers, columns, strict=True))
        place = by_header[ranked][1]
        footnote = next((line for line in lines if line.startswith(f"{name}: ")), "")
        shown[name] = Shown(
            figures={key: by_header[key][0] for key in ("req/s", "p50", "p99")},
            standing=standing_of(place),
            ratio=None if place == "★" else place.removesuffix("≈").strip(),
            symbols=columns[0][0].removeprefix(name).strip(),
            marks=[mark for mark in footnote.removeprefix(f"{name}: ").split("; ") if mark],
        )
    return shown


def report_row(name: str, cells: dict[str, str], against: str, marks: list[str]) -> Shown:
    ratio, _, _ = against.partition(" ")
    return Shown(
        figures={key: cells[f"{key} ms" if key != "req/s" else key].split(" (")[0] for key in ("req/s", "p50", "p99")},
        standing=standing_of(against),
        ratio=None if "★" in against else ratio,
        symbols=cells["series"].removeprefix(f"{name} 1.0").strip(),
        marks=marks,
    )


def split_marks(against: str) -> list[str]:
    """``0.50× ⚠ generator-bound; ✗ …``: the marks after the ratio and its ★ or ≈."""
    rest = re.sub(r"^\S+×( [★≈])?", "", against).strip()
    return [mark for mark in rest.split("; ") if mark]


def markdown(text: str) -> dict[str, Shown]:
    lines = text.splitlines()
    start = next(index for index, line in enumerate(lines) if line.startswith("| series |"))
    headers = [cell.strip() for cell in lines[start].strip("|").split("|")]
    shown = {}
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        cells = dict(zip(headers, (cell.strip().strip("*") for cell in line.strip("|").split("|")), strict=True))
        name = cells["series"].split(" ")[0]
        against = cells[headers[-1]]
        shown[name] = report_row(name, cells, against, split_marks(against))
    return shown


class SummaryTable(HTMLParser):
    """The summary table's rows: each cell's own text, without its range line; and its marks block."""

    def __init__(self) -> None:
        super().__init__()
        self.headers: list[str] = []
        self.rows: list[list[tuple[str, str]]] = []
        self.inside = False
        self.cell: list[str] | None = None
        self.marks: list[str] = []
        self.span: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        css = dict(attrs).get("class") or ""
        if tag == "table":
            self.inside = css == "summary" and not self.rows
        elif self.inside and tag == "tr":
            self.rows.append([])
        elif self.inside and tag in ("td", "th"):
            self.cell, self.marks = [], []
        elif self.inside and tag == "span":
            self.span = css

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self.inside = False
        elif self.inside and tag == "span":
            self.span = None
        elif self.inside and tag in ("td", "th") and self.cell is not None:
            self.rows[-1].append(("".join(self.cell).strip(), "".join(self.marks).strip()))
            self.cell = None

    def handle_data(self, data: str) -> None:
        if self.cell is None:
            return
        if self.span == "marks":
            self.marks.append(data)
        elif self.span != "range":
            self.cell.append(data)


def html(page: str) -> dict[str, Shown]:
    table = SummaryTable()
    table.feed(page)
    headers = [text for text, _ in table.rows[0]]
    shown = {}
    for row in table.rows[1:]:
        cells = dict(zip(headers, (text for text, _ in row), strict=True))
        name = cells["series"].split(" ")[0]
        against, marks = row[-1]
        shown[name] = report_row(name, cells, against, [mark for mark in marks.split("; ") if mark])
    return shown


# --- the test -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("via", ["files", "memory"])
@pytest.mark.parametrize("model", ["closed", "open"])
def test_terminal_markdown_and_html_show_the_same_figures_and_marks(model: str, via: str, tmp_path: Path) -> None:
    built = build(model)
    ranked = "p99" if model == "open" else "req/s"
    in_terminal = terminal(built.comparison, ranked)
    report = build_report(source(built, via, tmp_path))
    in_markdown = markdown(render_markdown(report, report_directory=tmp_path))
    in_html = html(render_html(report, report_directory=tmp_path))

    assert set(in_terminal) == set(in_markdown) == set(in_html) == set(SERVERS)
    for name in SERVERS:
        assert in_markdown[name] == in_terminal[name], f"{name}: Markdown against the terminal"
        assert in_html[name] == in_terminal[name], f"{name}: HTML against the terminal"

    # Not agreement on nothing: the case has a best, a tie, a loser and a flawed server.
    assert [in_terminal[name].standing for name in SERVERS] == ["★", "≈", "", ""]
    flaw = "⚠ target behind: achieved 3,200 of 5,000 req/s" if model == "open" else "⚠ generator-bound"
    assert in_terminal["daphne"].symbols == "⚠" and in_terminal["daphne"].marks == [flaw]
    assert all(not in_terminal[name].marks for name in SERVERS[:3])
    assert in_terminal["granian"].figures["req/s"] == ("4,995" if model == "open" else "10,010")  # medians
