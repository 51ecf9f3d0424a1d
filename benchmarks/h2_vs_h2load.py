"""asgibench's HTTP/2 load against h2load (nghttp2), as ratios, in one run.

What it measures: for each generator, requests per second (throughput) and CPU seconds spent by the generator's whole
process, start-up included, hence requests per CPU-second (efficiency), as asgibench's ratios to h2load's, measured
minutes apart on the same machine and server.

Server-bound, as load_vs_wrk.py's first scenario: granian ``--http 2`` (h2c with prior knowledge) serving
``reference_apps.raw_app:app`` (GET / answers "hello, world") on one CPU (``taskset -c 0``). Every generator, one after
the other, on another CPU (``taskset -c 1``), with ``--connections`` (4) connections of ``--streams`` (16) concurrent
streams each, for the same duration:

* ``h2load -c 4 -m 16 -D <duration> http://127.0.0.1:PORT/`` (one thread; h2c prior knowledge is its default for
  http://): its "finished in ..., N req/s" and "requests: ... succeeded, ... failed" lines;
* ``asgibench load http://127.0.0.1:PORT/ --http 2 --vus 64 --streams 16`` (one worker: 64 users on 64 / 16 = 4
  connections): ``summary.rps``.

Here the server sets the pace: a good generator must reach the server's ceiling. The "server" column is the server's
CPU seconds during a generator's run over the duration: near 100 % (it should be with h2load) the server was the
bottleneck. A warning is printed when it is under 90 % with h2load, since the bar then compares generators below the
server's ceiling.

Noise, CPU accounting and the run order are load_vs_wrk.py's (its helpers, and ws_vs_k6.py's shared ones, are
imported): with ``--repeat N`` the generators take turns N times, in an order rotated each round, and medians are
reported.

Bar, printed as PASS/FAIL; exit status 1 when it fails, unless ``--no-assert``: asgibench >= 0.8 x h2load requests/s.
Requests per CPU-second and their ratio are printed, with no bar. Exit status 2 when something needed is missing
(h2load, granian, taskset, ``asgibench load``, two CPUs): this script never installs anything;
``apt-get install nghttp2-client`` brings h2load, and ``make benchmark-protocols`` does.
"""

from __future__ import annotations

import argparse
import json
import re
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from load_vs_wrk import (
    HOST,
    READY_TIMEOUT,
    REPO,
    RUN_MARGIN,
    asgi_server_command,
    exit_on_sigterm,
    free_port,
    pinned,
    require_cpus,
    require_tool,
    run_measured,
    running,
    tail,
    version_of,
)
from ws_vs_k6 import (
    ASGIBENCH,
    Run,
    add_common_arguments,
    fail,
    judge_and_save,
    measure_rounds,
    print_table,
    require_asgibench,
)

H2LOAD = "h2load"
GENERATORS = (H2LOAD, ASGIBENCH)
CONNECTIONS = 4
STREAMS = 16
BAR = 0.8  # asgibench / h2load requests/s must be at least this
SERVER_BOUND = 0.9  # server CPU share under which h2load's runs did not saturate the server

# The client connection preface (RFC 9113, 3.4) and an empty SETTINGS frame: a server speaking h2c answers with
# frames, the first of them its SETTINGS (type 4).
H2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes([0, 0, 0, 4, 0, 0, 0, 0, 0])


@dataclass(frozen=True)
class Settings:
    duration: int
    repeat: int
    server_cpu: int
    generator_cpu: int
    connections: int
    streams: int


def speaks_h2c(port: int, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=timeout) as connection:
            connection.sendall(H2_PREFACE)
            head = connection.recv(9)
    except OSError:
        return False
    return len(head) == 9 and head[3] == 4


