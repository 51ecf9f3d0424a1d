"""The gate's pure parts: the decision rule, option parsing, refusals, JUnit (the noise rule: test_noise.py)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
from rich.console import Console

from asgibench.errors import UsageError
from asgibench.gate import GateConfig, run_gate
from asgibench.gate.format import describe
from asgibench.gate.inputs import Run, check_partial, collect
from asgibench.gate.junit import to_junit
from asgibench.gate.metrics import DEFAULT_METRICS, parse_allowances, parse_metrics
from asgibench.gate.verdict import Verdict, decide, judge
from asgibench.render.gate import render_gate
from asgibench.results.metrics import METRICS
from asgibench.results.model import Result
from asgibench.results.noise import Interval
from tests.resultkit import named, result_document, timeline_row, with_statuses


@pytest.mark.parametrize(
    ("name", "raw_change", "interval", "expected"),
    [
        ("p99", +0.20, (0.10, 0.30), Verdict.REGRESSION),  # slower, beyond 5%, significant
        ("p99", +0.20, (-0.05, 0.40), Verdict.WITHIN_NOISE),  # slower, but the interval reaches 0
        ("p99", +0.03, (0.01, 0.05), Verdict.OK),  # slower but within the allowance
        ("p99", -0.20, (-0.30, -0.10), Verdict.IMPROVEMENT),
        ("rps", -0.20, (-0.30, -0.10), Verdict.REGRESSION),  # fewer requests/s is worse
        ("rps", +0.20, (0.10, 0.30), Verdict.IMPROVEMENT),
        ("rps", +0.20, (-0.30, -0.10), Verdict.OK),  # contradictory interval: not an improvement
        ("p99", +0.20, None, Verdict.REGRESSION),  # no noise estimate: the change alone decides
    ],
)
def test_decide_reads_each_metric_in_its_direction(
    name: str, raw_change: float, interval: tuple[float, float] | None, expected: Verdict
) -> None:
    bounds = None if interval is None else Interval(*interval, confidence=0.95)
    assert decide(METRICS[name], raw_change, 0.05, bounds) is expected


def test_metric_parsing_accepts_lists_aliases_and_repeats() -> None:
    assert [metric.name for metric in parse_metrics(["p99, rps", "p99.9", "service_p50,p99"])] == [
        "p99",
        "rps",
        "p999",
        "service_p50",
    ]


def test_an_unknown_metric_names_the_flag() -> None:
    with pytest.raises(UsageError, match=r"--metric 'p99,p42': unknown metric 'p42'"):
        parse_metrics(["p99,p42"])


def test_allowances_take_percent_fractions_and_per_metric_overrides() -> None:
    metrics = parse_metrics(["p50,p99,rps"])
    assert parse_allowances([], metrics) == {"p50": 0.05, "p99": 0.05, "rps": 0.05}
    assert parse_allowances(["0.02", "p99=10%"], metrics) == pytest.approx({"p50": 0.02, "p99": 0.10, "rps": 0.02})
    assert parse_allowances(["3%,rps=1%"], metrics) == pytest.approx({"p50": 0.03, "p99": 0.03, "rps": 0.01})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("five", r"--max-regression 'five': 'five' is not a fraction"),
        ("-5%", r"--max-regression '-5%'"),
        ("p42=5%", r"--max-regression 'p42=5%': unknown metric 'p42'"),
        ("p50=5%", r"--max-regression 'p50=5%': p50 is not gated"),
    ],
)
def test_a_bad_allowance_names_the_flag(text: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        parse_allowances([text], parse_metrics(["p99"]))


def seconds(p99: float) -> list[dict[str, Any]]:
    """Four seconds at 100 requests/s around ``p99``."""
    return [timeline_row(second, p99_ms=p99 * factor) for second, factor in enumerate((0.9, 1.0, 1.1, 1.0))]


def result(p99: float = 1.0, **changes: Any) -> dict[str, Any]:
    """A v2 result document: open model, four seconds at 100 requests/s around ``p99`` (ms)."""
    document = result_document(model="open", rate=100.0, rps=100.0, duration_s=4.0, timeline=seconds(p99))
    document["summary"]["latency_ms"]["p99"] = document["summary"]["service_time_ms"]["p99"] = p99
    document["config"]["target"] = "http://h:1/"
    document.update(changes)
    return document


def runs(*documents: dict[str, Any]) -> list[Run]:
    return [Run(Path(f"run{index}.json"), Result.from_json(document)) for index, document in enumerate(documents)]


def test_a_generator_bound_run_is_left_out_and_named_and_a_side_of_only_such_runs_is_refused(tmp_path: Path) -> None:
    bound = result(p99=50.0)  # a stalled generator inflates latency: judged, it would read as a regression
    bound["generator"] |= {"bottleneck": True, "reasons": ["schedule lag p99 40 ms"]}
    baseline = write_runs(tmp_path / "baseline", result(1.0), result(1.05), result(0.95))
    current = write_runs(tmp_path / "current", result(1.0), bound, result(1.02))
    report = run_gate(gate_config(baseline, current, "p99"))
    assert report.passed and len(report.current_files) == 2
    [warning] = [warning for warning in report.warnings if "left out" in warning]
    assert warning.startswith(str(current / "run1.json") + ": left out, the load generator was the bottleneck")
    only_bound = write_runs(tmp_path / "bound", bound)
    with pytest.raises(UsageError, match=r"refuses every current run: .*run0.json: the load generator was the bottle"):
        run_gate(gate_config(baseline, only_bound, "p99"))


def test_the_gate_refuses_a_partial_run_unless_allowed() -> None:
    partial = result(partial=True, partial_reason="interrupted after 2.0 s")
    with pytest.raises(UsageError, match=r"run0.json: the run is partial \(interrupted after 2.0 s\)"):
        check_partial(runs(partial), allow_partial=False)
    check_partial(runs(partial), allow_partial=True)


def test_a_directory_holds_the_result_files_and_passes_over_other_json(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text(json.dumps(result(1.0)))
    (tmp_path / "b.json").write_text(json.dumps(result(2.0)))
    (tmp_path / "gate.json").write_text(json.dumps({"schema": "asgibench.gate/1"}))
    (tmp_path / "notes.txt").write_text("not json")
    assert [run.path.name for run in collect([tmp_path], side="baseline")] == ["a.json", "b.json"]
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(UsageError, match=r"baseline directory .*empty.* holds no asgibench result files"):
        collect([empty], side="baseline")


def test_junit_has_one_testcase_per_metric_and_a_failure_for_the_regression() -> None:
    metrics = parse_metrics(["p99,rps"])
    baseline = runs(result(1.0), result(1.05))
    current = runs(result(2.0), result(2.1))
    report = judge(metrics, parse_allowances([], metrics), baseline, current)
    suite = ElementTree.fromstring(to_junit(report))
    assert suite.tag == "testsuite" and suite.get("tests") == "2" and suite.get("failures") == "1"
    cases = {case.get("name"): case for case in suite.iter("testcase")}
    assert set(cases) == {"p99 latency", "requests/s"}
    failure = cases["p99 latency"].find("failure")
    assert failure is not None and "regression" in (failure.get("message") or "")
    assert "change +100%" in (failure.get("message") or "")  # median 1.025 ms -> 2.05 ms
    assert cases["requests/s"].find("failure") is None


def test_an_unchanged_copy_passes() -> None:
    metrics = parse_metrics(["p99,rps,error_rate"])
    document = result(1.0)
    report = judge(metrics, parse_allowances([], metrics), runs(document), runs(copy.deepcopy(document)))
    assert report.passed and {verdict.verdict for verdict in report.verdicts} == {Verdict.OK}


def test_two_runs_a_side_that_disagree_are_noise_not_a_change() -> None:
    """Runs of one app at 0.4 and 0.62 ms p50 against 0.70 and 0.85 (seen on a busy 2-core machine).

    Worse than the allowance, but two runs a side that disagree this much cannot tell it from noise.
    """
    metrics = parse_metrics(["p50"])
    documents = [result(), result(), result(), result()]
    for document, level in zip(documents, (0.40, 0.62, 0.70, 0.85), strict=True):
        document["summary"]["latency_ms"]["p50"] = level
    report = judge(metrics, parse_allowances([], metrics), runs(*documents[:2]), runs(*documents[2:]))
    assert report.verdicts[0].verdict is Verdict.WITHIN_NOISE


def test_the_default_metrics_see_a_uniform_slowdown_a_tail_throughput_and_errors() -> None:
    assert [metric.name for metric in parse_metrics([DEFAULT_METRICS])] == ["p50", "p99", "rps", "error_rate"]


def test_a_slowdown_every_run_shows_fails_with_three_runs_a_side() -> None:
    """An app 4 ms slower on 1 ms: p50 goes from about 1 to about 5 ms in every run; the gate fails it."""
    metrics = parse_metrics([DEFAULT_METRICS])
    baseline, current = [], []
    for level in (1.05, 1.13, 1.31):
        baseline.append(result(p99=level * 4))
        baseline[-1]["summary"]["latency_ms"]["p50"] = level
    for level in (5.2, 5.29, 5.6):
        current.append(result(p99=level * 2))
        current[-1]["summary"]["latency_ms"]["p50"] = level
    report = judge(metrics, parse_allowances([], metrics), runs(*baseline), runs(*current))
    verdicts = {verdict.metric.name: verdict for verdict in report.verdicts}
    assert verdicts["p50"].verdict is Verdict.REGRESSION
    assert not report.passed
    interval = verdicts["p50"].interval
    assert interval is not None and interval.low < verdicts["p50"].change < interval.high  # the same quantity


def test_one_run_a_side_judges_by_its_seconds_and_says_so() -> None:
    metrics = parse_metrics(["p99"])
    report = judge(metrics, parse_allowances([], metrics), runs(result(1.0)), runs(result(2.0)))
    [verdict] = report.verdicts
    assert verdict.noise_source == "seconds" and verdict.verdict is Verdict.REGRESSION
    assert any("one run a side" in warning for warning in report.warnings)


# --- metrics of one named request, and overloaded runs ------------------------------------------------------


def test_a_metric_tagged_with_a_name_keeps_the_name_and_its_case() -> None:
    metrics = parse_metrics(["p99{name:Slow},rps", "P99.9{ name : a,b }", "p99{name:Slow}"])
    assert [metric.name for metric in metrics] == ["p99{name:Slow}", "rps", "p999{name:a,b}"]
    assert [metric.request for metric in metrics] == ["Slow", None, "a,b"]
    assert metrics[0].request == "Slow" and metrics[0].label == "p99 latency {name:Slow}"
    allowances = parse_allowances(["3%", "p99{name:Slow}=10%"], metrics)
    assert allowances == pytest.approx({"p99{name:Slow}": 0.10, "rps": 0.03, "p999{name:a,b}": 0.03})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("p99{colour:red}", r"tag a metric with a request's name or a status code, as in p99\{name:NAME\}"),
        ("p99{name:}", r"tag a metric with a request's name or a status code"),
        ("rps{status:200}", r"a \{status:...\} tag narrows a latency"),
        ("p99{name:slow", r"'p99\{name:slow' is not a metric; tag one as p99\{name:NAME\}"),
        ("p42{name:slow}", r"unknown metric 'p42'"),
    ],
)
def test_a_bad_tag_names_the_flag(text: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        parse_metrics([text])


def two_names(slow_us: int) -> dict[str, Any]:
    return result_document(
        requests=[named("fast", rps=900.0, values_us=[1000] * 100), named("slow", rps=100.0, values_us=[slow_us] * 100)]
    )


def test_a_named_request_is_judged_on_its_own_latency_with_noise_from_the_repeats() -> None:
    """The slow request doubles its p99 while the whole run barely moves: the tagged metric catches it."""
    metrics = parse_metrics(["p99{name:slow},p99"])
    baseline = runs(two_names(10_000), two_names(10_400))
    current = runs(two_names(20_000), two_names(20_800))
    report = judge(metrics, parse_allowances([], metrics), baseline, current)
    slow, whole = report.verdicts
    assert slow.verdict is Verdict.REGRESSION and slow.noise_source == "runs"
    assert slow.baseline.median == pytest.approx(10.2, rel=1e-3) and slow.change == pytest.approx(1.0, rel=1e-2)
    assert whole.verdict is Verdict.OK  # the whole run's p99 is the fast request's
    # Two metrics share out the 5%: each interval is at 97.5%.
    assert "97.5% noise interval +" in describe(slow) and "over the runs" in describe(slow)
    assert slow.to_dict()["request"] == "slow" and whole.to_dict()["request"] is None
    console = Console(record=True, width=160, color_system=None)
    render_gate(console, report)
    text = console.export_text()
    assert "p99{name:slow} ms" in text and "{name:…}, {status:…}: one named request" in text


def write_runs(directory: Path, *documents: dict[str, Any]) -> Path:
    directory.mkdir()
    for index, document in enumerate(documents):
        (directory / f"run{index}.json").write_text(json.dumps(document))
    return directory


def gate_config(baseline: Path, current: Path, metric: str) -> GateConfig:
    metrics = parse_metrics([metric])
    return GateConfig((baseline,), (current,), metrics, parse_allowances([], metrics))


def test_an_unknown_request_name_lists_the_names_the_files_hold(tmp_path: Path) -> None:
    baseline = write_runs(tmp_path / "baseline", two_names(10_000), two_names(10_000))
    current = write_runs(tmp_path / "current", two_names(10_000), result_document())
    with pytest.raises(UsageError, match=r"no request named 'slw' in the result files") as raised:
        run_gate(gate_config(baseline, current, "p99{name:slw}"))
    assert raised.value.hint == "The files hold: fast, slow."
    with pytest.raises(UsageError, match=r"no request named 'slow' in .*current/run1.json\.$"):
        run_gate(gate_config(baseline, current, "p99{name:slow}"))
    bare = write_runs(tmp_path / "bare", result_document())
    with pytest.raises(UsageError) as raised:
        run_gate(gate_config(bare, bare, "rps{name:slow}"))
    assert "no per-name statistics" in str(raised.value.hint)


def test_an_overloaded_run_is_judged_but_named_in_a_warning(tmp_path: Path) -> None:
    steady = result_document(model="open", rate=5000.0, rps=5000.0)
    behind = result_document(model="open", rate=5000.0, rps=1650.0, errors={"unsent": 10_050})
    baseline = write_runs(tmp_path / "baseline", steady)
    current = write_runs(tmp_path / "current", behind)
    report = run_gate(gate_config(baseline, current, "rps"))
    assert report.verdicts[0].verdict is Verdict.REGRESSION  # a slower target is what the gate must catch
    [warning] = [warning for warning in report.warnings if "target behind" in warning]
    assert warning.startswith(str(current / "run0.json") + ": target behind: achieved 1,650 of 5,000 req/s")


def test_the_error_rate_of_a_run_and_of_its_seconds_is_errors_over_requests() -> None:
    """Every outcome counts in a second's requests, so the seconds pooled give the summary's rate."""
    document = Result.from_json(
        result_document(rps=100.0, duration_s=4.0, errors={"timeout": 8, "status": 4, "unsent": 8})
    )
    metric = METRICS["error_rate"]
    # 400 answered (4 of them 500s) and 16 unanswered, over four seconds
    assert metric.seconds(document) == [pytest.approx(5 / 104)] * 4
    assert metric.value(document) == pytest.approx(20 / 416)


def test_a_status_code_is_judged_on_its_own_latency(tmp_path: Path) -> None:
    """The 503s slow down tenfold while the 200s do not: p99{status:503} is a regression, p99{status:200} is not."""

    def side(name: str, slow_us: int) -> Path:
        documents = [with_statuses(result_document(), s200=[1000] * 90, s503=[slow_us + step] * 10) for step in (0, 50)]
        return write_runs(tmp_path / name, *documents)

    metrics = parse_metrics(["p99{status:503},p99{status:200}"])
    assert [metric.status for metric in metrics] == ["503", "200"]
    config = GateConfig((side("baseline", 5_000),), (side("current", 50_000),), metrics, parse_allowances([], metrics))
    errors, fine = run_gate(config).verdicts
    assert errors.verdict is Verdict.REGRESSION and errors.noise_source == "runs"
    assert fine.verdict is Verdict.OK and errors.to_dict()["status"] == "503"
    with pytest.raises(UsageError, match=r"no response with status 404 in the result files") as raised:
        run_gate(gate_config(tmp_path / "baseline", tmp_path / "current", "p99{status:404}"))
    assert raised.value.hint == "The files hold: 200, 503."
