"""A background thread that samples a process tree's CPU time and memory (psutil) while a load runs."""

from __future__ import annotations

import threading
import time

import psutil

from asgibench.launch.usage import UsageSample

INTERVAL = 0.2  # seconds between samples: five per timeline second


class TreeSampler:
    """Samples ``pid`` and all its descendants until ``stop()``.

    CPU is accumulated per PID and the last reading of a process that has
    exited is kept, so a worker that is restarted mid-run does not make the
    tree's CPU counter go backwards.
    """

    def __init__(self, pid: int, interval: float = INTERVAL) -> None:
        self.pid = pid
        self.interval = interval
        self.samples: list[UsageSample] = []
        self._cpu_by_pid: dict[int, float] = {}
        self._known: dict[int, psutil.Process] = {}
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"sample-{pid}", daemon=True)

    def start(self) -> TreeSampler:
        self.sample()
        self._thread.start()
        return self

    def stop(self) -> list[UsageSample]:
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        return self.samples

    def pids(self) -> list[int]:
        """The tree's processes as last seen (the launcher kills these if the server ignores SIGTERM)."""
        return [pid for pid, process in self._known.items() if _alive(process)]

    def sample(self) -> None:
        rss = 0
        for process in self._tree():
            try:
                with process.oneshot():
                    times = process.cpu_times()
                    self._cpu_by_pid[process.pid] = times.user + times.system
                    rss += process.memory_info().rss
            except (psutil.NoSuchProcess, psutil.ZombieProcess, psutil.AccessDenied):
                continue
        alive = sum(1 for process in self._known.values() if _alive(process))
        self.samples.append(UsageSample(time.time(), sum(self._cpu_by_pid.values()), rss, alive))

    def _tree(self) -> list[psutil.Process]:
        try:
            root = self._known.get(self.pid) or psutil.Process(self.pid)
            tree = [root, *root.children(recursive=True)]
        except (psutil.NoSuchProcess, psutil.ZombieProcess):
            return []
        for process in tree:  # keep the Process objects: psutil reuses their CPU-time baseline
            self._known.setdefault(process.pid, process)
        return [self._known[process.pid] for process in tree]

    def _loop(self) -> None:
        while not self._stopping.wait(self.interval):
            self.sample()


def _alive(process: psutil.Process) -> bool:
    try:
        return bool(process.is_running() and process.status() != psutil.STATUS_ZOMBIE)
    except psutil.Error:
        return False
