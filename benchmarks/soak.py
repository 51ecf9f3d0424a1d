"""Hours-shaped load in minutes: does a run stay flat in memory and exact in its accounting?

Two long runs of ``asgibench load`` on loopback against granian (the server on
CPU 0, the generator on CPU 1 where the machine has two), each read back from
its result file:

1. **10,000 connections**: 10,000 virtual users, one connection each, a 1 s
   think time (about 10,000 requests/s), for ``--minutes``.
2. **The highest rate that holds**: a 10 s closed-model run finds what one
   generator core and the server achieve together; then 15 s open-model
   probes at 90%, 80%, ... of it find the highest rate that holds (no error,
   nothing unsent, p99 under 50 ms), and the open model runs at it for
   ``--minutes``. On a two-core machine the server's core is the limit, not
   the generator's: the figures say which (generator CPU, bottleneck).

For each, memory is the generator's resident size, sampled every second in
the result's timeline. It must stay flat: the most it uses in the last minute
may exceed the most it used in the first minute after the warm-up by at most
``--rss-slack`` MiB. Its slope (least squares over the window) is printed too.
No request may be lost in the accounting: every outcome is ok or one error
kind, the timeline adds up to the total, and in the open model every due
request has an outcome.

    python benchmarks/soak.py [--minutes 3] [--connections 10000] [--json soak.json]

Exit 0 when both runs hold, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from load_scale import free_port, stop, wait_listening

ROOT = Path(__file__).resolve().parent.parent
WARMUP = 10  # seconds before the window: connections opened, caches warm
OPEN_CONNECTIONS = 512  # the open model's pool: far more than a holding rate keeps busy on loopback
HOLD_P99_MS = 50.0


def cpus() -> tuple[list[str], list[str]]:
    """taskset prefixes: the server on CPU 0, the generator on CPU 1 (nothing on a one-CPU machine)."""
    available = sorted(os.sched_getaffinity(0))
    if len(available) < 2:
        return [], []
    return ["taskset", "-c", str(available[0])], ["taskset", "-c", str(available[1])]


def raise_file_limit() -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # inherited by the server
    return hard


def granian(pin: list[str]) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    command = [*pin, sys.executable, "-m", "granian", "--interface", "asgi", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--workers", "1", "--log-level", "warning"]
    # granian serves at most --backpressure connections at once, by default its backlog (1024): the others wait
    # unanswered, and 10,000 connections would measure that limit, not the generator.
    command += ["--backlog", "16384", "reference_apps.raw_app:app"]
    server = subprocess.Popen(command, cwd=ROOT)
    wait_listening(port)
    return server, f"http://127.0.0.1:{port}/"


def load(pin: list[str], url: str, *flags: str, timeout: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "result.json"
        command = [*pin, sys.executable, "-m", "asgibench", "load", url, *flags, "--json", str(out), "--quiet"]
        finished = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
        if not out.exists():
            raise SystemExit(f"asgibench load failed ({finished.returncode}):\n{finished.stdout}{finished.stderr}")
        return dict(json.loads(out.read_text()))


def holds(result: dict[str, Any]) -> bool:
    summary = result["summary"]
    p99 = summary["latency_ms"]["p99"] if summary["latency_ms"] else None
    return summary["errors"]["total"] == 0 and p99 is not None and p99 < HOLD_P99_MS


def highest_holding_rate(pin: list[str], url: str, capacity: float) -> int:
    """The first of 90%, 80%, ... 50% of ``capacity`` that a 15 s open-model probe shows holding."""
    print(f"capacity: {capacity:,.0f} requests/s with 64 VUs")
    for tenths in range(9, 4, -1):
        rate = int(capacity * tenths / 10)
        probe = load(
            pin, url, "--rate", str(rate), "--max-connections", str(OPEN_CONNECTIONS), "--duration", "15s",
            "--warmup", "3s", timeout=120,
        )  # fmt: skip
        summary = probe["summary"]
        p99 = summary["latency_ms"]["p99"] if summary["latency_ms"] else None
        print(f"  probe at {rate:,}/s: {summary['errors']['total']:,} errors, p99 {p99} ms")
        if holds(probe):
            return rate
    return int(capacity / 2)


def slope_mib_per_minute(values: list[float]) -> float:
    """Least-squares slope of one sample a second, in MiB per minute."""
    count = len(values)
    if count < 2:
        return 0.0
    mean_x, mean_y = (count - 1) / 2, sum(values) / count
    numerator = sum((x - mean_x) * (y - mean_y) for x, y in enumerate(values))
    denominator = sum((x - mean_x) ** 2 for x in range(count))
    return numerator / denominator * 60


def accounting_problems(result: dict[str, Any]) -> list[str]:
    """The result file's accounting rule (docs/result-file.md), on the figures a soak can break."""
    summary, errors = result["summary"], result["summary"]["errors"]
    problems = []
    if summary["requests"] != summary["ok"] + errors["total"]:
        problems.append(f"requests {summary['requests']} != ok {summary['ok']} + errors {errors['total']}")
    if errors["total"] != sum(count for kind, count in errors.items() if kind != "total"):
        problems.append("the error kinds do not add up to the total")
    in_timeline = sum(row["requests"] for row in result["timeline"])
    if in_timeline != summary["requests"]:
        problems.append(f"the timeline holds {in_timeline} outcomes, the total is {summary['requests']}")
    if result["config"]["model"] == "open" and summary["scheduled"] != summary["requests"]:
        problems.append(f"{summary['scheduled']} requests were due, {summary['requests']} have an outcome")
    return problems


