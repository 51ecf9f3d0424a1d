"""``asgibench gate`` end to end: real runs of a real server, judged by the CLI as CI would run it.

One uvicorn serves tests/apps/delayed.py as is, another the same app slowed
by 5 ms a request. Six short open-model runs (four of the plain app, two of
the slow one, interleaved so a drift in the machine's load touches both) feed
every test here. Nothing is pinned: on a shared two-core machine pinning the
server to a CPU someone else is busy on made the run-to-run noise worse.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest

from tests.loadkit import ROOT, asgibench, free_port, stop, wait_listening

SLOWDOWN_MS = "5"
LOAD = ("--rate", "100", "--duration", "4s", "--warmup", "1s", "-q")


@dataclass(frozen=True)
class Runs:
    plain: list[Path]  # four runs of the app as is, in the order they ran
    slow: list[Path]  # two runs of the slowed app
    plain_dir: Path
    slow_dir: Path


def start_server(delay_ms: str) -> tuple[str, subprocess.Popen[Any]]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "tests.apps.delayed:app", "--port", str(port)]
        + ["--log-level", "warning", "--no-access-log"],
        cwd=ROOT,
        env=os.environ | {"DELAY_MS": delay_ms},
    )
    wait_listening("127.0.0.1", port)
    return f"http://127.0.0.1:{port}/", process


def load(url: str, out: Path) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "asgibench", "load", url, *LOAD, "--json", str(out)],
        cwd=ROOT,
        env=os.environ | {"NO_COLOR": "1", "COLUMNS": "120"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stdout + run.stderr


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runs]:
    root = tmp_path_factory.mktemp("gate")
    plain_dir, slow_dir = root / "plain", root / "slow"
    plain_dir.mkdir()
    slow_dir.mkdir()
    plain_url, plain_server = start_server("0")
    try:
        slow_url, slow_server = start_server(SLOWDOWN_MS)
        try:
            order = [("plain", 1), ("plain", 2), ("slow", 1), ("plain", 3), ("plain", 4), ("slow", 2)]
            for kind, index in order:
                directory = plain_dir if kind == "plain" else slow_dir
                load(plain_url if kind == "plain" else slow_url, directory / f"{kind}{index}.json")
        finally:
            stop(slow_server)
    finally:
        stop(plain_server)
    yield Runs(
        plain=[plain_dir / f"plain{index}.json" for index in range(1, 5)],
        slow=[slow_dir / f"slow{index}.json" for index in range(1, 3)],
        plain_dir=plain_dir,
        slow_dir=slow_dir,
    )


def test_the_same_app_against_itself_passes(runs: Runs, tmp_path: Path) -> None:
    """Two runs a side, interleaved (1 and 3 against 2 and 4): noise between runs must not fail the build."""
    baseline, current = runs.plain[0::2], runs.plain[1::2]
    gate = asgibench(
        "gate", "--baseline", str(baseline[0]), "--baseline", str(baseline[1]),
        "--current", str(current[0]), "--current", str(current[1]),
        "--metric", "p50,p99,rps", "--json", str(tmp_path / "gate.json"),
    )  # fmt: skip
    assert gate.returncode == 0, gate.stdout + gate.stderr
    assert "PASS" in gate.stdout
    verdicts = {
        entry["metric"]: entry["verdict"] for entry in json.loads((tmp_path / "gate.json").read_text())["metrics"]
    }
    assert set(verdicts) == {"p50", "p99", "rps"} and "regression" not in verdicts.values()


def test_a_slower_app_fails_on_p50_and_p99_and_writes_junit(runs: Runs, tmp_path: Path) -> None:
    junit, report = tmp_path / "gate.xml", tmp_path / "gate.json"
    gate = asgibench(
        "gate", str(runs.plain_dir), str(runs.slow_dir), "--metric", "p50,p99,rps",
        "--junit", str(junit), "--json", str(report),
    )  # fmt: skip
    assert gate.returncode == 1, gate.stdout + gate.stderr
    assert "FAIL: regression in p50 latency, p99 latency" in " ".join(gate.stdout.split())
    verdicts = {entry["metric"]: entry for entry in json.loads(report.read_text())["metrics"]}
    assert verdicts["p50"]["verdict"] == verdicts["p99"]["verdict"] == "regression"
    assert verdicts["rps"]["verdict"] == "ok"  # the open model holds the rate, slow or not
    assert verdicts["p50"]["baseline"]["runs"] == 4 and verdicts["p50"]["current"]["runs"] == 2
    suite = ElementTree.parse(junit).getroot()
    assert suite.get("tests") == "3" and suite.get("failures") == "2"
    failed = {case.get("name") for case in suite.iter("testcase") if case.find("failure") is not None}
    assert failed == {"p50 latency", "p99 latency"}


def test_a_generator_bound_input_is_refused(runs: Runs, tmp_path: Path) -> None:
    document = json.loads(runs.plain[0].read_text())
    document["generator"]["bottleneck"] = True
    document["generator"]["reasons"] = ["event loop lag p99 25.0 ms"]
    bound = tmp_path / "bound.json"
    bound.write_text(json.dumps(document))
    gate = asgibench("gate", str(runs.plain[1]), str(bound))
    assert gate.returncode == 2, gate.stdout + gate.stderr
    message = " ".join(gate.stderr.split())  # Rich wraps long lines
    assert "bound.json: the load generator was the bottleneck (event loop lag p99 25.0 ms)" in message


def test_a_partial_input_is_refused_unless_allowed(runs: Runs, tmp_path: Path) -> None:
    document = json.loads(runs.plain[0].read_text())
    document["partial"], document["partial_reason"] = True, "interrupted after 1.4 s"
    partial = tmp_path / "partial.json"
    partial.write_text(json.dumps(document))
    refused = asgibench("gate", str(runs.plain[1]), str(partial))
    assert refused.returncode == 2 and "partial.json: the run is partial" in " ".join(refused.stderr.split())
    allowed = asgibench("gate", str(runs.plain[1]), str(partial), "--allow-partial")
    assert allowed.returncode in (0, 1), allowed.stdout + allowed.stderr
    assert "p99" in allowed.stdout


def test_different_configs_warn_and_different_models_are_refused(runs: Runs, tmp_path: Path) -> None:
    document = json.loads(runs.plain[0].read_text())
    document["config"]["rate"] = 400.0
    faster = tmp_path / "faster.json"
    faster.write_text(json.dumps(document))
    warned = asgibench("gate", str(runs.plain[1]), str(faster))
    assert "configuration differs between the runs: rate" in " ".join(warned.stdout.split())
    document["config"]["model"], document["config"]["vus"] = "closed", 8
    closed = tmp_path / "closed.json"
    closed.write_text(json.dumps(document))
    refused = asgibench("gate", str(runs.plain[1]), str(closed))
    assert refused.returncode == 2 and "different load models (closed, open)" in " ".join(refused.stderr.split())


def test_a_bad_flag_is_a_usage_error_naming_it(runs: Runs) -> None:
    gate = asgibench("gate", str(runs.plain[0]), str(runs.plain[1]), "--max-regression", "lots")
    assert gate.returncode == 2 and "--max-regression 'lots'" in " ".join(gate.stderr.split())
