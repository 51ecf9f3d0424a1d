"""The gate's pure parts: the bootstrap, the decision rule, option parsing, refusals, JUnit."""

from __future__ import annotations

import copy
import json
import random
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
from rich.console import Console

from asgibench.errors import UsageError
from asgibench.gate import GateConfig, run_gate
from asgibench.gate.format import describe
from asgibench.gate.inputs import Run, check_judgeable, collect
from asgibench.gate.junit import to_junit
from asgibench.gate.metrics import METRICS, parse_allowances, parse_metrics
from asgibench.gate.stats import Interval, bootstrap_change, change, median_statistic, runs_interval
from asgibench.gate.verdict import Verdict, decide, judge
from asgibench.render.gate import render_gate
from tests.resultkit import named, result_document, timeline_row, with_statuses


def synthetic_runs(center: float, runs: int, seconds: int, seed: int) -> list[list[float]]:
    generator = random.Random(seed)
    return [[generator.gauss(center, center * 0.2) for _ in range(seconds)] for _ in range(runs)]


def interval_for(base: float, current: float, runs: int, seconds: int, seed: int = 1) -> Interval:
    return bootstrap_change(
        synthetic_runs(base, runs, seconds, seed), synthetic_runs(current, runs, seconds, seed + 100), median_statistic
    )


def test_the_interval_contains_the_true_change() -> None:
    """Per-second values around 10 ms against around 12 ms: the interval holds +20%, and not 0."""
    interval = interval_for(10.0, 12.0, runs=3, seconds=30)
    assert interval.low < 0.20 < interval.high
    assert interval.excludes_zero()


def test_the_interval_shrinks_with_more_samples() -> None:
    few = interval_for(10.0, 10.0, runs=2, seconds=5)
    many = interval_for(10.0, 10.0, runs=5, seconds=60)
    assert many.high - many.low < (few.high - few.low) / 2
    assert many.low < 0 < many.high and few.low < 0 < few.high


def test_the_bootstrap_is_reproducible() -> None:
    runs = synthetic_runs(10.0, 2, 10, seed=3)
    first = bootstrap_change(runs, runs[::-1], median_statistic)
    assert bootstrap_change(runs, runs[::-1], median_statistic) == first


def test_a_change_from_zero_is_infinite_and_a_difference_is_plain() -> None:
    assert change(0.0, 0.5, "relative") == float("inf")
    assert change(0.0, 0.0, "relative") == 0.0
    assert change(0.01, 0.03, "difference") == pytest.approx(0.02)


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
    return [Run(Path(f"run{index}.json"), document) for index, document in enumerate(documents)]


def test_the_gate_refuses_a_generator_bound_run_naming_the_file_and_why() -> None:
    bound = result(generator={"bottleneck": True, "reasons": ["schedule lag p99 40 ms"]})
    with pytest.raises(
        UsageError, match=r"run1.json: the load generator was the bottleneck \(schedule lag p99 40 ms\)"
    ):
        check_judgeable(runs(result(), bound), allow_partial=False)


def test_the_gate_refuses_a_partial_run_unless_allowed() -> None:
    partial = result(partial=True, partial_reason="interrupted after 2.0 s")
    with pytest.raises(UsageError, match=r"run0.json: the run is partial \(interrupted after 2.0 s\)"):
        check_judgeable(runs(partial), allow_partial=False)
    check_judgeable(runs(partial), allow_partial=True)


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
    """Runs of one app at 0.4 and 0.85 ms p50 (seen on a busy 2-core machine), two a side.

    The bootstrap alone has only three medians to choose from per side and excludes zero;
    Welch's t over the runs, with so few of them, does not, and the verdict is within noise.
    """
    steady = [0.02 * step for step in (-1, 0, 1, 0)]
    baseline = [[0.40 + jitter for jitter in steady], [0.62 + jitter for jitter in steady]]
    current = [[0.70 + jitter for jitter in steady], [0.85 + jitter for jitter in steady]]
    assert bootstrap_change(baseline, current, median_statistic).excludes_zero()
    per_run = runs_interval([0.40, 0.62], [0.70, 0.85], "relative")
    assert per_run is not None and not per_run.excludes_zero()
    metrics = parse_metrics(["p50"])
    documents = [result(), result(), result(), result()]
    for document, level in zip(documents, (0.40, 0.62, 0.70, 0.85), strict=True):
        document["summary"]["latency_ms"]["p50"] = level
        document["timeline"] = [row | {"p50_ms": level + j} for row, j in zip(seconds(level), steady, strict=True)]
    report = judge(metrics, parse_allowances([], metrics), runs(*documents[:2]), runs(*documents[2:]))
    assert report.verdicts[0].verdict is Verdict.WITHIN_NOISE


def test_runs_interval_needs_a_degree_of_freedom() -> None:
    assert runs_interval([1.0], [2.0], "relative") is None
    assert runs_interval([1.0, 1.1], [0.0], "relative") is None  # no logarithm of zero
    borrowed = runs_interval([1.0, 1.2], [2.0], "relative")  # the single run borrows the pair's variance
    assert borrowed is not None and borrowed.low < 1.0 < borrowed.high


# --- metrics of one named request, and overloaded runs ------------------------------------------------------


def test_a_metric_tagged_with_a_name_keeps_the_name_and_its_case() -> None:
    metrics = parse_metrics(["p99{name:Slow},rps", "P99.9{ name : a,b }", "p99{name:Slow}"])
    assert [metric.name for metric in metrics] == ["p99{name:Slow}", "rps", "p999{name:a,b}"]
    assert [metric.request for metric in metrics] == ["Slow", None, "a,b"]
    assert metrics[0].per_second is None and metrics[0].label == "p99 latency {name:Slow}"
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
    assert slow.verdict is Verdict.REGRESSION and slow.noise_source == "repeats"
    assert slow.baseline.median == pytest.approx(10.2, rel=1e-3) and slow.change == pytest.approx(1.0, rel=1e-2)
    assert whole.verdict is Verdict.OK  # the whole run's p99 is the fast request's
    note = (
        "p99{name:slow}: a named request or a status code has no per-second timeline, so its noise comes "
        "from the repeats only (ᴿ)."
    )
    assert note in report.warnings
    assert "over the runs only, a tagged metric having no per-second timeline" in describe(slow)
    assert slow.to_dict()["request"] == "slow" and whole.to_dict()["request"] is None
    console = Console(record=True, width=160, color_system=None)
    render_gate(console, report)
    text = console.export_text()
    assert "p99{name:slow} ms" in text and " ᴿ" in text and "{name:…}, {status:…}: one named request" in text


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
    document = result_document(rps=100.0, duration_s=4.0, errors={"timeout": 8, "status": 4, "unsent": 8})
    metric = METRICS["error_rate"]
    assert metric.per_second is not None
    pairs = metric.per_second(document["timeline"])
    assert pairs == [(5, 104)] * 4  # 400 answered (4 of them 500s) and 16 unanswered, over four seconds
    assert metric.run_statistic(pairs) == pytest.approx(20 / 416)
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
    assert errors.verdict is Verdict.REGRESSION and errors.noise_source == "repeats"
    assert fine.verdict is Verdict.OK and errors.to_dict()["status"] == "503"
    with pytest.raises(UsageError, match=r"no response with status 404 in the result files") as raised:
        run_gate(gate_config(tmp_path / "baseline", tmp_path / "current", "p99{status:404}"))
    assert raised.value.hint == "The files hold: 200, 503."
