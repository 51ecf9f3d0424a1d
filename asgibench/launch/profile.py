"""py-spy flame graphs of a server, recorded during the measured window only (not start-up, not warm-up)."""

from __future__ import annotations

import math
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

from asgibench.errors import UsageError

SAMPLES_PER_SECOND = 100


def find_py_spy() -> str:
    """The py-spy executable beside this Python first (a venv's bin/), then on PATH."""
    beside = Path(sys.executable).parent / "py-spy"
    found = str(beside) if beside.exists() else shutil.which("py-spy")
    if found is None:
        raise UsageError("--profile needs py-spy, which is not installed.", hint="pip install py-spy")
    return found


class FlameGraphRecorder:
    """Starts ``py-spy record`` on a process tree at a given moment, for a given time, writing an SVG.

    py-spy attaches with ptrace; in a container without CAP_SYS_PTRACE it
    fails, and the failure is reported (``error``) instead of ending the run.
    """

    def __init__(self, pid: int, output: Path, executable: str) -> None:
        self.pid = pid
        self.output = output
        self.executable = executable
        self.error: str | None = None
        self._process: subprocess.Popen[str] | None = None
        self._timer: threading.Timer | None = None

    def schedule(self, start_at: float, duration: float) -> None:
        """Record from wall-clock ``start_at`` (time.time()) for ``duration`` seconds."""
        self._timer = threading.Timer(max(0.0, start_at - time.time()), self._start, args=(duration,))
        self._timer.daemon = True
        self._timer.start()

    def _start(self, duration: float) -> None:
        self._process = subprocess.Popen(
            [
                self.executable,
                "record",
                "--pid",
                str(self.pid),
                "--subprocesses",
                "--nonblocking",
                "--rate",
                str(SAMPLES_PER_SECOND),
                "--duration",
                str(max(1, math.floor(duration))),
                "--format",
                "flamegraph",
                "--output",
                str(self.output),
            ],  # fmt: skip
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )

    def finish(self, timeout: float = 30.0) -> Path | None:
        """Wait for the flame graph; its path, or None with ``error`` saying why there is none."""
        if self._timer is not None:
            self._timer.cancel()  # a run cut short before the window opened
            self._timer.join()
        if self._process is None:
            self.error = "the measured window never opened"
            return None
        try:
            _, stderr = self._process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self._process.kill()
            _, stderr = self._process.communicate()
        if self._process.returncode != 0 or not self.output.exists():
            lines = [line for line in (stderr or "").splitlines() if line.strip()]
            self.error = lines[-1] if lines else f"py-spy exited with code {self._process.returncode}"
            return None
        return self.output
