"""The typed result model: a real run's file reads into records and writes back key for key."""

from __future__ import annotations

from pathlib import Path

from asgibench.results import load_result
from asgibench.results.metrics import METRICS, metric
from asgibench.results.model import Result
from tests.loadkit import asgibench, uvicorn

DATA = Path(__file__).parent / "data"


def test_a_real_result_reads_into_records_and_writes_back_unchanged(tmp_path: Path) -> None:
    out = tmp_path / "result.json"
    with uvicorn() as (url, _):
        run = asgibench(
            "load", url, "--rate", "200", "-d", "2s", "--warmup", "0.5s",
            "--path", "/", "--path", "/missing", "--expect-status", "200,404",
            "--threshold", "p99<5s", "--threshold", "p99{status:404}<5s", "--json", str(out),
        )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    document = load_result(out)
    result = Result.from_json(document)
    assert result.to_json() == document
    summary = result.summary
    assert summary.requests == summary.ok + summary.errors.total == summary.scheduled == 400
    assert result.model == "open" and summary.offered_rps == 200.0
    assert {entry.name for entry in result.requests} == {"GET /", "GET /missing"}
    assert result.status("404") is not None and result.named("GET /missing") is not None
    assert summary.error_rate == document["summary"]["error_rate"]
    # The registry reads the same figures the file holds.
    assert METRICS["p99"].value(result) == document["summary"]["latency_ms"]["p99"]
    assert METRICS["rps"].value(result) == document["summary"]["rps"]
    assert metric("p99.9").value(result) == document["summary"]["latency_ms"]["p999"]
    assert len(METRICS["p99"].seconds(result)) == len(document["timeline"]) == 2
    tagged = METRICS["p50"].tagged("status", "404")
    assert tagged.value(result) == document["by_status"][1]["latency_ms"]["p50"]


def test_a_version_1_file_reads_as_records_of_version_2() -> None:
    result = Result.from_json(load_result(DATA / "result-v1.json"))
    assert result.schema == "asgibench.result/2" and result.migrated_from == "asgibench.result/1"
    assert result.summary.requests == result.summary.ok + result.summary.errors.total
    assert result.by_status == () and result.requests == ()
