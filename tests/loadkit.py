"""Real servers on loopback and the asgibench CLI in a subprocess, for the load tests."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from asgibench.launch.server import free_port as free_port  # the tests pick ports as the launcher does

ROOT = Path(__file__).parent.parent


def wait_listening(host: str, port: int, deadline: float = 15.0) -> None:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        try:
            socket.create_connection((host, port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on {host}:{port} after {deadline} s")


def stop(process: subprocess.Popen[Any]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def misbehaving(mode: str, *args: str) -> Iterator[str]:
    """tests/servers/misbehaving.py in ``mode`` (``args`` after it, e.g. ``--ca-file``); yields its URL."""
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.servers.misbehaving", mode, *args], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("PORT "), f"server said {line!r}"
        scheme = "https" if mode == "tls" else "http"
        yield f"{scheme}://127.0.0.1:{int(line.split()[1])}/"
    finally:
        stop(process)
        if process.stdout is not None:
            process.stdout.close()


@contextmanager
def uvicorn(app: str = "reference_apps.raw_app:app", *, uds: Path | None = None) -> Iterator[tuple[str, Any]]:
    """A real uvicorn (httptools, uvloop) serving ``app``; yields its URL and the process."""
    port = free_port()
    where = ["--uds", str(uds)] if uds else ["--port", str(port)]
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", app, *where, "--log-level", "warning", "--no-access-log"],
        cwd=ROOT,
    )
    try:
        if uds:
            end = time.monotonic() + 15
            while not uds.exists() and time.monotonic() < end:
                time.sleep(0.05)
            yield f"unix:{uds}", process
        else:
            wait_listening("127.0.0.1", port)
            yield f"http://127.0.0.1:{port}/", process
    finally:
        stop(process)


def asgibench(
    *args: str, cwd: Path | None = None, timeout: float = 90, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "asgibench", *args],
        cwd=cwd or ROOT,
        env=(env or dict(os.environ)) | {"COLUMNS": "120", "NO_COLOR": "1", "TERM": "dumb"},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def start_asgibench(*args: str) -> subprocess.Popen[str]:
    env = os.environ | {"COLUMNS": "120", "NO_COLOR": "1", "TERM": "dumb"}
    return subprocess.Popen(
        [sys.executable, "-m", "asgibench", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def interrupt(process: subprocess.Popen[str], after: float) -> tuple[int, str]:
    """Ctrl-C as a terminal sends it (SIGINT), ``after`` seconds in; returns the exit code and output."""
    time.sleep(after)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=30)
    return process.returncode, out + err


def read(path: Path) -> dict[str, Any]:
    return dict(json.loads(path.read_text()))


def assert_accounts(result: dict[str, Any]) -> None:
    """The accounting rule of docs/result-file.md, on a result file: every request has exactly one outcome.

    The file must also pass the reader's own checks, and the per-name table,
    the statuses, the timeline and the histograms must add up to the totals.
    """
    from hdrh.histogram import HdrHistogram

    from asgibench.results.schema import result_from

    result_from(result, Path("result.json"))
    summary, errors = result["summary"], result["summary"]["errors"]
    assert errors["total"] == sum(count for kind, count in errors.items() if kind != "total"), errors
    assert summary["requests"] == summary["ok"] + errors["total"], summary
    assert errors["unsent"] == sum(summary["unsent"].values()), summary["unsent"]
    assert summary["responses"] == sum(summary["statuses"].values()), summary["statuses"]
    assert summary["ok"] <= summary["responses"]
    if result["config"]["model"] == "open":
        assert summary["scheduled"] == summary["requests"], (summary["scheduled"], summary["requests"])
    names = result["requests"]
    assert len(names) == len(result["config"]["requests"])
    for key in ("requests", "responses", "ok"):
        assert sum(row[key] for row in names) == summary[key], key
    for kind in errors:
        assert sum(row["errors"][kind] for row in names) == errors[kind], kind
    timeline = result["timeline"]
    assert sum(row["requests"] for row in timeline) == summary["requests"], [row["requests"] for row in timeline]
    assert sum(row["responses"] for row in timeline) == summary["responses"]
    histograms = result["histograms"]
    total = HdrHistogram.decode(histograms["latency"]).total_count if histograms["latency"] else 0
    assert total == summary["responses"], (total, summary["responses"])
    for row, encoded in zip(names, histograms["requests"], strict=True):
        count = HdrHistogram.decode(encoded["latency"]).total_count if encoded["latency"] else 0
        assert count == row["responses"], (row["name"], count, row["responses"])
    by_status = {row["status"]: row["responses"] for row in result["by_status"]}
    assert by_status == summary["statuses"], (by_status, summary["statuses"])
    for row, encoded in zip(result["by_status"], histograms["by_status"], strict=True):
        assert row["status"] == encoded["status"]
        assert HdrHistogram.decode(encoded["latency"]).total_count == row["responses"]
