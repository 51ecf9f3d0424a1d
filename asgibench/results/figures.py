"""Figures derived from result files, each computed here once: report, compare and gate call these. Pure.

* ``error_rate``: errors over requests, where ``requests`` counts every request
  of the window (each ends as ok or as one error), so the rule is the same for a
  summary, a per-name entry, a timeline row, or several runs pooled.
* ``caveats``: why runs may not be ranked as the best: the generator was the
  bottleneck (the figures understate the target), the target fell behind the
  offered rate (it was overloaded), the run was cut short (partial), most
  requests failed (its latency is mostly that of errors), or none succeeded.
* One formatter per kind of figure (``milliseconds``, ``rate``, ``ratio``,
  ``share``, ``cores``, ``microseconds``, ``mebibytes``; ``figure`` picks one by
  a metric's unit): compare's terminal table and the report print a number the
  same way, so the same figure reads the same in each.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:  # the model and the metrics import from here
    from asgibench.results.metrics import Unit
    from asgibench.results.model import Result

CaveatKind = Literal["generator_bound", "target_behind", "partial", "mostly_failing", "failed"]
# More errors than this share of the requests and a run's latency says more about its errors than its answers.
MOSTLY_FAILING = 0.5


def error_rate(errors: float, requests: float) -> float:
    """Errors over requests; 0.0 when there were no requests."""
    return errors / requests if requests else 0.0


def rate(value: float) -> str:
    """A rate in requests/s as people read it: 1,650 or 12.5."""
    return f"{value:,.0f}" if value >= 100 else f"{value:,.1f}"


def milliseconds(value: float) -> str:
    """A latency in ms to four significant digits, at most three decimals: 0.269, 2.500, 12.40, 123.4, 1,234."""
    if value < 10:
        return f"{value:.3f}"
    if value < 100:
        return f"{value:.2f}"
    if value < 1000:
        return f"{value:.1f}"
    return f"{value:,.0f}"


def ratio(value: float) -> str:
    """A figure against the best one's: 0.98×."""
    return f"{value:.2f}×"


def share(value: float) -> str:
    """A fraction as a percentage (the error rate): 1.32%."""
    return f"{value:.2%}"


def cores(value: float) -> str:
    """CPU in cores busy: 0.63 is 63% of one core."""
    return f"{value:.2f}"


def microseconds(value: float) -> str:
    """CPU time per response in µs: 323."""
    return f"{value:,.0f}"


def mebibytes(value: float) -> str:
    """Memory in MiB: 40.1, 512."""
    return f"{value:,.1f}" if value < 100 else f"{value:,.0f}"


FORMATS: dict[str, Callable[[float], str]] = {
    "ms": milliseconds,
    "rps": rate,
    "fraction": share,
    "cores": cores,
    "us": microseconds,
    "MiB": mebibytes,
    "count": lambda value: f"{value:,.0f}",
}


def figure(unit: Unit, value: float) -> str:
    """``value`` formatted for a metric's unit (asgibench.results.metrics.Metric.unit)."""
    return FORMATS[unit](value)


@dataclass(frozen=True, slots=True)
class Caveat:
    """Why runs are not eligible to be called the best: ``symbol`` and ``text`` make the visible mark."""

    kind: CaveatKind
    symbol: str
    text: str

    @property
    def mark(self) -> str:
        return f"{self.symbol} {self.text}"


def is_generator_bound(result: Result) -> bool:
    return result.generator.bottleneck


def is_target_behind(result: Result) -> bool:
    return bool(result.summary.target_behind)


def is_failed(result: Result) -> bool:
    """Nothing succeeded: such a run never passes, whatever its latency says."""
    return result.summary.ok == 0


def is_partial(result: Result) -> bool:
    return result.partial


def is_mostly_failing(result: Result) -> bool:
    """More than half the requests failed, but not all (that is ``is_failed``)."""
    return not is_failed(result) and result.summary.error_rate > MOSTLY_FAILING


def caveats(results: Sequence[Result]) -> tuple[Caveat, ...]:
    """The caveats of runs ranked together (one series, one server); empty when they are eligible for the best."""
    found = []
    bound = [result for result in results if is_generator_bound(result)]
    if bound:
        found.append(Caveat("generator_bound", "⚠", "generator-bound" + _share(bound, results)))
    behind = [result for result in results if is_target_behind(result)]
    if behind:
        achieved = statistics.median(result.summary.rps for result in behind)
        offered = [value for result in behind if (value := result.summary.offered_rps) is not None]
        of = f" of {rate(statistics.median(offered))}" if offered else ""
        text = f"target behind{_share(behind, results)}: achieved {rate(achieved)}{of} req/s"
        found.append(Caveat("target_behind", "⚠", text))
    partial = [result for result in results if is_partial(result)]
    if partial:
        found.append(Caveat("partial", "⚠", "partial" + _share(partial, results)))
    mostly = [result for result in results if is_mostly_failing(result)]
    if mostly:
        share = error_rate(
            sum(result.summary.errors.total for result in mostly), sum(result.summary.requests for result in mostly)
        )
        found.append(Caveat("mostly_failing", "✗", f"{share:.0%} of requests failed" + _share(mostly, results)))
    failed = [result for result in results if is_failed(result)]
    if failed:
        found.append(Caveat("failed", "✗", "no request succeeded" + _share(failed, results)))
    return tuple(found)


def _share(some: Sequence[Result], every: Sequence[Result]) -> str:
    """`` in 1 of 3 runs`` when only some runs have the caveat."""
    return "" if len(some) == len(every) else f" in {len(some)} of {len(every)} runs"
