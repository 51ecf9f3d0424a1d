"""Which named request the n-th request of a run is, and how many of each lie in a range of them. Pure.

The open model decides a request's kind from its global index in the
schedule (the weighted cycle of ``http1.request_cycle``, repeated), not from
the order in which it happens to be written. So a request that is never
written (unsent) still has a name, and per-name counts add up exactly. Worker
``w`` of ``W`` owns the global indexes ``w, w + W, w + 2W, ...``; its local
index ``j`` is the global ``w + j * W``. Its sequence of kinds repeats with a
period of at most the cycle's length, which makes counting a range of any
length cost one period at most.
"""

from __future__ import annotations

import math
from collections.abc import Sequence


class LocalMix:
    """One worker's view of the weighted cycle: the kind of its j-th request, and counts over ranges of j."""

    def __init__(self, cycle: Sequence[int], kinds: int, *, worker: int, workers: int) -> None:
        length = len(cycle)
        period = length // math.gcd(workers, length)
        self.kinds = kinds
        self.sequence = [cycle[(worker + j * workers) % length] for j in range(period)]
        self.period_counts = [0] * kinds
        for kind in self.sequence:
            self.period_counts[kind] += 1

    def kind_of(self, local_index: int) -> int:
        return self.sequence[local_index % len(self.sequence)]

    def counts(self, first: int, end: int) -> list[int]:
        """How many of the local indexes ``first .. end - 1`` are of each kind."""
        counts = [0] * self.kinds
        if end <= first:
            return counts
        period = len(self.sequence)
        whole, rest = divmod(end - first, period)
        if whole:
            counts = [count * whole for count in self.period_counts]
        start = first % period
        for offset in range(rest):
            counts[self.sequence[(start + offset) % period]] += 1
        return counts
