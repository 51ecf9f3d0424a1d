"""What ``--cluster`` names: a local cluster of N workers started for the run, or an existing scheduler."""

from __future__ import annotations

import re
from dataclasses import dataclass

from asgibench.errors import UsageError

MAX_LOCAL_WORKERS = 256
_SCHEMES = ("tcp://", "tls://", "ws://", "wss://", "ucx://", "inproc://")


@dataclass(frozen=True, slots=True)
class ClusterAddress:
    local_workers: int | None  # local:N: a cluster of N single-threaded worker processes started for the run
    scheduler: str | None  # an existing cluster's scheduler address, as Dask takes it

    def describe(self) -> str:
        return f"local:{self.local_workers}" if self.local_workers is not None else str(self.scheduler)


def parse_cluster(text: str) -> ClusterAddress:
    """``local:N`` or ``SCHEME://HOST:PORT`` (a bare ``HOST:PORT`` means tcp); anything else is a usage error."""
    value = text.strip()
    local = re.fullmatch(r"local(?::(\d+))?", value)
    if local is not None:
        workers = int(local.group(1)) if local.group(1) else 2
        if not 1 <= workers <= MAX_LOCAL_WORKERS:
            raise UsageError(f"--cluster {text!r}: give local:1 to local:{MAX_LOCAL_WORKERS} workers.")
        return ClusterAddress(workers, None)
    if not value.startswith(_SCHEMES):
        value = f"tcp://{value}"
    if re.fullmatch(r"[a-z]+://(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9_.-]+):\d{1,5}", value) is None:
        raise UsageError(
            f"--cluster {text!r}: give local:N, or a Dask scheduler's address such as tcp://10.0.0.5:8786."
        )
    return ClusterAddress(None, value)
