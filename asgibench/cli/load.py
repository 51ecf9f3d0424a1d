"""``asgibench load [TARGET]``: load a running server and report throughput and honest tails."""

from __future__ import annotations

from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from asgibench.cli import app, protocol_options
from asgibench.errors import AsgibenchError, UsageError

if TYPE_CHECKING:
    from collections.abc import Callable

    from asgibench.errors import OutputError
    from asgibench.launch.cpus import CpuPlan
    from asgibench.launch.server import LaunchedServer
    from asgibench.load.config import LoadConfig
    from asgibench.load.observers import IntervalLog
    from asgibench.load.settings import LoadFlags


@app.command(no_args_is_help=False)
def load(
    target: Annotated[
        str | None,
        typer.Argument(
            metavar="[TARGET]",
            # "\\[": a bracket, where Typer's help reads Rich markup.
            help="http(s)://host:port/path, ws(s)://host:port/path (WebSocket messages) or unix:/path.sock. "
            "Default: --scenario's target, else "
            "\\[tool.asgibench] target in ./pyproject.toml, else http://127.0.0.1:8000/.",
        ),
    ] = None,
    vus: Annotated[
        int | None,
        typer.Option(
            "--vus", metavar="INTEGER", help="Closed model: virtual users, each on its own keep-alive connection."
        ),
    ] = None,
    rate: Annotated[
        float | None,
        typer.Option(
            "--rate", metavar="FLOAT", help="Open model: requests per second, latency measured from when each was due."
        ),
    ] = None,
    duration: Annotated[
        str | None, typer.Option("--duration", "-d", metavar="SECONDS", help="Measured time, e.g. 30s, 2m.")
    ] = None,
    warmup: Annotated[
        str | None, typer.Option("--warmup", metavar="SECONDS", help="Load run first and not recorded, e.g. 5s.")
    ] = None,
    timeout: Annotated[
        str | None, typer.Option("--timeout", metavar="SECONDS", help="Per request (default 10s).")
    ] = None,
    drain: Annotated[
        str | None,
        typer.Option(
            "--drain",
            metavar="SECONDS",
            help="After the window, how long requests still in flight may finish (default: the timeout); "
            "those still in flight then are counted abandoned.",
        ),
    ] = None,
    think: Annotated[
        str | None, typer.Option("--think", metavar="SECONDS", help="Closed model: pause between a VU's requests.")
    ] = None,
    workers: Annotated[
        str | None,
        typer.Option(
            "--workers", metavar="INTEGER|auto", help="Generator processes: a number, or 'auto' for one per core."
        ),
    ] = None,
    connections: Annotated[
        int | None,
        typer.Option("--connections", metavar="INTEGER", help="Open model: connections opened before the start."),
    ] = None,
    cluster: Annotated[
        str | None,
        typer.Option(
            "--cluster",
            metavar="local:N|ADDRESS",
            help="Run the workers on a Dask cluster: local:N starts one here, tcp://HOST:8786 joins a scheduler. "
            "One shard per Dask worker unless --workers says how many. Needs asgibench[cluster].",
        ),
    ] = None,
    max_skew: Annotated[
        str | None,
        typer.Option(
            "--max-skew",
            metavar="DURATION",
            help="With --cluster: refuse to start when shards could start further apart than this (default 25ms).",
        ),
    ] = None,
    max_connections: Annotated[
        int | None,
        typer.Option("--max-connections", metavar="INTEGER", help="Open model: the most connections (default 1024)."),
    ] = None,
    headers: Annotated[
        list[str] | None, typer.Option("--header", "-H", metavar="'NAME: VALUE'", help="Add a header (repeatable).")
    ] = None,
    method: Annotated[
        str | None, typer.Option("--method", "-X", metavar="METHOD", help="HTTP method (default GET).")
    ] = None,
    paths: Annotated[
        list[str] | None,
        typer.Option(
            "--path",
            metavar="[METHOD:]PATH",
            help="A request path on the target, each its own named request with its own statistics (repeatable; "
            "replaces the scenario's requests).",
        ),
    ] = None,
    expect_status: Annotated[
        str | None,
        typer.Option(
            "--expect-status",
            metavar="CODES",
            help="Statuses that count as success, e.g. 200,201 or 2xx (default 2xx,3xx).",
        ),
    ] = None,
    expect_body: Annotated[
        str | None, typer.Option("--expect-body", metavar="TEXT", help="A check: the body must contain TEXT.")
    ] = None,
    expect_headers: Annotated[
        list[str] | None,
        typer.Option(
            "--expect-header",
            metavar="'NAME: TEXT'",
            help="A check: the header's value must contain TEXT (repeatable).",
        ),
    ] = None,
    body: Annotated[str | None, typer.Option("--body", metavar="TEXT", help="Request body.")] = None,
    body_file: Annotated[
        Path | None, typer.Option("--body-file", metavar="FILE", help="Request body from a file.")
    ] = None,
    scenario: Annotated[
        Path | None,
        typer.Option(
            "--scenario", "-s", metavar="FILE", help="A scenario file (TOML): target, model, stages, requests."
        ),
    ] = None,
    thresholds: Annotated[
        list[str] | None,
        typer.Option(
            "--threshold",
            "-t",
            metavar="EXPR",
            help="Pass/fail rule checked at the end, e.g. 'p99<50ms', 'error_rate<0.1%', 'rps>1000' (repeatable).",
        ),
    ] = None,
    abort_on_fail: Annotated[
        bool, typer.Option("--abort-on-fail", help="Stop as soon as a threshold fails (checked each second).")
    ] = False,
    json_path: Annotated[
        str | None,
        typer.Option(
            "--json", metavar="FILE", help="Write the result file (asgibench.result/2); - for standard output."
        ),
    ] = None,
    hdr_log: Annotated[
        Path | None, typer.Option("--hdr-log", metavar="FILE", help="Write an HdrHistogram interval log.")
    ] = None,
    http: Annotated[
        str | None,
        typer.Option(
            "--http",
            metavar="VERSION",
            help="1.1 (default) or 2: h2c with prior knowledge on http://, TLS with ALPN on https://.",
        ),
    ] = None,
    streams: protocol_options.Streams = None,
    message_size: protocol_options.MessageSize = None,
    binary: protocol_options.Binary = False,
    subprotocols: Annotated[
        list[str] | None,
        typer.Option("--subprotocol", metavar="NAME", help="WebSocket: offer this subprotocol (repeatable)."),
    ] = None,
    stream: protocol_options.Stream = False,
    hold: Annotated[
        int | None,
        typer.Option(
            "--hold",
            metavar="INTEGER",
            help="Hold this many SSE streams or idle WebSockets open beside the load; report those held and dropped.",
        ),
    ] = None,
    hold_target: Annotated[
        str | None,
        typer.Option(
            "--hold-target", metavar="URL", help="With --hold: an SSE URL (http://) or ws:// URL. Default: TARGET."
        ),
    ] = None,
    insecure: Annotated[bool, typer.Option("--insecure", "-k", help="https: do not verify the certificate.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No live progress; only the summary.")] = False,
    server: Annotated[
        str | None,
        typer.Option(
            "--server",
            metavar="NAME",
            help="Launch TARGET (an app, module:attr) under this server on a free port, load it, stop it. "
            "See `asgibench servers`.",
        ),
    ] = None,
    server_workers: Annotated[
        int,
        typer.Option(
            "--server-workers", min=1, metavar="INTEGER", help="With --server: the server's worker processes."
        ),
    ] = 1,
    server_log: Annotated[
        Path | None, typer.Option("--server-log", metavar="FILE", help="With --server: keep the server's log here.")
    ] = None,
) -> None:
    """Load a server: closed model (--vus) or open model (--rate), HDR latency histograms, thresholds.

    Every request of the measured window ends as exactly one outcome: ok, or an
    error of one kind (see the result file's documentation).

    With --server, TARGET is an app (module:attr) that asgibench serves under
    that server, pinned to its own CPUs, with its CPU and memory sampled.

    Exit 0 when the run completed, something succeeded and every threshold
    held; 1 when a threshold failed or no request succeeded; 2 for bad usage
    or an output that could not be written (the result is then saved to a
    fallback file); 3 when the target cannot be reached, or the launched
    server does not start or dies during the run; 128 + the signal when
    interrupted: 130 Ctrl-C, 143 SIGTERM, 129 SIGHUP (the partial result is
    still written); 141 when the output's reader left early (| head), once
    the run is over and its files are written.
    """
    from asgibench.interrupts import exit_code_for, signals_as_interrupts
    from asgibench.load.settings import LoadFlags
    from asgibench.render.console import print_error

    flags = LoadFlags(
        target=target,
        vus=vus,
        rate=rate,
        duration=duration,
        warmup=warmup,
        timeout=timeout,
        drain=drain,
        think=think,
        workers=workers,
        connections=connections,
        cluster=cluster,
        max_skew=max_skew,
        max_connections=max_connections,
        headers=headers or [],
        method=method,
        body=body,
        body_file=body_file,
        paths=paths or [],
        expect_status=expect_status,
        expect_body=expect_body,
        expect_headers=expect_headers or [],
        scenario=scenario,
        thresholds=thresholds or [],
        abort_on_fail=abort_on_fail,
        http=http,
        insecure=insecure,
        streams=streams,
        message_size=message_size,
        binary=binary,
        subprotocols=subprotocols or [],
        stream=stream,
        hold=hold,
        hold_target=hold_target,
    )
    try:
        with signals_as_interrupts():  # SIGTERM and SIGHUP stop a launched server and keep the run, as Ctrl-C does
            launch = _launch_request(flags, server, server_workers, server_log)
            code = _run(flags, json_path, hdr_log, quiet, launch)
    except AsgibenchError as error:
        print_error(error.message, error.hint)
        raise typer.Exit(error.exit_code) from None
    except KeyboardInterrupt as interruption:  # before the load started: nothing was measured
        print_error("interrupted before the load started; nothing was measured.")
        raise typer.Exit(exit_code_for(interruption)) from None
    raise typer.Exit(code)


