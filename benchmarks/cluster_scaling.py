"""Does a local Dask cluster of N workers measure what ``--workers N`` measures on the same machine?

The same open-model load (a fixed rate, so the schedule is the same) is run
``--repeat`` times each way, alternating: ``--cluster local:N`` and
``--workers N``, against granian on loopback. For each way it prints the
medians (with min–max) of the outcomes, the throughput and the latency
percentiles, and for each figure the change from ``--workers`` to the cluster
with its noise interval (``asgibench.results.noise``, the rule ``gate`` and
``compare`` use). Totals must be equal: both ways run one global schedule.
The distributions must agree within noise.

    python benchmarks/cluster_scaling.py [--rate 4000] [--duration 10] [--repeat 3] [--workers 2] [--json out.json]

Exit 0 when every run accounted for its whole schedule, the totals are equal and no latency figure
differs beyond noise; 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path
from typing import Any

from load_scale import stop
from soak import accounting_problems, granian, load

from asgibench.results.noise import compare

FIGURES = ("p50", "p90", "p99", "p999")


def figures(result: dict[str, Any]) -> dict[str, float]:
    summary = result["summary"]
    latency = summary["latency_ms"]
    return {"requests": summary["requests"], "rps": summary["rps"]} | {name: latency[name] for name in FIGURES}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=int, default=4000)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--json", type=Path)
    options = parser.parse_args()
    ways = {
        "--workers": ["--workers", str(options.workers)],
        "--cluster": ["--cluster", f"local:{options.workers}"],
    }
    flags = ["--rate", str(options.rate), "--duration", f"{options.duration}s", "--warmup", "2s"]
    runs: dict[str, list[dict[str, float]]] = {way: [] for way in ways}
    problems: list[str] = []
    server, url = granian([])
    try:
        for repeat in range(options.repeat):
            for way, extra in ways.items():
                result = load([], url, *flags, *extra, timeout=options.duration + 180)
                problems += [f"{way} run {repeat + 1}: {problem}" for problem in accounting_problems(result)]
                if result["partial"] or result["summary"]["scheduled"] is None:
                    problems.append(f"{way} run {repeat + 1}: partial or without a schedule")
                runs[way].append(figures(result))
                print(f"{way} run {repeat + 1}: " + ", ".join(f"{k} {v:,.3f}" for k, v in runs[way][-1].items()))
    finally:
        stop(server)
    totals = {way: {run["requests"] for run in values} for way, values in runs.items()}
    if len(totals["--workers"] | totals["--cluster"]) != 1:
        problems.append(f"totals differ: {totals}")
    print(f"\n{'figure':<10}{'--workers N (median, min–max)':>34}{'--cluster local:N':>34}{'change':>10}  noise")
    rows = []
    for name in ("requests", "rps", *FIGURES):
        local = [run[name] for run in runs["--workers"]]
        cluster = [run[name] for run in runs["--cluster"]]
        difference = compare(local, cluster, "relative")
        interval = difference.interval
        noise = "n/a" if interval is None else f"[{interval.low:+.1%}, {interval.high:+.1%}]"
        verdict = "beyond noise" if difference.beyond_noise else "within noise"
        rows.append(
            {"figure": name, "workers": local, "cluster": cluster, "change": difference.change, "verdict": verdict}
        )
        if name in FIGURES and difference.beyond_noise:
            problems.append(f"{name} differs beyond noise: {difference.change:+.1%} {noise}")

        def spread(values: list[float]) -> str:
            return f"{statistics.median(values):,.3f} ({min(values):,.3f}–{max(values):,.3f})"

        print(f"{name:<10}{spread(local):>34}{spread(cluster):>34}{difference.change:>+10.1%}  {noise} {verdict}")
    for problem in problems:
        print(f"FAIL: {problem}")
    if options.json is not None:
        options.json.write_text(json.dumps({"rows": rows, "problems": problems}, indent=2) + "\n")
    print("PASS" if not problems else "FAIL")
    return 0 if not problems else 1


if __name__ == "__main__":
    raise SystemExit(main())
