"""How far each number a user types may go, and how many connections this machine can hold.

Every value is finite and within a bound, so that no input makes a run go on
without end or grow without bound: a duration of ``inf`` or ``1e308``, a rate
of ``nan``, a million VUs on a machine that can open twenty thousand files.
The bounds are generous; they only rule out what cannot work.
"""

from __future__ import annotations

import math
import resource
from dataclasses import dataclass

MAX_DURATION = 7 * 24 * 3600.0  # a week-long soak; a window, a warm-up or all stages together
MAX_WAIT = 3600.0  # a timeout, a drain, a think time: the histograms' top is one hour
MAX_RATE = 10_000_000.0  # requests per second: far past what one machine sends
MAX_WORKERS = 256
MAX_WEIGHT = 1e9
MAX_STREAMS = 10_000  # HTTP/2 streams (or WebSocket messages in flight) per connection
MAX_HELD = 1_000_000  # streams or WebSockets held open beside the load
# Files and ports a worker keeps for itself (its pipes, the loop, imported modules, the server's sockets).
RESERVED_FILES = 64
RESERVED_PORTS = 256
PORT_RANGE_FILE = "/proc/sys/net/ipv4/ip_local_port_range"


def check_number(value: float, *, low: float, high: float, low_inclusive: bool = True) -> str | None:
    """Why ``value`` is not allowed (a short phrase), or None when it is."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "expected a number"
    if not math.isfinite(value):
        return "expected a finite number"
    if value < low or (value == low and not low_inclusive):
        relation = "at least" if low_inclusive else "more than"
        return f"expected {relation} {_number(low)}"
    if value > high:
        return f"expected at most {_number(high)}"
    return None


def _number(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:g}"


@dataclass(frozen=True, slots=True)
class ConnectionLimits:
    """What this machine allows: open files per process, and local TCP ports to one server address."""

    files_per_process: int  # the hard limit: each worker raises its soft limit to it
    ports: int | None  # local ports for connections to one address and port; None when unknown

    def most(self, *, workers: int, unix_socket: bool) -> int:
        """The most connections a run with ``workers`` processes can hold at once."""
        by_files = max(0, self.files_per_process - RESERVED_FILES) * workers
        if unix_socket or self.ports is None:
            return by_files
        return min(by_files, max(0, self.ports - RESERVED_PORTS))

    def explain(self, *, unix_socket: bool) -> str:
        files = f"{self.files_per_process:,} open files per process (ulimit -Hn)"
        if unix_socket or self.ports is None:
            return files
        return f"{files} and {self.ports:,} local ports to one server address (net.ipv4.ip_local_port_range)"


def read_connection_limits() -> ConnectionLimits:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    files = hard if hard != resource.RLIM_INFINITY else 1 << 20
    return ConnectionLimits(files, _port_count())


def _port_count() -> int | None:
    try:
        with open(PORT_RANGE_FILE, encoding="ascii") as ports:
            low, high = (int(part) for part in ports.read().split())
    except (OSError, ValueError):
        return None
    return high - low + 1