@dataclass(frozen=True)
class LaunchRequest:
    """``load APP --server NAME``: what to launch before loading it."""

    app: str
    server: str
    workers: int
    log: Path | None


def _launch_request(flags: LoadFlags, server: str | None, workers: int, log: Path | None) -> LaunchRequest | None:
    from asgibench.apploader import looks_like_app

    if server is None:
        if flags.target is not None and not flags.target.startswith("unix:") and looks_like_app(flags.target):
            raise UsageError(
                f"TARGET {flags.target!r} names an app, not a URL.",
                hint=f"add --server uvicorn (or another of `asgibench servers`) to launch it: "
                f"asgibench load {flags.target} --server uvicorn",
            )
        return None
    if flags.target is None or not looks_like_app(flags.target):
        raise UsageError(
            f"--server {server}: TARGET must be the app to launch, as module:attribute (e.g. main:app), "
            f"not {flags.target!r}."
        )
    app = flags.target
    flags.target = None  # the URL is the launched server's; the request path still comes from the scenario
    return LaunchRequest(app, server, workers, log)


def _run(
    flags: LoadFlags, json_path: str | None, hdr_log: Path | None, quiet: bool, launch: LaunchRequest | None
) -> int:
    import time

    from asgibench.atomicio import check_output
    from asgibench.interrupts import exit_code_for, signal_in
    from asgibench.launch.measure import LaunchedRun, aimed_at, load_launched, with_server
    from asgibench.load.aggregate import Aggregate, Second
    from asgibench.load.observers import AbortCheck, IntervalLog
    from asgibench.load.result import assess, build_result
    from asgibench.load.runner import run_load
    from asgibench.load.settings import resolve
    from asgibench.load.thresholds import parse_threshold
    from asgibench.render.console import make_console, print_error
    from asgibench.render.load import LiveView, render_launch, render_note, render_plan, render_result
    from asgibench.results.model import Result

    config = resolve(flags, Path.cwd())
    # Every output is checked before any load is sent.
    if json_path is not None:
        check_output(json_path, option="--json", allow_stdout=True)
    if launch is not None and launch.log is not None:
        check_output(launch.log, option="--server-log")
    console = make_console(stderr=json_path == "-")  # stdout then holds the result file alone
    thresholds = tuple(parse_threshold(text) for text in config.thresholds)
    abort = AbortCheck(thresholds, open_model=config.model == "open") if config.abort_on_fail else None
    log = IntervalLog(hdr_log, time.time()) if hdr_log is not None else None
    launched_run: LaunchedRun | None = None
    try:
        with ExitStack() as stack:
            started = _start_server(launch, config, stack) if launch is not None else None
            if started is not None:
                render_launch(console, started[0], started[1])
                config = aimed_at(config, started[0])
            render_plan(console, config)
            live = stack.enter_context(LiveView(console, config)) if console.is_terminal and not quiet else None

            def observe(second: Second, aggregate: Aggregate, elapsed: float) -> str | None:
                if log is not None:
                    log.on_second(second)
                if live is not None:
                    live.on_second(second, aggregate, elapsed)
                return abort.breached(aggregate, elapsed) if abort is not None else None

            if started is not None:
                launched_run = load_launched(started[0], config, started[1], observer=observe)
                outcome = launched_run.outcome
            else:
                outcome = run_load(config, observe)
    except BaseException:
        if log is not None:
            log.discard()
        raise
    assessment = assess(outcome, thresholds)
    result = build_result(outcome, assessment)
    if launched_run is not None:
        with_server(result, launched_run)
    try:
        render_result(console, Result.from_json(result))
    finally:
        # Outputs last, even if the summary could not be shown: what was measured is never lost. A failure
        # to write one is reported after the summary, and the result is saved elsewhere. A reader that has
        # gone (| head -1) only silenced the console: the files are written all the same.
        failed_outputs = _write_outputs(log, json_path, result, lambda text: render_note(console, text))
    for failure in failed_outputs:
        print_error(failure.message, failure.hint)
    interrupted = signal_in(outcome.partial_reason)
    if interrupted is not None:
        return exit_code_for(interrupted)
    if failed_outputs:
        return failed_outputs[0].exit_code
    if launched_run is not None and launched_run.server.get("exit_code") is not None:
        return 3  # the server died during the run: its figures are not a measurement of it
    return 0 if result["passed"] else 1


