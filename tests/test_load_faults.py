"""The fault matrix: ``asgibench load`` against small misbehaving servers, in both load models.

Each case is one way a target can fail (tests/servers/misbehaving.py). For
every case and model the run must: exit with the right code; end within its
duration + drain + 2 s; write a result file the reader accepts; count every
request of the window as exactly one outcome (tests.loadkit.assert_accounts);
and put those outcomes in the right kinds, nothing else. Only invariants are
asserted: counts by kind, never how many requests a busy machine managed.
"""

from __future__ import annotations

import datetime
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.loadkit import ROOT, asgibench, assert_accounts, misbehaving, read

DURATION = 1.0
TIMEOUT = 0.5  # also the drain: requests still in flight at the window's end get this long
MODELS = {"closed": ("--vus", "2"), "open": ("--rate", "40")}


@dataclass(frozen=True)
class Fault:
    mode: str  # tests/servers/misbehaving.py's mode
    kinds: frozenset[str]  # error kinds the run must show (each > 0), and no others
    flags: tuple[str, ...] = ()
    exit_code: int = 1  # 1: nothing succeeded
    also: frozenset[str] = field(default_factory=frozenset)  # kinds that may show too (per the note)
    note: str = ""

    @property
    def succeeds(self) -> bool:
        return not self.kinds


OK = frozenset[str]()
FAULTS = [
    Fault("ok", OK, exit_code=0),
    Fault("interim", OK, exit_code=0, note="100 and 103 before each 200: skipped, counted, never the response"),
    Fault("expect", OK, ("-X", "POST", "--body", "hello", "-H", "Expect: 100-continue"), exit_code=0),
    Fault("close10", OK, exit_code=0, note="HTTP/1.0, body delimited by the close"),
    Fault("close11", OK, exit_code=0, note="Connection: close, no Content-Length"),
    Fault("close-after:3", OK, exit_code=0, note="the server closes every third keep-alive connection"),
    Fault("head", OK, ("-X", "HEAD"), exit_code=0, note="a HEAD answer announces a body that never comes"),
    Fault("trickle", OK, ("--timeout", "3s"), exit_code=0, note="each response one byte per 20 ms"),
    Fault("status:422", OK, ("--expect-status", "422"), exit_code=0),
    Fault("status:401", frozenset({"status"})),
    Fault("upgrade", frozenset({"protocol"}), note="a 101 to a plain GET"),
    Fault("upgrade-bare", frozenset({"protocol"})),
    Fault("truncated", frozenset({"truncated"}), note="10 of 100 announced bytes, then a close"),
    Fault("truncated-head", frozenset({"truncated"})),
    Fault("reset", frozenset({"reset"})),
    Fault("garbage", frozenset({"protocol"})),
    Fault("stall", frozenset({"timeout"})),
    # Open model: requests due while connections are still being attempted are unsent when the window closes.
    Fault("noaccept", frozenset({"timeout"}), also=frozenset({"unsent"}), note="listen(1), never accept"),
]


def load_with_fault(fault: Fault, model: str, out: Path) -> tuple[subprocess.CompletedProcess[str], float]:
    """Run the load; return the process and the wall-clock time it ended (time.time())."""
    with misbehaving(fault.mode) as url:
        run = asgibench(
            "load", url, *MODELS[model], "-d", f"{DURATION}s", "--timeout", f"{TIMEOUT}s",
            *fault.flags, "--json", str(out), "-q",
        )  # fmt: skip
        return run, time.time()


def seconds_after_time_zero(result: dict[str, Any], ended: float) -> float:
    return ended - datetime.datetime.fromisoformat(result["created"]).timestamp()


@pytest.mark.parametrize("model", list(MODELS))
@pytest.mark.parametrize("fault", FAULTS, ids=[fault.mode for fault in FAULTS])
def test_fault_matrix(fault: Fault, model: str, tmp_path: Path) -> None:
    out = tmp_path / "result.json"
    run, ended = load_with_fault(fault, model, out)
    assert run.returncode == fault.exit_code, run.stdout + run.stderr
    assert "Traceback" not in run.stderr
    result = read(out)
    assert_accounts(result)
    config, summary = result["config"], result["summary"]
    assert seconds_after_time_zero(result, ended) <= DURATION + config["drain_s"] + 2.0
    shown = {kind for kind, count in summary["errors"].items() if count and kind != "total"}
    if fault.succeeds:
        assert summary["ok"] > 0 and summary["errors"]["total"] == 0, summary["errors"]
        assert result["passed"] and not result["failures"]
    else:
        assert summary["ok"] == 0 and not result["passed"]
        assert fault.kinds <= shown <= fault.kinds | fault.also, summary["errors"]
        assert any("no request succeeded" in failure for failure in result["failures"]), result["failures"]
        assert "no request succeeded" in run.stdout


def test_interim_responses_are_counted_and_never_taken_for_the_answer(tmp_path: Path) -> None:
    out = tmp_path / "result.json"
    run, _ = load_with_fault(FAULTS[1], "closed", out)
    assert run.returncode == 0, run.stdout + run.stderr
    summary = read(out)["summary"]
    assert summary["interim"] == 2 * summary["responses"] > 0  # a 100 and a 103 before every 200