def judge(name: str, result: dict[str, Any], slack: float) -> dict[str, Any]:
    summary = result["summary"]
    rss = [float(row["generator_rss_mib"]) for row in result["timeline"]]
    first, last = rss[:60], rss[-60:]
    growth = max(last) - max(first)
    slope = slope_mib_per_minute(rss)
    problems = accounting_problems(result)
    flat = growth <= slack
    figures = {
        "run": name,
        "seconds": summary["duration_s"],
        "requests": summary["requests"],
        "ok": summary["ok"],
        "errors": summary["errors"]["total"],
        "rps": summary["rps"],
        "p99_ms": summary["latency_ms"]["p99"] if summary["latency_ms"] else None,
        "connections_opened": result["generator"]["connections_opened"],
        "generator_bottleneck": result["generator"]["bottleneck"],
        "rss_first_minute_mib": max(first),
        "rss_last_minute_mib": max(last),
        "rss_growth_mib": growth,
        "rss_slope_mib_per_min": slope,
        "accounting_problems": problems,
        "passed": flat and not problems and not result["partial"],
    }
    print(
        f"{name}: {summary['requests']:,} requests in {summary['duration_s']:.0f} s ({summary['rps']:,.0f}/s), "
        f"{summary['errors']['total']:,} errors, {result['generator']['connections_opened']:,} connections, "
        f"p99 {figures['p99_ms']} ms"
    )
    minutes = ", ".join(f"{max(rss[start : start + 60]):.1f}" for start in range(0, len(rss), 60))
    print(
        f"  generator RSS: first minute {max(first):.1f} MiB, last minute {max(last):.1f} MiB "
        f"({growth:+.1f} MiB), slope {slope:+.2f} MiB/min; the most in each minute: {minutes} MiB"
    )
    kinds = {kind: count for kind, count in summary["errors"].items() if kind != "total" and count}
    if kinds:
        print(f"  errors by kind: {kinds}")
    print(f"  accounting: {'exact' if not problems else '; '.join(problems)}")
    print(f"  {'PASS' if figures['passed'] else 'FAIL'}: flat within {slack} MiB, nothing lost, not partial")
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=3.0, help="length of each run's window")
    parser.add_argument("--connections", type=int, default=10_000)
    parser.add_argument("--rss-slack", type=float, default=8.0, help="MiB the generator may grow")
    parser.add_argument("--json", type=Path, help="write the figures here")
    options = parser.parse_args()
    seconds = int(options.minutes * 60)
    hard = raise_file_limit()
    if hard < options.connections + 200:
        raise SystemExit(f"the hard limit on open files is {hard}: below {options.connections} connections")
    server_pin, generator_pin = cpus()
    server, url = granian(server_pin)
    runs = []
    try:
        held = load(
            generator_pin, url, "--vus", str(options.connections), "--think", "1s",
            "--warmup", f"{WARMUP}s", "--duration", f"{seconds}s", timeout=seconds + 300,
        )  # fmt: skip
        runs.append(judge(f"{options.connections:,} connections", held, options.rss_slack))
        capacity = load(generator_pin, url, "--vus", "64", "--duration", "10s", "--warmup", "2s", timeout=120)
        rate = highest_holding_rate(generator_pin, url, capacity["summary"]["rps"])
        steady = load(
            generator_pin, url, "--rate", str(rate), "--max-connections", str(OPEN_CONNECTIONS),
            "--warmup", f"{WARMUP}s", "--duration", f"{seconds}s", timeout=seconds + 300,
        )  # fmt: skip
        runs.append(judge(f"open model at {rate:,}/s", steady, options.rss_slack))
    finally:
        stop(server)
    if options.json is not None:
        options.json.write_text(json.dumps({"runs": runs}, indent=2) + "\n")
    return 0 if all(run["passed"] for run in runs) else 1


if __name__ == "__main__":
    raise SystemExit(main())
