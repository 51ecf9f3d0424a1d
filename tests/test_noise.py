"""The one rule for "different beyond noise" (asgibench.results.noise): pure, on made-up runs."""

from __future__ import annotations

import math
import random

import pytest

from asgibench.results.noise import change, compare, t_quantile


def runs(center: float, count: int, seed: int, spread: float = 0.1) -> list[float]:
    generator = random.Random(seed)
    return [center * math.exp(generator.gauss(0, spread)) for _ in range(count)]


def test_the_change_is_of_the_medians_and_the_interval_is_around_it() -> None:
    """The printed change and its interval are one quantity: the interval holds the change, log-symmetrically."""
    difference = compare([1.0, 1.1, 3.0], [2.0, 2.1, 2.4], "relative")
    assert difference.baseline == 1.1 and difference.current == 2.1
    assert difference.change == pytest.approx(2.1 / 1.1 - 1)
    assert difference.interval is not None
    low, high = math.log1p(difference.interval.low), math.log1p(difference.interval.high)
    assert (low + high) / 2 == pytest.approx(math.log1p(difference.change))


def test_separated_runs_differ_beyond_noise_and_same_runs_do_not() -> None:
    slower = compare(runs(1.0, 3, seed=1), runs(5.0, 3, seed=2), "relative")
    assert slower.beyond_noise and slower.interval is not None and slower.interval.low > 1.0
    same = [compare(runs(1.0, 3, seed=seed), runs(1.0, 3, seed=seed + 100_000), "relative") for seed in range(1000)]
    alarms = sum(difference.beyond_noise for difference in same)
    assert alarms <= 50  # a 95% interval (wider for medians): at most 5% of 1,000 pairs of one app (seeded: 3%)


def test_the_interval_narrows_with_more_runs() -> None:
    few = compare(runs(1.0, 2, seed=3), runs(1.0, 2, seed=4), "relative").interval
    many = compare(runs(1.0, 12, seed=3), runs(1.0, 12, seed=4), "relative").interval
    assert few is not None and many is not None
    assert many.high - many.low < (few.high - few.low) / 2


def test_one_run_a_side_uses_its_seconds_or_nothing() -> None:
    assert compare([1.0], [2.0], "relative").source == "none"
    assert not compare([1.0], [1.0], "relative").beyond_noise  # no noise estimate: only a difference speaks
    by_seconds = compare([1.0], [2.0], "relative", baseline_seconds=[0.9, 1.0, 1.1], current_seconds=[1.9, 2.1, 2.0])
    assert by_seconds.source == "seconds" and by_seconds.beyond_noise
    borrowed = compare([1.0, 1.2], [2.0], "relative")  # the single run borrows the pair's variance
    assert borrowed.source == "runs" and borrowed.interval is not None


def test_t_quantiles_are_exact() -> None:
    """Against published tables: two-sided 95% and 99% for a few degrees of freedom."""
    assert [round(t_quantile(0.95, degrees), 3) for degrees in (1, 2, 3, 4, 10, 30)] == [
        12.706,
        4.303,
        3.182,
        2.776,
        2.228,
        2.042,
    ]
    assert [round(t_quantile(0.99, degrees), 3) for degrees in (3, 4, 5)] == [5.841, 4.604, 4.032]


def test_a_higher_confidence_widens_the_interval() -> None:
    wide = compare([1.0, 1.1, 1.2], [1.3, 1.4, 1.5], "relative", confidence=0.9875).interval
    narrow = compare([1.0, 1.1, 1.2], [1.3, 1.4, 1.5], "relative").interval
    assert wide is not None and narrow is not None and wide.low < narrow.low and wide.high > narrow.high
    assert wide.confidence == 0.9875


def test_zero_has_no_logarithm_and_a_difference_is_plain() -> None:
    assert compare([1.0, 1.1], [0.0, 0.0], "relative").interval is None
    errors = compare([0.0, 0.0, 0.0], [0.02, 0.03, 0.025], "difference")
    assert errors.change == pytest.approx(0.025) and errors.beyond_noise
    assert change(0.0, 0.5, "relative") == float("inf")
    assert change(0.0, 0.0, "relative") == 0.0
    assert change(0.01, 0.03, "difference") == pytest.approx(0.02)
