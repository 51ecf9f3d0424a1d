"""Per-request statistics, response checks and outputs of ``asgibench load``, end to end.

The target is tests/servers/misbehaving.py in ``routes`` mode: ``/`` answers at
once, ``/slower`` after 50 ms, ``/missing`` is a 404, ``/json`` and ``/text``
carry known bodies and content types. Assertions are on invariants (a 50 ms
sleep is a floor on latency; counts by name add up), never on speed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from tests.loadkit import ROOT, asgibench, assert_accounts, misbehaving, read

RATE = ("--rate", "40", "-d", "1s")


def by_name(result: dict[str, object]) -> dict[str, dict[str, object]]:
    return {row["name"]: row for row in result["requests"]}  # type: ignore[index, union-attr]


def test_each_path_has_its_own_statistics_and_thresholds(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    with misbehaving("routes") as url:
        run = asgibench(
            "load", url, *RATE, "--path", "/", "--path", "/slower",
            "-t", "p99{name:GET /slower}<10ms", "-t", "p99{name:GET /}<5s", "--json", str(out),
        )  # fmt: skip
    assert run.returncode == 1, run.stdout + run.stderr  # the slow path's threshold fails
    result = read(out)
    assert_accounts(result)
    rows = by_name(result)
    assert set(rows) == {"GET /", "GET /slower"}
    fast, slow = rows["GET /"], rows["GET /slower"]
    assert fast["responses"] > 0 and slow["responses"] > 0  # type: ignore[operator]
    assert slow["latency_ms"]["min"] >= 50  # type: ignore[index]  # the server sleeps 50 ms: a floor
    assert fast["latency_ms"]["min"] < 50  # type: ignore[index]
    verdicts = {verdict["name"]: verdict["passed"] for verdict in result["thresholds"]}
    assert verdicts == {"GET /slower": False, "GET /": True}
    assert "Requests by name" in run.stdout and "GET /slower" in run.stdout


def test_status_codes_are_counted_and_timed_per_code_and_per_name(tmp_path: Path) -> None:
    """/slower answers 200 after 50 ms, /missing 404 at once: each status code has its own latency histogram."""
    out = tmp_path / "r.json"
    with misbehaving("routes") as url:
        run = asgibench(
            "load", url, *RATE, "--path", "/slower", "--path", "/missing", "--json", str(out),
            "-t", "p99{status:200}<40ms", "-t", "p99{status:404}<40ms", "-t", "p99{status:500}<1ms",
        )  # fmt: skip
    assert run.returncode == 1, run.stdout + run.stderr  # the 200s are slower than 40 ms
    result = read(out)
    assert_accounts(result)
    summary, rows = result["summary"], by_name(result)
    assert set(summary["statuses"]) == {"200", "404"}
    assert summary["errors"]["status"] == summary["statuses"]["404"] == rows["GET /missing"]["requests"]
    assert rows["GET /missing"]["ok"] == 0 and rows["GET /slower"]["errors"]["total"] == 0  # type: ignore[index]
    statuses = {row["status"]: row for row in result["by_status"]}
    assert statuses["200"]["latency_ms"]["min"] >= 50  # the server sleeps 50 ms before every 200: a floor
    assert statuses["404"]["latency_ms"]["min"] < 50
    verdicts = {verdict["status"]: verdict["passed"] for verdict in result["thresholds"]}
    assert verdicts == {"200": False, "404": True, "500": True}  # no 500 at all: nothing broke that threshold
    assert "404" in run.stdout and "Statuses" in run.stdout


def test_body_and_header_checks_are_counted_per_check(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    with misbehaving("routes") as url:
        run = asgibench(
            "load", url, *RATE, "--path", "/json", "--path", "/text",
            "--expect-body", "ok", "--expect-header", "Content-Type: json", "--json", str(out),
        )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    result = read(out)
    assert_accounts(result)
    rows = by_name(result)
    json_checks = {check["check"]: check for check in rows["GET /json"]["checks"]}  # type: ignore[union-attr]
    text_checks = {check["check"]: check for check in rows["GET /text"]["checks"]}  # type: ignore[union-attr]
    assert all(check["failed"] == 0 for check in json_checks.values())
    assert text_checks["body contains 'ok'"]["failed"] == rows["GET /text"]["responses"]
    assert text_checks["header content-type contains 'json'"]["failed"] == rows["GET /text"]["responses"]
    assert rows["GET /text"]["errors"]["check"] == rows["GET /text"]["responses"]  # type: ignore[index]
    assert rows["GET /json"]["ok"] == rows["GET /json"]["responses"]
    assert "Checks" in run.stdout and "check failed" in run.stdout


def test_a_scenario_expects_its_own_statuses(tmp_path: Path) -> None:
    scenario = tmp_path / "s.toml"
    scenario.write_text(
        '[load]\nrate = 40\nduration = "1s"\n'
        '[[requests]]\nname = "gone"\npath = "/missing"\nexpect = {status = [404]}\n'
        '[[requests]]\nname = "home"\npath = "/"\n[requests.expect]\nstatus = ["2xx"]\nbody_contains = "ok"\n'
    )
    out = tmp_path / "r.json"
    with misbehaving("routes") as url:
        run = asgibench("load", url, "--scenario", str(scenario), "--json", str(out))
    assert run.returncode == 0, run.stdout + run.stderr
    result = read(out)
    assert_accounts(result)
    assert result["summary"]["errors"]["total"] == 0 and result["summary"]["ok"] == result["summary"]["requests"]


def test_json_to_standard_output_keeps_stdout_for_the_result() -> None:
    with misbehaving("ok") as url:
        run = asgibench("load", url, *RATE, "--json", "-")
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    assert_accounts(result)
    assert "Throughput" in run.stderr  # the summary goes to standard error


def test_outputs_are_checked_before_any_load_is_sent(tmp_path: Path) -> None:
    """Nothing listens on port 9: a bad output path must be reported (exit 2) before the target is tried (exit 3)."""
    for path, reason in (("/dev/full", "not a regular file"), (str(tmp_path), "is a directory"),
                         ("/proc/self/result.json", "no file can be created")):  # fmt: skip
        run = asgibench("load", "http://127.0.0.1:9/", "--vus", "1", "-d", "1s", "--json", path)
        assert run.returncode == 2, (path, run.stdout + run.stderr)
        assert reason in " ".join(run.stderr.split()) and "Traceback" not in run.stderr
    assert Path("/dev/full").is_char_device()


def test_a_result_that_cannot_be_written_at_the_end_is_saved_elsewhere(tmp_path: Path) -> None:
    """The output directory vanishes during the run: the summary is printed, the result saved to a fallback file."""
    outputs = tmp_path / "outputs"
    outputs.mkdir()
    with misbehaving("ok") as url:
        process = subprocess.Popen(
            [sys.executable, "-m", "asgibench", "load", url, "--rate", "40", "-d", "2s",
             "--json", str(outputs / "r.json")],
            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env=os.environ | {"PYTHONPATH": str(ROOT), "NO_COLOR": "1", "COLUMNS": "120"},
        )  # fmt: skip
        time.sleep(1.0)
        shutil.rmtree(outputs)
        stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 2, stdout + stderr
    assert "Throughput" in stdout and "could not write --json" in " ".join(stderr.split())
    saved = sorted(tmp_path.glob("asgibench-result-*.json"))
    assert len(saved) == 1, list(tmp_path.iterdir())
    assert_accounts(read(saved[0]))
