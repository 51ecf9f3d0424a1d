"""Was the generator, not the target, the bottleneck? Pure judgement over what the workers measured.

Three signs, any one enough: a worker that used nearly a whole core had no
headroom to send faster; an event loop running late (its 10 ms monitor tick
firing well after it was due) timed answers late; and, in the open model,
many requests written well after they were due although a connection was
free. "Many" is a share of all the window's requests: a single stall of the
loop (opening a thousand connections at once, say) makes the few requests
that found a free connection during it late, and is not a generator that
cannot keep up; a generator that cannot keeps most of its requests late.
"""

from __future__ import annotations

from dataclasses import dataclass

CPU_LIMIT = 0.90  # of one core, per worker process
LAG_P99_LIMIT_MS = 10.0
LATENESS_P99_LIMIT_MS = 10.0
LATE_SHARE_LIMIT = 0.01  # of the window's requests written more than LATENESS_P99_LIMIT_MS late


@dataclass(frozen=True, slots=True)
class Spread:
    """p50, p99 and max of a delay, in milliseconds."""

    p50: float
    p99: float
    max: float

    def to_dict(self) -> dict[str, float]:
        return {"p50": self.p50, "p99": self.p99, "max": self.max}


@dataclass(frozen=True, slots=True)
class Health:
    cpu_fractions: tuple[float, ...]  # per worker: CPU seconds / measured seconds
    loop_lag: Spread | None
    send_lateness: Spread | None
    reasons: tuple[str, ...]

    @property
    def bottleneck(self) -> bool:
        return bool(self.reasons)


def judge(
    cpu_seconds: list[float],
    seconds: float,
    *,
    loop_lag: Spread | None,
    send_lateness: Spread | None,
    late_writes: int = 0,
    requests: int = 0,
) -> Health:
    """``late_writes``: requests written more than LATENESS_P99_LIMIT_MS after they were due, of ``requests``."""
    fractions = tuple(round(cpu / seconds, 3) if seconds > 0 else 0.0 for cpu in cpu_seconds)
    reasons = []
    busiest = max(fractions, default=0.0)
    if busiest >= CPU_LIMIT:
        reasons.append(
            f"a load worker used {busiest:.0%} of a CPU core (limit {CPU_LIMIT:.0%}): add --workers, or cores"
        )
    if loop_lag is not None and loop_lag.p99 > LAG_P99_LIMIT_MS:
        reasons.append(
            f"the generator's event loop ran {loop_lag.p99:.1f} ms late at p99 (limit {LAG_P99_LIMIT_MS:g} ms)"
        )
    share = late_writes / requests if requests else 0.0
    if send_lateness is not None and send_lateness.p99 > LATENESS_P99_LIMIT_MS and share >= LATE_SHARE_LIMIT:
        reasons.append(
            f"{share:.1%} of the requests were written more than {LATENESS_P99_LIMIT_MS:g} ms after they were due "
            f"with a connection free (p99 {send_lateness.p99:.1f} ms; limit {LATE_SHARE_LIMIT:.0%} of requests)"
        )
    return Health(fractions, loop_lag, send_lateness, tuple(reasons))
