"""What the gate compares: the parsing of ``--metric`` and ``--max-regression`` over the metric registry.

The metrics themselves (where each figure is read, its unit, which way is
better, how a change is measured) are asgibench.results.metrics, shared with
thresholds, compare and report. A metric may be tagged, in k6's style:
``p99{name:slow}`` reads the ``requests`` entry named ``slow`` instead of the
whole run's summary, and a latency ``p99{status:200}`` the ``by_status``
entry of that code.

The default metrics see a uniform slowdown (p50: every request a little
slower), a tail regression (p99), lost throughput (achieved requests/s: in
the open model it falls only when the target falls behind) and new errors.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from asgibench.errors import UsageError
from asgibench.results.metrics import ALIASES, GATE_METRICS, METRICS, Metric

DEFAULT_METRICS = "p50,p99,rps,error_rate"
DEFAULT_ALLOWANCE = 0.05
# ``p99{name:slow}``, ``p99{status:200}``: a metric, then one tag in braces (k6's syntax).
TAGGED = re.compile(r"(?P<metric>[^{}]*)\{(?P<key>[^{}:]*):(?P<value>[^{}]*)\}")


def _known(option: str, text: str, name: str) -> Metric:
    """The metric ``name`` names: ``p99``, or tagged with a request, ``p99{name:slow}`` (the name keeps its case)."""
    tagged = TAGGED.fullmatch(name.strip())
    if tagged is None and ("{" in name or "}" in name):
        raise UsageError(f"{option} {text!r}: {name.strip()!r} is not a metric; tag one as p99{{name:NAME}}.")
    base = (tagged.group("metric") if tagged else name).strip().lower()
    key = ALIASES.get(base, base)
    if key not in GATE_METRICS:
        raise UsageError(
            f"{option} {text!r}: unknown metric {base!r}.",
            hint=f"Metrics: {', '.join(GATE_METRICS)}; of one named request: p99{{name:NAME}}.",
        )
    if tagged is None:
        return METRICS[key]
    tag, value = tagged.group("key").strip(), tagged.group("value").strip()
    if tag == "status" and value:
        if METRICS[key].latency_key is None or METRICS[key].service_time:
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
    """``--metric p50,p99`` (comma lists, repeatable) into metrics, in order, without duplicates.

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
