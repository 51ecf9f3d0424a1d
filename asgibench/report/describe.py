"""The machine and the load of a result, each in one line of plain text. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from asgibench.results.figures import rate


def machine_line(environment: Mapping[str, Any] | None) -> str:
    """CPU model, cores, OS, Python and asgibench version, on one line."""
    if not environment:
        return "machine not recorded"
    cores = environment.get("cpu_count")
    usable = environment.get("cpus_usable")
    parts = [str(environment.get("cpu_model") or "unknown CPU")]
    if cores:
        parts.append(f"{cores} cores" + (f" ({usable} usable)" if usable and usable != cores else ""))
    if environment.get("os"):
        parts.append(str(environment["os"]))
    python = environment.get("python")
    if python:
        implementation = str(environment.get("implementation") or "python")
        parts.append(f"{'CPython' if implementation == 'cpython' else implementation} {python}")
    if environment.get("asgibench"):
        parts.append(f"asgibench {environment['asgibench']}")
    return " · ".join(parts)


def load_line(config: Mapping[str, Any] | None) -> str:
    """The load in one line: model, rate or VUs, duration, warm-up, generator workers, the requests sent."""
    if not config:
        return "load not recorded"
    if config.get("model") == "open":
        offered = config.get("rate")
        fixed = f"open model, {rate(float(offered))} requests/s" if offered is not None else "open model"
        shape = "open model, ramping rate" if config.get("stages") else fixed
    else:
        shape = "closed model, ramping VUs" if config.get("stages") else f"closed model, {config.get('vus')} VUs"
    length = f"{config.get('duration_s', 0):g} s measured"
    if config.get("warmup_s"):
        length += f" after {config['warmup_s']:g} s warm-up"
    workers = config.get("workers") or 1
    parts = [shape, length, f"{workers} generator worker" + ("s" if workers != 1 else "")]
    requests = config.get("requests") or []
    if requests:
        weighted = len(requests) > 1
        parts.append(
            ", ".join(
                f"{spec.get('method', 'GET')} {spec.get('path', '/')}" + (f" ×{spec['weight']:g}" if weighted else "")
                for spec in requests
            )
        )
    return " · ".join(parts)