def wait_until_h2c(process: subprocess.Popen[bytes], port: int, name: str, log: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            fail(f"{name} exited with {process.returncode} before answering:\n{tail(log)}")
        if speaks_h2c(port):
            return
        time.sleep(0.1)
    fail(f"{name} did not answer an HTTP/2 preface on port {port} within {READY_TIMEOUT:.0f} s:\n{tail(log)}")


def h2_server_command(port: int) -> tuple[str, list[str]]:
    server, command = asgi_server_command(port)
    if not server.startswith("granian"):
        fail("granian not found (the HTTP/2 server here). Install it into the venv: pip install granian")
    return server, [*command, "--http", "2"]


def run_h2load(h2load: str, url: str, settings: Settings, workdir: Path) -> Run:
    log = workdir / "h2load.out"
    command = [h2load, "-t", "1", "-c", str(settings.connections), "-m", str(settings.streams)]
    command += ["-D", str(settings.duration), url]
    cpu, wall = run_measured(pinned(settings.generator_cpu, command), log, settings.duration + RUN_MARGIN)
    output = log.read_text(errors="replace")
    rps = re.search(r"^finished in [\d.]+m?s, ([\d.]+) req/s", output, re.MULTILINE)
    counts = re.search(r"^requests: .* (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout", output, re.M)
    if rps is None or counts is None:
        raise RuntimeError(f"cannot read h2load's output:\n{output[-2000:]}")
    # "failed" includes the errored (and HTTP level failures: statuses >= 400).
    succeeded, failed = int(counts.group(1)), int(counts.group(2))
    return Run(rps=float(rps.group(1)), requests=succeeded, errors=failed, cpu_s=cpu, wall_s=wall)


def run_asgibench(asgibench: str, url: str, settings: Settings, workdir: Path) -> Run:
    out, log = workdir / "asgibench.json", workdir / "asgibench.out"
    out.unlink(missing_ok=True)
    vus = settings.connections * settings.streams
    command = [asgibench, "load", url, "--http", "2", "--vus", str(vus), "--streams", str(settings.streams)]
    command += ["--duration", f"{settings.duration}s", "--json", str(out), "--quiet"]
    cpu, wall = run_measured(pinned(settings.generator_cpu, command), log, settings.duration + RUN_MARGIN)
    summary = json.loads(out.read_text())["summary"]
    errors = int(summary.get("errors", {}).get("total", 0))
    return Run(rps=float(summary["rps"]), requests=int(summary["requests"]), errors=errors, cpu_s=cpu, wall_s=wall)


def parse_args(argv: Sequence[str] | None) -> tuple[Settings, argparse.Namespace]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    add_common_arguments(parser)
    parser.add_argument("--connections", type=int, default=CONNECTIONS, help=f"HTTP/2 connections ({CONNECTIONS})")
    parser.add_argument("--streams", type=int, default=STREAMS, help=f"concurrent streams a connection ({STREAMS})")
    args = parser.parse_args(argv)
    if min(args.duration, args.repeat, args.connections, args.streams) < 1:
        parser.error("--duration, --repeat, --connections and --streams must be >= 1")
    settings = Settings(args.duration, args.repeat, args.server_cpu, args.generator_cpu, args.connections, args.streams)
    return settings, args


def main(argv: Sequence[str] | None = None) -> int:
    settings, args = parse_args(argv)
    exit_on_sigterm()
    cpus = (settings.server_cpu, settings.generator_cpu)
    require_cpus(*cpus)
    require_tool("taskset", "It comes with util-linux.")
    h2load = require_tool(H2LOAD, "Install it: apt-get install -y nghttp2-client (the Makefile target does).")
    asgibench = require_asgibench()
    versions = {H2LOAD: version_of([h2load, "--version"]), ASGIBENCH: version_of([asgibench, "--version"])}
    with tempfile.TemporaryDirectory(prefix="h2_vs_h2load-") as root:
        workdir, port = Path(root), free_port()
        server, command = h2_server_command(port)
        log = workdir / "server.out"
        url = f"http://{HOST}:{port}/"
        print(
            f"HTTP/2 (h2c), server-bound: {server} on CPU {settings.server_cpu}, generators on CPU "
            f"{settings.generator_cpu}"
        )
        print(f"{settings.connections} connections x {settings.streams} streams, GET /, {settings.duration} s a run")
        print(f"{versions[H2LOAD]} ({h2load})", flush=True)
        with running(pinned(settings.server_cpu, command), log, REPO) as process:
            wait_until_h2c(process, port, server, log)
            runners: dict[str, Callable[[], Run]] = {
                H2LOAD: lambda: run_h2load(h2load, url, settings, workdir),
                ASGIBENCH: lambda: run_asgibench(asgibench, url, settings, workdir),
            }
            try:
                results = measure_rounds(runners, settings.repeat, cpus, process.pid, settings.duration, "req")
            except RuntimeError as error:
                fail(str(error))
    print_table(results, H2LOAD, "req")
    server_share = results[H2LOAD].median("server_cpu")
    if server_share < SERVER_BOUND:
        print(
            f"warning: the server used {server_share:.0%} of its CPU under h2load, not near 100 %: it was not the "
            "bottleneck, and the bar compares the generators below its ceiling (try more --connections or --streams)"
        )
    extra = {"server": server, "url": url, "settings": asdict(settings), "generator_versions": versions}
    bar = ("server-bound", BAR, "h2load requests/s")
    return judge_and_save(results, H2LOAD, bar, args.json, extra, no_assert=args.no_assert)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("h2_vs_h2load: interrupted; the server and generators it started are stopped.", file=sys.stderr)
        sys.exit(130)
