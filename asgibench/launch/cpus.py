"""Which CPUs the server gets and which the load generator gets. Pure.

A server and the generator that loads it must not share CPUs, or each run
measures how the scheduler interleaved them. The server takes one CPU per
worker process, always leaving at least one to the generator; with a single
CPU nothing is pinned and the plan says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CpuPlan:
    server: tuple[int, ...]  # empty: not pinned
    generator: tuple[int, ...]

    @property
    def pinned(self) -> bool:
        return bool(self.server)

    def describe(self) -> str:
        if not self.pinned:
            return "not pinned (one CPU: server and generator share it)"
        return f"server on CPU {_cpu_list(self.server)}, generator on CPU {_cpu_list(self.generator)}"

    def as_dict(self) -> dict[str, list[int]]:
        return {"server": list(self.server), "generator": list(self.generator)}


def plan_cpus(available: Sequence[int], server_workers: int) -> CpuPlan:
    cpus = sorted(available)
    if len(cpus) < 2:
        return CpuPlan((), ())
    server_share = max(1, min(server_workers, len(cpus) - 1))
    return CpuPlan(tuple(cpus[:server_share]), tuple(cpus[server_share:]))


def usable_cpus() -> list[int]:
    import os

    try:
        return sorted(os.sched_getaffinity(0))
    except AttributeError:  # not Linux: no affinity control
        return []


def _cpu_list(cpus: tuple[int, ...]) -> str:
    return ",".join(str(cpu) for cpu in cpus)
