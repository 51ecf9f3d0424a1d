"""Every table at 80 columns (a CI log, a pipe) and at 120: no figure and no name cut, wrapped or left out unsaid.

Each test renders to a Console on a StringIO, as a pipe gets it, with long
server names, wide numbers, ranges and error shares, and looks for each figure
whole in the output. A table too wide for the terminal drops columns (and a
footnote says which) or is stacked, a block per row.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from rich.cells import cell_len
from rich.console import Console

from asgibench.compare.stats import server_stats
from asgibench.conformance.findings import Verdict as Finding
from asgibench.gate.metrics import parse_metrics
from asgibench.gate.verdict import GateReport, MetricVerdict, Verdict
from asgibench.load.settings import LoadFlags, resolve
from asgibench.render.compare import render_comparison
from asgibench.render.conformance import render_catalogue, render_report
from asgibench.render.gate import render_gate
from asgibench.render.load import LiveView, render_result
from asgibench.render.servers import render_servers
from asgibench.results.model import Result
from asgibench.results.noise import Interval
from asgibench.results.spread import Spread
from tests.conftest import conform
from tests.resultkit import named, result_document, with_statuses

WIDTHS = (80, 120)


def render(width: int, draw: Any, *args: Any) -> str:
    console = Console(file=io.StringIO(), width=width, force_terminal=False, color_system=None)
    draw(console, *args)
    text = console.file.getvalue()  # type: ignore[attr-defined]
    too_wide = [line for line in text.splitlines() if cell_len(line) > width]
    assert not too_wide, f"lines wider than {width} columns:\n" + "\n".join(too_wide)
    return str(text)


def assert_whole(text: str, figures: list[str]) -> None:
    missing = [figure for figure in figures if figure not in text]
    assert not missing, f"not found whole: {missing}\n{text}"


# --- compare ---------------------------------------------------------------------------------------------------


def run_result(rps: float, p99: float, cpu: float, rss: float, errors: dict[str, int] | None = None) -> Result:
    document = result_document(rps=rps, duration_s=10.0, errors=errors or {"timeout": 1})
    document["summary"]["latency_ms"] |= {"p50": p99 / 4, "p99": p99, "p999": p99 * 2}
    document["server"] = {"name": "s", "version": "1", "workers": 1, "processes": 1, "cpu_fraction": cpu,
                          "cpu_seconds": cpu * 10, "peak_rss_mib": rss}  # fmt: skip
    return Result.from_json(document)


def comparison() -> dict[str, Any]:
    runs = {
        ("gunicorn-uvicorn", "23.0.0"): [run_result(12_345.6, 2.5, 0.98, 512.3), run_result(12_000, 2.6, 0.97, 515),
                                         run_result(12_800, 2.4, 0.99, 510)],
        ("hypercorn", "0.17.3"): [run_result(2_934, 18.2, 1.0, 64.5, errors={"timeout": 1_234, "reset": 20}),
                                  run_result(3_321, 17.1, 1.0, 65.0), run_result(3_100, 19.0, 1.0, 64.0)],
        ("uvicorn", "0.32.1"): [run_result(11_000, 3.0, 0.9, 40.1), run_result(11_500, 3.1, 0.9, 40.2)],
    }  # fmt: skip
    servers: list[dict[str, Any]] = [
        {"name": name, "version": version, "status": "ok", "error": None, "log_tail": [], "stats": server_stats(runs)}
        for (name, version), runs in runs.items()
    ]
    failure = "exited with code 1 while starting: address already in use"
    servers.append({"name": "granian", "version": "1.6.0", "status": "failed", "stats": None, "error": failure,
                    "log_tail": ["OSError"]})  # fmt: skip
    return {"servers": servers}


# Medians, their ranges (req/s), errors and their share: hypercorn's 1,256 errors of its 94,806 requests.
COMPARE_FIGURES = [
    "gunicorn-uvicorn", "23.0.0", "hypercorn", "0.17.3", "uvicorn", "0.32.1", "granian failed", "1.6.0",
    "12,346", "12.0k–12.8k", "3,100", "2,934–3,321", "11,250", "11.0k–11.5k",
    "0.625", "2.500", "5.000", "4.550", "18.20", "36.40", "0.762", "3.050", "6.100",  # ms to 4 significant digits
    "79", "323", "0.25×", "7.28×", "4.06×",
    "1,256", "(1.32%)", "exited with code 1 while starting: address already in use",
]  # fmt: skip


@pytest.mark.parametrize("width", WIDTHS)
def test_the_comparison_keeps_every_name_and_figure_whole(width: int) -> None:
    text = render(width, render_comparison, comparison())
    assert_whole(text, COMPARE_FIGURES)
    assert "…" not in text
    if width == 80:  # the memory column is left out, and the footnote says so and what would show it
        assert "memory MiB: left out at 80 columns (COLUMNS=" in text and "512" not in text
    else:
        assert_whole(text, ["memory", "MiB", "512", "12.76×", "64", "40"])
        assert "left out" not in text


def test_a_comparison_too_wide_for_any_table_is_a_block_per_server() -> None:
    text = render(50, render_comparison, comparison())
    assert_whole(text, [*COMPARE_FIGURES[:-1], "512", "12.76×"])  # the failure's message wraps, as prose
    assert "gunicorn-uvicorn 23.0.0" in text and "req/s" in text and "left out" not in text


# --- load ------------------------------------------------------------------------------------------------------


def load_result() -> Result:
    requests = [
        named("GET /api/v1/users/{id}/profile", rps=9_876.5, errors={"timeout": 1_000}),
        named("search-with-long-name", rps=2_469.1, errors={"status": 567}),
    ]
    requests[0].entry["latency_ms"] |= {"p50": 12.3456, "p99": 987.654, "max": 1_234.5}
    requests[1].entry["latency_ms"] |= {"p50": 0.4321, "p99": 45.678, "max": 2_345.6}
    requests[1].entry["checks"] = [
        {"check": "status in 2xx,3xx", "passed": 7_407, "failed": 0},
        {"check": "header content-type contains 'application/json; charset=utf-8'", "passed": 6_840, "failed": 567},
    ]
    errors = {"timeout": 1_234, "status": 567, "reset": 89}
    document = result_document(rps=12_345.6, duration_s=30.0, model="open", rate=13_000.0, requests=requests,
                               errors=errors, server="gunicorn-uvicorn")  # fmt: skip
    document["server"] |= {"version": "23.0.0", "workers": 2, "processes": 3}
    document["summary"]["latency_ms"] |= {"p50": 1.2345, "p99": 98.765, "p999": 1_234.5, "max": 12_345.6}
    document["summary"]["error_examples"] = {
        "timeout": "no response within 10 s (GET /api/v1/users/{id}/profile)",
        "status": "503 Service Unavailable [upstream]",
    }
    document["thresholds"] = [
        {"threshold": "p99{name:GET /api/v1/users/{id}/profile}<50ms", "metric": "p99",
         "name": "GET /api/v1/users/{id}/profile", "status": None, "comparison": "<", "limit": 50.0, "unit": "ms",
         "observed": 987.654, "passed": False},
        {"threshold": "error_rate<0.1%", "metric": "error_rate", "name": None, "status": None, "comparison": "<",
         "limit": 0.001, "unit": "fraction", "observed": 0.0051, "passed": False},
    ]  # fmt: skip
    document = with_statuses(document, s200=[1_000], s503=[15_000])
    document["by_status"][0]["latency_ms"] |= {"p50": 2.5012, "p99": 1_234.5, "max": 1_234.5}
    document["by_status"][1]["latency_ms"] |= {"p50": 15.012, "p99": 250.12, "max": 250.12}
    return Result.from_json(document)


LOAD_FIGURES = [
    # throughput: 370,368 answered, 1,890 errors (the 567 status errors among the answers); rates as compare prints
    "371,691", "369,801", "370,368", "12,346", "13,000", "1,890 (0.51%)",
    # latency, per name, per status: ms to four significant digits, as compare, gate and the report print them
    "1.234 ms", "98.77 ms", "1,234 ms", "12,346 ms",
    "GET /api/v1/users/{id}/profile", "search-with-long-name", "9,876", "2,469", "1,000", "(3.3%)", "567",
    "(7.7%)", "12.35 ms", "987.7 ms", "0.432 ms", "45.68 ms",
    "503", "2.501 ms", "15.01 ms", "250.1 ms",
    # checks, errors, thresholds
    "6,840", "'application/json; charset=utf-8'",
    "unexpected status", "connection reset / closed", "1,234", "89", "503 Service Unavailable [upstream]",
    "p99{name:GET /api/v1/users/{id}/profile}<50ms", "error_rate<0.1%", "0.510%", "FAIL",
]  # fmt: skip


@pytest.mark.parametrize("width", WIDTHS)
def test_the_load_summary_keeps_every_name_and_figure_whole(width: int) -> None:
    text = render(width, render_result, load_result())
    assert_whole(text, LOAD_FIGURES)
    assert "…" not in text
    by_name = text[text.index("Requests by name") : text.index("Statuses")]
    if width == 80:  # too narrow for the 30-character name and all eight columns
        assert "ok, requests, max: left out at 80 columns (COLUMNS=" in by_name
        assert "30,630" not in by_name and "2,346 ms" not in by_name
    else:
        assert_whole(by_name, ["30,630", "29,630", "7,407", "6,840", "1,234 ms", "2,346 ms"])


def test_load_tables_too_wide_for_the_terminal_are_a_block_per_row() -> None:
    text = render(50, render_result, load_result())
    assert_whole(text, [*LOAD_FIGURES, "30,630", "29,630", "2,346 ms"])
    assert "left out" not in text


def test_the_progress_bar_keeps_the_elapsed_time_and_the_figures_whole() -> None:
    config = resolve(LoadFlags(target="http://127.0.0.1:8000/", vus=2, duration="2h", warmup="5s"), Path.cwd())
    console = Console(file=io.StringIO(), width=80, force_terminal=False, color_system=None)
    view = LiveView(console, config)
    second = SimpleNamespace(row=lambda: {"rps": 12_345.6, "p50_ms": 1_234.56, "p99_ms": 12_345.67})
    view.on_second(second, SimpleNamespace(total=SimpleNamespace(error_total=1_234_567)), 3_725.0)  # type: ignore[arg-type]
    task = view.progress.tasks[0]
    task.start_time = view.progress.get_time() - 3_725.0  # an hour, two minutes and five seconds in
    console.print(view.progress.make_tasks_table(view.progress.tasks))
    text = console.file.getvalue()  # type: ignore[attr-defined]
    assert_whole(text, ["warming up + load", "1:02:05", "12,346 req/s", "1234.56 ms", "12345.67 ms", "1,234,567"])


# --- gate ------------------------------------------------------------------------------------------------------


def gate_report(tagged: bool) -> GateReport:
    names = "p99,rps,error_rate" + (",p99{name:GET /api/v1/users/profile}" if tagged else "")
    metrics = parse_metrics([names])
    verdicts = [
        MetricVerdict(metrics[0], Spread(1_601.234, 1_554.1, 1_647.9, 3), Spread(2_934.5, 2_800.1, 3_321.7, 3),
                      0.8327, 0.05, Interval(0.71, 0.95), "runs", Verdict.REGRESSION),
        MetricVerdict(metrics[1], Spread(12_345.6, 12_000.1, 12_800.9, 3), Spread(11_999.9, 11_000.0, 12_500.5, 3),
                      -0.028, 0.05, Interval(-0.081, 0.024), "runs", Verdict.OK),
        MetricVerdict(metrics[2], Spread(0.0012, 0.001, 0.0015, 3), Spread(0.0132, 0.012, 0.014, 3),
                      0.012, 0.05, None, "none", Verdict.WITHIN_NOISE),
    ]  # fmt: skip
    if tagged:
        verdicts.append(MetricVerdict(metrics[3], Spread(10.2, 10.0, 10.4, 2), Spread(20.4, 20.0, 20.8, 2),
                                      1.0, 0.05, Interval(0.9, 1.1), "seconds", Verdict.REGRESSION))  # fmt: skip
    runs = tuple(f"run{index}.json" for index in range(3))
    return GateReport(tuple(verdicts), runs, runs)


GATE_MEDIANS = ["p99 ms", "rps /s", "error_rate %", "1,601", "2,934", "12,346", "12,000", "0.120", "1.320",
                "+83%", "+5%", "-2.8%", "-5%", "+1.20pp", "+5pp", "+71%…", "+95%", "-8.1%…", "+2.4%", "n/a",
                "regression", "within noise"]  # fmt: skip
GATE_RANGES = ["1,554–1,648", "2,800–3,322", "12,000–12,801", "11,000–12,500", "0.100–0.150"]


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("tagged", [False, True])
def test_the_gate_keeps_every_metric_and_figure_whole(width: int, tagged: bool) -> None:
    text = render(width, render_gate, gate_report(tagged))
    assert_whole(text, GATE_MEDIANS)
    if tagged:  # a long metric name: stacked at 80 columns, every figure kept
        assert_whole(text, ["p99{name:GET /api/v1/users/profile} ms", "10.20", "20.40", "+100%", "+110% ˢ",
                            *GATE_RANGES])  # fmt: skip
    elif width == 80:  # the ranges go first, and the footnote says so
        assert "min–max: left out at 80 columns (COLUMNS=" in text
        assert not any(figure in text for figure in GATE_RANGES)
    else:
        assert_whole(text, GATE_RANGES)


# --- conform and servers ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("width", WIDTHS)
def test_the_conformance_report_keeps_ids_and_titles_whole(width: int) -> None:
    from reference_apps.broken_demo import app

    report = conform(app)
    assert report.failed
    text = render(width, lambda console, report: render_report(console, report, verbose=True), report)
    assert "…" not in text
    assert_whole(text, [result.check.id for result in report.checks])
    for result in report.checks:
        if result.verdict in (Finding.FAIL, Finding.WARN):  # its panel's title, in the border or first inside
            assert any(result.check.title in line for line in text.splitlines()), result.check.id


@pytest.mark.parametrize("width", WIDTHS)
def test_the_catalogue_cuts_nothing_short(width: int) -> None:
    from asgibench.conformance.catalogue import CHECKS

    text = render(width, render_catalogue, CHECKS)
    assert "…" not in text
    assert_whole(text, [check.id for check in CHECKS] + ["SHOULD", "MUST", f"{len(CHECKS)} checks."])


@dataclass
class Plugin:
    """The part of a ServerPlugin the table reads."""

    name: str
    installed: str | None
    interface: str = "asgi"
    description: str = "gunicorn managing uvicorn workers, one per core, with uvloop [standard]"
    distribution: str = "gunicorn"
    protocols: frozenset[str] = frozenset({"http/1.1", "h2", "websocket"})

    def is_available(self) -> bool:
        return self.installed is not None

    def version(self) -> str | None:
        return self.installed


@pytest.mark.parametrize("width", WIDTHS + (40,))
def test_the_servers_table_keeps_names_and_versions_whole(width: int) -> None:
    plugins = [Plugin("gunicorn-uvicorn", "23.0.0"), Plugin("granian-rsgi-experimental", None, interface="rsgi")]
    text = render(width, render_servers, plugins)
    assert "…" not in text
    assert_whole(text, ["gunicorn-uvicorn", "23.0.0", "granian-rsgi-experimental", "not installed", "RSGI",
                        "[standard]", "pip install gunicorn uvicorn-worker"])  # fmt: skip
