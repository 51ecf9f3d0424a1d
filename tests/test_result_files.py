"""Reading result and comparison files: the golden files, the migration of version 1, and every bad input refused.

tests/data/result-v1.json was written by ``asgibench load`` (version 1, against
uvicorn); tests/data/result-v2.json was built by hand following
docs/result-file.md (open model, errors of several kinds, two named requests).
Bad inputs go through the real CLI: exit 2, the file and the key named, no traceback.
"""

from __future__ import annotations

import base64
import copy
import json
import math
import struct
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from asgibench.boundedio import read_bytes_bounded, read_text_bounded
from asgibench.conformance.report import ConformanceReport
from asgibench.errors import UsageError
from asgibench.render.console import print_error
from asgibench.results.comparison import comparison_from
from asgibench.results.layouts import ERROR_KINDS, RESULT_V2, UNSENT_REASONS
from asgibench.results.schema import READABLE, SCHEMA, load_result, parse_document, result_from
from asgibench.results.validate import Key, check, layout, problems_of
from tests.loadkit import asgibench

DATA = Path(__file__).parent / "data"
V1_FILE, V2_FILE = DATA / "result-v1.json", DATA / "result-v2.json"


def golden(name: str) -> dict[str, Any]:
    return dict(json.loads((DATA / f"result-{name}.json").read_text()))


def assert_accounting(result: dict[str, Any]) -> None:
    """The accounting rule of docs/result-file.md, for the summary and each timeline row."""
    summary = summary_errors = result["summary"]
    errors = summary_errors["errors"]
    assert summary["requests"] == summary["ok"] + errors["total"]
    assert errors["total"] == sum(errors.get(kind, 0) for kind in ERROR_KINDS)
    assert sum(summary["unsent"][reason] for reason in UNSENT_REASONS) == errors["unsent"]
    expected_rate = errors["total"] / summary["requests"] if summary["requests"] else 0.0
    assert math.isclose(summary["error_rate"], expected_rate, rel_tol=1e-4)
    assert sum(row["requests"] for row in result["timeline"]) == summary["requests"]
    assert sum(row["errors"] for row in result["timeline"]) == errors["total"]
    for row in result["timeline"]:
        assert row["errors"] == sum(row["errors_by_kind"].values())
        assert set(row["errors_by_kind"]) <= set(ERROR_KINDS)


# --- the golden files ------------------------------------------------------------------------------------------


def test_the_v1_golden_is_a_v1_file_from_a_real_run() -> None:
    document = golden("v1")
    assert document["schema"] == "asgibench.result/1" and document["summary"]["requests"] > 0


def test_the_v1_golden_migrates_to_a_valid_v2_document_that_obeys_the_accounting_rule() -> None:
    result = load_result(V1_FILE)
    assert result["schema"] == SCHEMA == "asgibench.result/2" and result["migrated_from"] == "asgibench.result/1"
    assert READABLE == ("asgibench.result/1", "asgibench.result/2")
    assert list(problems_of(result, RESULT_V2)) == []
    assert_accounting(result)
    v1 = golden("v1")["summary"]
    summary = result["summary"]
    assert summary["responses"] == v1["requests"] == summary["ok"]
    assert summary["rps"] == summary["ok_rps"] == v1["rps"]
    assert (summary["scheduled"], summary["target_behind"], summary["offered_rps"]) == (None, None, None)
    assert (summary["drain_s"], summary["interim"], summary["statuses"], summary["error_examples"]) == (0, 0, {}, {})
    assert result["requests"] == [] and result["failures"] == []
    assert result["timeline"][0]["responses"] == golden("v1")["timeline"][0]["requests"]


