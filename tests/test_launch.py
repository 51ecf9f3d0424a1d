"""The server launcher: real servers started, pinned, sampled and stopped; failures reported with their logs."""

from __future__ import annotations

import os
import time
import urllib.request
from pathlib import Path

import psutil
import pytest

from asgibench.apploader import looks_like_app
from asgibench.launch.cpus import plan_cpus
from asgibench.launch.server import ServerStartError, launched
from asgibench.launch.usage import UsageSample, cpu_at, summarise
from asgibench.servers import get_plugin
from asgibench.servers.base import ServerPlugin
from tests.loadkit import asgibench, assert_accounts, read

TWO_CPUS = len(os.sched_getaffinity(0)) >= 2


class Stubborn(ServerPlugin):
    def arguments(self, app: str, *, host: str, port: int, workers: int) -> list[str]:
        return ["tests.servers.stubborn", str(port)]


STUBBORN = Stubborn("stubborn", "pytest", "tests.servers.stubborn", "asgi", "ignores SIGTERM")


def test_cpu_plan_gives_the_server_one_cpu_per_worker_and_keeps_one_for_the_generator() -> None:
    assert plan_cpus([0, 1], 1).as_dict() == {"server": [0], "generator": [1]}
    assert plan_cpus([0, 1], 4).as_dict() == {"server": [0], "generator": [1]}
    assert plan_cpus([3, 1, 2, 0], 2).as_dict() == {"server": [0, 1], "generator": [2, 3]}
    assert not plan_cpus([0], 1).pinned and "not pinned" in plan_cpus([0], 1).describe()


def test_usage_interpolates_cpu_at_the_window_edges() -> None:
    samples = [
        UsageSample(10.0 + i * 0.5, cpu_seconds=i * 0.25, rss_bytes=(40 + i) * 2**20, processes=2) for i in range(9)
    ]  # fmt: skip  (half a core busy, 10.0 to 14.0)
    assert cpu_at(samples, 10.25) == pytest.approx(0.125)
    usage = summarise(samples, 11.0, 13.0)
    assert usage["cpu_seconds"] == pytest.approx(1.0)
    assert usage["cpu_fraction"] == pytest.approx(0.5)
    assert usage["peak_rss_mib"] == 46.0  # the largest sample inside the window, not after it
    assert [row["cpu"] for row in usage["timeline"]] == [0.5, 0.5]


def test_app_specs_are_told_from_addresses() -> None:
    assert looks_like_app("main:app") and looks_like_app("pkg.mod:make_app()")
    assert not looks_like_app("localhost:8000") and not looks_like_app("http://127.0.0.1:8000/")


@pytest.mark.skipif(not TWO_CPUS, reason="needs two CPUs to pin")
def test_gunicorn_is_pinned_sampled_as_a_tree_and_stopped_with_its_workers(tmp_path: Path) -> None:
    plan = plan_cpus(sorted(os.sched_getaffinity(0)), 1)
    with launched(get_plugin("gunicorn"), "reference_apps.raw_app:app", workers=2, cpus=plan.server,
                  log_path=tmp_path / "server.log") as server:  # fmt: skip
        with urllib.request.urlopen(f"{server.url}/", timeout=5) as answer:
            assert answer.read() == b"hello, world"
        time.sleep(0.6)
        tree = [psutil.Process(server.process.pid), *psutil.Process(server.process.pid).children(recursive=True)]
        assert len(tree) == 3  # the master and two workers
        assert all(set(os.sched_getaffinity(process.pid)) == set(plan.server) for process in tree)
        assert server.sampler.samples[-1].processes == 3
        assert server.sampler.samples[-1].rss_bytes > 30 * 2**20
    assert not any(process.is_running() and process.status() != psutil.STATUS_ZOMBIE for process in tree)


