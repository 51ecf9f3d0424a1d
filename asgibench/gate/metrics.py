"""What the gate can compare: the metric catalogue, and the parsing of ``--metric`` and ``--max-regression``.

Each metric knows where its whole-run value is in a result file, which way is
better, how a change is measured (relative, or a difference for error_rate,
whose baseline is usually zero) and, when the timeline has it, how to reduce a
run's per-second rows to one number for the bootstrap.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from asgibench.errors import UsageError
from asgibench.gate.stats import Scale, mean_statistic, median_statistic, ratio_statistic

Direction = Literal["lower", "higher"]

LATENCY_KEYS = ("p50", "p75", "p90", "p95", "p99", "p999", "max", "mean")
# Per-second columns of the timeline, by latency key (the timeline has no p75, p95 or mean).
TIMELINE_LATENCY = {"p50": "p50_ms", "p90": "p90_ms", "p99": "p99_ms", "p999": "p999_ms", "max": "max_ms"}
ALIASES = {"p99.9": "p999", "service_p99.9": "service_p999", "throughput": "rps"}
DEFAULT_METRICS = "p99,rps"
DEFAULT_ALLOWANCE = 0.05


@dataclass(frozen=True, slots=True)
class Metric:
    """One comparable figure of a result file."""

    name: str
    label: str
    unit: Literal["ms", "rps", "fraction"]
    direction: Direction
    scale: Scale
    summary: Callable[[dict[str, Any]], float | None]
    # One run's per-second samples, or None when the timeline does not carry this metric.
    per_second: Callable[[list[dict[str, Any]]], list[Any]] | None = None
    run_statistic: Callable[[Sequence[Any]], float] = median_statistic
    open_model_only: bool = False

    def worse_by(self, change: float) -> float:
        """The change signed so that positive is worse, whichever way the metric improves."""
        return change if self.direction == "lower" else -change


def _latency(block: str, key: str) -> Callable[[dict[str, Any]], float | None]:
    def read(result: dict[str, Any]) -> float | None:
        values = result["summary"].get(block)
        return None if values is None else values.get(key)

    return read


def _column(column: str) -> Callable[[list[dict[str, Any]]], list[Any]]:
    def read(timeline: list[dict[str, Any]]) -> list[Any]:
        return [row[column] for row in timeline if row.get(column) is not None]

    return read


def _errors_and_attempts(timeline: list[dict[str, Any]]) -> list[Any]:
    # As the summary counts them: a 4xx/5xx is an answer and an error; other errors never got an answer.
    pairs = []
    for row in timeline:
        kinds = row.get("errors_by_kind", {})
        unanswered = row["errors"] - kinds.get("http_4xx", 0) - kinds.get("http_5xx", 0)
        pairs.append((row["errors"], row["requests"] + unanswered))
    return pairs


def _catalogue() -> dict[str, Metric]:
    metrics: dict[str, Metric] = {}
    for key in LATENCY_KEYS:
        column = TIMELINE_LATENCY.get(key)
        label = "p99.9" if key == "p999" else key
        metrics[key] = Metric(
            name=key,
            label=f"{label} latency",
            unit="ms",
            direction="lower",
            scale="relative",
            summary=_latency("latency_ms", key),
            per_second=_column(column) if column else None,
        )
        metrics[f"service_{key}"] = Metric(
            name=f"service_{key}",
            label=f"{label} service time",
            unit="ms",
            direction="lower",
            scale="relative",
            summary=_latency("service_time_ms", key),
            open_model_only=True,
        )
    metrics["rps"] = Metric(
        name="rps",
        label="requests/s",
        unit="rps",
        direction="higher",
        scale="relative",
        summary=lambda result: result["summary"]["rps"],
        per_second=_column("rps"),
        run_statistic=mean_statistic,  # the whole-run rate is the mean of the per-second rates
    )
    metrics["error_rate"] = Metric(
        name="error_rate",
        label="error rate",
        unit="fraction",
        direction="lower",
        scale="difference",
        summary=lambda result: result["summary"]["error_rate"],
        per_second=_errors_and_attempts,
        run_statistic=ratio_statistic,
    )
    return metrics


METRICS = _catalogue()


def _known(option: str, text: str, name: str) -> Metric:
    key = ALIASES.get(name, name)
    if key not in METRICS:
        raise UsageError(
            f"{option} {text!r}: unknown metric {name!r}.",
            hint=f"Metrics: {', '.join(METRICS)}.",
        )
    return METRICS[key]


def parse_metrics(texts: Sequence[str]) -> tuple[Metric, ...]:
    """``--metric p99,rps`` (comma lists, repeatable) into metrics, in order, without duplicates."""
    chosen: dict[str, Metric] = {}
    for text in texts:
        names = [name.strip().lower() for name in text.split(",") if name.strip()]
        if not names:
            raise UsageError(f"--metric {text!r}: name at least one metric, e.g. p99,rps.")
        for name in names:
            metric = _known("--metric", text, name)
            chosen.setdefault(metric.name, metric)
    return tuple(chosen.values())


def parse_fraction(option: str, text: str, value: str) -> float:
    """``5%`` or ``0.05``; never negative."""
    raw = value.strip()
    try:
        number = float(raw[:-1]) / 100 if raw.endswith("%") else float(raw)
    except ValueError:
        number = float("nan")
    if not number >= 0 or number == float("inf"):
        raise UsageError(
            f"{option} {text!r}: {value.strip()!r} is not a fraction; write 5% or 0.05, or per metric, p99=10%."
        )
    return number


def parse_allowances(texts: Sequence[str], metrics: Sequence[Metric]) -> dict[str, float]:
    """``--max-regression 5%`` (every metric) and ``--max-regression p99=10%`` (one metric), repeatable."""
    default = DEFAULT_ALLOWANCE
    overrides: dict[str, float] = {}
    gated = {metric.name for metric in metrics}
    for text in texts:
        for part in [piece for piece in text.split(",") if piece.strip()] or [text]:
            if "=" in part:
                name, _, value = part.partition("=")
                metric = _known("--max-regression", text, name.strip().lower())
                if metric.name not in gated:
                    raise UsageError(
                        f"--max-regression {text!r}: {metric.name} is not gated.",
                        hint=f"Add it to --metric (now {', '.join(sorted(gated))}).",
                    )
                overrides[metric.name] = parse_fraction("--max-regression", text, value)
            else:
                default = parse_fraction("--max-regression", text, part)
    return {metric.name: overrides.get(metric.name, default) for metric in metrics}
