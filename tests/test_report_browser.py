"""The HTML report laid out by real headless Chromium: no chart text outside its SVG, no legend entries on top of
each other, and a page that never runs off the side of an 800 px window except inside a scroll box.

The page is opened with ``--dump-dom`` after a measuring script is added at the end of its body (and the
page's Content-Security-Policy, which forbids scripts, is taken out of the copy measured). The script asks the
browser for the geometry it laid out (``getBBox``, ``getBoundingClientRect``) and writes it into the DOM as
JSON, which the dump carries back. Nothing waits on a clock: the layout is complete when the script asks.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import Any

import pytest
from hdrh.histogram import HdrHistogram

from asgibench.report import write_reports
from tests.resultkit import result_document, timeline_row
from tests.test_report import browser, headless, write_json

__all__ = ["browser"]  # the fixture, imported for this module's tests

# Runs in the page: measures every chart and the page, and writes what it found into <pre id="measured">.
MEASURE = r"""
(function () {
  const TOLERANCE = 0.5;  // px (SVG units): sub-pixel rounding is not an overflow
  const GAP = 6;          // legend entries closer than this run into each other: "hypercorn- - -daphne"
  function box(element, toSvg) {
    const b = element.getBBox();
    const matrix = toSvg.multiply(element.getScreenCTM());
    const corners = [[b.x, b.y], [b.x + b.width, b.y], [b.x, b.y + b.height], [b.x + b.width, b.y + b.height]]
      .map(([x, y]) => new DOMPoint(x, y).matrixTransform(matrix));
    const xs = corners.map(p => p.x), ys = corners.map(p => p.y);
    return {left: Math.min(...xs), right: Math.max(...xs), top: Math.min(...ys), bottom: Math.max(...ys)};
  }
  function overlap(a, b, gap) {
    return a.left < b.right + gap && b.left < a.right + gap && a.top < b.bottom && b.top < a.bottom;
  }
  const charts = [];
  for (const svg of document.querySelectorAll("svg.chart")) {
    const view = svg.viewBox.baseVal;
    const toSvg = svg.getScreenCTM().inverse();
    const chart = {id: svg.id, texts: [], outside: [], collisions: [], legend: [], touching: []};
    for (const text of svg.querySelectorAll("text")) {
      if (!text.textContent.trim()) continue;
      const found = {text: text.textContent, box: box(text, toSvg)};
      chart.texts.push(found);
      const b = found.box;
      if (b.left < view.x - TOLERANCE || b.top < view.y - TOLERANCE ||
          b.right > view.x + view.width + TOLERANCE || b.bottom > view.y + view.height + TOLERANCE) {
        chart.outside.push(found);
      }
    }
    chart.texts.forEach((a, i) => chart.texts.slice(i + 1).forEach(b => {
      if (overlap(a.box, b.box, 0)) chart.collisions.push([a.text, b.text]);
    }));
    chart.legend = [...svg.querySelectorAll(".legend-item")].map(item => ({
      text: item.querySelector("text").textContent, box: box(item, toSvg),
    }));
    chart.legend.forEach((a, i) => chart.legend.slice(i + 1).forEach(b => {
      if (overlap(a.box, b.box, GAP)) chart.touching.push([a.text, b.text]);
    }));
    charts.push(chart);
  }
  const root = document.documentElement;
  const width = root.clientWidth;
  const scrolls = element => ["auto", "scroll"].includes(getComputedStyle(element).overflowX);
  const name = element => element.tagName.toLowerCase() + (element.className && typeof element.className === "string"
    ? "." + element.className.split(" ").join(".") : "") + ": " + (element.textContent || "").trim().slice(0, 60);
  const sticking = [], clipped = [], scrollers = [];
  for (const element of document.body.querySelectorAll("*")) {
    if (element.closest("svg") || element.id === "measured") continue;  // chart text is measured above
    const rect = element.getBoundingClientRect();
    let parent = element.parentElement, inside = false;
    for (; parent && parent !== document.body; parent = parent.parentElement) if (scrolls(parent)) inside = true;
    if (!inside && rect.width > 0 && (rect.right > width + TOLERANCE || rect.left < -TOLERANCE)) {
      sticking.push(name(element));
    }
    const style = getComputedStyle(element);
    if (["hidden", "clip"].includes(style.overflowX) && element.tagName.toLowerCase() !== "svg" &&
        element.scrollWidth > element.clientWidth + 1) {
      clipped.push(name(element));
    }
    if (scrolls(element)) {
      scrollers.push({name: name(element), scrollWidth: element.scrollWidth, clientWidth: element.clientWidth,
                      summary: !!element.querySelector("table.summary")});
    }
  }
  const page = {windowWidth: window.innerWidth, clientWidth: width, scrollWidth: root.scrollWidth,
                sticking: sticking, clipped: clipped, scrollers: scrollers};
  const out = document.createElement("pre");
  out.id = "measured";
  out.textContent = JSON.stringify({charts: charts, page: page});
  document.body.appendChild(out);
})();
"""

POLICY = re.compile(r'<meta http-equiv="Content-Security-Policy"[^>]*>')


def measure(browser: str, page: Path, width: int, home: Path) -> dict[str, Any]:
    """The page at ``width`` px, laid out by Chromium: what ``MEASURE`` found."""
    markup = page.read_text()
    assert POLICY.search(markup), "the report lost its Content-Security-Policy"
    probed = page.with_name(f"{page.stem}-probed-{width}.html")
    probed.write_text(POLICY.sub("", markup).replace("</body>", f"<script>{MEASURE}</script></body>"))
    done = headless(browser, f"--window-size={width},2000", "--dump-dom", probed.as_uri(), home=home)
    assert done.returncode == 0, done.stderr[-2000:]
    found = re.search(r'<pre id="measured">(.*?)</pre>', done.stdout, re.S)
    assert found, "the measuring script did not run: " + done.stdout[-500:]
    measured: dict[str, Any] = json.loads(html.unescape(found.group(1)))
    assert measured["page"]["windowWidth"] == width  # laid out at the width asked for, or the checks mean nothing
    return measured


# --- pages --------------------------------------------------------------------------------------------------


def with_many_requests(document: dict[str, Any], count: int) -> dict[str, Any]:
    """``document`` whose latency histogram holds ``count`` requests, so the spectrum reaches 99.99999%."""
    histogram = HdrHistogram(1, 3_600_000_000, 3)
    histogram.record_value(900, count - 1_000)
    histogram.record_value(4_000, 990)
    histogram.record_value(250_000, 10)
    document["histograms"]["latency"] = histogram.encode().decode()
    return document


def timeline_of(seconds: int, rps: float, p99: float) -> list[dict[str, Any]]:
    return [
        timeline_row(second, requests=round(rps), rps=rps * (1 + 0.02 * (second % 3)), p99_ms=p99 * (1 + second % 2))
        for second in range(seconds)
    ]


def closed_documents() -> dict[str, dict[str, Any]]:
    """Nine series (more than the palette), long and escaped names, and every kind of caveat."""
    names = [
        "uvicorn", "hypercorn", "daphne", "granian", "gunicorn-with-uvicorn-workers-and-a-long-name-1.2.3",
        "<script>x & y</script>", "Ünïcödé sérvér", "socketify", "nginx-unit",
    ]  # fmt: skip
    documents = {}
    for index, name in enumerate(names):
        document = result_document(
            rps=40_000.0 / (index + 1), duration_s=10.0, server=name, timeline=timeline_of(10, 40_000 / (index + 1), 2)
        )
        documents[f"closed-{index}.json"] = document
    with_many_requests(documents["closed-0.json"], 1_500_000)
    documents["closed-1.json"]["generator"] |= {"bottleneck": True, "reasons": ["generator CPU at 99% of a core"]}
    documents["closed-2.json"] |= {"partial": True, "partial_reason": "interrupted (SIGINT)"}
    documents["closed-3.json"] = result_document(
        rps=30_000.0, duration_s=10.0, server="granian", errors={"timeout": 400_000}, timeline=timeline_of(10, 3e4, 2)
    )  # four in seven requests failed: mostly failing
    return documents


def open_documents() -> dict[str, dict[str, Any]]:
    """The open model at 5,000 requests/s: two that keep up, one that falls behind, its p99 growing to seconds."""
    documents = {}
    for index, (name, achieved) in enumerate((("uvicorn", 5_000.0), ("hypercorn", 4_990.0), ("daphne", 1_650.0))):
        documents[f"open-{index}.json"] = result_document(
            model="open", rate=5_000.0, rps=achieved, duration_s=10.0, server=name,
            timeline=timeline_of(10, achieved, 3), errors={"unsent": 33_500} if achieved < 4_000 else None,
        )  # fmt: skip
    for second, row in enumerate(documents["open-2.json"]["timeline"]):
        row["p99_ms"] = 3 * 10 ** (second / 2.5)  # 3 ms to 12 s: four decades on the log axis of a short panel
    return documents


def comparison_documents() -> dict[str, dict[str, Any]]:
    """What `compare --repeat 2` gives on three servers: ranges, server CPU and memory, versions."""
    documents = {}
    for name, rps in (("uvicorn", 25_626.0), ("hypercorn", 5_564.0), ("daphne", 4_885.0)):
        for run, factor in ((1, 0.65), (2, 1.35)):
            document = result_document(
                rps=rps * factor, duration_s=10.0, server=name, values_us=[250 * run] * 90 + [4500 * run] * 10
            )
            document["server"] |= {"version": "0.18.0", "cpu_fraction": 0.72, "peak_rss_mib": 31.8}
            documents[f"{name}/run-{run}.json"] = document
    return documents


PAGES = {"closed": closed_documents, "open": open_documents, "comparison": comparison_documents}


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("pages")
    built = {}
    for name, documents in PAGES.items():
        paths = [write_json(base / name / file, document) for file, document in documents().items()]
        built[name] = base / f"{name}.html"
        write_reports(paths, html=built[name])
    return built


# --- the checks ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("width", [800, 1400])
@pytest.mark.parametrize("name", list(PAGES))
def test_chart_text_stays_inside_its_svg_and_legend_entries_never_touch(
    browser: str, pages: dict[str, Path], tmp_path: Path, name: str, width: int
) -> None:
    measured = measure(browser, pages[name], width, tmp_path)
    charts = {chart["id"]: chart for chart in measured["charts"]}
    assert set(charts) == {"percentile-spectrum", "throughput", "timeline"}
    for chart in charts.values():
        assert len(chart["texts"]) >= 10, chart["id"]  # the checks below looked at the chart's text
        assert chart["outside"] == [], chart["id"]
        assert chart["collisions"] == [], chart["id"]
        assert chart["touching"] == [], chart["id"]
    assert charts["percentile-spectrum"]["legend"] and charts["timeline"]["legend"]  # the overlap check had entries
    legend = [item["text"] for item in charts["timeline"]["legend"]]
    if name == "closed":
        assert "99.99999%" in [text["text"] for text in charts["percentile-spectrum"]["texts"]]
        assert len(legend) == 9 and len({round(item["box"]["top"]) for item in charts["timeline"]["legend"]}) >= 2
        assert "hypercorn ⚠" in legend and "granian ✗" in legend  # marked in the legend too
    if name == "open":
        assert "offered rate (5,000 req/s)" in legend
        assert "offered rate (5,000 req/s)" in [item["text"] for item in charts["throughput"]["legend"]]


@pytest.mark.parametrize("width", [800, 1400])
@pytest.mark.parametrize("name", list(PAGES))
def test_the_page_never_runs_off_the_side_of_the_window(
    browser: str, pages: dict[str, Path], tmp_path: Path, name: str, width: int
) -> None:
    page = measure(browser, pages[name], width, tmp_path)["page"]
    assert page["scrollWidth"] <= page["clientWidth"], page["sticking"]
    assert page["sticking"] == []  # whatever is wider than the window is inside a box that scrolls sideways
    assert page["clipped"] == []  # and nothing is cut off by a box that does not
    assert any(scroller["summary"] for scroller in page["scrollers"])
    if name == "comparison":  # the usual table (three servers, their ranges, CPU and memory) fits, no scrolling
        summary = next(scroller for scroller in page["scrollers"] if scroller["summary"])
        assert summary["scrollWidth"] <= summary["clientWidth"], summary


def test_the_checks_catch_text_outside_overlapping_legends_and_a_page_too_wide(browser: str, tmp_path: Path) -> None:
    """The measuring script can fail: a page with each fault is caught, each by its own check."""
    control = tmp_path / "control.html"
    control.write_text(
        '<!DOCTYPE html><html><head><meta http-equiv="Content-Security-Policy" content="default-src \'none\'">'
        "</head><body>"
        '<svg class="chart" id="bad" viewBox="0 0 200 120" width="200" height="120">'
        '<text x="190" y="50" text-anchor="middle">99.9999%</text>'
        '<text x="20" y="80">one</text><text x="24" y="82">two</text>'
        '<g class="legend"><g class="legend-item"><line x1="0" y1="95" x2="20" y2="95"/><text x="24" y="99">hyper'
        '</text></g><g class="legend-item"><line x1="100" y1="95" x2="120" y2="95"/><text x="124" y="99">daphne</text>'
        "</g></g></svg>"
        '<div style="width:1200px">a table too wide, not in a scroll box</div>'
        '<div style="overflow:hidden;width:100px"><div style="width:300px">cut off</div></div>'
        "</body></html>"
    )
    measured = measure(browser, control, 800, tmp_path)
    chart = measured["charts"][0]
    assert [found["text"] for found in chart["outside"]] == ["99.9999%"]
    assert ["one", "two"] in chart["collisions"]
    assert chart["touching"] == [] and len(chart["legend"]) == 2  # far apart: not touching
    page = measured["page"]
    assert page["scrollWidth"] > page["clientWidth"]
    assert any("a table too wide" in found for found in page["sticking"])
    assert any("cut off" in found for found in page["clipped"])


def test_the_legend_check_catches_entries_that_run_into_each_other(browser: str, tmp_path: Path) -> None:
    """The legend as it was laid out before (34 px + 7.2 px a character): "hypercorn" ends 2.6 px from the next."""
    control = tmp_path / "touching.html"
    items = "".join(
        f'<g class="legend-item"><line x1="{x:g}" y1="20" x2="{x + 24:g}" y2="20" stroke="#000" stroke-width="2.5"/>'
        f'<text x="{x + 30:g}" y="24" style="font:13px system-ui">{label}</text></g>'
        for x, label in ((0, "uvicorn"), (84.4, "hypercorn"), (183.2, "daphne"))
    )
    control.write_text(
        '<!DOCTYPE html><html><head><meta http-equiv="Content-Security-Policy" content="default-src \'none\'">'
        f'</head><body><svg class="chart" id="legend" viewBox="0 0 400 40" width="400" height="40">{items}'
        "</svg></body></html>"
    )
    chart = measure(browser, control, 800, tmp_path)["charts"][0]
    assert ["hypercorn", "daphne"] in chart["touching"]
