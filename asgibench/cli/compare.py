"""``asgibench compare APP --servers ...``: the same load on each server, interleaved and repeated."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from asgibench.cli import app
from asgibench.errors import AsgibenchError, UsageError

if TYPE_CHECKING:
    from asgibench.load.settings import LoadFlags

DEFAULT_WARMUP = "2s"


@app.command()
def compare(
    target_app: Annotated[str, typer.Argument(metavar="APP", help="The ASGI app, module:attribute (e.g. main:app).")],
    servers: Annotated[
        str | None,
        typer.Option(
            "--servers",
            metavar="NAMES",
            help="Comma-separated; default: every installed ASGI server (see `asgibench servers`).",
        ),
    ] = None,
    wsgi_app: Annotated[
        str | None,
        typer.Option(
            "--wsgi-app", metavar="MODULE:ATTR", help="The app's WSGI twin, served by WSGI servers (gunicorn-sync)."
        ),
    ] = None,
    repeat: Annotated[
        int, typer.Option("--repeat", "-r", min=1, metavar="INTEGER", help="Measured runs per server.")
    ] = 3,
    server_workers: Annotated[
        int, typer.Option("--server-workers", min=1, metavar="INTEGER", help="Processes per server.")
    ] = 1,
    path: Annotated[
        str | None,
        typer.Option("--path", metavar="/PATH", help="The request path (default /, or the scenario's requests)."),
    ] = None,
    vus: Annotated[int | None, typer.Option("--vus", metavar="INTEGER", help="Closed model: virtual users.")] = None,
    rate: Annotated[
        float | None, typer.Option("--rate", metavar="FLOAT", help="Open model: requests per second.")
    ] = None,
    duration: Annotated[
        str | None, typer.Option("--duration", "-d", metavar="SECONDS", help="Measured time per run, e.g. 10s.")
    ] = None,
    warmup: Annotated[
        str | None,
        typer.Option(
            "--warmup", metavar="SECONDS", help=f"Unrecorded load before each run (default {DEFAULT_WARMUP})."
        ),
    ] = None,
    timeout: Annotated[
        str | None, typer.Option("--timeout", metavar="SECONDS", help="Per request (default 10s).")
    ] = None,
    workers: Annotated[
        str | None, typer.Option("--workers", metavar="INTEGER|auto", help="Load generator processes.")
    ] = None,
    connections: Annotated[
        int | None, typer.Option("--connections", metavar="INTEGER", help="Open model: connections up front.")
    ] = None,
    headers: Annotated[
        list[str] | None, typer.Option("--header", "-H", metavar="'NAME: VALUE'", help="Add a header (repeatable).")
    ] = None,
    method: Annotated[
        str | None, typer.Option("--method", "-X", metavar="METHOD", help="HTTP method (default GET).")
    ] = None,
    body: Annotated[str | None, typer.Option("--body", metavar="TEXT", help="Request body.")] = None,
    scenario: Annotated[
        Path | None,
        typer.Option("--scenario", "-s", metavar="FILE", help="A scenario file (TOML): model, stages, requests."),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", "-o", metavar="DIR", help="Write each run's result, comparison.json and the report here."
        ),
    ] = None,
    profile: Annotated[
        bool, typer.Option("--profile", help="One more run per server under py-spy: a flame graph (SVG) each.")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No live progress bars.")] = False,
) -> None:
    """Compare servers on one app: same load for each, warm-up first, repeats interleaved, a table of results.

    Exit 0 when every server ran; 2 for bad usage; 3 when a server could not
    be started or exited during a run (the others still run, and their results
    are kept); 128 + the signal when interrupted: 130 Ctrl-C, 143 SIGTERM, 129
    SIGHUP (the servers are stopped, what was measured is kept); 141 when the
    output's reader left early (| head), once every run is done and kept.
    """
    from asgibench.interrupts import describe, exit_code_for, signals_as_interrupts
    from asgibench.load.settings import LoadFlags
    from asgibench.render.console import print_error

    if path is not None and not path.startswith("/"):
        print_error(f"--path must start with '/', not {path!r}.")
        raise typer.Exit(2)
    flags = LoadFlags(
        target=f"http://127.0.0.1:8000{path}" if path else None,  # only the path is kept: each server has its port
        vus=vus, rate=rate, duration=duration, warmup=warmup or DEFAULT_WARMUP, timeout=timeout, workers=workers,
        connections=connections, headers=headers or [], method=method, body=body, scenario=scenario,
    )  # fmt: skip
    try:
        with signals_as_interrupts():  # SIGTERM and SIGHUP stop the servers and keep the runs, as Ctrl-C does
            code = _run(target_app, servers, wsgi_app, flags, repeat, server_workers, out, profile, quiet)
    except AsgibenchError as error:
        print_error(error.message, error.hint)
        raise typer.Exit(error.exit_code) from None
    except KeyboardInterrupt as interruption:  # before the comparison began, or after it was saved
        print_error(f"{describe(interruption)}.")
        raise typer.Exit(exit_code_for(interruption)) from None
    raise typer.Exit(code)


def _run(
    target_app: str,
    servers: str | None,
    wsgi_app: str | None,
    flags: LoadFlags,
    repeat: int,
    server_workers: int,
    out: Path | None,
    profile: bool,
    quiet: bool,
) -> int:
    from asgibench.apploader import looks_like_app
    from asgibench.compare.runner import ComparisonSpec, run_comparison
    from asgibench.interrupts import describe, exit_code_for
    from asgibench.launch.cpus import plan_cpus, usable_cpus
    from asgibench.load.settings import resolve
    from asgibench.render.compare import TerminalView, render_compare_plan, render_comparison, render_interrupted
    from asgibench.render.console import make_console
    from asgibench.render.load import render_note

    if not looks_like_app(target_app):
        raise UsageError(f"APP must be module:attribute (e.g. main:app), not {target_app!r}.")
    if wsgi_app is not None and not looks_like_app(wsgi_app):
        raise UsageError(f"--wsgi-app must be module:attribute, not {wsgi_app!r}.")
    names = _server_names(servers, wsgi_app, server_workers)
    if profile and out is None:
        raise UsageError("--profile writes flame graphs beside the results: give --out DIR too.")
    if out is not None:
        if out.exists() and not out.is_dir():
            raise UsageError(f"--out {out}: exists and is not a directory.")
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise UsageError(f"Cannot create --out {str(out)!r}: {error.strerror or error}.") from None
        from asgibench.atomicio import check_output

        for name in ("comparison.json", "report.md", "report.html"):  # also proves a file can be created there
            check_output(out / name, option="--out")
    config = resolve(flags, Path.cwd())
    spec = ComparisonSpec(target_app, wsgi_app, tuple(names), config, repeat, server_workers, out, profile)
    console = make_console()
    render_compare_plan(console, spec, plan_cpus(usable_cpus(), server_workers), names)
    comparison = run_comparison(spec, TerminalView(console, live=console.is_terminal and not quiet))
    render_comparison(console, comparison.document)
    if comparison.interrupted_by is not None:
        render_interrupted(console, describe(comparison.interrupted_by))
    if comparison.path is not None and out is not None:
        from asgibench.report import write_reports

        title = f"asgibench compare: {target_app}"
        write_reports([comparison.path], markdown=out / "report.md", html=out / "report.html", title=title,
                      markdown_option="--out", html_option="--out")  # fmt: skip
        render_note(console, f"results in {out}/: comparison.json, one result file per run, report.md, report.html")
    if comparison.interrupted_by is not None:
        return exit_code_for(comparison.interrupted_by)
    if any(record.failed for record in comparison.records.values()):
        return 3
    return 0


def _server_names(servers: str | None, wsgi_app: str | None, server_workers: int) -> list[str]:
    """The servers to compare: as listed, or every installed one that can run this app with that many workers."""
    from asgibench.servers.registry import get_plugin, plugin_names

    def fits(name: str) -> bool:
        limit = get_plugin(name).max_workers
        return limit is None or server_workers <= limit

    if servers is None:
        names = [
            name
            for name in plugin_names()
            if get_plugin(name).is_available()
            and (get_plugin(name).interface == "asgi" or wsgi_app is not None)
            and fits(name)
        ]
        if not names:
            raise UsageError("No server is installed to compare.", hint="pip install uvicorn hypercorn granian")
        return names
    names = [name.strip() for name in servers.split(",") if name.strip()]
    if not names:
        raise UsageError("--servers: name at least one server, e.g. --servers uvicorn,hypercorn.")
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise UsageError(f"--servers: {', '.join(duplicates)} named twice.")
    for name in names:
        if not fits(name):
            raise UsageError(
                f"--servers: {name} serves from at most {get_plugin(name).max_workers} process(es), "
                f"not --server-workers {server_workers}; leave it out or lower --server-workers."
            )
        if get_plugin(name).interface == "wsgi" and wsgi_app is None:
            raise UsageError(
                f"--servers: {name} serves WSGI apps; give the app's WSGI twin with --wsgi-app module:attr.",
                hint="e.g. --wsgi-app reference_apps.wsgi_app:app",
            )
    return names
