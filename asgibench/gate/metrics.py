"""What the gate can compare: the metric catalogue, and the parsing of ``--metric`` and ``--max-regression``.

Each metric knows where its whole-run value is in a result file, which way is
better, how a change is measured (relative, or a difference for error_rate,
whose baseline is usually zero) and, when the timeline has it, how to reduce a
run's per-second rows to one number for the bootstrap.

A metric may be tagged, in k6's style: ``p99{name:slow}`` reads the
``requests`` entry named ``slow`` (its own latency table) instead of the whole
run's summary, and a latency ``p99{status:200}`` the ``by_status`` entry of
that code. The timeline is kept for neither, so a tagged metric's noise comes
from the repeats only.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from asgibench.errors import UsageError
from asgibench.gate.stats import Scale, error_rate_statistic, mean_statistic, median_statistic

Direction = Literal["lower", "higher"]

LATENCY_KEYS = ("p50", "p75", "p90", "p95", "p99", "p999", "max", "mean")
# Per-second columns of the timeline, by latency key (the timeline has no p75, p95 or mean).
TIMELINE_LATENCY = {"p50": "p50_ms", "p90": "p90_ms", "p99": "p99_ms", "p999": "p999_ms", "max": "max_ms"}
ALIASES = {"p99.9": "p999", "service_p99.9": "service_p999", "throughput": "rps"}
DEFAULT_METRICS = "p99,rps"
DEFAULT_ALLOWANCE = 0.05
# ``p99{name:slow}``, ``p99{status:200}``: a metric, then one tag in braces (k6's syntax).
TAGGED = re.compile(r"(?P<metric>[^{}]*)\{(?P<key>[^{}:]*):(?P<value>[^{}]*)\}")


@dataclass(frozen=True, slots=True)
class Metric:
    """One comparable figure of a result file: of the whole run, or of one named request (``request``)."""

    name: str
    label: str
    unit: Literal["ms", "rps", "fraction"]
    direction: Direction
    scale: Scale
    # The figure in a summary, or in a per-name entry (they share its keys: latency_ms, rps, error_rate …).
    read: Callable[[Mapping[str, Any]], float | None]
    # One run's per-second samples, or None when the timeline does not carry this metric.
    per_second: Callable[[list[dict[str, Any]]], list[Any]] | None = None
    run_statistic: Callable[[Sequence[Any]], float] = median_statistic
    open_model_only: bool = False
    request: str | None = None  # the named request it is tagged with, or None for the whole run
    status: str | None = None  # the status code it is tagged with (latencies only), or None

    def worse_by(self, change: float) -> float:
        """The change signed so that positive is worse, whichever way the metric improves."""
        return change if self.direction == "lower" else -change

    def value(self, result: Mapping[str, Any]) -> float | None:
        """The whole-run figure of ``result``; None when the run lacks it (or lacks the named request)."""
        if self.status is not None:
            rows, key, wanted = result.get("by_status") or (), "status", self.status
        elif self.request is not None:
            rows, key, wanted = result.get("requests") or (), "name", self.request
        else:
            return self.read(result["summary"])
        entry = next((entry for entry in rows if entry.get(key) == wanted), None)
        return None if entry is None else self.read(entry)

    def tagged(self, tag: Literal["name", "status"], value: str) -> Metric:
        """This metric of one named request or one status code: no per-second values, the timeline being the run's."""
        return dataclasses.replace(
            self,
            name=f"{self.name}{{{tag}:{value}}}",
            label=f"{self.label} {{{tag}:{value}}}",
            per_second=None,
            request=value if tag == "name" else None,
            status=value if tag == "status" else None,
        )


def status_codes(result: Mapping[str, Any]) -> list[str]:
    """The status codes a result file has latency tables for."""
    return [str(entry["status"]) for entry in result.get("by_status") or ()]


def request_names(result: Mapping[str, Any]) -> list[str]:
    """The names of the requests a result file has per-name statistics for."""
    return [str(entry["name"]) for entry in result.get("requests") or ()]


def _latency(block: str, key: str) -> Callable[[Mapping[str, Any]], float | None]:
    def read(figures: Mapping[str, Any]) -> float | None:
        values = figures.get(block)
        return None if values is None else values.get(key)

    return read


