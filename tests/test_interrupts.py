"""SIGTERM and SIGHUP handled like Ctrl-C: servers stopped, temporary files removed, what was measured kept.

The unit tests send signals to this very process, always inside a context that
turns them into exceptions. The end-to-end tests run the CLI as a user would,
signal it mid-run, and check that no process of the launched server's tree
outlives it, that nothing is left in its temporary directory (a private
TMPDIR, so other tests' files do not count) and what it kept.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pickle
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest

from asgibench.interrupts import (
    Interrupted,
    describe,
    exit_code_for,
    held,
    loop_signals,
    signal_in,
    signals_as_interrupts,
)
from asgibench.launch.server import launched
from asgibench.servers import get_plugin
from tests.loadkit import ROOT, misbehaving, read
from tests.test_launch import STUBBORN

APP = "reference_apps.raw_app:app"
EXIT_WITHIN = 15.0  # seconds from the signal to the exit: the servers' stop grace (5 s) and a margin
SIGNALS = [pytest.param(signal.SIGTERM, id="SIGTERM"), pytest.param(signal.SIGHUP, id="SIGHUP")]


# --- asgibench.interrupts on its own -------------------------------------------------------------------------------


def test_exit_codes_and_reasons_name_the_signal() -> None:
    assert exit_code_for(Interrupted(signal.SIGTERM)) == 143
    assert exit_code_for(Interrupted(signal.SIGHUP)) == 129
    assert exit_code_for(KeyboardInterrupt()) == 130
    assert exit_code_for(signal.SIGTERM) == 143
    assert describe(Interrupted(signal.SIGTERM)) == "interrupted (SIGTERM)"
    assert describe(KeyboardInterrupt()) == "interrupted (Ctrl-C)"
    assert signal_in("interrupted (SIGHUP)") == signal.SIGHUP
    assert signal_in("interrupted (Ctrl-C)") == signal.SIGINT
    assert signal_in("worker 1 exited unexpectedly") is None and signal_in(None) is None
    interrupted = Interrupted(signal.SIGTERM)
    assert interrupted.name == str(interrupted) == "SIGTERM"
    with pytest.raises(KeyboardInterrupt):  # so every handler of Ctrl-C handles it
        raise interrupted
    assert pickle.loads(pickle.dumps(interrupted)).signum == signal.SIGTERM


@pytest.mark.parametrize("signum", SIGNALS)
def test_signals_raise_interrupted_once_and_the_handlers_come_back(signum: signal.Signals) -> None:
    before = signal.getsignal(signum)
    with signals_as_interrupts():
        with pytest.raises(Interrupted) as raised:
            signal.raise_signal(signum)
        assert raised.value.signum == signum
        signal.raise_signal(signum)  # a repeat while the first is handled: ignored
        signal.raise_signal(signal.SIGTERM if signum == signal.SIGHUP else signal.SIGHUP)
    assert signal.getsignal(signum) is before


def test_held_signals_wait_for_the_end_of_the_block() -> None:
    finished = []
    before = signal.getsignal(signal.SIGINT)
    with signals_as_interrupts():
        with pytest.raises(Interrupted) as raised:
            with held():
                signal.raise_signal(signal.SIGTERM)
                signal.raise_signal(signal.SIGINT)  # a second one is dropped, not raised as well
                finished.append(True)
        assert finished == [True] and raised.value.signum == signal.SIGTERM
        with pytest.raises(KeyboardInterrupt) as ctrl_c:
            with held():
                signal.raise_signal(signal.SIGINT)
                finished.append(True)
        assert len(finished) == 2 and not isinstance(ctrl_c.value, Interrupted)
    assert signal.getsignal(signal.SIGINT) is before


def test_loop_signals_stop_the_run_and_put_the_handlers_back() -> None:
    reasons: list[str] = []

    async def run() -> None:
        loop = asyncio.get_running_loop()
        with loop_signals(loop, reasons.append):
            signal.raise_signal(signal.SIGTERM)
            await asyncio.sleep(0.1)
            signal.raise_signal(signal.SIGINT)
            await asyncio.sleep(0.1)

    with signals_as_interrupts():
        ours = signal.getsignal(signal.SIGTERM)
        asyncio.run(run())
        assert signal.getsignal(signal.SIGTERM) is ours  # not SIG_DFL, as asyncio would leave it
        signal.raise_signal(signal.SIGTERM)  # after the loop's stop: a repeat, ignored
    assert reasons == ["interrupted (SIGTERM)", "interrupted (Ctrl-C)"]


def test_outside_the_main_thread_nothing_is_installed() -> None:
    errors: list[BaseException] = []

    def work() -> None:
        try:
            with signals_as_interrupts(), held():
                pass
        except BaseException as error:  # noqa: BLE001  (reported to the main thread)
            errors.append(error)

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    assert errors == []


# --- the launcher: a signal at any moment still stops the server ------------------------------------------------------


def _alive(processes: list[psutil.Process]) -> list[psutil.Process]:
    def running(process: psutil.Process) -> bool:
        try:
            return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
        except psutil.Error:
            return False

    return [process for process in processes if running(process)]


@pytest.fixture
def servers_seen() -> Iterator[list[psutil.Process]]:
    """The server processes a test saw; any still running at its end is killed, so a failure leaves none behind."""
    seen: list[psutil.Process] = []
    yield seen
    for process in _alive(seen):
        with contextlib.suppress(psutil.Error):
            process.kill()


@pytest.fixture
def private_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """TMPDIR for this test alone: the launcher's temporary log directories land there, and only there."""
    import tempfile

    directory = tmp_path / "tmp"
    directory.mkdir()
    monkeypatch.setenv("TMPDIR", str(directory))
    monkeypatch.setattr(tempfile, "tempdir", None)  # re-read TMPDIR
    yield directory
    tempfile.tempdir = None


