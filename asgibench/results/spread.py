"""One figure over repeated runs: its median and its range. Pure; compare, report and gate share it.

The median resists one disturbed run; the range shows how much the runs disagree.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Spread:
    median: float
    low: float
    high: float
    count: int = 1

    @classmethod
    def of(cls, values: Iterable[float | None]) -> Spread | None:
        """The spread of the values present (None: a run that lacks the figure); None when there are none."""
        present = [float(value) for value in values if value is not None]
        if not present:
            return None
        return cls(statistics.median(present), min(present), max(present), len(present))

    def as_dict(self) -> dict[str, float]:
        return {"median": self.median, "min": self.low, "max": self.high}
