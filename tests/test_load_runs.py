"""``asgibench load`` end to end: real servers on 127.0.0.1, the CLI as a user runs it.

Each run is short (1-3 s) except the coordinated-omission test, which needs
two freezes of its server in the measured window.
"""

from __future__ import annotations

import json
import time
import urllib.request
from pathlib import Path

import pytest
from hdrh.histogram import HdrHistogram
from hdrh.log import HistogramLogReader

from asgibench.load.settings import LoadFlags
from tests.loadkit import (
    ROOT,
    asgibench,
    assert_accounts,
    free_port,
    interrupt,
    misbehaving,
    read,
    start_asgibench,
    uvicorn,
)


def test_closed_model_against_uvicorn_writes_a_complete_result(tmp_path: Path) -> None:
    out = tmp_path / "result.json"
    with uvicorn() as (url, _):
        run = asgibench("load", url, "--vus", "8", "--duration", "2s", "--warmup", "0.5s", "--json", str(out))
    assert run.returncode == 0, run.stdout + run.stderr
    result = read(out)
    summary = result["summary"]
    assert result["schema"] == "asgibench.result/2" and not result["partial"] and result["passed"]
    assert_accounts(result)
    assert summary["requests"] > 500 and summary["errors"]["total"] == 0 and summary["ok"] == summary["requests"]
    assert summary["statuses"] == {"200": summary["responses"]}
    # Achieved throughput: responses completed inside the 2 s window (the 8 in flight at either edge aside).
    assert abs(summary["rps"] * 2 - summary["responses"]) <= 16 + 1
    latency = summary["latency_ms"]
    assert 0 < latency["min"] <= latency["p50"] <= latency["p90"] <= latency["p99"] <= latency["p999"] <= latency["max"]
    assert len(result["timeline"]) == 2
    assert result["environment"]["python"] and result["config"]["vus"] == 8
    assert "requests/s" in run.stdout and "p99.9" in run.stdout


def test_open_model_sends_the_scheduled_count_across_workers(tmp_path: Path) -> None:
    """Two workers share one schedule exactly: 300 req/s for 2 s is 600 requests, no more, no fewer."""
    out = tmp_path / "result.json"
    with uvicorn() as (url, _):
        run = asgibench("load", url, "--rate", "300", "-d", "2s", "--workers", "2", "--json", str(out))
    assert run.returncode == 0, run.stdout + run.stderr
    result = read(out)
    assert_accounts(result)
    assert result["summary"]["requests"] == result["summary"]["scheduled"] == 600
    assert result["summary"]["ok"] == 600
    assert len(result["generator"]["cpu_seconds"]) == 2
    service = result["summary"]["service_time_ms"]
    assert service is not None and service["p50"] <= result["summary"]["latency_ms"]["p50"] + 0.001


def test_a_frozen_server_shows_in_the_corrected_tail_and_not_in_service_time(tmp_path: Path) -> None:
    """The server's loop blocks 1 s in every 5 s: 20% of due times fall in a freeze, waiting up to 1 s.

    Latency from the due time puts p99 where 1% of requests waited longer, about 950 ms; the
    service time (from the write) stays small because the few connections are busy, so
    requests wait in the generator's queue, not in the server.
    """
    out = tmp_path / "result.json"
    with misbehaving("freeze") as url:
        run = asgibench(
            "load", url, "--rate", "400", "-d", "10s", "--connections", "4", "--max-connections", "4",
            "--json", str(out),
        )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    result = read(out)
    assert_accounts(result)
    summary = result["summary"]
    assert summary["errors"]["total"] == 0
    assert 850 <= summary["latency_ms"]["p99"] <= 1050, summary["latency_ms"]
    assert summary["latency_ms"]["max"] >= 950
    assert summary["service_time_ms"]["p99"] < 50, summary["service_time_ms"]
    assert summary["latency_ms"]["p50"] < 50  # most requests never met a freeze


