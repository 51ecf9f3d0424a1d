"""``asgibench compare APP --servers ...``: the same load on each server, interleaved and repeated."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from asgibench.cli import app, protocol_options
from asgibench.errors import AsgibenchError, UsageError

if TYPE_CHECKING:
    from asgibench.compare.runner import ComparisonSpec
    from asgibench.load.settings import LoadFlags

DEFAULT_WARMUP = "2s"
# Where the load is aimed before any server has a port: only the scheme and path are kept (launch.measure).
PLACEHOLDER = "127.0.0.1:8000"


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
        typer.Option(
            "--path",
            metavar="/PATH",
            help="The request path (default /, or the scenario's requests); ws:/PATH for a WebSocket comparison.",
        ),
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
        typer.Option(
            "--scenario",
            "-s",
            metavar="FILE",
            help="A scenario file (TOML): model, stages, requests; [[messages]] (or a ws:// target): WebSocket.",
        ),
    ] = None,
    http: Annotated[
        str | None,
        typer.Option(
            "--http",
            metavar="VERSION",
            help="1.1 (default) or 2: h2c with prior knowledge; servers without it are listed as unsupported.",
        ),
    ] = None,
    streams: protocol_options.Streams = None,
    stream: protocol_options.Stream = False,
    message_size: protocol_options.MessageSize = None,
    binary: protocol_options.Binary = False,
    hold: Annotated[
        int | None,
        typer.Option(
            "--hold",
            metavar="INTEGER",
            help="Hold this many SSE streams or idle WebSockets open on each server beside the load.",
        ),
    ] = None,
    hold_path: Annotated[
        str | None,
        typer.Option(
            "--hold-path",
            metavar="/PATH",
            help="With --hold: the held streams' path on each server (SSE); ws:/PATH for WebSockets. "
            "Default: the load's path.",
        ),
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

    A server that cannot serve the load's protocol (WebSocket, HTTP/2, or the
    held streams') is not launched: it is listed as unsupported, with why.

    Exit 0 when every supported server ran; 2 for bad usage, or when no server
    named supports the load; 3 when a server could not be started or exited
    during a run (the others still run, and their results are kept); 128 +
    the signal when interrupted: 130 Ctrl-C, 143 SIGTERM, 129 SIGHUP (the
    servers are stopped, what was measured is kept); 141 when the output's
    reader left early (| head), once every run is done and kept.
    """
    from asgibench.interrupts import describe, exit_code_for, signals_as_interrupts
    from asgibench.load.settings import LoadFlags
    from asgibench.render.console import print_error

    try:
        flags = LoadFlags(
            target=_placeholder(path, scenario), vus=vus, rate=rate, duration=duration,
            warmup=warmup or DEFAULT_WARMUP, timeout=timeout, workers=workers, connections=connections,
            headers=headers or [], method=method, body=body, scenario=scenario, http=http, streams=streams,
            stream=stream, message_size=message_size, binary=binary, hold=hold,
            hold_target=_hold_placeholder(hold_path, hold),
        )  # fmt: skip
        with signals_as_interrupts():  # SIGTERM and SIGHUP stop the servers and keep the runs, as Ctrl-C does
            code = _run(target_app, servers, wsgi_app, flags, repeat, server_workers, out, profile, quiet)
    except AsgibenchError as error:
        print_error(error.message, error.hint)
        raise typer.Exit(error.exit_code) from None
    except KeyboardInterrupt as interruption:  # before the comparison began, or after it was saved
        print_error(f"{describe(interruption)}.")
        raise typer.Exit(exit_code_for(interruption)) from None
    raise typer.Exit(code)


def _placeholder(path: str | None, scenario: Path | None) -> str | None:
    """The load's target before any server has a port: ws:// for ``ws:/PATH`` or a WebSocket scenario, else
    http://.

    None leaves it to the scenario's target (or the default), whose scheme and path are kept the same way.
    """
    if path is not None and not path.startswith(("/", "ws:/")):
        raise UsageError(f"--path must start with '/' (or 'ws:/' for a WebSocket), not {path!r}.")
    websocket, scenario_path = _scenario_websocket(scenario)
    if path is None and not websocket:
        return None
    websocket = websocket or (path is not None and path.startswith("ws:"))
    request_path = path.removeprefix("ws:") if path is not None else scenario_path
    return f"{'ws' if websocket else 'http'}://{PLACEHOLDER}{request_path}"


def _scenario_websocket(scenario: Path | None) -> tuple[bool, str]:
    """Whether the scenario is a WebSocket load (a ws:// target, or [[messages]] whatever its target's
    scheme: a compared server has no URL of its own yet), and its target's path."""
    if scenario is None:
        return False, "/"
    from asgibench.load.parsing import parse_target
    from asgibench.load.scenario_file import load_scenario

    found = load_scenario(scenario)
    try:
        target = parse_target(found.target) if found.target else None
    except ValueError:
        return False, "/"  # resolve reads the file again and names the bad target
    messages = any(spec.message is not None for spec in found.requests)
    path = target.path if target is not None else "/"
    return messages or (target is not None and target.scheme in ("ws", "wss")), path


def _hold_placeholder(hold_path: str | None, hold: int | None) -> str | None:
    """``--hold-path`` as a URL on the placeholder server: ws:// for ``ws:/PATH``, else http:// (SSE)."""
    if hold_path is None:
        return None
    if not hold_path.startswith(("/", "ws:/")):
        raise UsageError(f"--hold-path must start with '/' (or 'ws:/' for WebSockets), not {hold_path!r}.")
    if not hold:
        raise UsageError("--hold-path: give --hold N too (how many streams to hold on each server).")
    websocket = hold_path.startswith("ws:")
    return f"{'ws' if websocket else 'http'}://{PLACEHOLDER}{hold_path.removeprefix('ws:')}"


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
    config = resolve(flags, Path.cwd())
    spec = ComparisonSpec(target_app, wsgi_app, tuple(names), config, repeat, server_workers, out, profile)
    _check_supported(spec)  # before --out is made: nothing will be written
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
        return 3  # an unsupported server is not failed: it was never launched
    return 0


def _check_supported(spec: ComparisonSpec) -> None:
    """A UsageError (exit 2) when none of the servers can take the load, naming why each cannot."""
    from asgibench.compare.protocols import needed, unsupported_reason
    from asgibench.servers.base import PROTOCOL_NAMES
    from asgibench.servers.registry import get_plugin, plugin_names

    reasons = {name: unsupported_reason(get_plugin(name), spec.config) for name in spec.servers}
    if any(reason is None for reason in reasons.values()):
        return
    wanted = " and ".join(PROTOCOL_NAMES[protocol] for protocol in needed(spec.config))
    able = [name for name in plugin_names() if get_plugin(name).is_available()
            and (get_plugin(name).interface == "asgi" or spec.wsgi_app is not None)
            and unsupported_reason(get_plugin(name), spec.config) is None]  # fmt: skip
    raise UsageError(
        f"None of the servers can serve this load ({wanted}): "
        + "; ".join(f"{name}: {reason}" for name, reason in reasons.items())
        + ".",
        hint=f"--servers {','.join(able)} can." if able else None,
    )


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
