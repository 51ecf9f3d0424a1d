"""``asgibench conform APP``: run the in-process conformance suite on an app."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from asgibench.cli import app
from asgibench.errors import AsgibenchError, UsageError


@app.command(no_args_is_help=False)
def conform(
    target: Annotated[
        str | None,
        typer.Argument(
            metavar="[APP]", help="The ASGI app as module:attribute, resolved like uvicorn (e.g. main:app)."
        ),
    ] = None,
    app_dir: Annotated[
        Path,
        typer.Option(
            "--app-dir", metavar="DIR", help="Directory put first on the import path (default: current directory)."
        ),
    ] = Path("."),
    factory: Annotated[
        bool, typer.Option("--factory", help="APP is a factory: call it with no arguments to get the app.")
    ] = False,
    paths: Annotated[
        list[str] | None,
        typer.Option(
            "--path",
            "-p",
            metavar="METHOD:/PATH",
            help="Add a route to drive, e.g. GET:/stream, POST:/items or ws:/chat (repeatable). "
            "GET, HEAD and POST / and a WebSocket at / are always driven.",
        ),
    ] = None,
    only: Annotated[
        list[str] | None,
        typer.Option(
            "--only",
            metavar="ID_OR_GROUP",
            help="Report only these checks: an id (HR-01), a prefix (HR) or an area (lifespan). Repeatable.",
        ),
    ] = None,
    timeout: Annotated[
        float,
        typer.Option(
            "--timeout",
            min=0.05,
            metavar="SECONDS",
            help="Deadline per scenario, in seconds; an app still running then fails.",
        ),
    ] = 2.0,
    strict: Annotated[bool, typer.Option("--strict", help="Warnings (SHOULD rules) fail too.")] = False,
    json_path: Annotated[Path | None, typer.Option("--json", metavar="FILE", help="Write the report as JSON.")] = None,
    junit_path: Annotated[
        Path | None, typer.Option("--junit", metavar="FILE", help="Write the report as JUnit XML.")
    ] = None,
    list_checks: Annotated[bool, typer.Option("--list", help="Print the check catalogue and exit.")] = False,
    server: Annotated[
        str | None,
        typer.Option(
            "--server",
            metavar="NAMES",
            help="Probe these servers instead of an app (comma-separated, e.g. uvicorn,hypercorn,daphne,granian): "
            "each runs asgibench's recording app and gets crafted requests over a socket.",
        ),
    ] = None,
    html_path: Annotated[
        Path | None, typer.Option("--html", metavar="FILE", help="With --server: write the matrix as an HTML page.")
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show every finding with its trace.")] = False,
    discover: Annotated[
        bool,
        typer.Option(
            "--discover/--no-discover",
            help="Read the app's routes from its framework (Starlette, FastAPI, Litestar, Django, Quart, Falcon, "
            "Sanic, BlackSheep) and drive them too.",
        ),
    ] = True,
    output_format: Annotated[
        str,
        typer.Option(
            "--format",
            metavar="text|github",
            help="text (the report) or github (GitHub Actions annotations, one per failing or warning check).",
        ),
    ] = "text",
) -> None:
    """Check an ASGI app against the spec, in-process, under a strict fake server.

    Drives HTTP (bodies in one, many and empty chunks, 1 MiB bodies, clients
    that leave mid-body and mid-response), lifespan, WebSocket and error
    paths; validates every message the app sends; catches hangs by deadline.
    Exit 0 when nothing failed, 1 when a check failed, 2 for bad usage or an
    output that could not be written (the report is printed, and saved elsewhere).
    """
    from asgibench.render.console import print_error

    try:
        if server is not None:
            code = _probe_servers(
                target,
                server,
                only or [],
                strict,
                json_path,
                junit_path,
                html_path,
                verbose,
                list_checks,
                output_format,
            )
        elif html_path is not None:
            raise UsageError("--html writes the servers' matrix: it goes with --server.")
        else:
            code = _run(
                target,
                app_dir,
                factory,
                paths or [],
                only or [],
                timeout,
                strict,
                json_path,
                junit_path,
                list_checks,
                verbose,
                output_format,
                discover=discover,
            )
    except AsgibenchError as error:
        print_error(error.message, error.hint)
        raise typer.Exit(error.exit_code) from None
    raise typer.Exit(code)


def _probe_servers(
    target: str | None,
    server: str,
    only: list[str],
    strict: bool,
    json_path: Path | None,
    junit_path: Path | None,
    html_path: Path | None,
    verbose: bool,
    list_checks: bool,
    output_format: str,
) -> int:
    from asgibench.cli.conform_server import parse_servers, run_servers, select_server_checks
    from asgibench.render.console import make_console

    if list_checks:  # the server side's catalogue; no server is started
        from asgibench.render.conformance import render_catalogue

        render_catalogue(make_console(), select_server_checks(only))
        return 0

    if target is not None:
        raise UsageError(
            f"--server probes servers with asgibench's own recording app, not {target!r}.",
            hint="Run `asgibench conform APP` and `asgibench conform --server NAMES` separately.",
        )
    if output_format not in {"text", "github"}:
        raise UsageError(f"--format {output_format!r}: expected text or github.")
    names = parse_servers(server)
    return run_servers(
        make_console(),
        names,
        only=only,
        strict=strict,
        json_path=json_path,
        junit_path=junit_path,
        html_path=html_path,
        verbose=verbose,
        output_format=output_format,
    )


def _run(
    target: str | None,
    app_dir: Path,
    factory: bool,
    paths: list[str],
    only: list[str],
    timeout: float,
    strict: bool,
    json_path: Path | None,
    junit_path: Path | None,
    list_checks: bool,
    verbose: bool,
    output_format: str,
    discover: bool = True,
) -> int:
    from asgibench.apploader import load_app
    from asgibench.atomicio import check_output, write_each
    from asgibench.conformance import ConformConfig, run_conformance
    from asgibench.conformance.catalogue import select_checks
    from asgibench.conformance.scenarios import DEFAULT_ROUTES, parse_route
    from asgibench.render.conformance import render_catalogue, render_report
    from asgibench.render.console import make_console, print_error

    console = make_console()
    if output_format not in {"text", "github"}:
        raise UsageError(f"--format {output_format!r}: expected text or github.")
    try:
        checks = select_checks(only)
    except ValueError as error:
        raise UsageError(
            f"--only {error.args[0]!r} names no check, prefix or area.", hint="asgibench conform --list shows them."
        ) from None
    if list_checks:
        render_catalogue(console, checks)
        return 0
    if target is None:
        raise UsageError("Missing APP (module:attribute).", hint="For example: asgibench conform main:app")
    for path, option in ((json_path, "--json"), (junit_path, "--junit")):
        if path is not None:
            check_output(path, option=option)
    routes = list(DEFAULT_ROUTES)
    for text in paths:
        try:
            route = parse_route(text)
        except ValueError as error:
            raise UsageError(f"--path {text!r}: {error}") from None
        if route not in routes:
            routes.append(route)
    application = load_app(target, app_dir=app_dir, factory=factory)
    if discover:
        from asgibench.conformance.discovery import discover_routes, summary_lines

        discovery = discover_routes(application)
        routes.extend(route for route in discovery.routes if route not in routes)  # discovery has no repeats
        if output_format == "text":
            for line in summary_lines(discovery):
                console.print(line, markup=False, highlight=False, soft_wrap=True)
    config = ConformConfig(routes=tuple(routes), timeout=timeout, checks=checks, strict=strict, target=target)
    report = run_conformance(application, config)
    if output_format == "github":
        from asgibench.render.github import github_lines, locate_app

        root = Path(os.environ.get("GITHUB_WORKSPACE") or ".")  # annotation paths are relative to the repository
        print("\n".join(github_lines(report, locate_app(target, application, root))), flush=True)
    else:
        render_report(console, report, verbose=verbose)
    outputs: list[tuple[str | Path, str, str, str]] = []
    if json_path is not None:
        outputs.append((json_path, "--json", report.to_json(), ".json"))
    if junit_path is not None:
        outputs.append((junit_path, "--junit", report.to_junit(), ".xml"))
    failures = write_each(outputs, stem="asgibench-conform", what="report")  # what fails is saved elsewhere
    for failure in failures:
        print_error(failure.message, failure.hint)
    if failures:
        return 2
    return 1 if report.failed else 0
