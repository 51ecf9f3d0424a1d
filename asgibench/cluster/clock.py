"""The readiness barrier's clock arithmetic: each worker's clock offset, and the start skew it leaves.

Monotonic clocks mean nothing across machines, so the workers start at one
agreed wall-clock time. Their wall clocks differ; the supervisor asks each
worker for its time a few times and estimates the offset NTP's way: the
worker read its clock somewhere inside the round trip, so

    offset = worker_time - (sent + received) / 2,  within ± round_trip / 2.

The sample with the shortest round trip bounds the offset most tightly. Each
worker is then told the start time in its own clock (ours plus its offset),
so a worker whose clock is wrong by seconds still starts on time; what cannot
be corrected is each estimate's uncertainty. Two workers may start apart by
up to the sum of their uncertainties: the start skew. A run refuses to start
when that bound is above ``--max-skew``: its workers could not keep one
schedule.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ClockSample:
    sent: float  # our wall clock (time.time()) as the question left
    answered: float  # the worker's wall clock in its answer
    received: float  # our wall clock as the answer came back

    @property
    def round_trip(self) -> float:
        return self.received - self.sent

    @property
    def offset(self) -> float:
        return self.answered - (self.sent + self.received) / 2


@dataclass(frozen=True, slots=True)
class ClockOffset:
    offset: float  # seconds the worker's wall clock is ahead of ours (negative: behind)
    uncertainty: float  # the true offset is within offset ± uncertainty


def estimate_offset(samples: Iterable[ClockSample]) -> ClockOffset:
    """The offset from the sample with the shortest round trip; ValueError without samples."""
    best = min(samples, key=lambda sample: sample.round_trip)
    return ClockOffset(best.offset, max(0.0, best.round_trip) / 2)


def start_skew(offsets: Mapping[str, ClockOffset]) -> float:
    """The most two workers can start apart, in seconds: the sum of the two largest uncertainties."""
    worst = sorted((offset.uncertainty for offset in offsets.values()), reverse=True)[:2]
    return sum(worst) if len(worst) == 2 else 0.0


def skew_refusal(offsets: Mapping[str, ClockOffset], max_skew: float) -> str | None:
    """Why the run cannot keep one schedule, or None when the start skew is within ``max_skew`` seconds."""
    skew = start_skew(offsets)
    if skew <= max_skew:
        return None
    loosest = max(offsets, key=lambda name: offsets[name].uncertainty)
    return (
        f"the workers' clocks are known only to ±{offsets[loosest].uncertainty * 1000:.1f} ms ({loosest}): "
        f"they could start up to {skew * 1000:.1f} ms apart, more than --max-skew {max_skew * 1000:.0f} ms"
    )