def test_a_signal_while_the_server_starts_stops_it_and_removes_its_log_directory(
    private_tmp: Path, monkeypatch: pytest.MonkeyPatch, servers_seen: list[psutil.Process]
) -> None:
    monkeypatch.setenv("SLUGGISH_IMPORT_S", "60")  # gunicorn's workers are still importing the app when it comes
    tree, done = servers_seen, threading.Event()
    signaller = threading.Thread(target=_signal_once_started, args=(tree, "gunicorn", 3, done), daemon=True)
    try:
        with signals_as_interrupts(), pytest.raises(Interrupted):
            signaller.start()
            with launched(get_plugin("gunicorn"), "tests.apps.sluggish:app", workers=2, start_timeout=60):
                pass
    finally:
        done.set()  # no SIGTERM once the handler is gone: it would end pytest
        signaller.join()
    assert len(tree) == 3, "the master and its two workers were seen"
    assert _alive(tree) == []
    assert list(private_tmp.glob("asgibench-*")) == []


def _signal_once_started(tree: list[psutil.Process], name: str, processes: int, done: threading.Event) -> None:
    """SIGTERM to this process once ``processes`` of the server's are running (added to ``tree``), unless ``done``."""
    while not done.wait(0.05):
        found = []
        for child in psutil.Process().children(recursive=True):
            with contextlib.suppress(psutil.Error):
                if name in " ".join(child.cmdline()):
                    found.append(child)
        if len(found) >= processes:
            tree.extend(found)
            os.kill(os.getpid(), signal.SIGTERM)
            return


def test_a_signal_while_the_server_stops_waits_for_the_stop_to_finish(private_tmp: Path) -> None:
    timer = threading.Timer(1.0, os.kill, (os.getpid(), signal.SIGTERM))  # while the launcher waits out the grace
    try:
        with signals_as_interrupts(), pytest.raises(Interrupted) as raised:
            with launched(STUBBORN, "unused:app") as server:  # ignores SIGTERM: killed after the grace time
                master = psutil.Process(server.process.pid)
                log_directory = server.log_path.parent
                timer.start()
    finally:
        timer.cancel()  # no SIGTERM once the handler is gone: it would end pytest
        timer.join()
    assert raised.value.signum == signal.SIGTERM  # raised once the stop was done
    assert _alive([master]) == [] and server.stopped
    assert not log_directory.exists() and list(private_tmp.glob("asgibench-*")) == []


