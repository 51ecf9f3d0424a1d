"""``asgibench gate BASELINE CURRENT``: fail a CI build when the current runs regressed beyond noise."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from asgibench.cli import app
from asgibench.errors import AsgibenchError


@app.command()
def gate(
    baseline: Annotated[
        Path | None,
        typer.Argument(metavar="BASELINE", help="A result file (asgibench load --json), or a directory of repeats."),
    ] = None,
    current: Annotated[
        Path | None, typer.Argument(metavar="CURRENT", help="A result file or a directory of repeats.")
    ] = None,
    more_baseline: Annotated[
        list[Path] | None,
        typer.Option("--baseline", metavar="FILE|DIR", help="Add baseline runs (repeatable)."),
    ] = None,
    more_current: Annotated[
        list[Path] | None,
        typer.Option("--current", metavar="FILE|DIR", help="Add current runs (repeatable)."),
    ] = None,
    metrics: Annotated[
        list[str] | None,
        typer.Option(
            "--metric",
            "-m",
            metavar="LIST",
            help="Metrics to gate, comma-separated (default p50,p99,rps,error_rate): p50 p75 p90 p95 p99 p999 "
            "min max mean rps error_rate, and service_p50 … service_max for open-model runs; one named request: "
            "p99{name:NAME}; one status code: p99{status:503}.",
        ),
    ] = None,
    max_regression: Annotated[
        list[str] | None,
        typer.Option(
            "--max-regression",
            metavar="FRACTION",
            help="Worst change that passes: 5% or 0.05 (default 5%); per metric: p99=10% (repeatable). "
            "error_rate is compared in percentage points.",
        ),
    ] = None,
    allow_partial: Annotated[
        bool, typer.Option("--allow-partial", help="Judge partial (interrupted or aborted) runs too.")
    ] = False,
    allow_config_change: Annotated[
        bool,
        typer.Option(
            "--allow-config-change",
            help="Judge runs whose load differs (rate, VUs, duration, requests, target path) instead of refusing.",
        ),
    ] = False,
    junit_path: Annotated[
        Path | None, typer.Option("--junit", metavar="FILE", help="Write the verdicts as JUnit XML.")
    ] = None,
    json_path: Annotated[
        Path | None, typer.Option("--json", metavar="FILE", help="Write the verdicts as JSON.")
    ] = None,
) -> None:
    """Compare current runs against a baseline: the change of the medians over the runs, and its noise.

    A metric regresses when its change is worse than --max-regression AND its
    noise interval (95%, shared out over the metrics) excludes no change.
    Generator-bound runs are left out, with a warning. Exit 0 when nothing
    regressed, 1 on a regression, 2 for bad input (a partial run, a side with
    no usable run) or an output that could not be written (the verdicts are
    printed, and saved elsewhere).
    """
    from asgibench.render.console import print_error

    try:
        code = _run(
            [*([baseline] if baseline else []), *(more_baseline or [])],
            [*([current] if current else []), *(more_current or [])],
            metrics or [],
            max_regression or [],
            allow_partial,
            allow_config_change,
            junit_path,
            json_path,
        )
    except AsgibenchError as error:
        print_error(error.message, error.hint)
        raise typer.Exit(error.exit_code) from None
    raise typer.Exit(code)


def _run(
    baseline: list[Path],
    current: list[Path],
    metric_texts: list[str],
    allowance_texts: list[str],
    allow_partial: bool,
    allow_config_change: bool,
    junit_path: Path | None,
    json_path: Path | None,
) -> int:
    import json

    from asgibench.atomicio import check_output, write_each
    from asgibench.errors import UsageError
    from asgibench.gate import GateConfig, run_gate
    from asgibench.gate.junit import to_junit
    from asgibench.gate.metrics import DEFAULT_METRICS, parse_allowances, parse_metrics
    from asgibench.render.console import make_console, print_error
    from asgibench.render.gate import render_gate

    if not baseline or not current:
        raise UsageError(
            f"Missing {'BASELINE' if not baseline else 'CURRENT'}.",
            hint="asgibench gate BASELINE CURRENT: result files or directories of repeats.",
        )
    for path, option in ((junit_path, "--junit"), (json_path, "--json")):
        if path is not None:
            check_output(path, option=option)
    metrics = parse_metrics(metric_texts or [DEFAULT_METRICS])
    config = GateConfig(
        baseline=tuple(baseline),
        current=tuple(current),
        metrics=metrics,
        allowances=parse_allowances(allowance_texts, metrics),
        allow_partial=allow_partial,
        allow_config_change=allow_config_change,
    )
    report = run_gate(config)
    render_gate(make_console(), report)
    outputs: list[tuple[str | Path, str, str, str]] = []
    if junit_path is not None:
        outputs.append((junit_path, "--junit", to_junit(report), ".xml"))
    if json_path is not None:
        outputs.append((json_path, "--json", json.dumps(report.to_dict(), indent=2) + "\n", ".json"))
    failures = write_each(outputs, stem="asgibench-gate", what="gate report")  # what fails is saved elsewhere
    for failure in failures:
        print_error(failure.message, failure.hint)
    if failures:
        return 2
    return 0 if report.passed else 1