def _write_outputs(
    log: IntervalLog | None, json_path: str | None, result: dict[str, Any], note: Callable[[str], None]
) -> list[OutputError]:
    """Close the HDR log and write the result file; the outputs that could not be written, as errors."""
    from asgibench.errors import OutputError
    from asgibench.results import write_result

    failed: list[OutputError] = []
    if log is not None:
        try:
            log.close()
        except OutputError as error:
            failed.append(error)
    if json_path is not None:
        try:
            write_result(json_path, result)
        except OutputError as error:
            failed.append(error)
        else:
            if json_path != "-":
                note(f"result written to {json_path}")
    return failed


def _start_server(launch: LaunchRequest, config: LoadConfig, stack: ExitStack) -> tuple[LaunchedServer, CpuPlan]:
    from asgibench.launch.cpus import plan_cpus, usable_cpus
    from asgibench.launch.server import launched
    from asgibench.servers.registry import get_plugin

    plugin = get_plugin(launch.server)
    plan = plan_cpus(usable_cpus(), launch.workers)
    ready_path = config.requests[0].path or config.target.path
    server = stack.enter_context(
        launched(plugin, launch.app, workers=launch.workers, cpus=plan.server, log_path=launch.log,
                 ready_path=ready_path)
    )  # fmt: skip
    return server, plan