def _column(column: str) -> Callable[[list[dict[str, Any]]], list[Any]]:
    def read(timeline: list[dict[str, Any]]) -> list[Any]:
        return [row[column] for row in timeline if row.get(column) is not None]

    return read


def _errors_and_requests(timeline: list[dict[str, Any]]) -> list[Any]:
    # A row's requests count every outcome that ended in it, errors included, as the summary's do.
    return [(row["errors"], row["requests"]) for row in timeline]


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
            read=_latency("latency_ms", key),
            per_second=_column(column) if column else None,
        )
        metrics[f"service_{key}"] = Metric(
            name=f"service_{key}",
            label=f"{label} service time",
            unit="ms",
            direction="lower",
            scale="relative",
            read=_latency("service_time_ms", key),
            open_model_only=True,
        )
    metrics["rps"] = Metric(
        name="rps",
        label="requests/s",
        unit="rps",
        direction="higher",
        scale="relative",
        read=lambda figures: figures.get("rps"),
        per_second=_column("rps"),
        run_statistic=mean_statistic,  # the whole-run rate is the mean of the per-second rates
    )
    metrics["error_rate"] = Metric(
        name="error_rate",
        label="error rate",
        unit="fraction",
        direction="lower",
        scale="difference",
        read=lambda figures: figures.get("error_rate"),
        per_second=_errors_and_requests,
        run_statistic=error_rate_statistic,
    )
    return metrics


METRICS = _catalogue()


def _known(option: str, text: str, name: str) -> Metric:
    """The metric ``name`` names: ``p99``, or tagged with a request, ``p99{name:slow}`` (the name keeps its case)."""
    tagged = TAGGED.fullmatch(name.strip())
    if tagged is None and ("{" in name or "}" in name):
        raise UsageError(f"{option} {text!r}: {name.strip()!r} is not a metric; tag one as p99{{name:NAME}}.")
    base = (tagged.group("metric") if tagged else name).strip().lower()
    key = ALIASES.get(base, base)
    if key not in METRICS:
        raise UsageError(
            f"{option} {text!r}: unknown metric {base!r}.",
            hint=f"Metrics: {', '.join(METRICS)}; of one named request: p99{{name:NAME}}.",
        )
    if tagged is None:
        return METRICS[key]
    tag, value = tagged.group("key").strip(), tagged.group("value").strip()
    if tag == "status" and value:
        if METRICS[key].unit != "ms" or key.startswith("service_"):
            raise UsageError(f"{option} {text!r}: a {{status:...}} tag narrows a latency, as in p99{{status:200}}.")
        return METRICS[key].tagged("status", value)
    if tag != "name" or not value:
        raise UsageError(
            f"{option} {text!r}: tag a metric with a request's name or a status code, as in {key}{{name:NAME}} "
            f"or {key}{{status:200}}."
        )
    return METRICS[key].tagged("name", value)


def split_list(text: str) -> list[str]:
    """A comma list whose items may hold commas inside braces (``p99{name:a,b},rps``), items stripped."""
    items, depth, current = [], 0, ""
    for character in text:
        depth += {"{": 1, "}": -1}.get(character, 0)
        if character == "," and depth <= 0:
            items.append(current)
            current, depth = "", 0
        else:
            current += character
    items.append(current)
    return [item.strip() for item in items if item.strip()]


def parse_metrics(texts: Sequence[str]) -> tuple[Metric, ...]:
    """``--metric p99,rps`` (comma lists, repeatable) into metrics, in order, without duplicates.

    ``p99{name:slow}`` is the p99 of the request named ``slow``.
    """
    chosen: dict[str, Metric] = {}
    for text in texts:
        names = split_list(text)
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
        for part in split_list(text) or [text]:
            if "=" in part:
                name, _, value = part.rpartition("=")
                metric = _known("--max-regression", text, name)
                if metric.name not in gated:
                    raise UsageError(
                        f"--max-regression {text!r}: {metric.name} is not gated.",
                        hint=f"Add it to --metric (now {', '.join(sorted(gated))}).",
                    )
                overrides[metric.name] = parse_fraction("--max-regression", text, value)
            else:
                default = parse_fraction("--max-regression", text, part)
    return {metric.name: overrides.get(metric.name, default) for metric in metrics}