# --- the CLI, signalled mid-run --------------------------------------------------------------------------------------


Starter = Callable[..., subprocess.Popen[str]]


@pytest.fixture
def start_cli(servers_seen: list[psutil.Process]) -> Iterator[Starter]:
    """Starts ``asgibench ARGS...`` with its own TMPDIR; one still running at the end is killed, its tree too."""
    started: list[subprocess.Popen[str]] = []

    def start(*args: str, tmp: Path, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
        plain = {"COLUMNS": "120", "NO_COLOR": "1", "TERM": "dumb"}
        environment = (env or dict(os.environ)) | plain | {"TMPDIR": str(tmp)}
        process = subprocess.Popen(
            [sys.executable, "-m", "asgibench", *args],
            cwd=ROOT,
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            with contextlib.suppress(psutil.Error):
                servers_seen.extend(psutil.Process(process.pid).children(recursive=True))  # killed by servers_seen
            process.kill()
        process.communicate()


def _server_under_load(process: subprocess.Popen[str], name: str, connections: int = 4) -> list[psutil.Process]:
    """The launched server's process tree once the load's connections are open on it (the run is going)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        for child in psutil.Process(process.pid).children(recursive=True):
            try:
                if name not in " ".join(child.cmdline()):
                    continue
                tree = [child, *child.children(recursive=True)]
                established = sum(
                    1
                    for member in tree
                    for connection in member.net_connections(kind="tcp")
                    if connection.status == psutil.CONN_ESTABLISHED
                )
            except psutil.Error:
                continue
            if established >= connections:
                return tree
        time.sleep(0.1)
    raise AssertionError(f"{name} was not under load within 60 s")


def _signal_and_wait(process: subprocess.Popen[str], signum: int) -> tuple[int, str]:
    process.send_signal(signum)
    try:
        out, err = process.communicate(timeout=EXIT_WITHIN)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
        raise AssertionError(f"still running {EXIT_WITHIN} s after the signal:\n{out}{err}") from None
    return process.returncode, out + err


@pytest.mark.parametrize("signum", SIGNALS)
def test_load_with_a_launched_server_signalled_stops_it_and_keeps_the_partial_result(
    tmp_path: Path, signum: signal.Signals, servers_seen: list[psutil.Process], start_cli: Starter
) -> None:
    out, tmp = tmp_path / "run.json", tmp_path / "tmp"
    tmp.mkdir()
    process = start_cli("load", APP, "--server", "uvicorn", "--vus", "4", "-d", "30s", "--json", str(out), tmp=tmp)
    tree = _server_under_load(process, "uvicorn")
    servers_seen.extend(tree)
    time.sleep(1.0)  # some requests measured
    code, output = _signal_and_wait(process, signum)
    assert code == 128 + signum, output
    assert _alive(tree) == [], output
    assert list(tmp.glob("asgibench-*")) == []
    result = read(out)
    assert result["partial"] is True and signum.name in result["partial_reason"]


@pytest.mark.parametrize("signum", SIGNALS)
def test_compare_signalled_mid_run_stops_the_server_and_keeps_the_runs(
    tmp_path: Path, signum: signal.Signals, servers_seen: list[psutil.Process], start_cli: Starter
) -> None:
    out, tmp = tmp_path / "cmp", tmp_path / "tmp"
    tmp.mkdir()
    process = start_cli("compare", APP, "--servers", "uvicorn,hypercorn", "--vus", "4", "-d", "20s",
                         "--warmup", "0.5s", "--repeat", "2", "--out", str(out), tmp=tmp)  # fmt: skip
    tree = _server_under_load(process, "uvicorn")
    servers_seen.extend(tree)
    time.sleep(1.5)  # past the warm-up: requests measured
    code, output = _signal_and_wait(process, signum)
    assert code == 128 + signum, output
    assert _alive(tree) == [], output
    assert list(tmp.glob("asgibench-*")) == []
    comparison = read(out / "comparison.json")
    assert comparison["partial"] is True and signum.name in comparison["partial_reason"]
    assert comparison["servers"][0]["runs"] == ["uvicorn-1.json"]
    interrupted = read(out / "uvicorn-1.json")  # the run cut short, kept
    assert interrupted["partial"] is True and interrupted["partial_reason"] == f"interrupted ({signum.name})"
    assert interrupted["summary"]["requests"] > 0
    assert "Comparison" in output and f"interrupted ({signum.name})" in output


def test_compare_signalled_while_a_server_starts_leaves_nothing_behind(
    tmp_path: Path, servers_seen: list[psutil.Process], start_cli: Starter
) -> None:
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env = {**os.environ, "SLUGGISH_IMPORT_S": "60"}
    process = start_cli("compare", "tests.apps.sluggish:app", "--servers", "gunicorn", "--server-workers", "2",
                         "--vus", "2", "-d", "2s", "--repeat", "1", tmp=tmp, env=env)  # fmt: skip
    deadline, tree = time.monotonic() + 30, list[psutil.Process]()
    while len(tree) < 3 and time.monotonic() < deadline:  # the master and its two workers, importing the app
        tree = [child for child in psutil.Process(process.pid).children(recursive=True)
                if "gunicorn" in " ".join(child.cmdline())]  # fmt: skip
        time.sleep(0.1)
    servers_seen.extend(tree)
    assert len(tree) == 3
    code, output = _signal_and_wait(process, signal.SIGTERM)
    assert code == 143, output
    assert _alive(tree) == [], output
    assert list(tmp.glob("asgibench-*")) == []  # the log directory of a start that was interrupted, not failed


def test_compare_marks_a_server_that_dies_mid_run_failed_and_goes_on(tmp_path: Path, start_cli: Starter) -> None:
    env = {**os.environ, "MORTAL_REQUESTS": "150", "FRAGILE_UNDER": "uvicorn"}
    process = start_cli("compare", "tests.apps.fragile:app", "--servers", "uvicorn,hypercorn", "--rate", "200",
                         "-d", "2s", "--warmup", "0s", "--repeat", "2", "--out", str(tmp_path),
                         tmp=tmp_path, env=env)  # fmt: skip
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 3, stdout + stderr
    comparison = read(tmp_path / "comparison.json")
    assert comparison["partial"] is False
    uvicorn, hypercorn = comparison["servers"]
    assert uvicorn["status"] == "failed" and uvicorn["error"].startswith("uvicorn exited with code 3 during run 1")
    assert any("dying after 150 requests" in line for line in uvicorn["log_tail"])
    assert uvicorn["runs"] == ["uvicorn-1.json"] and uvicorn["stats"] is None  # kept, but not in its figures
    died = read(tmp_path / "uvicorn-1.json")
    assert died["partial"] is True and died["partial_reason"] == uvicorn["error"]
    assert died["server"]["exit_code"] == 3
    assert hypercorn["status"] == "ok" and hypercorn["error"] is None
    assert hypercorn["runs"] == ["hypercorn-1.json", "hypercorn-2.json"] and hypercorn["stats"]["runs"] == 2
    assert hypercorn["stats"]["requests"] > 0
    assert all(read(tmp_path / name)["partial"] is False for name in hypercorn["runs"])
    assert "uvicorn failed" in stdout and "exited with code 3 during run 1" in stdout


def test_a_signal_ignored_at_start_stays_ignored(tmp_path: Path) -> None:
    """nohup ignores SIGHUP so that closing the terminal does not stop the job: asgibench keeps that promise."""
    out = tmp_path / "result.json"
    with misbehaving("ok") as url:
        process = subprocess.Popen(
            ["nohup", sys.executable, "-m", "asgibench", "load", url, "--vus", "2", "-d", "3s", "-q",
             "--json", str(out)],
            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        time.sleep(1.5)
        process.send_signal(signal.SIGHUP)
        stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 0, stdout + stderr
    result = read(out)
    assert not result["partial"] and result["summary"]["duration_s"] == 3.0