def test_a_server_that_ignores_sigterm_is_killed_after_the_grace_time(tmp_path: Path) -> None:
    with launched(STUBBORN, "unused:app", log_path=tmp_path / "log") as server:
        pid = server.process.pid
        began = time.monotonic()
    assert time.monotonic() - began >= 4.5  # SIGTERM was ignored for the whole grace time
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE


def test_a_server_that_cannot_import_the_app_fails_with_its_own_log_lines(tmp_path: Path) -> None:
    with pytest.raises(ServerStartError, match="uvicorn exited with code") as raised:
        with launched(get_plugin("uvicorn"), "no_such_module_here:app", log_path=tmp_path / "log"):
            pass
    assert raised.value.exit_code == 3
    assert any("no_such_module_here" in line for line in raised.value.log_tail)


def test_a_server_that_is_not_installed_is_exit_3_with_the_install_hint() -> None:
    missing = Stubborn("ghost", "ghost-server", "ghost_server_module", "asgi", "not installed")
    with pytest.raises(ServerStartError, match="ghost is not installed") as raised:
        with launched(missing, "main:app"):
            pass
    assert raised.value.hint == "pip install ghost-server"


def test_load_launches_the_app_and_records_the_servers_usage(tmp_path: Path) -> None:
    out = tmp_path / "run.json"
    done = asgibench("load", "reference_apps.raw_app:app", "--server", "uvicorn", "--rate", "300", "-d", "2s",
                     "--warmup", "1s", "--json", str(out), "--server-log", str(tmp_path / "uvicorn.log"))  # fmt: skip
    assert done.returncode == 0, done.stderr
    result = read(out)
    assert result["summary"]["requests"] == 600 and result["summary"]["errors"]["total"] == 0
    assert result["environment"]["server"]["name"] == "uvicorn" and result["environment"]["server"]["version"]
    server = result["server"]
    assert server["app"] == "reference_apps.raw_app:app" and server["exit_code"] is None
    assert 0 < server["cpu_seconds"] < 2.0 and server["peak_rss_mib"] > 10
    assert len(server["timeline"]) == 2
    if TWO_CPUS:
        assert server["cpus"] == [0]
    assert "server: uvicorn" in done.stdout
    assert (tmp_path / "uvicorn.log").exists()


def test_a_server_that_dies_mid_run_is_reported_with_its_log(tmp_path: Path) -> None:
    out = tmp_path / "run.json"
    env = {**os.environ, "MORTAL_REQUESTS": "300"}
    done = asgibench("load", "tests.apps.mortal:app", "--server", "uvicorn", "--rate", "200", "-d", "3s",
                     "--json", str(out), env=env)  # fmt: skip
    # The run completes and keeps its figures, but they do not measure the server: exit 3.
    assert done.returncode == 3, done.stdout + done.stderr
    result = read(out)
    assert_accounts(result)
    assert result["summary"]["errors"]["refused"] > 0
    assert result["server"]["exit_code"] == 3
    assert any("dying after 300 requests" in line for line in result["server"]["log_tail"])
    assert "the server exited during the run" in done.stdout


def test_load_of_an_app_without_server_or_of_an_unknown_server_is_exit_2() -> None:
    done = asgibench("load", "main:app", "-d", "1s")
    assert done.returncode == 2 and "add --server uvicorn" in done.stderr
    done = asgibench("load", "reference_apps.raw_app:app", "--server", "nginx", "-d", "1s")
    assert done.returncode == 2 and "Unknown server 'nginx'" in done.stderr


def test_load_of_an_app_that_does_not_import_is_exit_3_with_the_servers_log(tmp_path: Path) -> None:
    # The log of a server that failed to start is kept where the message points: here, not in /tmp.
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    done = asgibench("load", "no_such_module_here:app", "--server", "hypercorn", "-d", "1s", env=env)
    assert done.returncode == 3
    assert "hypercorn exited with code" in done.stderr and "no_such_module_here" in done.stderr
    [kept] = tmp_path.glob("asgibench-*/server.log")
    assert str(kept) in " ".join(done.stderr.split())
