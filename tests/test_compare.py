"""asgibench compare: real servers launched in turn, interleaved runs, files kept, failures and Ctrl-C."""

from __future__ import annotations

import datetime
import io
import time
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from asgibench.compare.plan import run_order
from asgibench.compare.stats import COLUMNS, eligible, server_stats, standings
from asgibench.results.model import Result
from tests.loadkit import asgibench, interrupt, read, start_asgibench
from tests.resultkit import result_document

APP = "reference_apps.raw_app:app"
TWIN = "reference_apps.wsgi_app:app"
SHORT = ("--rate", "200", "-d", "1s", "--warmup", "0.5s")


def _result(rps: float, p99: float, cpu: float, rss: float, *, bound: bool = False, **more: Any) -> Result:
    """A v2 result of two seconds at ``rps`` (one request timed out unless ``errors`` says otherwise)."""
    result = result_document(rps=rps, duration_s=2.0, bottleneck=bound, **({"errors": {"timeout": 1}} | more))
    result["summary"]["latency_ms"] |= {"p50": p99 / 4, "p99": p99, "p999": p99 * 2}
    result["server"] = {"name": "uvicorn", "cpu_fraction": cpu, "cpu_seconds": cpu * 2, "peak_rss_mib": rss}
    return Result.from_json(result)


def test_runs_are_interleaved_and_each_round_starts_with_the_next_server() -> None:
    order = [run.stem for run in run_order(["a", "b", "c"], 3)]
    assert order == ["a-1", "b-1", "c-1", "b-2", "c-2", "a-2", "c-3", "a-3", "b-3"]


def test_stats_take_medians_and_ranges_and_standings_mark_the_best_and_the_ties() -> None:
    fast = server_stats([_result(1000, 2.0, 0.9, 40), _result(1100, 2.2, 0.9, 41), _result(900, 1.8, 1.0, 42)])
    slow = server_stats([_result(500, 9.0, 0.5, 30), _result(520, 9.5, 0.5, 30)])
    close = server_stats([_result(950, 2.5, 0.9, 80), _result(1050, 2.5, 0.9, 80)])
    assert fast["rps"] == {"median": 1000, "min": 900, "max": 1100, "values": [1000, 1100, 900]}
    assert fast["errors"] == 3 and fast["runs"] == 3 and not fast["generator_bound"]
    rps = standings({"fast": fast, "slow": slow, "close": close}, COLUMNS[0])
    assert rps["fast"].best and not rps["slow"].best
    assert rps["slow"].relative == pytest.approx(0.51) and not rps["slow"].tied
    assert rps["close"].tied  # 950 and 1050 against 900 to 1100: not different beyond noise
    p99 = standings({"fast": fast, "slow": slow}, COLUMNS[2])
    assert p99["fast"].best and p99["slow"].relative == pytest.approx(9.25 / 2.0)
    assert server_stats([_result(1, 1, 1, 1, bound=True)])["generator_bound"]


