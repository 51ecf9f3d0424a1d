"""The order of a comparison's runs. Pure.

Runs are interleaved, round after round, and each round starts one server
later than the one before: drift in the machine (thermal, a neighbour, a
cache warming) then lands on every server alike instead of on whichever ran
last, and no server is always the first after a cold start.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class PlannedRun:
    server: str
    repeat: int  # 1-based: the server's n-th measured run

    @property
    def stem(self) -> str:
        return f"{self.server}-{self.repeat}"


def run_order(servers: Sequence[str], repeat: int) -> list[PlannedRun]:
    order: list[PlannedRun] = []
    for round_index in range(repeat):
        shift = round_index % len(servers) if servers else 0
        rotated = [*servers[shift:], *servers[:shift]]
        order.extend(PlannedRun(server, round_index + 1) for server in rotated)
    return order