def test_percentiles_match_a_known_mix(tmp_path: Path) -> None:
    """Every 5th answer takes 50 ms, the rest are immediate: p50 and p75 fast, p90 and p99 at 50 ms."""
    out = tmp_path / "result.json"
    with misbehaving("mix") as url:
        run = asgibench("load", url, "--rate", "200", "-d", "3s", "--json", str(out))
    assert run.returncode == 0, run.stdout + run.stderr
    latency = read(out)["summary"]["latency_ms"]
    # The two modes apart, with room for a busy machine: the fast answers well under the slow ones, the slow
    # ones never under their 50 ms.
    assert latency["p50"] < 25 and latency["p75"] < 25, latency
    assert 50 <= latency["p90"] < 100 and 50 <= latency["p99"] < 150, latency


def test_weighted_requests_follow_their_weights(tmp_path: Path) -> None:
    scenario = tmp_path / "mix.toml"
    scenario.write_text(
        '[load]\nrate = 500\nduration = "2s"\n'
        '[[requests]]\npath = "/read"\nweight = 4\n'
        '[[requests]]\nmethod = "POST"\npath = "/write"\nbody = "x"\nweight = 1\n'
    )
    out = tmp_path / "result.json"
    with misbehaving("count") as url:
        run = asgibench("load", url, "--scenario", str(scenario), "--json", str(out))
        with urllib.request.urlopen(url + "__counts", timeout=5) as answer:
            seen = json.loads(answer.read())
    assert run.returncode == 0, run.stdout + run.stderr
    summary = read(out)["summary"]
    assert summary["requests"] == 1000  # every due request has its one outcome
    # What the server saw is what was answered; a busy machine may leave the last few due requests unsent
    # (counted as such), so the share of writes is exact only up to them.
    answered = seen["/read"] + seen["/write"]
    assert summary["ok"] <= answered <= 1000 and answered >= 900
    assert abs(seen["/write"] - 200) <= 1000 - answered


def test_thresholds_fail_the_run_and_print_a_table(tmp_path: Path) -> None:
    out = tmp_path / "result.json"
    with misbehaving("mix") as url:
        run = asgibench(
            "load", url, "--rate", "100", "-d", "1s", "-t", "p99<10ms", "-t", "error_rate<1%", "--json", str(out)
        )
    assert run.returncode == 1, run.stdout + run.stderr
    assert "Thresholds" in run.stdout and "FAIL" in run.stdout
    verdicts = {verdict["threshold"]: verdict["passed"] for verdict in read(out)["thresholds"]}
    assert verdicts == {"p99<10ms": False, "error_rate<1%": True}


def test_abort_on_fail_stops_early_and_keeps_the_result(tmp_path: Path) -> None:
    out = tmp_path / "result.json"
    with misbehaving("mix") as url:
        run = asgibench(
            "load", url, "--rate", "100", "-d", "20s", "-t", "p99<10ms", "--abort-on-fail", "--json", str(out)
        )
    assert run.returncode == 1
    result = read(out)
    assert result["partial"] and "p99<10ms" in result["partial_reason"]
    assert result["summary"]["duration_s"] < 5
    assert_accounts(result)  # requests due before the stop, and in flight at it, are all counted


def test_unreachable_target_exits_3() -> None:
    run = asgibench("load", f"http://127.0.0.1:{free_port()}/", "-d", "1s")
    assert run.returncode == 3
    assert "Cannot reach" in run.stderr and "refused" in run.stderr.lower()


def test_bad_usage_exits_2() -> None:
    run = asgibench("load", "http://127.0.0.1:1/", "--vus", "2", "--rate", "5")
    assert run.returncode == 2 and "not both" in run.stderr


@pytest.mark.parametrize("workers", ["1", "2"])  # in-process, and worker processes
def test_ctrl_c_saves_a_partial_result(tmp_path: Path, workers: str) -> None:
    out = tmp_path / "result.json"
    with uvicorn() as (url, _):
        process = start_asgibench("load", url, "--vus", "4", "-d", "30s", "--workers", workers, "--json", str(out))
        code, output = interrupt(process, after=2.5)
    assert code == 130, output
    result = read(out)
    assert result["partial"] and "interrupted" in result["partial_reason"]
    assert_accounts(result)
    assert result["summary"]["requests"] > 0 and 0.5 < result["summary"]["duration_s"] < 5
    assert "PARTIAL RESULT" in output


