"""HTTP/1.1 request bytes and response classification. Pure: no sockets, no clocks.

Requests are serialised once, before the run: the hot path only writes
prepared bytes. Which request comes next follows a fixed, shuffled cycle that
holds every kind in proportion to its weight, so picking one costs an index.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from asgibench import __version__
from asgibench.load.config import RequestSpec, Target

# Every kind of failure the generator counts, in the order reports show them.
ERROR_KINDS = ("refused", "reset", "timeout", "protocol", "http_4xx", "http_5xx", "unsent", "other")

# Length of the weighted cycle: fine enough for weights down to 0.1%.
CYCLE_LENGTH = 1000


def build_request(spec: RequestSpec, target: Target) -> bytes:
    path = spec.path or target.path
    lines = [f"{spec.method} {path} HTTP/1.1", f"Host: {target.host_header}"]
    names = {name.lower() for name, _ in spec.headers}
    if "user-agent" not in names:
        lines.append(f"User-Agent: asgibench/{__version__}")
    lines.extend(f"{name}: {value}" for name, value in spec.headers if name.lower() != "host")
    if spec.body or spec.method in ("POST", "PUT", "PATCH"):
        if "content-length" not in names:
            lines.append(f"Content-Length: {len(spec.body)}")
    head = "\r\n".join(lines) + "\r\n\r\n"
    return head.encode("latin-1") + spec.body


def request_cycle(specs: Sequence[RequestSpec], *, seed: int = 0) -> list[int]:
    """Indexes into ``specs``, each appearing in proportion to its weight, shuffled."""
    if len(specs) == 1:
        return [0]
    total = sum(spec.weight for spec in specs)
    counts = [max(1, round(CYCLE_LENGTH * spec.weight / total)) for spec in specs]
    cycle = [index for index, count in enumerate(counts) for _ in range(count)]
    random.Random(seed).shuffle(cycle)
    return cycle


def status_error(status: int) -> str | None:
    """The error kind an HTTP status counts as, or None for a success."""
    if status >= 500:
        return "http_5xx"
    if status >= 400:
        return "http_4xx"
    return None


def connection_error(error: BaseException | None) -> str:
    """The error kind for a connection that failed or was lost with a request in flight."""
    if isinstance(error, ConnectionRefusedError):
        return "refused"
    if isinstance(error, ConnectionResetError | BrokenPipeError | ConnectionAbortedError) or error is None:
        # A peer closing with a request in flight (None: a clean FIN) resets that request.
        return "reset"
    if isinstance(error, TimeoutError):
        return "timeout"
    if isinstance(error, OSError) and error.errno in (111, 113, 101, 99):  # refused, unreachable, no address
        return "refused"
    return "other"
