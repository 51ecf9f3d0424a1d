"""Does the load generator stay flat over long runs, and hold 10,000 connections?

Two runs of ``asgibench load`` on loopback, each read back from its result file:

1. A long closed-model run against uvicorn on the reference hello app, sized
   to pass one million requests on this kind of machine. The worker's resident
   memory is in every row of the timeline; the run passes when the last
   seconds use no more than ``--rss-slack`` MiB over the first seconds.
2. 10,000 virtual users, one connection each, against a small asyncio server
   (tests/servers/misbehaving.py in "ok" mode): every connection must open and
   carry requests, with no errors. The soft limit on open files is raised to
   the hard limit first (the generator does the same for itself).

    python benchmarks/load_scale.py [--duration 40] [--connections 10000]

Exit 0 when both hold, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import resource
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_listening(port: int) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"no server on port {port}")


def stop(process: subprocess.Popen[Any]) -> None:
    process.terminate()
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def load(url: str, *flags: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "result.json"
        command = [sys.executable, "-m", "asgibench", "load", url, *flags, "--json", str(out), "--quiet"]
        finished = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
        if not out.exists():
            raise SystemExit(f"asgibench load failed ({finished.returncode}):\n{finished.stdout}{finished.stderr}")
        return dict(json.loads(out.read_text()))


def long_run(duration: int, slack_mib: float) -> bool:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "reference_apps.raw_app:app", "--port", str(port)]
        + ["--log-level", "warning", "--no-access-log", "--http", "httptools", "--loop", "uvloop"],
        cwd=ROOT,
    )
    try:
        wait_listening(port)
        result = load(f"http://127.0.0.1:{port}/", "--vus", "64", "--duration", f"{duration}s")
    finally:
        stop(server)
    timeline = result["timeline"]
    rss = [row["generator_rss_mib"] for row in timeline]
    head, tail = rss[: max(1, len(rss) // 10)], rss[-max(1, len(rss) // 10) :]
    growth = max(tail) - max(head)
    requests = result["summary"]["requests"]
    print(f"long run: {requests:,} requests in {duration} s, {result['summary']['errors']['total']} errors")
    print(f"  worker RSS first seconds {max(head):.1f} MiB, last seconds {max(tail):.1f} MiB, growth {growth:+.1f} MiB")
    ok = growth <= slack_mib
    if requests < 1_000_000:
        print(
            f"  note: fewer than 1,000,000 requests; raise --duration (this machine did {requests / duration:,.0f}/s)"
        )
    print(f"  {'PASS' if ok else 'FAIL'}: growth <= {slack_mib} MiB")
    return ok


def many_connections(count: int) -> bool:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if hard < count + 100:
        print(f"many connections: SKIP, the hard limit on open files is {hard}, below {count}")
        return True
    server = subprocess.Popen(
        [sys.executable, "-m", "tests.servers.misbehaving", "ok"], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline().split()[1])
        result = load(f"http://127.0.0.1:{port}/", "--vus", str(count), "--duration", "5s", "--warmup", "3s")
    finally:
        stop(server)
        if server.stdout is not None:
            server.stdout.close()
    summary, generator = result["summary"], result["generator"]
    peak = max(row["generator_rss_mib"] for row in result["timeline"])
    print(
        f"many connections: {generator['connections_opened']:,} opened, {summary['requests']:,} requests, "
        f"{summary['errors']['total']} errors, p99 {summary['latency_ms']['p99']:.1f} ms, worker RSS {peak:.1f} MiB"
    )
    ok = generator["connections_opened"] >= count and summary["errors"]["total"] == 0 and summary["requests"] > count
    print(f"  {'PASS' if ok else 'FAIL'}: every connection opened and carried requests, no errors")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=40, help="seconds of the long run")
    parser.add_argument("--rss-slack", type=float, default=4.0, help="MiB the worker may grow over the long run")
    parser.add_argument("--connections", type=int, default=10_000)
    options = parser.parse_args()
    results = [long_run(options.duration, options.rss_slack), many_connections(options.connections)]
    return 0 if all(results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
