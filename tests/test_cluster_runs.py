"""``load --cluster`` on real Dask clusters on this machine: exact shards, one merged result, lost workers.

Each test starts its own cluster (``local:N``, or a ``dask scheduler`` and
``dask worker`` processes for the lost-scheduler case) and a real uvicorn.
Nothing here decides on timing statistics: counts are exact by construction,
and the bounds on how fast a failed run ends are generous.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from asgibench.launch.server import free_port
from asgibench.load.config import Stage
from asgibench.load.schedule import ArrivalSchedule, local_count
from tests.loadkit import ROOT, asgibench, assert_accounts, read, start_asgibench, stop, uvicorn, wait_listening

pytest.importorskip("distributed")

RAMP = """
[load]
model = "open"
rate = 50
[[load.stages]]
duration = "1.5s"
target = 350
[[load.stages]]
duration = "1s"
target = 350
"""


def load_workers(parent: int) -> set[int]:
    """The load worker processes (python -m asgibench.load.worker) under ``parent``, by PID."""
    found = set()
    try:
        children = psutil.Process(parent).children(recursive=True)
    except psutil.Error:
        return found
    for child in children:
        try:
            if "asgibench.load.worker" in " ".join(child.cmdline()):
                found.add(child.pid)
        except psutil.Error:
            continue
    return found


def test_a_ramp_split_over_a_local_cluster_is_the_one_machine_schedule(tmp_path: Path) -> None:
    scenario = tmp_path / "ramp.toml"
    scenario.write_text(RAMP)
    with uvicorn() as (url, _):
        on_cluster = asgibench(
            "load", url, "--scenario", str(scenario), "--cluster", "local:2", "--json", str(tmp_path / "c.json")
        )
        assert on_cluster.returncode == 0, on_cluster.stdout + on_cluster.stderr
        local = asgibench(
            "load", url, "--scenario", str(scenario), "--workers", "2", "--json", str(tmp_path / "l.json")
        )
        assert local.returncode == 0, local.stdout + local.stderr
    cluster, machine = read(tmp_path / "c.json"), read(tmp_path / "l.json")
    for result in (cluster, machine):
        assert_accounts(result)  # every due request has one outcome, and the parts add up
    # The global schedule of the ramp: 50 -> 350 req/s over 1.5 s, then 350 for 1 s.
    total = ArrivalSchedule.build(rate=50, duration=0, stages=(Stage(1.5, 350), Stage(1.0, 350))).count_before(2.5)
    assert total == 650  # 300 over the ramp (its mean rate, 200, for 1.5 s), then 350
    shards = [local_count(total, shard, 2) for shard in range(2)]
    assert cluster["generator"]["scheduled"] == shards == machine["generator"]["scheduled"]
    assert cluster["summary"]["scheduled"] == total == cluster["summary"]["requests"]
    assert sum(cluster["generator"]["requests"]) == cluster["summary"]["requests"]
    assert sum(row["requests"] for row in cluster["timeline"]) == total
    block = cluster["generator"]["cluster"]
    assert block["address"] == "local:2" and block["scheduler"].startswith("tcp://127.0.0.1:")
    assert [shard["shard"] for shard in block["shards"]] == [0, 1]
    assert len({shard["address"] for shard in block["shards"]}) == 2  # a shard per Dask worker
    assert 0 <= block["start_skew_ms"] <= block["max_skew_ms"] == 25.0
    for shard in block["shards"]:
        assert abs(shard["clock_offset_ms"]) < 1000 and shard["clock_uncertainty_ms"] >= 0  # one machine, one clock
        assert shard["python"] and shard["asgibench"] and shard["hostname"]
    assert cluster["config"]["cluster"] == "local:2" and cluster["config"]["workers"] == 2
    late = cluster["generator"]["start_late_ms"]
    assert len(late) == 2 and all(value is not None and 0 <= value < 5000 for value in late)  # both began
    assert "cluster local:2" in on_cluster.stdout and "clocks agree to" in on_cluster.stdout


@pytest.mark.parametrize(
    ("victim", "reason"),
    [
        ("dask worker", "left the cluster"),  # the machine's Dask worker process, and the shard's link with it
        ("load worker", "exited unexpectedly"),  # the shard's own load process: its task returns without "done"
    ],
)
def test_a_shard_killed_mid_run_fails_the_run_and_keeps_what_was_measured(
    victim: str, reason: str, tmp_path: Path
) -> None:
    out = tmp_path / "r.json"
    with uvicorn() as (url, _):
        process = start_asgibench("load", url, "--cluster", "local:2", "--vus", "4", "-d", "60s", "--json", str(out))
        seen: set[int] = set()
        killed_at = None
        deadline = time.monotonic() + 90
        while process.poll() is None and time.monotonic() < deadline:
            seen |= load_workers(process.pid)
            if killed_at is None and len(seen) == 2 and not out.exists():
                time.sleep(2.0)  # into the run: both shards are loading
                process_to_kill = psutil.Process(min(seen))
                if victim == "dask worker":
                    host = process_to_kill.parent()  # the Dask worker hosting one shard
                    assert host is not None
                    process_to_kill = host
                process_to_kill.kill()
                killed_at = time.monotonic()
            time.sleep(0.05)
        stdout, stderr = process.communicate(timeout=30)
    assert killed_at is not None, stdout + stderr
    assert time.monotonic() - killed_at < 30  # well before the 60 s run would have ended
    assert process.returncode == 1, stdout + stderr
    assert len(seen) == 2  # no shard was started again on the worker Dask brought back
    assert not load_workers(process.pid)
    assert reason in stdout and "Traceback" not in stdout + stderr
    result = read(out)
    assert result["partial"] and reason in result["partial_reason"]
    assert any(reason in failure for failure in result["generator"]["worker_failures"])
    assert result["summary"]["requests"] > 0 and not result["passed"]
    assert_accounts(result)


def test_ctrl_c_at_the_terminal_stops_a_cluster_run_through_its_channels(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    with uvicorn() as (url, _):
        process = subprocess.Popen(
            [sys.executable, "-m", "asgibench", "load", url, "--cluster", "local:2", "-d", "60s", "--json", str(out)],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
            env=os.environ | {"COLUMNS": "120", "NO_COLOR": "1", "TERM": "dumb"},
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while len(load_workers(process.pid)) < 2 and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(4.0)  # into the window
        os.killpg(process.pid, signal.SIGINT)  # as a terminal sends it: to the Dask workers too
        stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stdout + stderr
    assert "Traceback" not in stdout + stderr
    result = read(out)
    assert result["partial_reason"] == "interrupted (Ctrl-C)"
    assert result["generator"]["worker_failures"] == []  # each shard stopped and reported, none died
    assert all(late is not None for late in result["generator"]["start_late_ms"])
    assert_accounts(result)


def test_the_scheduler_lost_mid_run_ends_it_with_a_partial_result(tmp_path: Path) -> None:
    port = free_port()
    dask = [sys.executable, "-m", "distributed.cli.dask_scheduler"]
    scheduler = subprocess.Popen(
        [*dask, "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    workers = []
    out = tmp_path / "r.json"
    try:
        wait_listening("127.0.0.1", port)
        for _ in range(2):
            workers.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "distributed.cli.dask_worker",
                        f"tcp://127.0.0.1:{port}",
                        "--nthreads",
                        "1",
                        "--no-dashboard",
                        "--host",
                        "127.0.0.1",
                    ],
                    cwd=ROOT,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    env=os.environ | {"PYTHONPATH": str(ROOT)},
                )  # fmt: skip
            )
        with uvicorn() as (url, _):
            process = start_asgibench(
                "load", url, "--cluster", f"127.0.0.1:{port}", "--workers", "2", "--vus", "4", "-d", "30s",
                "--json", str(out),
            )  # fmt: skip
            deadline = time.monotonic() + 60
            while len(load_workers_under(workers)) < 2 and process.poll() is None and time.monotonic() < deadline:
                time.sleep(0.1)
            time.sleep(5.0)  # past the barrier, the start margin and a few intervals
            scheduler.kill()
            lost_at = time.monotonic()
            stdout, stderr = process.communicate(timeout=60)
            ended_after = time.monotonic() - lost_at
    finally:
        for child in [scheduler, *workers]:
            stop(child)
    assert ended_after < 30, ended_after  # Dask's client gives up on the scheduler after 10 s at most
    assert process.returncode == 1, stdout + stderr
    assert "lost the Dask scheduler" in stdout and "Traceback" not in stdout + stderr
    result = read(out)
    assert result["partial"] and "lost the Dask scheduler" in result["partial_reason"]
    assert result["summary"]["requests"] > 0
    assert_accounts(result)
    # The window is what the shards' intervals cover, not the time the supervisor waited for them.
    assert result["summary"]["duration_s"] <= len(result["timeline"]) < 20


def dask_cluster(port: int, workers: int, *worker_options: str) -> list[subprocess.Popen[bytes]]:
    """A ``dask scheduler`` on ``port`` and ``workers`` single-threaded ``dask worker`` processes (scheduler first)."""
    scheduler = [sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", str(port)]
    processes = [subprocess.Popen([*scheduler, "--no-dashboard"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    wait_listening("127.0.0.1", port)
    worker = [sys.executable, "-m", "distributed.cli.dask_worker", f"tcp://127.0.0.1:{port}", "--nthreads", "1"]
    for _ in range(workers):
        processes.append(
            subprocess.Popen(
                [*worker, "--no-dashboard", "--host", "127.0.0.1", *worker_options],
                cwd=ROOT,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )  # fmt: skip
        )
    return processes


def test_a_worker_without_asgibench_is_named_with_what_to_install(tmp_path: Path) -> None:
    preload = tmp_path / "no_asgibench.py"  # run by the Dask worker as it starts: asgibench cannot be imported
    preload.write_text(
        "import sys\n"
        "class NoAsgibench:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] == 'asgibench':\n"
        "            raise ImportError('asgibench is not installed on this worker')\n"
        "sys.meta_path.insert(0, NoAsgibench())\n"
    )
    port = free_port()
    cluster = dask_cluster(port, 1, "--preload", str(preload))
    try:
        with uvicorn() as (url, _):
            run = asgibench("load", url, "-d", "1s", "--cluster", f"tcp://127.0.0.1:{port}", timeout=120)
    finally:
        for process in cluster:
            stop(process)
    assert run.returncode == 3, run.stdout + run.stderr
    # Dask's worker dies of a task it cannot load, so its reason stays in its own log; the run names the worker.
    assert "left the cluster before shard 0 started" in run.stdout + run.stderr
    assert "cannot import asgibench" in run.stdout + run.stderr
    assert "pip install" in run.stdout + run.stderr and "Traceback" not in run.stderr


def load_workers_under(parents: list[subprocess.Popen[bytes]]) -> set[int]:
    return set().union(*(load_workers(parent.pid) for parent in parents))


@pytest.mark.parametrize(
    ("arguments", "code", "fragment"),
    [
        (["--cluster", "http://nowhere:1"], 2, "--cluster 'http://nowhere:1'"),
        (["--max-skew", "5ms"], 2, "--max-skew"),
        (["--cluster", "local:2", "--max-skew", "0"], 2, "--max-skew 0 ms"),
    ],
)
def test_cluster_usage_is_checked(arguments: list[str], code: int, fragment: str) -> None:
    with uvicorn() as (url, _):
        run = asgibench("load", url, "-d", "1s", *arguments)
    assert run.returncode == code, run.stdout + run.stderr
    assert fragment in run.stdout + run.stderr and "Traceback" not in run.stderr


def test_without_dask_the_cluster_flag_says_what_to_install() -> None:
    code = "import sys; sys.modules['distributed'] = None; from asgibench.cli import main; main()"
    run = subprocess.run(
        [sys.executable, "-c", code, "load", "http://127.0.0.1:9/", "--cluster", "local:2"],
        capture_output=True, text=True, timeout=60, cwd=ROOT, stdin=subprocess.DEVNULL,
        env=os.environ | {"COLUMNS": "120", "NO_COLOR": "1"},
    )  # fmt: skip
    assert run.returncode == 2, run.stdout + run.stderr
    assert "asgibench[cluster]" in run.stdout + run.stderr and "Traceback" not in run.stderr


def test_an_unreachable_scheduler_is_exit_3() -> None:
    with uvicorn() as (url, _):
        run = asgibench("load", url, "-d", "1s", "--cluster", f"tcp://127.0.0.1:{free_port()}")
    assert run.returncode == 3, run.stdout + run.stderr
    assert "cannot reach the Dask scheduler" in run.stdout + run.stderr