def test_a_v1_file_with_errors_migrates_as_the_document_says(tmp_path: Path) -> None:
    document = golden("v1")
    document["config"] |= {"model": "open", "rate": 500.0, "vus": None, "thresholds": ["p99<1ms", "p50<1s"]}
    responses = document["summary"]["requests"]
    v1_errors = {"refused": 4, "reset": 1, "timeout": 2, "protocol": 1, "http_4xx": 3, "http_5xx": 7, "unsent": 5}
    document["summary"]["errors"] |= v1_errors | {"total": sum(v1_errors.values())}
    document["summary"]["error_rate"] = 0.1  # version 1's rate (over its attempts) is recomputed
    document["timeline"][0] |= {"errors": 9, "errors_by_kind": {"http_4xx": 3, "http_5xx": 1, "refused": 5}}
    document["thresholds"] = [
        {"threshold": "p99<1ms", "metric": "p99", "comparison": "<", "limit": 1.0, "unit": "ms", "observed": 2.0,
         "passed": False},
        {"threshold": "p50<1s", "metric": "p50", "comparison": "<", "limit": 1000.0, "unit": "ms", "observed": 0.1,
         "passed": True},
    ]  # fmt: skip
    document["passed"] = False
    path = tmp_path / "errors.json"
    path.write_text(json.dumps(document))
    result = load_result(path)
    summary = result["summary"]
    assert summary["responses"] == responses
    assert summary["ok"] == responses - 10
    assert summary["errors"]["status"] == 10
    assert {kind: summary["errors"][kind] for kind in ("refused", "reset", "timeout", "protocol", "unsent")} == {
        "refused": 4, "reset": 1, "timeout": 2, "protocol": 1, "unsent": 5,
    }  # fmt: skip
    assert summary["errors"]["check"] == summary["errors"]["tls"] == summary["errors"]["abandoned"] == 0
    assert summary["requests"] == summary["ok"] + 23
    assert summary["error_rate"] == 23 / summary["requests"]
    assert summary["unsent"] == {"queue_full": 0, "run_ended": 5, "interrupted": 0}
    assert summary["ok_rps"] == pytest.approx(summary["rps"] * summary["ok"] / responses)
    assert summary["offered_rps"] == 500.0
    row = result["timeline"][0]
    assert row["responses"] == responses and row["requests"] == responses + 9 - 4
    assert row["errors_by_kind"] == {"status": 4, "refused": 5}
    assert result["failures"] == ["threshold p99<1ms failed"] and result["passed"] is False
    assert list(problems_of(result, RESULT_V2)) == []


def test_the_hand_made_v2_golden_passes_and_obeys_the_accounting_rule() -> None:
    result = load_result(V2_FILE)
    assert result == golden("v2")
    assert_accounting(result)
    summary = result["summary"]
    assert summary["requests"] == summary["scheduled"] and summary["responses"] == sum(summary["statuses"].values())
    for entry in result["requests"]:
        assert entry["requests"] == entry["ok"] + entry["errors"]["total"]
    assert sum(entry["requests"] for entry in result["requests"]) == summary["requests"]


# --- the reader's pieces ---------------------------------------------------------------------------------------