def test_a_server_dying_mid_run_is_counted_and_the_run_finishes(tmp_path: Path) -> None:
    out = tmp_path / "result.json"
    with uvicorn() as (url, server):
        process = start_asgibench("load", url, "--vus", "4", "-d", "3s", "--json", str(out))
        time.sleep(1.5)
        server.kill()
        stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 0, stdout + stderr  # something succeeded: the run passes, with the errors shown
    result = read(out)
    assert_accounts(result)
    summary = result["summary"]
    assert summary["ok"] > 0
    assert summary["errors"]["refused"] > 0, summary["errors"]
    assert "connection refused" in stdout


def test_unix_socket_target_and_hdr_interval_log(tmp_path: Path) -> None:
    log = tmp_path / "run.hlog"
    with uvicorn(uds=tmp_path / "app.sock") as (url, _):
        result = tmp_path / "r.json"
        run = asgibench("load", url, "--vus", "2", "-d", "2s", "--hdr-log", str(log), "--json", str(result))
    assert run.returncode == 0, run.stdout + run.stderr
    reader = HistogramLogReader(str(log), HdrHistogram(1, 3_600_000_000, 3))
    intervals = []
    while (histogram := reader.get_next_interval_histogram()) is not None:
        intervals.append(histogram.total_count)
    reader.close()
    assert len(intervals) == 2 and sum(intervals) == read(result)["summary"]["responses"]


def test_target_comes_from_pyproject_when_not_given(tmp_path: Path) -> None:
    with uvicorn() as (url, _):
        (tmp_path / "pyproject.toml").write_text(f'[tool.asgibench]\ntarget = "{url}"\n')
        run = asgibench("load", "--vus", "1", "-d", "0.5s", cwd=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "[tool.asgibench]" in run.stdout


def test_ramping_stages_send_the_area_under_the_rate(tmp_path: Path) -> None:
    """0 -> 400 req/s over 2 s, then 400 req/s for 1 s: 400 + 400 requests, the timeline rising."""
    scenario = tmp_path / "ramp.toml"
    scenario.write_text(
        '[load]\nmodel = "open"\n[[load.stages]]\nduration = "2s"\ntarget = 400\n'
        '[[load.stages]]\nduration = "1s"\ntarget = 400\n'
    )
    out = tmp_path / "result.json"
    with uvicorn() as (url, _):
        run = asgibench("load", url, "--scenario", str(scenario), "--json", str(out))
    assert run.returncode == 0, run.stdout + run.stderr
    result = read(out)
    assert_accounts(result)
    assert result["summary"]["requests"] == result["summary"]["ok"] == 800
    per_second = [row["requests"] for row in result["timeline"]]
    assert len(per_second) == 3 and per_second[0] < per_second[1] < per_second[2] + 5, per_second


def test_a_bad_scenario_exits_2_naming_the_line_and_key(tmp_path: Path) -> None:
    scenario = tmp_path / "typo.toml"
    scenario.write_text("[load]\nrate = 10\nvsu = 5\n")
    run = asgibench("load", "--scenario", str(scenario))
    assert run.returncode == 2
    assert "typo.toml:3: load.vsu: unknown key" in run.stderr


def test_a_run_ends_and_keeps_what_it_measured_when_a_callback_fails() -> None:
    """An exception inside the run's own loop (here, an observer that raises) ends the run; it never hangs."""
    from asgibench.load.runner import run_load
    from asgibench.load.settings import resolve

    def broken_observer(*_: object) -> str | None:
        raise RuntimeError("an observer with a bug")

    with misbehaving("ok") as url:
        config = resolve(LoadFlags(target=url, vus=2, duration="30s"), ROOT)
        started = time.monotonic()
        outcome = run_load(config, broken_observer)
    assert time.monotonic() - started < 20
    assert outcome.partial_reason is not None and "an observer with a bug" in outcome.partial_reason
    assert outcome.worker_failures and outcome.aggregate.total.responses > 0