def test_compare_runs_each_server_interleaved_and_keeps_every_file(tmp_path: Path) -> None:
    out = tmp_path / "cmp"
    done = asgibench("compare", APP, "--servers", "uvicorn,gunicorn-sync", "--wsgi-app", TWIN,
                     "--repeat", "2", *SHORT, "--out", str(out), timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    comparison = read(out / "comparison.json")
    assert comparison["schema"] == "asgibench.comparison/1" and comparison["repeat"] == 2
    assert [server["name"] for server in comparison["servers"]] == ["uvicorn", "gunicorn-sync"]
    started = {}
    for server in comparison["servers"]:
        assert server["status"] == "ok" and server["runs"] == [f"{server['name']}-1.json", f"{server['name']}-2.json"]
        assert server["stats"]["requests"] == 400 and server["stats"]["errors"] == 0
        assert server["stats"]["server_peak_rss_mib"]["max"] > 10
        for name in server["runs"]:
            result = read(out / name)
            assert result["server"]["name"] == server["name"] and result["server"]["app"] == server["app"]
            started[name] = datetime.datetime.fromisoformat(result["created"])
        assert (out / "logs" / f"{server['name']}-1.log").exists()
    assert comparison["servers"][1]["app"] == TWIN and comparison["servers"][1]["interface"] == "wsgi"
    # Round 1: uvicorn then gunicorn-sync; round 2 starts with gunicorn-sync.
    assert sorted(started, key=started.__getitem__) == ["uvicorn-1.json", "gunicorn-sync-1.json",
                                                         "gunicorn-sync-2.json", "uvicorn-2.json"]  # fmt: skip
    assert "Comparison" in done.stdout and "gunicorn-sync" in done.stdout and "★" in done.stdout


def test_servers_that_cannot_start_are_marked_failed_with_their_log_and_exit_3(tmp_path: Path) -> None:
    done = asgibench("compare", "no_such_module_here:app", "--servers", "uvicorn,hypercorn", *SHORT,
                     "--repeat", "1", "--out", str(tmp_path))  # fmt: skip
    assert done.returncode == 3, done.stdout + done.stderr
    comparison = read(tmp_path / "comparison.json")
    for server in comparison["servers"]:
        assert server["status"] == "failed" and server["runs"] == [] and server["stats"] is None
        assert any("no_such_module_here" in line for line in server["log_tail"])
    assert "uvicorn failed" in done.stdout


def test_bad_server_lists_are_exit_2_naming_the_flag() -> None:
    done = asgibench("compare", APP, "--servers", "gunicorn-sync", *SHORT)
    assert done.returncode == 2 and "--wsgi-app" in done.stderr
    done = asgibench("compare", APP, "--servers", "uvicorn,nginx", *SHORT)
    assert done.returncode == 2 and "Unknown server 'nginx'" in done.stderr
    done = asgibench("compare", APP, "--servers", "uvicorn,uvicorn", *SHORT)
    assert done.returncode == 2 and "uvicorn named twice" in done.stderr
    done = asgibench("compare", APP, "--profile", *SHORT)
    assert done.returncode == 2 and "--out" in done.stderr


def test_ctrl_c_keeps_the_runs_already_measured(tmp_path: Path) -> None:
    process = start_asgibench("compare", APP, "--servers", "uvicorn,hypercorn", "--rate", "200", "-d", "3s",
                              "--warmup", "0s", "--repeat", "2", "--out", str(tmp_path))  # fmt: skip
    deadline = time.monotonic() + 60
    while not (tmp_path / "uvicorn-1.json").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    code, output = interrupt(process, 1.5)  # inside hypercorn's first run
    assert code == 130, output
    comparison = read(tmp_path / "comparison.json")
    assert comparison["partial"] is True
    assert comparison["servers"][0]["runs"] == ["uvicorn-1.json"]
    assert read(tmp_path / "uvicorn-1.json")["summary"]["requests"] == 600
    hypercorn = read(tmp_path / "hypercorn-1.json")  # the interrupted run, kept as partial
    assert hypercorn["partial"] and 0 < hypercorn["summary"]["requests"] < 600


def test_profile_records_a_flame_graph_of_each_server_in_an_extra_run(tmp_path: Path) -> None:
    done = asgibench("compare", APP, "--servers", "uvicorn", "--vus", "8", "-d", "2s", "--warmup", "0.5s",
                     "--repeat", "1", "--profile", "--out", str(tmp_path), timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    server = read(tmp_path / "comparison.json")["servers"][0]
    assert server["profile"] == "uvicorn.svg" and server["profile_error"] is None
    assert server["runs"] == ["uvicorn-1.json"]  # the profiled run is not one of the compared runs
    flame = (tmp_path / "uvicorn.svg").read_text()
    assert flame.lstrip().startswith("<?xml") and "<svg" in flame
    assert "raw_app.py" in flame  # py-spy saw the app's own frames while it was kept busy
    assert read(tmp_path / "uvicorn-profiled.json")["server"]["profile"] == "uvicorn.svg"


def test_a_worker_count_a_server_cannot_run_is_exit_2() -> None:
    done = asgibench("compare", APP, "--servers", "uvicorn,daphne", "--server-workers", "2", *SHORT)
    assert done.returncode == 2 and "daphne serves from at most 1 process" in done.stderr
    done = asgibench("load", APP, "--server", "daphne", "--server-workers", "2", "-d", "1s")
    assert done.returncode == 2 and "--server-workers 2" in done.stderr


def test_compare_out_writes_the_markdown_and_html_reports(tmp_path: Path) -> None:
    done = asgibench("compare", APP, "--servers", "uvicorn,granian", "--vus", "8", "-d", "1s", "--warmup", "0.5s",
                     "--repeat", "1", "--out", str(tmp_path), timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    markdown = (tmp_path / "report.md").read_text()
    assert "uvicorn" in markdown and "granian" in markdown and "req/s" in markdown
    assert 'id="percentile-spectrum"' in (tmp_path / "report.html").read_text()


def test_the_error_rate_is_errors_over_every_request_and_cpu_is_per_response() -> None:
    stats = server_stats([_result(100, 2.0, 0.5, 40, errors={"timeout": 10, "unsent": 30})])
    assert (stats["requests"], stats["ok"], stats["errors"]) == (240, 200, 40)  # 200 answered, 40 not
    assert stats["error_rate"] == pytest.approx(40 / 240)
    assert stats["server_cpu_per_request_us"]["median"] == pytest.approx(1.0 / 200 * 1e6)  # unsent cost it nothing
    assert stats["marks"] == [] and not (stats["target_behind"] or stats["failed"])


def test_an_overloaded_generator_bound_or_failed_server_is_flagged_and_never_the_best() -> None:
    """The flawed servers have the most req/s and the lowest p99; the steady one is best in both columns."""
    open_model = {"model": "open", "rate": 5000.0}
    stats = {
        "overloaded": server_stats([_result(4000, 1.0, 0.9, 40, **open_model)]),  # 4,000 of 5,000 a second
        "bound": server_stats([_result(5000, 1.5, 0.9, 40, bound=True, **open_model)]),
        "failed": server_stats([_result(5000, 1.2, 0.9, 40, **open_model, errors={"status": 10_000})]),
        "steady": server_stats([_result(4900, 2.0, 0.9, 40, **open_model)]),
    }
    assert stats["overloaded"]["target_behind"] and not stats["overloaded"]["generator_bound"]
    assert stats["overloaded"]["marks"] == ["⚠ target behind: achieved 4,000 of 5,000 req/s"]
    assert stats["overloaded"]["offered_rps"] == {"median": 5000.0, "min": 5000.0, "max": 5000.0}
    assert stats["bound"]["marks"] == ["⚠ generator-bound"] and not stats["bound"]["target_behind"]
    assert stats["failed"]["failed"] and stats["failed"]["marks"] == ["✗ no request succeeded"]
    assert [name for name, one in stats.items() if eligible(one)] == ["steady"]
    for column in (COLUMNS[0], COLUMNS[2]):
        ranked = standings(stats, column)
        assert [name for name, standing in ranked.items() if standing.best] == ["steady"]
        assert not ranked["failed"].eligible and ranked["steady"].eligible
    assert standings(stats, COLUMNS[0])["bound"].relative == pytest.approx(5000 / 4900)


def test_with_no_eligible_server_there_is_no_best_but_every_figure_keeps_its_ratio() -> None:
    stats = {
        "one": server_stats([_result(2000, 1.0, 0.9, 40, bound=True)]),
        "two": server_stats([_result(1000, 2.0, 0.9, 40, bound=True)]),
    }
    ranked = standings(stats, COLUMNS[0])
    assert not any(standing.best for standing in ranked.values())
    assert ranked["one"].relative == 1.0 and ranked["two"].relative == 0.5


def test_the_terminal_table_marks_a_flagged_server_and_never_stars_it() -> None:
    from asgibench.render.compare import render_comparison

    open_model = {"model": "open", "rate": 5000.0}
    document = {
        "servers": [
            {"name": name, "version": "1.0", "status": "ok", "error": None, "log_tail": [], "stats": stats}
            for name, stats in (
                ("overloaded", server_stats([_result(4000, 1.0, 0.9, 40, **open_model)])),
                ("steady", server_stats([_result(3900, 2.0, 0.9, 40, **open_model)])),
            )
        ]
    }
    console = Console(file=io.StringIO(), width=140, color_system=None)
    render_comparison(console, document)
    text = console.file.getvalue()  # type: ignore[attr-defined]
    overloaded_row = next(line for line in text.splitlines() if "overloaded ⚠" in line)
    assert "★" not in overloaded_row  # best req/s and p99 in figures, but flagged
    assert "overloaded: ⚠ target behind: achieved 4,000 of 5,000 req/s" in text


def test_each_run_gets_a_line_with_its_figures_printed_as_the_table_prints_them() -> None:
    from asgibench.render.compare import TerminalView

    console = Console(file=io.StringIO(), width=200, color_system=None)
    view = TerminalView(console, live=False)
    planned = run_order(["uvicorn"], 1)[0]
    view.finished(planned, _result(12_345.6, 1_234.5, 0.5, 512.3).to_json())
    died = _result(45.2, 9.0, 1.0, 40.0, bound=True).to_json()
    died["server"]["exit_code"] = -9
    view.finished(planned, died)
    lines = console.file.getvalue().splitlines()  # type: ignore[attr-defined]
    assert lines[0] == "  12,346 req/s · p50 308.6 ms · p99 1,234 ms · errors 1 · server CPU 0.50 cores, 512 MiB"
    assert lines[1] == (
        "  45.2 req/s · p50 2.250 ms · p99 9.000 ms · errors 1 · server CPU 1.00 cores, 40.0 MiB"
        "  ⚠ generator-bound  server exited (code -9)"
    )