def test_bounded_reads_stop_at_the_limit_and_name_the_option(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"--body-file '/dev/zero' is larger than 1 KiB"):
        read_bytes_bounded("/dev/zero", limit=1024, option="--body-file")
    big = tmp_path / "big.toml"
    big.write_bytes(b"x" * 2000)
    with pytest.raises(UsageError, match=r"--scenario '.*big\.toml' is larger than 1,999 bytes"):
        read_text_bounded(big, limit=1999, option="--scenario")
    assert read_text_bounded(big, limit=2000) == "x" * 2000
    latin = tmp_path / "latin.toml"
    latin.write_bytes(b"name = 'caf\xe9'")
    with pytest.raises(UsageError, match=r"'.*latin\.toml' is not UTF-8 text: the byte at offset 11 \(0xe9\)"):
        read_text_bounded(latin, limit=100)
    with pytest.raises(UsageError, match=r"--scenario '.*' is a directory"):
        read_text_bounded(tmp_path, limit=100, option="--scenario")
    with pytest.raises(UsageError, match=r"Cannot read '.*missing\.json': No such file or directory"):
        read_bytes_bounded(tmp_path / "missing.json", limit=100)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{\n "a": [1,\n  {"b": NaN}]}', r"x\.json:3: a\[1\]\.b: NaN is not a number"),
        ('{"a": -Infinity}', r"x\.json:1: a: -Infinity is not a number"),
        ("Infinity", r"x\.json:1: \(top level\): Infinity"),
        ('{"a": "NaN",\n "b": 1' + "1" * 5000 + "}", r"x\.json:2: not valid JSON \(an integer of more than 4300"),
        ("[" * 100_000 + "]" * 100_000, r"x\.json: not valid JSON \(lists or objects nested too deeply\)"),
        ('{"a": 1,}', r"x\.json:1: not valid JSON"),
    ],
)
def test_json_the_reader_refuses(text: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        parse_document(text, "x.json")


def test_duplicate_keys_are_accepted_the_last_one_counting() -> None:
    assert parse_document('{"a": 1, "a": 2}', "x.json") == {"a": 2}


def test_a_layout_refuses_a_key_whose_parent_is_not_declared_first() -> None:
    with pytest.raises(ValueError, match=r"'summary\.ok' needs 'summary' declared before it"):
        layout({"summary.ok": Key(RESULT_V2["summary.ok"].kind)})


def test_the_checker_names_the_first_problem_and_counts_the_others() -> None:
    document = golden("v2")
    document["timeline"][1]["p50_ms"] = "fast"
    document["timeline"][2]["p50_ms"] = True  # bool is not a number
    message = r"^r\.json: timeline\[1\]\.p50_ms: expected a latency in ms .* or null, found a string \('fast'\)"
    with pytest.raises(UsageError, match=message + r" \(and 1 more problem\)\.$"):
        check(document, RESULT_V2, "r.json")


def test_other_versions_and_other_files_are_told_apart() -> None:
    with pytest.raises(UsageError, match=r"r\.json has schema 'asgibench\.result/3'") as newer:
        result_from({"schema": "asgibench.result/3"}, "r.json")
    assert newer.value.hint and "Upgrade asgibench" in newer.value.hint
    with pytest.raises(UsageError, match=r"r\.json is an asgibench gate report, not a result file"):
        result_from({"schema": "asgibench.gate/1"}, "r.json")
    with pytest.raises(UsageError, match=r"r\.json is an asgibench comparison file, not a result file"):
        result_from({"schema": "asgibench.comparison/1"}, "r.json")
    with pytest.raises(UsageError, match=r"r\.json is not an asgibench result file \(its schema is 'k6/1'\)"):
        result_from({"schema": "k6/1"}, "r.json")
    with pytest.raises(UsageError, match=r"r\.json is not an asgibench result file \(no 'schema' key\)"):
        result_from([], "r.json")


# --- bad inputs through the CLI --------------------------------------------------------------------------------


def conformance_report() -> str:
    return ConformanceReport(target="app:app", checks=[], scenarios=[], duration=0.5, timeout=2.0).to_json()


def with_change(change: Callable[[dict[str, Any]], None], base: str = "v2") -> str:
    document = copy.deepcopy(golden(base))
    change(document)
    return json.dumps(document, indent=2)  # NaN written as Python writes it


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(document: Any) -> None:
        *parents, last = path.split(".")
        for step in parents:
            document = document[int(step)] if isinstance(document, list) else document[step]
        if value is DELETE:
            del document[last]
        else:
            document[last] = value

    return change


DELETE = object()
# Well-formed base64 and zlib around a payload that is no histogram: it reaches hdrh's own decoder.
_GARBAGE = zlib.compress(b"not a histogram payload")
NOT_A_HISTOGRAM = base64.b64encode(struct.pack(">II", 0x1C849314, len(_GARBAGE)) + _GARBAGE).decode("ascii")
BAD_INPUTS: list[tuple[str, bytes | str, list[str]]] = [
    ("not UTF-8", b'{"schema": "asgibench.result/2", "x": "caf\xe9"}', ["is not UTF-8 text", "offset 42"]),
    ("summary a string", with_change(_set("summary", "fast")), ["summary: expected an object, found a string"]),
    ("bad base64", with_change(_set("histograms.latency", "HISTF@@@")), ["histograms.latency", "not base64"]),
    (
        "histogram garbage",
        with_change(_set("histograms.requests.1.latency", NOT_A_HISTOGRAM)),
        ["histograms.requests[1].latency", "does not decode"],
    ),
    (
        "histogram not zlib",
        with_change(_set("histograms.service_time", "HISTFAAAAAAAAAAA")),
        ["histograms.service_time", "not zlib data"],
    ),
    ("timeline row lacks a key", with_change(_set("timeline.1.p99_ms", DELETE)), ["lacks 'timeline[1].p99_ms'"]),
    ("v1 timeline row lacks a key", with_change(_set("timeline.0.rps", DELETE), "v1"), ["lacks 'timeline[0].rps'"]),
    ("config null", with_change(_set("config", None)), ["config: expected an object, found null"]),
    ("p99 NaN", with_change(_set("summary.latency_ms.p99", math.nan)), ["summary.latency_ms.p99: NaN is not a number"]),
    ("conformance report", conformance_report(), ["is an asgibench conformance report"]),
    ("newer version", '{"schema": "asgibench.result/9"}', ["has schema 'asgibench.result/9'", "Upgrade asgibench"]),
    ("TOML brackets", "[[load.stages]]\n", ["not valid JSON"]),
]


@pytest.mark.parametrize(("content", "expected"), [case[1:] for case in BAD_INPUTS], ids=[c[0] for c in BAD_INPUTS])
def test_bad_inputs_exit_two_naming_the_file_and_key(tmp_path: Path, content: bytes | str, expected: list[str]) -> None:
    bad = tmp_path / "bad[1].json"  # brackets: the name must survive Rich's markup
    bad.write_bytes(content if isinstance(content, bytes) else content.encode())
    for command in (["report", str(bad), "--md", str(tmp_path / "out.md")], ["gate", str(bad), str(V2_FILE)]):
        done = asgibench(*command)
        stderr = done.stderr
        assert done.returncode == 2, stderr
        assert "Traceback" not in stderr and "bad[1].json" in stderr, stderr
        for fragment in expected:
            assert fragment in stderr, stderr
    assert not (tmp_path / "out.md").exists()


def test_dev_zero_and_a_directory_are_refused_by_report_and_gate(tmp_path: Path) -> None:
    for command in (["report", "/dev/zero", "--md", str(tmp_path / "out.md")], ["gate", str(V2_FILE), "/dev/zero"]):
        done = asgibench(*command, timeout=60)
        assert done.returncode == 2 and "'/dev/zero' is larger than 256 MiB" in done.stderr, done.stderr
    done = asgibench("report", str(tmp_path), "--md", str(tmp_path / "out.md"))  # a directory of no result files
    assert done.returncode == 2 and "holds no asgibench result" in done.stderr and "Traceback" not in done.stderr


def test_the_golden_files_are_reported_and_gated(tmp_path: Path) -> None:
    done = asgibench("report", str(V1_FILE), str(V2_FILE), "--md", str(tmp_path / "out.md"))
    assert done.returncode == 0, done.stderr
    done = asgibench("gate", str(V1_FILE), str(V1_FILE))
    assert done.returncode == 0, done.stdout + done.stderr


# --- comparison files ------------------------------------------------------------------------------------------


def comparison() -> dict[str, Any]:
    v2 = golden("v2")
    return {
        "schema": "asgibench.comparison/1",
        "created": "2026-11-21T14:33:22+00:00",
        "partial": False,
        "app": "reference_apps.raw_app:app",
        "wsgi_app": None,
        "environment": v2["environment"],
        "config": v2["config"] | {"target": None},
        "repeat": 1,
        "server_workers": 1,
        "cpus": {"server": [0], "generator": [1]},
        "servers": [
            {"name": "uvicorn", "version": "0.38.0", "status": "ok", "error": None, "log_tail": [],
             "runs": ["uvicorn-1.json"], "profile": None, "stats": None},
            {"name": "daphne", "version": None, "status": "failed", "error": "did not start", "log_tail": ["[x]"],
             "runs": []},
        ],
    }  # fmt: skip


def test_a_comparison_passes_and_a_bad_one_names_the_key(tmp_path: Path) -> None:
    assert comparison_from(comparison(), "c.json")["repeat"] == 1
    bad = comparison()
    bad["servers"][0]["runs"] = [7]
    with pytest.raises(UsageError, match=r"c\.json: servers\[0\]\.runs\[0\]: expected a string, found 7\."):
        comparison_from(bad, "c.json")
    del bad["servers"][1]["status"]
    bad["servers"][0]["runs"] = ["uvicorn-1.json"]
    with pytest.raises(UsageError, match=r"c\.json: comparison file lacks 'servers\[1\]\.status'\."):
        comparison_from(bad, "c.json")
    directory = tmp_path / "compare"
    directory.mkdir()
    (directory / "uvicorn-1.json").write_text(V2_FILE.read_text())
    broken = comparison()
    broken["config"]["model"] = "sideways"
    (directory / "comparison.json").write_text(json.dumps(broken))
    done = asgibench("report", str(directory / "comparison.json"), "--md", str(tmp_path / "out.md"))
    assert done.returncode == 2 and "config.model: expected one of 'closed', 'open'" in done.stderr, done.stderr
    done = asgibench("gate", str(directory / "comparison.json"), str(V2_FILE))
    assert done.returncode == 2 and "is an asgibench comparison file, not a result file" in done.stderr


# --- errors print literally ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "hint"),
    [
        ("--scenario 's.toml': [[load.stages]] needs a duration.", "Write [[load.stages]] tables."),
        ("--scenario '[x].toml': not found.", "[bold]not markup[/bold] \\[ and a trailing backslash \\"),
        ("results/[red]/run.json: summary: expected an object", None),
    ],
)
def test_print_error_prints_brackets_literally(
    message: str, hint: str | None, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "40")  # narrower than the message: it must not be wrapped either
    print_error(message, hint)
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == f"error: {message}\n" + (f"hint: {hint}\n" if hint else "")