def test_a_stray_101_is_named_a_protocol_error(tmp_path: Path) -> None:
    out = tmp_path / "result.json"
    load_with_fault(Fault("upgrade", frozenset({"protocol"})), "open", out)
    assert "101" in read(out)["summary"]["error_examples"]["protocol"]


def test_status_codes_are_counted_one_by_one(tmp_path: Path) -> None:
    out = tmp_path / "result.json"
    run, _ = load_with_fault(Fault("status:401", frozenset({"status"})), "open", out)
    summary = read(out)["summary"]
    assert summary["statuses"] == {"401": summary["responses"]} and summary["responses"] > 0
    assert "401" in run.stdout and "no request succeeded" in run.stdout


def test_a_slow_body_is_timed_to_its_last_byte(tmp_path: Path) -> None:
    out = tmp_path / "result.json"
    load_with_fault(FAULTS[7], "open", out)
    assert read(out)["summary"]["latency_ms"]["min"] >= 1000  # 59 bytes, 20 ms apart: never faster than 1.16 s


def test_tls_is_verified_unless_insecure(tmp_path: Path) -> None:
    with misbehaving("tls") as url:
        refused = asgibench("load", url, "--vus", "1", "-d", "0.5s")
        insecure = asgibench("load", url, "--vus", "1", "-d", "0.5s", "--insecure", "--json", str(tmp_path / "r.json"))
    assert refused.returncode == 3, refused.stdout + refused.stderr
    message = " ".join(refused.stderr.split())
    assert "TLS handshake" in message and "--insecure" in message and "Traceback" not in refused.stderr
    assert insecure.returncode == 0, insecure.stdout + insecure.stderr
    assert_accounts(read(tmp_path / "r.json"))


def test_an_overloaded_target_is_named_and_nothing_due_is_lost(tmp_path: Path) -> None:
    """400 requests/s offered to a target that serves 100/s: the run says so, and every due request is counted.

    Requests that wait longer than the timeout for a connection are dropped
    (unsent, queue full) rather than sent late; those still waiting at the end
    are unsent too; nothing is written after the window, so the run ends on time.
    """
    out = tmp_path / "result.json"
    with misbehaving("capacity:100") as url:
        run = asgibench(
            "load", url, "--rate", "400", "-d", "2s", "--timeout", f"{TIMEOUT}s", "--max-connections", "20",
            "--json", str(out),
        )  # fmt: skip
        ended = time.time()
    assert run.returncode == 0, run.stdout + run.stderr  # some succeeded, no thresholds
    result = read(out)
    assert_accounts(result)
    summary = result["summary"]
    assert summary["requests"] == summary["scheduled"] == 800 and summary["offered_rps"] == 400
    assert summary["rps"] <= 101  # achieved, never the offered rate: the target cannot serve more
    assert summary["unsent"]["queue_full"] > 0 and summary["unsent"]["run_ended"] > 0, summary["unsent"]
    # Overloaded, and said so; on a busy machine the generator may be blamed instead, but never neither.
    assert summary["target_behind"] or result["generator"]["bottleneck"]
    if summary["target_behind"]:
        assert "The target kept up with" in " ".join(run.stdout.split())
    assert seconds_after_time_zero(result, ended) <= 2.0 + result["config"]["drain_s"] + 2.0


@pytest.mark.parametrize("model", list(MODELS))
def test_ctrl_c_while_the_target_stalls_counts_what_was_in_flight(model: str, tmp_path: Path) -> None:
    """The requests in flight when Ctrl-C comes are abandoned, not forgotten: error_rate<1% must fail."""
    out = tmp_path / "result.json"
    with misbehaving("stall") as url:
        flags = ("--vus", "20") if model == "closed" else ("--rate", "200")
        process = subprocess.Popen(
            [sys.executable, "-m", "asgibench", "load", url, *flags, "-d", "30s", "-t", "error_rate<1%",
             "--json", str(out), "-q"],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        time.sleep(2.0)
        sent = time.monotonic()
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=30)
        took = time.monotonic() - sent
    assert process.returncode == 130, stdout + stderr
    assert took < 5.0  # Ctrl-C takes effect at once (the bound leaves room for a busy machine)
    result = read(out)
    assert_accounts(result)
    summary = result["summary"]
    assert summary["ok"] == 0 and summary["errors"]["abandoned"] > 0, summary["errors"]
    assert result["thresholds"][0]["passed"] is False


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_stopping_an_overloaded_open_run_counts_every_due_request(signum: int, code: int, tmp_path: Path) -> None:
    """Requests due before the stop but never written are unsent (interrupted); the schedule adds up exactly."""
    out = tmp_path / "result.json"
    with misbehaving("capacity:200") as url:
        process = subprocess.Popen(
            [sys.executable, "-m", "asgibench", "load", url, "--rate", "3000", "-d", "30s", "--max-connections", "50",
             "--json", str(out), "-q"],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        time.sleep(2.5)
        process.send_signal(signum)
        stdout, stderr = process.communicate(timeout=30)
    assert process.returncode == code, stdout + stderr
    result = read(out)
    assert_accounts(result)
    summary = result["summary"]
    named = "Ctrl-C" if signum == signal.SIGINT else signal.Signals(signum).name
    assert result["partial"] and result["partial_reason"] == f"interrupted ({named})"
    assert summary["unsent"]["interrupted"] > 0 and summary["errors"]["abandoned"] > 0, summary
    assert summary["requests"] == summary["scheduled"] >= summary["ok"] > 0
